"""``deskconsole outbox ...``: the mail waiting to go, and sending it."""

from __future__ import annotations

import sys

from deskconsole.cli.context import Context
from deskconsole.cli.output import escaped
from deskconsole.core.outbound import outbox
from deskconsole.core.permissions import require
from deskconsole.models import Outbox


def cmd_list(ctx: Context, args) -> int:
    desk, _ = ctx.open()
    query = Outbox.select().order_by(Outbox.id.desc()).limit(args.limit)
    if args.state:
        query = query.where(Outbox.state == args.state)
    rows = list(query)
    if not rows:
        print("the outbox is empty" + (f" of {args.state} mail" if args.state else ""), file=sys.stderr)
    for r in reversed(rows):
        ticket = f"INC-{r.ticket}" if r.ticket else "-"
        error = f"  ({escaped(r.last_error[:80])})" if r.last_error and r.state != "sent" else ""
        print(f"{r.id:>6} {r.created_at:%Y-%m-%d %H:%M} {r.state:<7} x{r.attempts:<2} {ticket:<10}"
              f" {escaped(r.recipients[:40]):<40} {escaped(r.subject)}{error}")
    return 0


def cmd_drain(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    require(actor, "sweep")  # what the daemon does: an agent's job
    from deskconsole.delivery import Dispatcher

    sender = Dispatcher(desk.config)
    try:
        report = outbox.drain(desk, sender)
    finally:
        sender.close()
    print(f"outbox: {report}", file=sys.stderr)
    return 1 if report.failed or report.retrying else 0


def add_commands(command, globals_) -> None:
    box = command("outbox", None, "mail waiting to be sent to requesters and teams, and sending it")
    sub = box.add_subparsers(dest="outbox_command", metavar="SUBCOMMAND", required=True)
    p = sub.add_parser("list", help="the newest messages and their state (queued, sending, sent, failed)")
    p.set_defaults(func=cmd_list)
    p.add_argument("--state", choices=("queued", "sending", "sent", "failed"))
    p.add_argument("--limit", type=int, default=50)
    p = sub.add_parser("drain", help="send what is due now ([mail] and [[webhook]] in the config); the daemon does this")
    p.set_defaults(func=cmd_drain)
    for q in sub.choices.values():
        globals_(q)
