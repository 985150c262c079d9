"""``deskconsole change ...`` (also ``changes``): changes (CHG-n), their
approvals, collisions and calendar."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from deskconsole.cli.change_text import calendar_text
from deskconsole.cli.commands import _text
from deskconsole.cli.context import Context
from deskconsole.cli.lazy_commands import subcommands
from deskconsole.cli.output import dumps, print_detail, table, terminal_safe
from deskconsole.core.records import change_calendar, change_ical
from deskconsole.core.records import change_requests as changes
from deskconsole.core.records import links
from deskconsole.core.records.change_text import window, zone_name
from deskconsole.core.records.change_times import parse_length, parse_moment
from deskconsole.core.records.views import detail
from deskconsole.core.search.query import select_tickets
from deskconsole.errors import ValidationError
from deskconsole.models import Ticket

HELP = "changes (CHG-n): planned work on services, its approvals, collisions and calendar"
EPILOG = """\
  deskconsole change new "Upgrade PostgreSQL to 17" --service db-main --start "2026-12-12 01:00" --for 3h
  deskconsole change new --template restart-web --start "2026-12-10 06:00"   a standard (pre-approved) change
  deskconsole change new "Hotfix checkout" --type emergency --service web
  deskconsole change ls [QUERY] [--all]           open changes (a query as for ls: team:ops, status:scheduled ...)
  deskconsole change show CHG-3                   also: deskconsole show CHG-3
  deskconsole change edit CHG-3 --start "2026-12-13 01:00" --for 2h --backout "..." (or --edit for $EDITOR)
  deskconsole change state CHG-3 assessment       draft, assessment, awaiting_approval, scheduled, implementing,
                                                  review, closed (--outcome successful|failed|backed_out), cancelled
  deskconsole change approve CHG-3 [--comment "..."]    deskconsole change reject CHG-3 --comment "why"
  deskconsole change link CHG-3 INC-42 --caused   (or --fixed; --remove takes the link off)
  deskconsole changes calendar [--week 2026-W50|+1] [--ical > changes.ics]
  deskconsole change policy                       the desk's CAB, approvals, windows and templates
Times are the desk's ([desk] timezone) unless they carry an offset (2026-12-10T21:00Z).
"""

_PLANS = ("implementation", "test_plan", "backout")


def add_commands(command, globals_) -> None:
    p = command("change", None, HELP, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                aliases=["changes"])
    sc = subcommands(p, "change_command", globals_)

    q = sc("new", cmd_new, "raise a change (from a template: a standard one)")
    q.add_argument("title", nargs="?", help="its title (a template gives one)")
    q.add_argument("--type", default="normal", help="normal (default) or emergency; standard ones come from --template")
    q.add_argument("--template", metavar="NAME", help="a standard change from the desk's template")
    _window_args(q)
    _field_args(q)
    q = sc("ls", cmd_ls, "list changes (open ones unless the query says otherwise)")
    q.add_argument("query", nargs="*", help="a query as for ls; kind:change is implied")
    q.add_argument("--all", action="store_true", help="closed and cancelled ones too")
    q.add_argument("--format", choices=["table", "json", "csv"], default="table")
    q = sc("show", cmd_show, "a change: its window, plans, approvals, collisions and incidents")
    q.add_argument("key")
    q.add_argument("--format", choices=["text", "json"], default="text")
    q = sc("edit", cmd_edit, "change a change's fields; --edit opens its plans in $EDITOR")
    q.add_argument("key")
    q.add_argument("--title")
    q.add_argument("--type", help="normal or emergency (in draft or assessment)")
    _window_args(q)
    _field_args(q)
    q.add_argument("--edit", action="store_true", help="edit the implementation, test and backout plans in $EDITOR")
    q.add_argument("--expect-version", type=int, metavar="N")
    q = sc("state", cmd_state, "move a change to another state")
    q.add_argument("key")
    q.add_argument("state", help="assessment, awaiting_approval, scheduled, implementing, review, closed, "
                                 "cancelled or draft")
    q.add_argument("--outcome", help="closing: successful, failed or backed_out")
    q.add_argument("--expect-version", type=int, metavar="N")
    for verb, text in (("approve", "approve a change (the desk's change policy says who may)"),
                       ("reject", "reject a change: it goes back to draft, with your comment")):
        q = sc(verb, cmd_approve if verb == "approve" else cmd_reject, text)
        q.add_argument("key")
        q.add_argument("--comment", "-m", default="", metavar="TEXT",
                       help="why ('-' reads standard input)" + ("; required" if verb == "reject" else ""))
        q.add_argument("--expect-version", type=int, metavar="N")
    q = sc("link", cmd_link, "link incidents to the change that caused or fixed them")
    q.add_argument("key")
    q.add_argument("incidents", metavar="KEYS", nargs="+", help="INC-9,INC-12 or INC-9 INC-12")
    how = q.add_mutually_exclusive_group(required=True)
    how.add_argument("--caused", action="store_true", help="the change caused them")
    how.add_argument("--fixed", action="store_true", help="the change fixed them")
    q.add_argument("--remove", action="store_true")
    q = sc("calendar", cmd_calendar, "the week's changes and windows (or --ical for a calendar program)")
    q.add_argument("--week", metavar="WEEK", help="2026-W50, a day in it (2026-12-09), +1 or -1 (default: this week)")
    q.add_argument("--weeks", type=int, default=1, metavar="N", help="how many weeks (1; --ical: up to 52)")
    q.add_argument("--ical", action="store_true", help="print iCalendar (RFC 5545) for a mail client's calendar")
    q.add_argument("--format", choices=["text", "json"], default="text")
    q = sc("policy", cmd_policy, "the desk's change policy: CAB, approvals per type, windows and templates")
    q.add_argument("--format", choices=["text", "json"], default="text")


def _window_args(q) -> None:
    q.add_argument("--start", metavar="WHEN", help="planned start: '2026-12-10 22:00' (desk time), ISO with an offset, +2h")
    q.add_argument("--end", metavar="WHEN", help="planned end (or --for)")
    q.add_argument("--for", dest="length", metavar="LENGTH", help="how long: 45m, 2h, 1d")


def _field_args(q) -> None:
    q.add_argument("--service", "--services", dest="services", metavar="NAMES",
                   help="the services and items it affects: web,db-main")
    q.add_argument("--risk", help="low, medium or high")
    q.add_argument("--impact", help="low, medium or high")
    q.add_argument("--description", "-d", metavar="TEXT", help="what and why ('-' reads standard input)")
    q.add_argument("--implementation", metavar="TEXT", help="how it is done ('-' reads standard input)")
    q.add_argument("--test", dest="test_plan", metavar="TEXT", help="how it is checked")
    q.add_argument("--backout", metavar="TEXT", help="how it is undone")
    for name in ("team", "assignee", "priority"):
        q.add_argument(f"--{name}")


def _names(value: str | None) -> list[str]:
    return [n for n in (value or "").replace(",", " ").split() if n]


def _window(desk, args, existing=None) -> dict:
    """The window the options give: {} when they give none."""
    if not (args.start or args.end or args.length):
        return {}
    now, tz = desk.now(), desk.config.zone()
    start = parse_moment(args.start, now, tz, "--start") if args.start else (existing.planned_start if existing else None)
    if start is None:
        raise ValidationError("give --start with --end or --for")
    if args.end and args.length:
        raise ValidationError("give --end or --for, not both")
    if args.length:
        end = start + parse_length(args.length)
    elif args.end:
        end = parse_moment(args.end, now, tz, "--end")
    elif existing is not None and existing.planned_start and existing.planned_end:
        end = start + (existing.planned_end - existing.planned_start)  # moved: it keeps its length
    else:
        end = None
    return {"start": start, "end": end}


def _fields(args) -> dict:
    out = {}
    for name in ("risk", "impact", "team", "assignee", "priority"):
        if getattr(args, name) is not None:
            out[name] = getattr(args, name)
    for name in ("description", *_PLANS):
        if getattr(args, name) is not None:
            out[name] = _text(getattr(args, name))
    if args.services is not None:
        out["services"] = _names(args.services)
    return out


def _warn(desk, key: str) -> None:
    """A change's collisions, on stderr: they warn, they do not refuse."""
    found = detail(desk, key).change.collisions
    for c in found:
        print(f"warning: {key} {terminal_safe(c.message, one_line=True)}", file=sys.stderr)


def cmd_new(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    values = _fields(args)
    made = changes.create(desk, actor, title=args.title, type=args.type, template=args.template,
                          **_window(desk, args), **values)
    print(made.key)
    _warn(desk, made.key)
    return 0


def cmd_ls(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    text = " ".join(["kind:change", *([] if args.all else ["is:open"]), *args.query])
    now, tz = desk.now(), desk.config.zone()
    ids = [t.id for t in select_tickets(desk, text, actor_login=actor.login, now=now).select(Ticket.id)]
    rows = change_calendar.listed(desk, ids)
    if args.format == "json":
        print(dumps([{"key": c.key, "title": c.title, "status": c.status, "type": c.type, "risk": c.risk,
                      "planned_start": c.planned_start, "planned_end": c.planned_end, "services": c.services,
                      "collisions": [x.message for x in c.collisions]} for c in rows]))
        return 0
    if args.format == "csv":
        import csv

        w = csv.writer(sys.stdout)
        w.writerow(["key", "type", "status", "risk", "planned_start", "planned_end", "services", "collisions", "title"])
        for c in rows:
            w.writerow([c.key, c.type, c.status, c.risk, c.planned_start.isoformat() if c.planned_start else "",
                        c.planned_end.isoformat() if c.planned_end else "", " ".join(c.services), len(c.collisions),
                        c.title])
        return 0
    if not rows:
        print("no changes" + ("" if args.all else " open; --all lists every one"), file=sys.stderr)
        return 0
    table([(c.key, c.type, c.status.replace("_", " "), c.risk, window(c.planned_start, c.planned_end, tz),
            ",".join(c.services) or "-", str(len(c.collisions)) if c.collisions else "-",
            terminal_safe(c.title, one_line=True)) for c in rows],
          ("KEY", "TYPE", "STATE", "RISK", f"PLANNED ({zone_name(tz)})", "SERVICES", "!", "TITLE"))
    return 0


def cmd_show(ctx: Context, args) -> int:
    desk, _ = ctx.open()
    now = desk.now()
    found = detail(desk, args.key, now)
    if found.change is None:
        raise ValidationError(f"{found.key} is not a change; 'deskconsole show {found.key}' shows it")
    print_detail(found, args.format, now, tz=desk.config.zone())
    return 0


def cmd_edit(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    now = detail(desk, args.key)
    if now.change is None:
        raise ValidationError(f"{now.key} is not a change; 'deskconsole show {now.key}' shows it")
    values = _fields(args)
    for name in ("title", "type"):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    values.update(_window(desk, args, now.change))
    expected = args.expect_version
    if args.edit:
        from deskconsole.cli.editor import can_edit, edit_text, parse_sections, sections

        if not can_edit():
            raise ValidationError("--edit needs a terminal; give the plans with --implementation, --test and --backout")
        edited = parse_sections(edit_text(sections(now.change, _PLANS)), _PLANS)
        values = {**edited, **values}
        expected = expected or now.version
    if not values:
        raise ValidationError("say what to change: --start/--for, --service, --risk, --implementation, ... or --edit")
    out = changes.update(desk, actor, args.key, expected_version=expected, **values)
    print(f"{out.key} saved (version {out.version})")
    _warn(desk, out.key)
    return 0


def cmd_state(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    out = changes.set_state(desk, actor, args.key, args.state, outcome=args.outcome,
                            expected_version=args.expect_version)
    shown = detail(desk, out.key)
    print(f"{out.key} is now {shown.status.replace('_', ' ')} (version {out.version})")
    if shown.change.requirements and shown.status == "awaiting_approval":
        waiting = [f"{r.rule} ({r.who})" for r in shown.change.requirements if r.by is None]
        print(f"it waits for: {'; '.join(waiting)}", file=sys.stderr)
    if shown.status in ("awaiting_approval", "scheduled"):
        _warn(desk, out.key)
    return 0


def _decide(ctx: Context, args, decision: str) -> int:
    desk, actor = ctx.open()
    out = changes.decide(desk, actor, args.key, decision, _text(args.comment) if args.comment else "",
                         expected_version=args.expect_version)
    shown = detail(desk, out.key)
    print(f"{out.key} {'approved' if decision == 'approve' else 'rejected'} by {actor.login}; it is "
          f"{shown.status.replace('_', ' ')} (version {out.version})")
    waiting = [f"{r.rule} ({r.who})" for r in shown.change.requirements if r.by is None]
    if decision == "approve" and waiting:
        print(f"it still waits for: {'; '.join(waiting)}", file=sys.stderr)
    return 0


def cmd_approve(ctx: Context, args) -> int:
    return _decide(ctx, args, "approve")


def cmd_reject(ctx: Context, args) -> int:
    return _decide(ctx, args, "reject")


def cmd_link(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    kind = "caused_by" if args.caused else "fixed_by"
    keys = _names(",".join(args.incidents))
    if not keys:
        raise ValidationError("name the incidents, e.g. INC-9,INC-12")
    for key in keys:
        links.link(desk, actor, key, kind, args.key, remove=args.remove)
    verb = "unlinked" if args.remove else "linked"
    print(f"{', '.join(k.upper() for k in keys)} {verb}: {kind.replace('_', ' ')} {args.key.upper()}")
    return 0


def cmd_calendar(ctx: Context, args) -> int:
    desk, _ = ctx.open()
    now, tz = desk.now(), desk.config.zone()
    week = change_calendar.week_of(args.week, now, tz)
    if not 1 <= args.weeks <= 52:
        raise ValidationError("--weeks is 1 to 52")
    end = change_calendar.week_starting(week.first_day + timedelta(weeks=args.weeks), tz).start
    entries = change_calendar.between(desk, week.start, end)
    windows = change_calendar.windows_between(desk, week.start, end)
    if args.ical:
        sys.stdout.write(change_ical.calendar(entries, windows, desk_name=desk.config.desk_name, now=now))
        return 0
    if args.format == "json":
        print(dumps({"week": week.label, "start": week.start, "end": end, "timezone": zone_name(tz),
                     "changes": entries, "windows": windows}))
        return 0
    for n in range(args.weeks):
        part = change_calendar.week_starting(week.first_day + timedelta(weeks=n), tz)
        print(("\n" if n else "") + calendar_text(
            part, [e for e in entries if e.start < part.end and e.end > part.start],
            [w for w in windows if w.start < part.end and w.end > part.start], tz))
    return 0


def cmd_policy(ctx: Context, args) -> int:
    desk, _ = ctx.open()
    policy = desk.directory.change_policy
    if args.format == "json":
        print(dumps({"cab": policy.cab, "approvals": policy.approvals, "windows": policy.windows,
                     "templates": policy.templates}))
        return 0
    from deskconsole.change_policy import RULES

    print("CAB: " + (", ".join(policy.cab) or "nobody"))
    print("Approvals")
    for kind in ("standard", "normal", "emergency"):
        rules = policy.rules_for(kind)
        print(f"  {kind:<10} " + ("; ".join(f"{r} ({RULES[r]})" for r in rules) if rules else "none (pre-approved)"
                                  if kind == "standard" else "none"))
    print("Windows")
    print("\n".join("  " + terminal_safe(w.describe(), one_line=True) for w in policy.windows) or "  none")
    print("Templates")
    for name, t in sorted(policy.templates.items()):
        print(f"  {name:<16} {t['minutes']} min, {t['risk']} risk, {', '.join(t['services']) or '-'}: "
              f"{terminal_safe(t['title'], one_line=True)}")
    if not policy.templates:
        print("  none ([changes.templates.NAME] in the config; a desk admin applies it)")
    return 0
