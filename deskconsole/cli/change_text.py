"""Changes as text for the terminal: a change's section of ``show``, and the
week's calendar. Times show in the desk's time zone (UTC when it has none)."""

from __future__ import annotations

from datetime import timedelta, tzinfo

from deskconsole.core.records.change_calendar import CalendarEntry, Week, WindowSpan
from deskconsole.core.records.change_requests import ChangeView
from deskconsole.core.records.change_text import change_fields, hours, on_day, zone_name
from deskconsole.core.records.text import terminal_safe

def detail_lines(c: ChangeView, tz: tzinfo) -> tuple[list[tuple[str, str]], list[str]]:
    """(fields for the field list, sections below the description) of a change."""
    s = lambda v: terminal_safe(v, one_line=True) if v else "-"  # noqa: E731
    fields = change_fields(c, tz)
    lines: list[str] = []
    if c.collisions:
        lines += ["", f"Collisions ({len(c.collisions)})", *(f"  ! {x.kind:<12}{s(x.message)}" for x in c.collisions)]
    for label, text in (("Implementation plan", c.implementation), ("Test plan", c.test_plan),
                        ("Backout plan", c.backout)):
        lines += ["", label, *("  " + line for line in (terminal_safe(text) or "-").splitlines() or ["-"])]
    if c.requirements:
        lines += ["", f"Approvals (round {c.round})"]
        for r in c.requirements:
            met = f"approved by {r.by} {r.at.astimezone(tz):%Y-%m-%d %H:%M}" if r.by else "waiting"
            lines.append(f"  {r.rule:<11} {met:<34} {s(r.who)}")
    elif c.type == "standard":
        lines += ["", "Approvals", "  pre-approved (standard change)"]
    if c.decisions:
        lines += ["", "Decisions"]
        lines += [f"  {d.at.astimezone(tz):%Y-%m-%d %H:%M}  round {d.round}  {d.decision:<8}{d.approver} ({d.rule})"
                  + (f": {s(d.comment)}" if d.comment else "") for d in c.decisions]
    for label, keys in (("Incidents it caused", c.incidents.get("caused")), ("Incidents it fixed",
                                                                              c.incidents.get("fixed"))):
        if keys:
            lines += ["", label, "  " + ", ".join(keys)]
    return fields, lines


def calendar_text(week: Week, entries: list[CalendarEntry], windows: list[WindowSpan], tz: tzinfo) -> str:
    """The week, a day at a time: its windows, then its changes."""
    last = week.first_day + timedelta(days=6)
    out = [f"Changes, week {week.label} ({week.first_day:%a %d %b} - {last:%a %d %b %Y}, {zone_name(tz)})"]
    for offset in range(7):
        day = week.first_day + timedelta(days=offset)
        rows = []
        for w in windows:
            if on_day(day, w.start, w.end, tz):
                where = ", ".join(w.services) or "all services"
                rows.append(f"  {hours(day, w.start, w.end, tz)}  {w.kind.upper():<11} {terminal_safe(w.name, one_line=True)}"
                            f" ({where})")
        for e in entries:
            if on_day(day, e.start, e.end, tz):
                mark = "!" if e.collisions else " "
                rows.append(f"{mark} {hours(day, e.start, e.end, tz)}  {e.key:<7} {e.type:<9} "
                            f"{e.status.replace('_', ' '):<17} {', '.join(e.services) or '-'}  "
                            f"{terminal_safe(e.title, one_line=True)}")
        out += ["", f"{day:%a %d %b}", *(rows or ["  -"])]
    flagged = [e for e in entries if e.collisions]
    if flagged:
        out += ["", "Collisions"]
        out += [f"  {e.key}: {terminal_safe(c.message, one_line=True)}" for e in flagged for c in e.collisions]
    return "\n".join(out)
