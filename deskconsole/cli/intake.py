"""``deskconsole intake ...`` (alerts in) and ``deskconsole token ...`` (who may post them)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from pathlib import Path

from deskconsole.cli.context import Context
from deskconsole.cli.wallboard import is_loopback
from deskconsole.core.inbound import alert_routes
from deskconsole.core.access import tokens
from deskconsole.errors import ValidationError
from deskconsole.core.permissions import require
from deskconsole.paths import read_secret

ENDPOINTS = ("Alertmanager: POST /v1/alerts/alertmanager, PagerDuty Events v2: POST /v2/enqueue,"
             " JSON: POST /v1/alerts")


def checked_rules(desk):
    """The config's routing rules, or a ValidationError listing every name the desk does not know."""
    found = alert_routes.rules(desk.config)
    problems = alert_routes.check(found, desk.directory)
    if problems:
        raise ValidationError("the intake's routing rules name what this desk does not have:\n  "
                              + "\n  ".join(problems) + "\nfix them in the config (or 'deskconsole admin sync'"
                              " the names into the desk), then start again")
    return found


def cmd_rules(ctx: Context, args) -> int:
    desk, _ = ctx.open()
    found = checked_rules(desk)
    window = f"{found.group_window // 60} min" if found.group_window else "off"
    print(f"group window: {window}; resolve when every alert has cleared: {'yes' if found.resolve else 'no'}"
          f" (code {found.resolution_code}); Alertmanager alerts keyed by "
          f"{'group' if found.by_group else 'fingerprint'}")
    for route in found.routes:
        print(route.describe())
    print(found.default.describe() + "   (alerts no route matches)")
    print("impact and urgency a route leaves out follow the alert's severity: critical high/high,"
          " error high/medium, warning medium/medium, info low/low")
    return 0


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValidationError(f"--listen {text!r}: give HOST:PORT, e.g. 127.0.0.1:8080")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def cmd_http(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    require(actor, "intake")
    found = checked_rules(desk)
    host, port = parse_listen(args.listen)
    secret = read_secret(args.signing_secret_file) if args.signing_secret_file else None
    from deskconsole import logs

    path = logs.to_file()
    serve_http(desk, found, host, port, secret=secret, max_body=args.max_body, log_path=path, writer=args.writer)
    return 0


def serve_http(desk, found, host: str, port: int, *, secret: bytes | None = None, max_body: int = 1024 * 1024,
               log_path=None, stop_event=None, writer: str = "thread") -> None:
    """Run the HTTP intake until SIGINT/SIGTERM (or ``stop_event``, a
    threading.Event, is set); says where it listens and, at the end, what it took.
    ``writer``: "thread" writes in a thread of this process, "process" in a
    process of its own (see ``deskconsole.intake.writer``)."""
    from deskconsole.intake.batcher import Batcher
    from deskconsole.intake.http import Listener
    from deskconsole.intake.posts import Intake

    if writer == "process":
        from deskconsole.intake.writer import ProcessWriter, WriterUnavailable

        try:
            batcher = ProcessWriter(desk, found)
        except WriterUnavailable as exc:
            raise ValidationError(str(exc)) from None
    else:
        batcher = Batcher(desk, found)
    intake = Intake(desk, found, batcher, max_body=max_body, signing_secret=secret)

    async def serve() -> None:
        listener = Listener(intake, host, port)
        await listener.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if stop_event is not None:
            loop.run_in_executor(None, lambda: (stop_event.wait(), loop.call_soon_threadsafe(stop.set)))
        where = f"http://{host if ':' not in host else f'[{host}]'}:{listener.port}"
        log = f"; log: {log_path}" if log_path else ""
        print(f"deskconsole intake: listening on {where} ({ENDPOINTS}){log}; Ctrl-C or SIGTERM stops it",
              file=sys.stderr, flush=True)
        if not is_loopback(host):
            print(f"deskconsole intake: {host} is reachable from other machines; every post still needs a token",
                  file=sys.stderr, flush=True)
        try:
            await stop.wait()
        finally:
            await listener.stop()
            if stop_event is not None:
                stop_event.set()  # ends the thread waiting on it (and tells the caller)

    try:
        asyncio.run(serve())
    except OSError as exc:
        raise ValidationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another listen address") from None
    finally:
        batcher.close()
    print(f"deskconsole intake: stopped; {intake.accepted} event(s) accepted in {batcher.batches} transaction(s),"
          f" {intake.refused} refused", file=sys.stderr)


def cmd_smtp(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    require(actor, "intake")
    host, port = parse_listen(args.listen)
    try:
        from deskconsole.intake.mail import DeskWriter, smtp_controller
    except ImportError as exc:
        raise ValidationError(f"the SMTP intake needs aiosmtpd ({exc}): pip install 'deskconsole[intake]'") from None
    from deskconsole import logs

    path = logs.to_file()
    writer = DeskWriter(desk)
    controller = smtp_controller(desk, writer, host, port, max_size=args.max_size)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        controller.start()
    except (OSError, RuntimeError) as exc:
        writer.close()
        raise ValidationError(f"cannot listen on {host}:{port}: {exc}; pick another --listen") from None
    print(f"deskconsole intake: taking mail by SMTP on {host}:{port} (AUTH with an API token as the password;"
          f" at most {args.max_size:,} bytes a message); log: {path}; Ctrl-C or SIGTERM stops it",
          file=sys.stderr, flush=True)
    try:
        stop.wait()
    finally:
        controller.stop()
        writer.close()
    print(f"deskconsole intake: stopped; {_counts(writer.taken)}", file=sys.stderr)
    return 0


def cmd_maildir(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    require(actor, "intake")
    from deskconsole.intake.mail import DeskWriter, read_maildir

    writer = DeskWriter(desk)
    stop = threading.Event()
    if args.watch:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        print(f"deskconsole intake: reading {args.folder} every {args.every:g} s; Ctrl-C or SIGTERM stops it",
              file=sys.stderr, flush=True)
    try:
        while True:
            counts = read_maildir(writer, Path(args.folder))
            if counts or not args.watch:
                print(f"deskconsole intake: {args.folder}: {_counts(counts)}", file=sys.stderr, flush=True)
            if not args.watch or stop.wait(args.every):
                break
    finally:
        writer.close()
    return 0


def _counts(counts: dict) -> str:
    return ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "no messages"


def cmd_token_add(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    secret = tokens.add(desk, actor, args.name, args.login)
    print(secret)
    if sys.stdout.isatty():
        print(f"token {args.name!r} acts as {args.login}; it is shown this once — store it now"
              " (e.g. in the file Alertmanager's credentials_file names)", file=sys.stderr)
    return 0


def cmd_token_list(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    rows = tokens.listed(desk, actor)
    if not rows:
        print("no tokens; 'deskconsole token add NAME' makes one", file=sys.stderr)
    for t in rows:
        state = "revoked" if t.revoked else "live"
        print(f"{t.name:24} {t.login:16} {state:8} made {t.created_at:%Y-%m-%d %H:%M} by {t.created_by}")
    return 0


def cmd_token_revoke(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    tokens.revoke(desk, actor, args.name)
    print(f"revoked {args.name}; a running intake refuses it within seconds", file=sys.stderr)
    return 0


def add_commands(command, globals_) -> None:
    """Register ``intake`` and ``token``; ``globals_(parser)`` adds --db/--config/--as."""
    intake = command("intake", None, "take work in: alerts over HTTP (Alertmanager, PagerDuty, JSON), mail by SMTP"
                                     " or from a Maildir")
    sub = intake.add_subparsers(dest="intake_command", metavar="SUBCOMMAND", required=True)
    p = sub.add_parser("http", help="run the HTTP alert intake", description="run the HTTP alert intake: " + ENDPOINTS)
    p.set_defaults(func=cmd_http)
    p.add_argument("--listen", default=os.environ.get("DESKCONSOLE_INTAKE_LISTEN", "127.0.0.1:8080"),
                   metavar="HOST:PORT", help="where to listen (default 127.0.0.1:8080; loopback unless you say so)")
    p.add_argument("--signing-secret-file", metavar="PATH",
                   help="also accept posts signed with HMAC-SHA256 of 'TIMESTAMP.BODY' with this secret (mode 600)")
    p.add_argument("--max-body", type=int, default=1024 * 1024, metavar="BYTES",
                   help="refuse bodies larger than this (default 1 MiB)")
    p.add_argument("--writer", choices=("process", "thread"), default="process",
                   help="write alerts in a process of its own (the default: the listener and the writer each"
                        " get a core) or in a thread of the listener's process")
    p = sub.add_parser("smtp", help="take mail by SMTP (behind the host's MTA)",
                       description="take requesters' mail by SMTP: new mail opens tickets, replies join them")
    p.set_defaults(func=cmd_smtp)
    p.add_argument("--listen", default="127.0.0.1:2525", metavar="HOST:PORT", help="default 127.0.0.1:2525")
    p.add_argument("--max-size", type=int, default=25 * 1024 * 1024, metavar="BYTES",
                   help="refuse larger messages in the SMTP dialogue (default 25 MiB)")
    p = sub.add_parser("maildir", help="take the mail a local MTA delivered to a Maildir",
                       description="take the mail in DIR/new (moved to DIR/cur once the desk has it)")
    p.set_defaults(func=cmd_maildir)
    p.add_argument("folder", metavar="DIR")
    p.add_argument("--watch", action="store_true", help="keep reading every --every seconds")
    p.add_argument("--every", type=float, default=2.0, metavar="SECONDS")
    p = sub.add_parser("rules", help="show the routing rules, checked against the desk",
                       description="show the [intake] routing rules of the config, checked against the desk")
    p.set_defaults(func=cmd_rules)
    for q in sub.choices.values():
        globals_(q)

    token = command("token", None, "API tokens for alert sources and integrations (desk admins)")
    sub = token.add_subparsers(dest="token_command", metavar="SUBCOMMAND", required=True)
    p = sub.add_parser("add", help="make a token; its secret is printed once")
    p.set_defaults(func=cmd_token_add)
    p.add_argument("name", help="what the token is for, e.g. alertmanager-prod")
    p.add_argument("--for", dest="login", default="intake", metavar="LOGIN",
                   help="who it acts as: 'intake' (the default: the alert intake's own identity) or an agent")
    p = sub.add_parser("list", help="list tokens (never their secrets)")
    p.set_defaults(func=cmd_token_list)
    p = sub.add_parser("revoke", help="revoke a token")
    p.set_defaults(func=cmd_token_revoke)
    p.add_argument("name")
    for q in sub.choices.values():
        globals_(q)
