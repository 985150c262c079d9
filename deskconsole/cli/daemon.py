"""``deskconsole daemon``: the SLA loop without a screen (for a shared host,
a systemd unit or a container) — and, with ``[mail]`` set up, the outbox
drained to SMTP; with ``--intake``, the HTTP alert intake. ``--once`` sweeps
one time and exits (cron)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

from deskconsole import logs
from deskconsole.cli.context import Context
from deskconsole.core.permissions import require
from deskconsole.core.automation.sweep import sweep

log = logging.getLogger("deskconsole.mail")


def cmd_daemon(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    require(actor, "sweep")  # the loop writes; a viewer's never runs (an agent's, or a service login's)
    if args.once:
        report = sweep(desk)
        print(f"sweep at {report.at.isoformat(timespec='seconds')}: {report} ({report.seconds * 1000:.1f} ms)")
        return 0
    if args.interval <= 0:
        print("deskconsole: --interval must be more than 0 seconds", file=sys.stderr)
        return 2
    from deskconsole.scheduler import SlaLoop  # APScheduler only for the commands that run it

    intake = None
    if args.intake:  # checked before anything starts: a bad rule or address is said at once
        from deskconsole.cli.intake import checked_rules, parse_listen

        require(actor, "intake")
        intake = (checked_rules(desk), *parse_listen(args.intake))
    path = logs.to_file()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    from deskconsole.delivery import Dispatcher

    also = []
    delivery = Dispatcher(desk.config)  # the config is checked now: a mistake stops the start, not a drain
    if delivery.configured:  # mail or webhooks are set up: the daemon drains the outbox too
        also.append(("outbox", lambda: _drain(desk, delivery), OUTBOX_SECONDS))
    mail_writer = smtp = None
    if args.maildir or args.smtp:
        require(actor, "intake")
        from deskconsole.intake.mail import DeskWriter, read_maildir

        mail_writer = DeskWriter(desk)
    if args.maildir:
        folder = Path(args.maildir)
        read_maildir(mail_writer, folder)  # now, once: a folder that is no Maildir stops the start
        also.append(("maildir", lambda: _log_counts(read_maildir(mail_writer, folder)), MAILDIR_SECONDS))
    if args.smtp:
        from deskconsole.cli.intake import parse_listen
        from deskconsole.intake.mail import smtp_controller

        host, port = parse_listen(args.smtp)
        smtp = smtp_controller(desk, mail_writer, host, port, max_size=25 * 1024 * 1024)
        smtp.start()
    loop = SlaLoop(desk, interval=args.interval, also=tuple(also))
    if intake is None:
        desk.close()  # the loop's worker opens its own connection per sweep
    loop.start()
    sending = f", sending the outbox every {OUTBOX_SECONDS} s" if delivery.configured else ""
    sending += f", reading {args.maildir} every {MAILDIR_SECONDS} s" if args.maildir else ""
    sending += f", taking mail by SMTP on {args.smtp}" if args.smtp else ""
    print(f"deskconsole daemon: sweeping {desk.url} every {args.interval:g} s{sending}; log: {path}; "
          f"Ctrl-C or SIGTERM stops it", file=sys.stderr, flush=True)
    try:
        if intake is None:
            stop.wait()
        else:
            from deskconsole.cli.intake import serve_http

            serve_http(desk, intake[0], intake[1], intake[2], stop_event=stop)  # until SIGINT/SIGTERM
    finally:
        loop.stop()
        if smtp is not None:
            smtp.stop()
        if mail_writer is not None:
            mail_writer.close()
    state = ""
    if loop.failures:  # an outage it rode out is no failure of the daemon's; one still going on at the end is
        state = (" — the last sweep failed too: see the log" if loop.failing
                 else " — sweeping again since the database came back")
    print(f"deskconsole daemon: stopped after {loop.sweeps} sweep(s), {loop.failures} failure(s){state}",
          file=sys.stderr)
    return 1 if loop.failing else 0


OUTBOX_SECONDS = 5
MAILDIR_SECONDS = 2


def _log_counts(counts: dict) -> None:
    if counts:
        log.info("maildir: %s", ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())))


def _drain(desk, sender) -> None:
    """One drain of the outbox (a job of the daemon's scheduler, in its worker
    thread) with the daemon's one Dispatcher; its SMTP connection is closed
    after each drain and opened again when mail is due."""
    from deskconsole.core.outbound import outbox

    try:
        with desk.db.connection_context():
            report = outbox.drain(desk, sender)
    finally:
        sender.close()
    if report.sent or report.retrying or report.failed:
        log.info("outbox: %s", report)
