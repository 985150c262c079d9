"""``deskconsole problem ...``: problems (PRB-n), the causes behind incidents."""

from __future__ import annotations

import argparse
import sys

from deskconsole.cli.commands import _text
from deskconsole.cli.context import Context
from deskconsole.cli.lazy_commands import subcommands
from deskconsole.cli.output import dumps, print_detail, print_tickets, table, terminal_safe
from deskconsole.core.records import problem_candidates, problems
from deskconsole.core.records.views import SUMMARY_COLUMNS, detail, summary
from deskconsole.core.search.query import select_tickets
from deskconsole.errors import ValidationError

HELP = "problems (PRB-n): the cause behind incidents, known errors and their workarounds"
EPILOG = """\
  deskconsole problem new --from INC-1,INC-7        open one from incidents (title, service, priority from them)
  deskconsole problem new "Disk fills up" --service db
  deskconsole problem ls [QUERY]                    open problems (a query as for ls: team:ops, is:open, ...)
  deskconsole problem show PRB-3                    also: deskconsole show PRB-3
  deskconsole problem link PRB-3 INC-9,INC-12       (--remove to take them off)
  deskconsole problem edit PRB-3 --root-cause "..." --workaround "..." (or --edit for $EDITOR)
  deskconsole problem state PRB-3 investigating     new, investigating, known_error, closed
  deskconsole problem state PRB-3 known_error --workaround "Restart the agent"
  deskconsole problem resolve PRB-3 "Patched in 2.4.1" --incidents   also resolves its open incidents
  deskconsole problem candidates [--days 7] [--min 3]  clusters of similar incidents with no problem yet
"""

_EDITED = ("root_cause", "workaround", "fix")


def add_commands(command, globals_) -> None:
    p = command("problem", None, HELP, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sc = subcommands(p, "problem_command", globals_)

    q = sc("new", cmd_new, "open a problem, from incidents or on its own")
    q.add_argument("title", nargs="?", help="its title (default: the first incident's)")
    q.add_argument("--from", dest="incidents", metavar="KEYS", help="the incidents behind it, e.g. INC-1,INC-7")
    q.add_argument("--description", "-d", metavar="TEXT", help="what is known ('-' reads standard input)")
    for name in ("priority", "team", "service", "category", "assignee"):
        q.add_argument(f"--{name}")
    q = sc("ls", cmd_ls, "list problems (open ones unless the query says otherwise)")
    q.add_argument("query", nargs="*", help="a query as for ls; kind:problem is implied")
    q.add_argument("--all", action="store_true", help="closed and resolved ones too")
    q.add_argument("--format", choices=["table", "json", "csv"], default="table")
    q = sc("show", cmd_show, "a problem, its incidents, root cause, workaround and fix")
    q.add_argument("key")
    q.add_argument("--format", choices=["text", "json"], default="text")
    q = sc("link", cmd_link, "link incidents to a problem (or --remove them)")
    q.add_argument("key")
    q.add_argument("incidents", metavar="KEYS", nargs="+", help="INC-9,INC-12 or INC-9 INC-12")
    q.add_argument("--remove", action="store_true")
    q = sc("edit", cmd_edit, "change a problem's fields; --edit opens root cause, workaround and fix in $EDITOR")
    q.add_argument("key")
    for name in ("title", "description", "root-cause", "workaround", "fix", "priority", "team", "service", "category",
                 "assignee"):
        q.add_argument(f"--{name}", metavar="TEXT" if name in ("title", "description", "root-cause", "workaround", "fix")
                       else name.upper())
    q.add_argument("--edit", action="store_true", help="edit the root cause, workaround and fix in $EDITOR")
    q.add_argument("--expect-version", type=int, metavar="N")
    q = sc("state", cmd_state, "move a problem: new, investigating, known_error, closed")
    q.add_argument("key")
    q.add_argument("state")
    q.add_argument("--workaround", metavar="TEXT", help="with known_error: the way around it until it is fixed")
    q.add_argument("--expect-version", type=int, metavar="N")
    q = sc("resolve", cmd_resolve, "resolve a problem with what fixed it")
    q.add_argument("key")
    q.add_argument("fix", help="what fixed it ('-' reads standard input)")
    q.add_argument("--incidents", action="store_true", help="resolve its open incidents too, with a note")
    q.add_argument("--expect-version", type=int, metavar="N")
    q = sc("candidates", cmd_candidates, "clusters of similar recent incidents that no problem explains yet")
    q.add_argument("--days", type=int, default=7, help="the window: incidents created in the last N days (7)")
    q.add_argument("--min", type=int, default=3, dest="min_size", help="the smallest cluster shown (3)")
    q.add_argument("--limit", type=int, default=20)
    q.add_argument("--format", choices=["table", "json"], default="table")


def _keys(values) -> list[str]:
    return [k for v in ([values] if isinstance(values, str) else values) for k in v.replace(",", " ").split() if k]


def cmd_new(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    made = problems.create(desk, actor, title=args.title, description=_text(args.description or ""),
                           incidents=_keys(args.incidents or ""), priority=args.priority, team=args.team,
                           service=args.service, category=args.category, assignee=args.assignee)
    print(made.key)
    return 0


def cmd_ls(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    text = " ".join(["kind:problem", *([] if args.all else ["is:open"]), *args.query])
    now = desk.now()
    rows = select_tickets(desk, text, actor_login=actor.login, now=now).select(*SUMMARY_COLUMNS)
    shown = print_tickets((summary(desk, t) for t in rows), args.format, now)
    if not shown and args.format == "table":
        print("no problems" + ("" if args.all else " open; --all lists every one"), file=sys.stderr)
    return 0


def cmd_show(ctx: Context, args) -> int:
    desk, _ = ctx.open()
    now = desk.now()
    found = detail(desk, args.key, now)
    if found.kind != problems.KIND:
        raise ValidationError(f"{found.key} is not a problem; 'deskconsole show {found.key}' shows it")
    print_detail(found, args.format, now)
    return 0


def cmd_link(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    out = problems.attach(desk, actor, args.key, _keys(args.incidents), remove=args.remove)
    print(f"{out.key} {'unlinked from' if args.remove else 'linked to'} {', '.join(_keys(args.incidents)).upper()}"
          f" (version {out.version})")
    return 0


def cmd_edit(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    values = {name: getattr(args, name) for name in ("title", "priority", "team", "service", "category", "assignee",
                                                     "root_cause", "workaround", "fix")
              if getattr(args, name) is not None}
    if args.description is not None:
        values["description"] = _text(args.description)
    expected = args.expect_version
    if args.edit:
        from deskconsole.cli.editor import can_edit, edit_text, parse_sections, sections

        if not can_edit():
            raise ValidationError("--edit needs a terminal; give the text with --root-cause, --workaround and --fix")
        now = detail(desk, args.key)
        if now.problem is None:
            raise ValidationError(f"{now.key} is not a problem")
        edited = parse_sections(edit_text(sections(now.problem, _EDITED)), _EDITED)
        values = {**edited, **values}
        expected = expected or now.version
    if not values:
        raise ValidationError("say what to change: --root-cause, --workaround, --fix, --title, ... or --edit")
    out = problems.update(desk, actor, args.key, expected_version=expected, **values)
    print(f"{out.key} saved (version {out.version})")
    return 0


def cmd_state(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    out = problems.set_state(desk, actor, args.key, args.state, workaround=args.workaround,
                             expected_version=args.expect_version)
    print(f"{out.key} is now {args.state.strip().lower().replace('-', '_')} (version {out.version})")
    return 0


def cmd_resolve(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    out, resolved = problems.resolve(desk, actor, args.key, _text(args.fix), incidents=args.incidents,
                                     expected_version=args.expect_version)
    also = f"; resolved {', '.join(resolved)}" if resolved else ("; no open incidents" if args.incidents else "")
    print(f"{out.key} resolved (version {out.version}){also}")
    return 0


def cmd_candidates(ctx: Context, args) -> int:
    desk, _ = ctx.open()
    found = problem_candidates.candidates(desk, days=args.days, min_size=args.min_size, limit=args.limit)
    if args.format == "json":
        print(dumps([{"group": c.group, "words": list(c.words), "size": c.size, "incidents": c.incidents,
                      "first_at": c.first_at, "last_at": c.last_at, "sample": c.sample} for c in found]))
        return 0
    if not found:
        print(f"no cluster of {args.min_size} or more similar incidents without a problem in the last {args.days} days",
              file=sys.stderr)
        return 0
    rows = [[str(c.size), terminal_safe(c.group, one_line=True), " ".join(c.words) or "-", f"{c.last_at:%Y-%m-%d %H:%M}",
             ", ".join(c.incidents[:4]) + (" ..." if c.size > 4 else ""), terminal_safe(c.sample, one_line=True)]
            for c in found]
    table(rows, ["N", "GROUP", "WORDS", "LAST", "INCIDENTS", "NEWEST"], flex=5)
    print(f"open one with: deskconsole problem new --from {','.join(found[0].incidents[:5])}", file=sys.stderr)
    return 0
