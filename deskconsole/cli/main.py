"""``deskconsole [--db URL] [--config PATH] [--as LOGIN] COMMAND``.

Exit codes: 0 ok, 1 user error, 2 usage, 3 conflict (someone else changed
the ticket), 4 permission refused. Errors go to stderr, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys

from peewee import DatabaseError

from deskconsole import __version__
from deskconsole.cli import commands as c
from deskconsole.cli import desk_cmds as d
from deskconsole.cli.context import Context
from deskconsole.cli.output import ArgumentParser, error_text, escaped
from deskconsole.cli.console import cmd_console
from deskconsole.cli.daemon import cmd_daemon
from deskconsole.cli import wallboard as wb
from deskconsole.cli import admin
from deskconsole.cli import backup as bk
from deskconsole.core.errors import DeskError
from deskconsole.core.sweep import DEFAULT_INTERVAL
from deskconsole.db import DamagedDatabase, damaged, first_line, refused_by_server

EPILOG = """\
queries (ls, export): field:value[,value] terms are ANDed, values ORed, -term negates;
  fields: status prio team assignee(me/none/login) requester category service key title
  created/updated (>-24h, <2026-11-01, 2026-11-01..2026-11-20) is:open|closed|unassigned
  sla:breached|warning|ok|paused|met|none (as of now)
  sort:due|prio|created|updated|key|status|title, sort:-FIELD descending;
  default order: soonest SLA deadline (none last), then priority, then oldest
  e.g. deskconsole ls 'is:open prio:P1,P2 team:ops'
       deskconsole ls 'sla:breached,warning sort:due'
exit codes: 0 ok, 1 error, 2 usage, 3 conflict, 4 not permitted
"""


def _globals(parser: argparse.ArgumentParser, default) -> None:
    g = parser.add_argument_group("desk")
    g.add_argument("--db", metavar="URL", default=default,
                   help="database: sqlite:///PATH or postgresql://USER@HOST/DB (env DESKCONSOLE_DB)")
    g.add_argument("--config", metavar="PATH", default=default, help="config file (env DESKCONSOLE_CONFIG)")
    g.add_argument("--as", dest="as_login", metavar="LOGIN", default=default, help="act as LOGIN (admins only; audited)")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(  # usage errors escaped like any other
        prog="deskconsole", description="A keyboard-first service desk for the terminal.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"deskconsole {__version__}")
    _globals(parser, None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name, func, help, **kw):
        p = sub.add_parser(name, help=help, description=help, **kw)
        _globals(p, argparse.SUPPRESS)
        p.set_defaults(func=func)
        return p

    def write(name, func, help):
        p = command(name, func, help)
        p.add_argument("key", help="ticket key, e.g. INC-42")
        p.add_argument("--expect-version", type=int, metavar="N",
                       help="fail with a conflict unless the ticket is still at version N")
        return p

    p = command("init", d.cmd_init, "write a starter config (you are its admin) and create the database")
    p.add_argument("--force", action="store_true", help="replace an existing config (kept as .bak)")

    p = command("demo", d.cmd_demo, "build a demo desk with realistic tickets and show its queue")
    p.add_argument("--tickets", type=int, default=300, metavar="N", help="how many tickets (default 300, up to 5,000,000)")
    p.add_argument("--no-console", action="store_true", help="build the desk only; do not show it")
    p.add_argument("--fresh", action="store_true", help="throw away an existing demo desk and build a new one")
    p.add_argument("--seed", type=int, default=7, help=argparse.SUPPRESS)

    p = command("new", c.cmd_new, "open a ticket; prints its key")
    p.add_argument("title")
    p.add_argument("-d", "--description", help="details ('-' reads standard input)")
    p.add_argument("--impact", choices=["high", "medium", "low"])
    p.add_argument("--urgency", choices=["high", "medium", "low"])
    p.add_argument("-p", "--priority", help="P1..P4 (instead of impact and urgency)")
    p.add_argument("--team")
    p.add_argument("--category")
    p.add_argument("--service")
    p.add_argument("--assignee")
    p.add_argument("-r", "--requester", help='"Name <e-mail>", an e-mail or a name (default: you)')
    p.add_argument("--requester-email", help=argparse.SUPPRESS)

    p = command("ls", c.cmd_ls, "list tickets matching a query")
    p.add_argument("query", nargs="*", help="query terms (see below)")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="at most N tickets (0 = all; default 50)")

    p = command("show", c.cmd_show, "show one ticket: fields, conversation, links, history")
    p.add_argument("key")
    p.add_argument("--format", choices=["text", "json"], default="text")

    write("take", c.cmd_take, "assign to yourself and acknowledge")
    write("ack", c.cmd_ack, "acknowledge")
    p = write("assign", c.cmd_assign, "assign to an agent and/or a team ('none' unassigns)")
    p.add_argument("agent", nargs="?", help="agent login, or none")
    p.add_argument("--team", help="team name, or none")
    p = write("triage", c.cmd_triage, "set category, service, impact, urgency or priority")
    for flag in ("category", "service", "impact", "urgency", "priority"):
        p.add_argument(f"--{flag}")
    p = write("status", c.cmd_status, "move a ticket to another status")
    p.add_argument("status", help="new, assigned, in_progress, pending, closed (resolve and cancel have their own commands)")
    p = write("reply", c.cmd_reply, "public reply to the requester")
    p.add_argument("text", help="the reply ('-' reads standard input)")
    p = write("note", c.cmd_note, "internal note (never shown to the requester)")
    p.add_argument("text", help="the note ('-' reads standard input)")
    p = write("link", c.cmd_link, "link two tickets")
    p.add_argument("kind", help="relates-to, duplicate-of, parent-of, child-of, caused-by or causes")
    p.add_argument("other", help="the other ticket's key")
    p.add_argument("--remove", action="store_true", help="remove the link instead")
    p = command("merge", c.cmd_merge, "close DUPLICATE as merged into TARGET")
    p.add_argument("duplicate")
    p.add_argument("target")
    p.add_argument("--expect-version", type=int, metavar="N", help="the duplicate's version you saw")
    p = write("resolve", c.cmd_resolve, "resolve with a resolution code")
    p.add_argument("code", help="e.g. fixed, workaround, no_fault_found (see [resolution] codes)")
    p.add_argument("note", nargs="?", help="what was done ('-' reads standard input)")
    write("close", c.cmd_close, "close a resolved ticket")
    p = write("reopen", c.cmd_reopen, "reopen a resolved ticket")
    p.add_argument("reason", nargs="?")
    p = write("cancel", c.cmd_cancel, "cancel a ticket (leads)")
    p.add_argument("reason")

    p = command("console", cmd_console, "open the console (the default with no command)")
    p.add_argument("filter", nargs="*", help="the queue's filter (default: is:open)")

    p = command("daemon", cmd_daemon, "run the SLA loop without a screen: warnings, breaches, escalations")
    p.add_argument("--interval", type=float, default=DEFAULT_INTERVAL, metavar="SECONDS",
                   help=f"seconds between sweeps (default {DEFAULT_INTERVAL:g})")
    p.add_argument("--once", action="store_true", help="sweep once and exit (for cron)")

    wb.add_arguments(command("wallboard", wb.cmd_wallboard,
                             "a read-only board for a shared screen: big figures, ticking SLA timers, rotating pages"))

    p = command("import", d.cmd_import, "import tickets from CSV or JSON Lines (admins)")
    p.add_argument("file")
    p.add_argument("--format", choices=["csv", "jsonl"], help="default: by the file's extension")
    p = command("export", d.cmd_export, "export tickets as JSON Lines (with conversations) or CSV")
    p.add_argument("query", nargs="*")
    p.add_argument("--format", choices=["csv", "jsonl"])
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    bk.add_commands(command)  # backup, restore, take-next
    from deskconsole.cli import batch  # here: batch builds this parser for its lines
    batch.add_command(command)  # batch [FILE|-] [--stop-on-error] [--atomic]
    admin.add_commands(command, lambda p: _globals(p, argparse.SUPPRESS))  # admin sync, admin pg-grants
    return parser


def main(argv: list[str] | None = None, *, login: str | None = None) -> int:
    """Run one command. The acting login is the process's real user; ``login``
    is for programs that call this in-process on behalf of a login they have
    already established (tests, a batch runner) — it is not reachable from
    the command line or the environment."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # `ls is:open -prio:P4`: a negated query term looks like an option to argparse.
        if getattr(args, "query", None) is not None and all(not e.startswith("--") for e in extra):
            args.query = [*args.query, *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        args.func = cmd_console
    try:
        ctx = Context.from_args(args, login)
    except DeskError as exc:  # a uid with no login name
        print(f"deskconsole: {error_text(exc)}", file=sys.stderr)
        return exc.exit_code
    try:
        return args.func(ctx, args)
    except DeskError as exc:
        print(f"deskconsole: {error_text(exc)}", file=sys.stderr)  # escaped; a query error marks its term
        return exc.exit_code
    except KeyboardInterrupt:
        print("deskconsole: interrupted; nothing half-written was kept", file=sys.stderr)
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # e.g. `deskconsole ls | head`: not an error
        return 0
    except DatabaseError as exc:  # the database failed under a command that had opened it
        desk = ctx.opened[-1] if ctx.opened else None
        if desk is not None and desk.is_sqlite and damaged(exc):
            text = str(DamagedDatabase(desk.db.database, first_line(exc)))
        elif refused_by_server(exc):
            text = (f"the database refused this ({first_line(exc)}): your PostgreSQL role may not do it, whatever"
                    f" the desk's directory says; nothing was changed — a desk admin gives roles their privileges"
                    f" with 'deskconsole admin pg-grants --apply'")
        else:
            text = (f"the database failed ({first_line(exc)}); nothing half-written was kept — check that it is"
                    f" reachable (--db, DESKCONSOLE_DB) and has room, then run the command again")
        print(f"deskconsole: {escaped(text)}", file=sys.stderr)
        return 1
    finally:
        ctx.close()


if __name__ == "__main__":
    raise SystemExit(main())
