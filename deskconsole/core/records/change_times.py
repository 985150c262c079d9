"""A change's planned window as people type it, read in the desk's time zone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo

from deskconsole.errors import ValidationError

HINT = "write e.g. 2026-12-10 22:00 (the desk's time), 2026-12-10T21:00Z, now or +2h"
_RELATIVE = re.compile(r"^\+\s*([0-9]{1,5})\s*(m|min|h|d)$", re.IGNORECASE)
_LENGTH = re.compile(r"^([0-9]{1,5})\s*(m|min|h|d)$", re.IGNORECASE)
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400}
MAX_LENGTH = timedelta(days=31)


def parse_moment(text: str, now: datetime, tz: tzinfo, what: str = "the time") -> datetime:
    """``2026-12-10 22:00`` (local to ``tz``, the desk's zone), an ISO time
    with an offset or ``Z``, ``now``, or ``+90m`` / ``+2h`` / ``+1d`` from now.
    Returns aware UTC. A local time skipped by a DST change is read with the
    offset before it; one that happens twice is the first."""
    raw = (text or "").strip()
    if not raw:
        raise ValidationError(f"{what} is empty; {HINT}")
    if raw.lower() == "now":
        return now.astimezone(timezone.utc)
    m = _RELATIVE.match(raw)
    if m:
        return now.astimezone(timezone.utc) + timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2).lower()])
    try:
        value = datetime.fromisoformat(raw.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{what} {raw!r} is not a date and time; {HINT}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz, fold=0)
    return value.astimezone(timezone.utc)


def parse_length(text: str) -> timedelta:
    """``90m``, ``2h``, ``1d``: how long a change takes."""
    m = _LENGTH.match((text or "").strip())
    if not m:
        raise ValidationError(f"{text!r} is not a length of time; write e.g. 45m, 2h or 1d")
    length = timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2).lower()])
    if not timedelta(0) < length <= MAX_LENGTH:
        raise ValidationError(f"{text!r}: a change's window is between 1 minute and {MAX_LENGTH.days} days")
    return length


def check_window(start: datetime | None, end: datetime | None) -> None:
    if start is None and end is None:
        return
    if start is None or end is None:
        raise ValidationError("a planned window needs both its start and its end (or --for 2h)")
    if end <= start:
        raise ValidationError("the planned end must come after the planned start")
    if end - start > MAX_LENGTH:
        raise ValidationError(f"a change's window is at most {MAX_LENGTH.days} days; split a longer piece of work")
