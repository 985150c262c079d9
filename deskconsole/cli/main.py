"""``deskconsole [--db URL] [--config PATH] [--as LOGIN] COMMAND``.

Exit codes: 0 ok, 1 user error, 2 usage, 3 conflict (someone else changed
the ticket), 4 permission refused. Errors go to stderr, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

from deskconsole import __version__
from deskconsole.cli.lazy_commands import Command, Subcommands
from deskconsole.cli.output import ArgumentParser, database_failure, error_text
from deskconsole.errors import DeskError

# Command modules are named, not imported: a command imports only what it
# runs (`ls` never loads the console's Textual, `--version` no command module).
COMMANDS = "deskconsole.cli.commands"
DESK_CMDS = "deskconsole.cli.desk_cmds"
CONSOLE = "deskconsole.cli.console:cmd_console"


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
    parser.register("action", "parsers", Subcommands)  # a command's parser is made when it is used
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name, func, help, **kw):
        """Register a command now (for registrations in other modules)."""
        p = sub.add_parser(name, help=help, description=help, **kw)
        _globals(p, argparse.SUPPRESS)
        p.set_defaults(func=func)
        return p

    def unmade(name, target, help, arguments=None):
        """Register ``target`` ("module:function") as ``name``; its parser,
        with ``arguments(parser)``, is made when the command is used."""
        def build(p):
            _globals(p, argparse.SUPPRESS)
            p.set_defaults(func=Command(target))
            if arguments is not None:
                arguments(p)
        sub.add_unmade(name, build, help=help, description=help)

    def write(name, target, help, arguments=None):
        def build(p):
            p.add_argument("key", help="ticket key, e.g. INC-42")
            p.add_argument("--expect-version", type=int, metavar="N",
                           help="fail with a conflict unless the ticket is still at version N")
            if arguments is not None:
                arguments(p)
        unmade(name, target, help, build)

    def init(p):
        p.add_argument("--force", action="store_true", help="replace an existing config (kept as .bak)")

    def demo(p):
        p.add_argument("--tickets", type=int, default=300, metavar="N", help="how many tickets (default 300, up to 5,000,000)")
        p.add_argument("--no-console", action="store_true", help="build the desk only; do not show it")
        p.add_argument("--fresh", action="store_true", help="throw away an existing demo desk and build a new one")
        p.add_argument("--seed", type=int, default=7, help=argparse.SUPPRESS)

    def new(p):
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

    def ls(p):
        p.add_argument("query", nargs="*", help="query terms (see below)")
        p.add_argument("--format", choices=["table", "json", "csv"], default="table")
        p.add_argument("--limit", type=int, default=50, metavar="N", help="at most N tickets (0 = all; default 50)")

    def show(p):
        p.add_argument("key")
        p.add_argument("--format", choices=["text", "json"], default="text")

    def assign(p):
        p.add_argument("agent", nargs="?", help="agent login, or none")
        p.add_argument("--team", help="team name, or none")

    def triage(p):
        for flag in ("category", "service", "impact", "urgency", "priority"):
            p.add_argument(f"--{flag}")

    def status(p):
        p.add_argument("status", help="new, assigned, in_progress, pending, closed (resolve and cancel have their own commands)")

    def reply(p):
        p.add_argument("text", nargs="?", help="the reply ('-' reads standard input)")
        p.add_argument("--kb", metavar="KB-N", help="cite a published article: its title and first paragraph follow"
                                                 " the text (counts as the article's use)")
        p.add_argument("--key-only", action="store_true", help="with --kb: cite the article's key alone")

    def note(p):
        p.add_argument("text", help="the note ('-' reads standard input)")

    def link(p):
        p.add_argument("kind", help="relates-to, duplicate-of, parent-of, child-of, caused-by, causes, fixed-by or fixes")
        p.add_argument("other", help="the other ticket's key")
        p.add_argument("--remove", action="store_true", help="remove the link instead")

    def merge(p):
        p.add_argument("duplicate")
        p.add_argument("target")
        p.add_argument("--expect-version", type=int, metavar="N", help="the duplicate's version you saw")

    def resolve(p):
        p.add_argument("code", help="e.g. fixed, workaround, no_fault_found (see [resolution] codes)")
        p.add_argument("note", nargs="?", help="what was done ('-' reads standard input)")

    def reopen(p):
        p.add_argument("reason", nargs="?")

    def cancel(p):
        p.add_argument("reason")

    def console(p):
        p.add_argument("filter", nargs="*", help="the queue's filter (default: is:open)")

    def daemon(p):
        from deskconsole.core.automation.sweep import DEFAULT_INTERVAL

        p.add_argument("--interval", type=float, default=DEFAULT_INTERVAL, metavar="SECONDS",
                       help=f"seconds between sweeps (default {DEFAULT_INTERVAL:g})")
        p.add_argument("--once", action="store_true", help="sweep once and exit (for cron)")
        p.add_argument("--intake", metavar="HOST:PORT",
                       help="also run the HTTP alert intake there (see 'deskconsole intake http --help')")
        p.add_argument("--smtp", metavar="HOST:PORT", help="also take mail by SMTP there ('intake smtp')")
        p.add_argument("--maildir", metavar="DIR", help="also take the mail delivered to this Maildir ('intake maildir')")

    def wallboard(p):
        import_module("deskconsole.cli.wallboard").add_arguments(p)

    def import_(p):
        p.add_argument("file")
        p.add_argument("--format", choices=["csv", "jsonl"], help="default: by the file's extension")

    def export(p):
        p.add_argument("query", nargs="*")
        p.add_argument("--format", choices=["csv", "jsonl"])
        p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")

    unmade("init", f"{DESK_CMDS}:cmd_init", "write a starter config (you are its admin) and create the database", init)
    unmade("demo", f"{DESK_CMDS}:cmd_demo", "build a demo desk with realistic tickets and show its queue", demo)
    unmade("new", f"{COMMANDS}:cmd_new", "open a ticket; prints its key", new)
    unmade("ls", f"{COMMANDS}:cmd_ls", "list tickets matching a query", ls)
    unmade("show", f"{COMMANDS}:cmd_show", "show one ticket: fields, conversation, links, history", show)
    write("take", f"{COMMANDS}:cmd_take", "assign to yourself and acknowledge")
    write("ack", f"{COMMANDS}:cmd_ack", "acknowledge")
    write("assign", f"{COMMANDS}:cmd_assign", "assign to an agent and/or a team ('none' unassigns)", assign)
    write("triage", f"{COMMANDS}:cmd_triage", "set category, service, impact, urgency or priority", triage)
    write("status", f"{COMMANDS}:cmd_status", "move a ticket to another status", status)
    write("reply", f"{COMMANDS}:cmd_reply", "public reply to the requester", reply)
    write("note", f"{COMMANDS}:cmd_note", "internal note (never shown to the requester)", note)
    write("link", f"{COMMANDS}:cmd_link", "link two tickets", link)
    unmade("merge", f"{COMMANDS}:cmd_merge", "close DUPLICATE as merged into TARGET", merge)
    write("resolve", f"{COMMANDS}:cmd_resolve", "resolve with a resolution code", resolve)
    write("close", f"{COMMANDS}:cmd_close", "close a resolved ticket")
    write("reopen", f"{COMMANDS}:cmd_reopen", "reopen a resolved ticket", reopen)
    write("cancel", f"{COMMANDS}:cmd_cancel", "cancel a ticket (leads)", cancel)
    unmade("console", CONSOLE, "open the console (the default with no command)", console)
    unmade("daemon", "deskconsole.cli.daemon:cmd_daemon",
           "run the SLA loop without a screen: warnings, breaches, escalations", daemon)
    unmade("wallboard", "deskconsole.cli.wallboard:cmd_wallboard",
           "a read-only board for a shared screen: big figures, ticking SLA timers, rotating pages", wallboard)
    unmade("import", f"{DESK_CMDS}:cmd_import", "import tickets from CSV or JSON Lines (admins)", import_)
    unmade("export", f"{DESK_CMDS}:cmd_export", "export tickets as JSON Lines (with conversations) or CSV", export)
    # Registered by their own modules, imported the first time one of their names is needed.
    sub.later(lambda: import_module("deskconsole.cli.backup").add_commands(command))  # backup, restore, take-next
    sub.later(lambda: import_module("deskconsole.cli.batch").add_command(command))  # batch [FILE|-] [--stop-on-error] [--atomic]
    sub.later(lambda: import_module("deskconsole.cli.admin").add_commands(
        command, lambda p: _globals(p, argparse.SUPPRESS)))  # admin sync, admin pg-grants
    sub.later(lambda: import_module("deskconsole.cli.intake").add_commands(
        command, lambda p: _globals(p, argparse.SUPPRESS)))  # intake http|rules, token add|list|revoke
    sub.later(lambda: import_module("deskconsole.cli.outbox").add_commands(
        command, lambda p: _globals(p, argparse.SUPPRESS)))  # outbox list|drain
    sub.later(lambda: import_module("deskconsole.cli.report").add_commands(
        command, lambda p: _globals(p, argparse.SUPPRESS)))  # report
    sub.later(lambda: import_module("deskconsole.cli.review").add_commands(
        command, lambda p: _globals(p, argparse.SUPPRESS)))  # review, reviews
    sub.later(lambda: import_module("deskconsole.cli.problem").add_commands(
        command, lambda p: _globals(p, argparse.SUPPRESS)))  # problem new|ls|show|link|edit|state|resolve|candidates
    sub.later(lambda: import_module("deskconsole.cli.kb").add_commands(
        command, lambda p: _globals(p, argparse.SUPPRESS)))  # kb new|edit|show|ls|search|history|publish|...
    sub.later(lambda: import_module("deskconsole.cli.change").add_commands(
        command, lambda p: _globals(p, argparse.SUPPRESS)))  # change (changes) new|ls|show|edit|state|approve|...
    sub.later(lambda: import_module("deskconsole.cli.services").add_commands(
        command, lambda p: _globals(p, argparse.SUPPRESS)))  # services [NAME]
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
        args.func = Command(CONSOLE)
    # Imported when a command runs (--help and --version have exited by now).
    from peewee import DatabaseError
    from deskconsole.cli.context import Context
    from deskconsole.cli.startup import command_starts

    command_starts()
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
        print(f"deskconsole: {database_failure(ctx.opened[-1] if ctx.opened else None, exc)}", file=sys.stderr)
        return 1
    finally:
        ctx.close()


if __name__ == "__main__":
    raise SystemExit(main())
