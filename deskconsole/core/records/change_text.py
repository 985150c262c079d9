"""A change's window, length and fields as plain words, in the desk's time
zone (UTC when it has none): shared by the command line's ``show`` and
``calendar`` and the console's detail pane and calendar. Pure functions;
text from users is made terminal-safe, never styled."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from deskconsole.core.clock import ago, local_midnight, short_duration
from deskconsole.core.records.text import terminal_safe


SHORT_STATES = {"awaiting_approval": "for approval"}  # where a column has 12 cells


def short_state(status: str) -> str:
    """A state in at most 12 cells, in words: ``for approval``, ``in progress``."""
    return SHORT_STATES.get(status, status.replace("_", " "))


def zone_name(tz: tzinfo) -> str:
    return getattr(tz, "key", None) or "UTC"


def length(span: timedelta) -> str:
    """``45m``, ``2h``, ``2h 30m``, ``3d 4h``."""
    minutes = int(span.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h" + (f" {minutes:02d}m" if minutes else "")
    return f"{hours // 24}d {hours % 24}h"


def window(start: datetime | None, end: datetime | None, tz: tzinfo) -> str:
    """``2026-11-25 22:00 - 2026-11-26 00:00 Europe/Berlin (2h)``."""
    if start is None or end is None:
        return "not planned yet"
    a, b = start.astimezone(tz), end.astimezone(tz)
    to = f"{b:%H:%M}" if a.date() == b.date() else f"{b:%Y-%m-%d %H:%M}"
    return f"{a:%Y-%m-%d %H:%M} - {to} {zone_name(tz)} ({length(end - start)})"


def on_day(day: date, start: datetime, end: datetime, tz: tzinfo) -> bool:
    """Does [start, end) overlap the local ``day``?"""
    return start < local_midnight(day + timedelta(days=1), tz) and end > local_midnight(day, tz)


def hours(day: date, start: datetime, end: datetime, tz: tzinfo) -> str:
    """``22:00-23:30`` of a span on ``day``; ``..`` where it runs on from the day before or into the next."""
    a, b = start.astimezone(tz), end.astimezone(tz)
    first = f"{a:%H:%M}" if a.date() == day else "..   "
    second = f"{b:%H:%M}" if b.date() == day else "..   "
    return f"{first}-{second}"


def change_fields(c, tz: tzinfo) -> list[tuple[str, str]]:
    """(label, value) of a change's own fields (a ``ChangeView``): type, risk,
    planned window, services, actual start and end, outcome."""
    fields = [
        ("Type", c.type + (f" (template {terminal_safe(c.template, one_line=True)})" if c.template else "")),
        ("Risk", c.risk),
        ("Planned", window(c.planned_start, c.planned_end, tz)),
        ("Services", ", ".join(c.services) or "-"),
    ]
    if c.actual_start:
        fields.append(("Actual", window(c.actual_start, c.actual_end, tz) if c.actual_end
                       else f"started {c.actual_start.astimezone(tz):%Y-%m-%d %H:%M} {zone_name(tz)}"))
    if c.outcome:
        fields.append(("Outcome", c.outcome.replace("_", " ")))
    return fields


def near_text(e, now: datetime) -> str:
    """How a change near an incident reads (plain text; the title is the caller's to escape):
    ``CHG-3 implementing on web, started 2 h ago`` / ``CHG-4 scheduled on api, starts in 5 h``."""
    if e.status == "implementing":
        when = f"under way since {ago(e.start, now)} ago"
    elif e.end <= now:
        done = e.status in ("review", "closed")
        when = f"{'ended' if done else 'its window ended'} {ago(e.end, now)} ago" + (
            f" ({e.outcome.replace('_', ' ')})" if e.outcome else "")
    elif e.start <= now:
        when = f"its window opened {ago(e.start, now)} ago"
    else:
        when = f"starts in {short_duration((e.start - now).total_seconds())}"
    return f"{e.key} {e.status.replace('_', ' ')} on {', '.join(e.services) or '-'}, {when}"
