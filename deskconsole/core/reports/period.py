"""The span a report covers, read from ``--since`` in the desk's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo

from deskconsole.core.clock import local_midnight
from deskconsole.errors import ValidationError

UTC = timezone.utc
MAX_DAYS = 3660  # ten years
_RELATIVE = re.compile(r"([0-9]{1,5})([hdw])", re.IGNORECASE)
_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_UNITS = {"h": 3600, "d": 86400, "w": 7 * 86400}
_NOW = timedelta(microseconds=1)  # a period up to now takes in what happens at now
HINT = "use e.g. 30d, 12w, 48h, 2026-11-01 (to now) or 2026-11-01..2026-11-30 (whole days)"


@dataclass(frozen=True)
class Period:
    """The instants ``start <= t < end`` (UTC); ``term`` writes the same span
    in the query language (``created:TERM``), so a figure's tickets can be listed."""

    start: datetime
    end: datetime
    tz: tzinfo
    label: str
    term: str

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400


def parse_period(text: str | None, now: datetime, tz: tzinfo, *, default: str = "30d") -> Period:
    """``30d`` / ``12w`` / ``48h`` (back from now), ``2026-11-01`` (that
    day's midnight to now) or ``2026-11-01..2026-11-30`` (whole days,
    both included)."""
    raw = (text or default).strip()
    now = now.astimezone(UTC)
    m = _RELATIVE.fullmatch(raw)
    if m:
        seconds = int(m.group(1)) * _UNITS[m.group(2).lower()]
        if seconds <= 0:
            raise ValidationError(f"--since {raw!r} covers no time; {HINT}")
        if seconds > MAX_DAYS * 86400:
            raise ValidationError(f"--since {raw!r} is longer than {MAX_DAYS:,} days; {HINT}")
        amount = f"{int(m.group(1))}{m.group(2).lower()}"
        return Period(now - timedelta(seconds=seconds), now + _NOW, tz, f"last {amount}", f">=-{amount}")
    first, sep, last = raw.partition("..")
    start_day = _day(first, raw)
    if sep:
        end_day = _day(last, raw)
        if end_day < start_day:
            raise ValidationError(f"--since {raw!r} ends before it starts; {HINT}")
        start, end = local_midnight(start_day, tz), local_midnight(end_day + timedelta(days=1), tz)
        label, term = f"{start_day.isoformat()} .. {end_day.isoformat()}", f"{start_day.isoformat()}..{end_day.isoformat()}"
    else:
        start, end = local_midnight(start_day, tz), now
        label, term = f"since {start_day.isoformat()}", f">={start_day.isoformat()}"
    if start >= now:
        raise ValidationError(f"--since {raw!r} starts in the future; {HINT}")
    end = min(end, now + _NOW)
    if (end - start).days > MAX_DAYS:
        raise ValidationError(f"--since {raw!r} is longer than {MAX_DAYS:,} days; {HINT}")
    return Period(start, end, tz, label, term)


def _day(text: str, raw: str) -> date:
    m = _DAY.fullmatch(text.strip())
    if not m:
        raise ValidationError(f"--since {raw!r} is not a period; {HINT}")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise ValidationError(f"--since {raw!r}: {text.strip()} is not a date; {HINT}") from None
