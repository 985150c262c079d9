"""Business-calendar arithmetic for SLA deadlines.

A :class:`Calendar` says when a desk is "open": a set of local-time intervals
per weekday, minus holidays, in one IANA time zone.  It answers three
questions, exactly to the microsecond and correctly across DST switches:

* :meth:`Calendar.add` -- the deadline ``seconds`` of business time after a start;
* :meth:`Calendar.between` -- the business seconds in ``[a, b)``;
* :meth:`Calendar.is_open` -- whether an instant is business time.

Semantics
---------
* Business time is the union of half-open intervals ``[open, close)`` given in
  the calendar's local time for each weekday.  ``"24:00"`` as a close means
  the end of that day (the next day's local midnight).  Intervals of one day
  may touch (``09:00-12:00`` and ``12:00-13:00``) but may not overlap.
* A holiday (``YYYY-MM-DD`` for one date, ``MM-DD`` for every year) removes
  the whole local day.
* Local boundary times become instants with the calendar's IANA zone, so an
  office stays open 09:00-17:00 *local* time all year and a ``00:00-24:00``
  day lasts 23 or 25 real hours on DST switch days.

DST rule (one rule covers every case)
-------------------------------------
A local boundary time maps to **the first instant at which the wall clock
reads that time or later**:

* an ordinary time maps to its only instant;
* an ambiguous time (fall back, the wall clock shows it twice) maps to its
  *first* occurrence (PEP 495 ``fold=0``);
* a nonexistent time (spring forward gap) maps to the transition instant,
  i.e. the moment the wall clock jumps past it.  An interval lying wholly
  inside the gap is therefore empty that day.

The mapping is monotonic, so a day's intervals stay ordered and never
overlap the neighbouring days.  Each local date owns the "slot" of real time
``[its midnight, next midnight)``; every instant belongs to exactly one slot,
and weekday hours and holidays apply per slot.  (Only when clocks go back
across midnight does this differ from "the wall clock's date": the repeated
minutes of the old date then belong to the new date.)

Zero seconds
------------
``add(start, 0)`` is ``start`` itself, open or not: zero business seconds
have elapsed at ``start`` already.  This is the only rule under which
``add(s, a + b) == add(add(s, a), b)`` holds for all ``a, b >= 0`` (a deadline
can land on a closing instant, and adding 0 there must not jump to the next
opening).  For ``seconds > 0`` the deadline is always inside or at the close
of a business interval; a start outside business time counts from the next
opening, and a deadline landing exactly on a closing instant is that instant.

Instants given to the calendar must be timezone-aware datetimes (else
``TypeError``); ``seconds`` must be an int (``TypeError``) and ``>= 0``
(``ValueError``).  Results are aware UTC datetimes.  Sub-second parts of inputs are kept by :meth:`add`;
:meth:`between` rounds the business time down to whole seconds.

Performance: the walk goes day by day, with each local date's intervals and
each month's total business time cached, so a warm ``add`` over a year looks
at about a dozen month totals and a few days.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["Calendar", "CalendarError"]

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
TOP_LEVEL_KEYS = ("timezone", "hours", "holidays")
_REQUIRED_KEYS = {
    "timezone": "an IANA time zone name such as 'Europe/Berlin' or 'UTC'",
    "hours": "a table of days (mon..sun) to lists of 'HH:MM-HH:MM'",
}

_US = 1_000_000  # microseconds per second; all internal instants are int µs since the epoch
_ONE_US = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_MINUTES_PER_DAY = 24 * 60

_INTERVAL_RE = re.compile(r"(\d\d):(\d\d)-(\d\d):(\d\d)")
_DATE_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)")
_YEARLY_RE = re.compile(r"(\d\d)-(\d\d)")

Interval = tuple[int, int]  # [start, end) in µs since the epoch (UTC)


class CalendarError(ValueError):
    """An invalid calendar table, or a question the calendar cannot answer.

    The message names the offending key (e.g. ``calendars.x.timezone``) and
    says what was expected.
    """


# --------------------------------------------------------------------------
# The calendar
# --------------------------------------------------------------------------


class Calendar:
    """Business hours in one time zone; see the module docstring for semantics.

    Build one with :meth:`from_config` (a ``[calendars.NAME]`` TOML table) or
    :meth:`always` (open all the time).  Treat instances as immutable; they
    are safe to share and cache per-date results internally.
    """

    def __init__(
        self,
        *,
        name: str,
        timezone: str,
        weekly: tuple[tuple[tuple[int, int], ...], ...],
        fixed_holidays: frozenset[date] = frozenset(),
        yearly_holidays: frozenset[tuple[int, int]] = frozenset(),
    ):
        """Low-level constructor; prefer :meth:`from_config`.

        ``weekly`` holds, for Monday..Sunday, sorted non-overlapping
        ``(open_minute, close_minute)`` pairs with ``0 <= open < close <= 1440``.
        """
        self.name = name
        self.timezone = timezone
        self._tz = ZoneInfo(timezone)
        self._weekly = weekly
        self._fixed_holidays = fixed_holidays
        self._yearly_holidays = yearly_holidays
        # Per-instance caches (a class-level lru_cache would keep every calendar alive).
        self._day_start = lru_cache(maxsize=8192)(self._compute_day_start)
        self._day_intervals = lru_cache(maxsize=8192)(self._compute_day_intervals)
        self._day_total = lru_cache(maxsize=8192)(self._compute_day_total)
        self._month_total = lru_cache(maxsize=2048)(self._compute_month_total)

    # -- construction -------------------------------------------------------

    @classmethod
    def from_config(cls, table: Mapping, name: str | None = None) -> Calendar:
        """Build a calendar from one ``[calendars.NAME]`` TOML table.

        Keys: ``timezone`` (IANA name, required), ``hours`` (table of
        ``mon``..``sun`` -> list of ``"HH:MM-HH:MM"``, required; a missing or
        empty day is closed), ``holidays`` (list of ``"YYYY-MM-DD"`` or
        ``"MM-DD"``, optional; TOML date literals count as fixed dates).
        Raises :class:`CalendarError` naming the key.
        """
        where = f"calendars.{name}" if name else "calendar"
        if not isinstance(table, Mapping):
            raise CalendarError(f"{where}: expected a table, got {_type_name(table)}")
        unknown = [k for k in table if k not in TOP_LEVEL_KEYS]
        if unknown:
            raise CalendarError(
                f"{where}.{unknown[0]}: unknown key; expected only {', '.join(TOP_LEVEL_KEYS)}"
            )
        for required, expected in _REQUIRED_KEYS.items():
            if required not in table:
                raise CalendarError(f"{where}.{required}: missing; expected {expected}")

        tz_name = _parse_timezone(table["timezone"], f"{where}.timezone")
        weekly = _parse_hours(table["hours"], f"{where}.hours")
        fixed, yearly = _parse_holidays(table.get("holidays", []), f"{where}.holidays")
        if len(yearly) == 366:
            raise CalendarError(
                f"{where}.holidays: every day of the year is a holiday; "
                "the calendar would never be open"
            )
        return cls(
            name=name or "calendar",
            timezone=tz_name,
            weekly=weekly,
            fixed_holidays=fixed,
            yearly_holidays=yearly,
        )

    @classmethod
    def always(cls, name: str = "24x7") -> Calendar:
        """The built-in calendar that is open all the time (UTC, no holidays)."""
        whole_day = ((0, _MINUTES_PER_DAY),)
        return cls(name=name, timezone="UTC", weekly=(whole_day,) * len(DAY_KEYS))

    def __repr__(self) -> str:
        return f"Calendar(name={self.name!r}, timezone={self.timezone!r})"

    def __reduce__(self):
        """Pickle by definition (caches are rebuilt), e.g. to a worker process."""
        return _rebuild, (self.name, self.timezone, self._weekly, self._fixed_holidays, self._yearly_holidays)

    # -- public API ---------------------------------------------------------

    def is_open(self, instant: datetime) -> bool:
        """True if ``instant`` is business time (intervals are half-open: a
        closing instant is not open)."""
        u = _to_us(instant, "instant")
        return any(s <= u < e for s, e in self._day_intervals(self._slot(u)))

    def add(self, start: datetime, seconds: int) -> datetime:
        """The earliest instant at which ``seconds`` of business time have
        elapsed since ``start``, as an aware UTC datetime.

        ``seconds`` is a non-negative int; ``add(start, 0)`` is ``start``.
        """
        u = _to_us(start, "start")
        remaining = _seconds(seconds) * _US
        if remaining == 0:
            return _from_us(u)
        try:
            return _from_us(self._add_us(u, remaining))
        except OverflowError:
            raise OverflowError(
                f"calendar {self.name!r}: the deadline falls outside the supported date range"
            ) from None

    def between(self, a: datetime, b: datetime) -> int:
        """Whole business seconds in ``[a, b)`` (0 when ``b <= a``), rounded down."""
        ua, ub = _to_us(a, "a"), _to_us(b, "b")
        if ub <= ua:
            return 0
        return self._between_us(ua, ub) // _US

    # -- the walks ----------------------------------------------------------

    def _add_us(self, u: int, remaining: int) -> int:
        """Deadline (µs) for ``remaining`` > 0 business µs after instant ``u``."""
        day = self._slot(u)
        # 1. The rest of the start's own day.
        for s, e in self._day_intervals(day):
            if e <= u:
                continue
            s = max(s, u)
            if e - s >= remaining:
                return s + remaining
            remaining -= e - s
        day += _ONE_DAY
        # 2. Skip whole months, then whole days, that end strictly before the
        #    deadline ("strictly" keeps a deadline on a closing instant there).
        while True:
            if day.day == 1:
                month = self._month_total(day.year, day.month)
                if month < remaining:
                    remaining -= month
                    day = _next_month(day)
                    continue
            total = self._day_total(day)
            if total < remaining:
                remaining -= total
                day += _ONE_DAY
                continue
            # 3. The deadline is inside this day.
            for s, e in self._day_intervals(day):
                if e - s >= remaining:
                    return s + remaining
                remaining -= e - s
            raise AssertionError("unreachable: day total covers the remainder")

    def _between_us(self, ua: int, ub: int) -> int:
        """Business µs in ``[ua, ub)``, with ``ua < ub``."""
        first, last = self._slot(ua), self._slot(ub)
        if first == last:
            return self._clipped(first, ua, ub)
        total = self._clipped(first, ua, ub)
        day = first + _ONE_DAY
        while day < last:
            if day.day == 1 and _next_month(day) <= last:
                total += self._month_total(day.year, day.month)
                day = _next_month(day)
            else:
                total += self._day_total(day)
                day += _ONE_DAY
        return total + self._clipped(last, ua, ub)

    def _clipped(self, day: date, lo: int, hi: int) -> int:
        """Business µs of ``day`` that fall inside ``[lo, hi)``."""
        return sum(
            max(0, min(e, hi) - max(s, lo)) for s, e in self._day_intervals(day)
        )

    # -- per-date building blocks (cached) -----------------------------------

    def _slot(self, u: int) -> date:
        """The local date whose slot ``[midnight, next midnight)`` holds ``u``.

        Usually the local date of ``u``.  When clocks go back across midnight
        (America/Goose_Bay 2010-11-07: 00:01 -> 23:01 the day before) the
        repeated wall times of the old date lie after the new date's first
        midnight, so they belong to the new date's slot.  The first loop is
        defensive: with the boundary rule no instant precedes its own date's
        first midnight.
        """
        day = _from_us(u).astimezone(self._tz).date()
        while u < self._day_start(day):
            day -= _ONE_DAY
        while u >= self._day_start(day + _ONE_DAY):
            day += _ONE_DAY
        return day

    def _compute_day_start(self, day: date) -> int:
        return self._local_to_us(day, 0)

    def _compute_day_intervals(self, day: date) -> tuple[Interval, ...]:
        """The business intervals of local date ``day`` in UTC µs, empty ones dropped."""
        if self._is_holiday(day):
            return ()
        out = []
        for open_min, close_min in self._weekly[day.weekday()]:
            s = self._wall_to_us(day, open_min)
            e = self._wall_to_us(day, close_min)
            if e > s:  # empty when the whole interval is inside a DST gap
                out.append((s, e))
        return tuple(out)

    def _compute_day_total(self, day: date) -> int:
        return sum(e - s for s, e in self._day_intervals(day))

    def _compute_month_total(self, year: int, month: int) -> int:
        day, total = date(year, month, 1), 0
        while day.month == month:
            total += self._day_total(day)
            day += _ONE_DAY
        return total

    def _is_holiday(self, day: date) -> bool:
        return day in self._fixed_holidays or (day.month, day.day) in self._yearly_holidays

    # -- local wall time -> instant --------------------------------------------

    def _wall_to_us(self, day: date, minute: int) -> int:
        """The instant (µs) of local ``day`` + ``minute`` (1440 = next midnight)."""
        if minute == _MINUTES_PER_DAY:
            return self._day_start(day + _ONE_DAY)
        return self._local_to_us(day, minute)

    def _local_to_us(self, day: date, minute: int) -> int:
        """First instant (µs) at which the wall clock reads ``day`` + ``minute`` or later.

        See the module docstring: ambiguous -> first occurrence, nonexistent
        -> the transition that skips it.  (Hot path: built with the datetime
        constructor, which is several times faster than ``replace``.)
        """
        y, mo, d, h, mi = day.year, day.month, day.day, minute // 60, minute % 60
        offset0 = datetime(y, mo, d, h, mi, tzinfo=self._tz).utcoffset()  # before a transition
        offset1 = datetime(y, mo, d, h, mi, tzinfo=self._tz, fold=1).utcoffset()  # after it
        local = ((day.toordinal() - _EPOCH_ORDINAL) * 86_400 + minute * 60) * _US
        if offset0 >= offset1:
            # Ordinary (equal offsets) or ambiguous (fold=0 is the first occurrence).
            return local - offset0 // _ONE_US
        # In a gap: the transition lies in (local - offset1, local - offset0].
        # Binary-search whole seconds (tz transitions fall on whole seconds).
        wall = datetime(y, mo, d, h, mi)
        lo = (local - offset1 // _ONE_US) // _US  # wall clock still before `wall`
        hi = (local - offset0 // _ONE_US) // _US  # wall clock already past it
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if datetime.fromtimestamp(mid, self._tz).replace(tzinfo=None) >= wall:
                hi = mid
            else:
                lo = mid
        return hi * _US


# --------------------------------------------------------------------------
# Parsing and validation of the TOML table
# --------------------------------------------------------------------------


def _rebuild(name, timezone, weekly, fixed, yearly) -> Calendar:
    return Calendar(name=name, timezone=timezone, weekly=weekly, fixed_holidays=fixed, yearly_holidays=yearly)


def _parse_timezone(value: object, key: str) -> str:
    if not isinstance(value, str):
        raise CalendarError(f"{key}: expected an IANA time zone name string, got {_type_name(value)}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CalendarError(
            f"{key}: unknown time zone {value!r}; expected an IANA name such as "
            "'Europe/Berlin' or 'UTC'"
        ) from None
    return value


def _parse_hours(value: object, key: str) -> tuple[tuple[tuple[int, int], ...], ...]:
    if not isinstance(value, Mapping):
        raise CalendarError(
            f"{key}: expected a table of days (mon..sun) to lists of 'HH:MM-HH:MM', "
            f"got {_type_name(value)}"
        )
    weekly: list[tuple[tuple[int, int], ...]] = [() for _ in DAY_KEYS]
    for day_key, spans in value.items():
        day_path = f"{key}.{day_key}"
        if day_key not in DAY_KEYS:
            raise CalendarError(f"{day_path}: unknown day; expected one of {', '.join(DAY_KEYS)}")
        if not isinstance(spans, list):
            raise CalendarError(
                f"{day_path}: expected a list of 'HH:MM-HH:MM' strings, got {_type_name(spans)}"
            )
        parsed = sorted(_parse_interval(span, day_path) for span in spans)
        for (s1, e1), (s2, e2) in zip(parsed, parsed[1:]):
            if s2 < e1:
                raise CalendarError(
                    f"{day_path}: {_fmt(s1, e1)!r} overlaps {_fmt(s2, e2)!r}; "
                    "expected non-overlapping intervals"
                )
        weekly[DAY_KEYS.index(day_key)] = tuple(parsed)
    if not any(weekly):
        raise CalendarError(
            f"{key}: no open hours on any day; expected at least one 'HH:MM-HH:MM' interval"
        )
    return tuple(weekly)


def _parse_interval(span: object, key: str) -> tuple[int, int]:
    expected = "expected 'HH:MM-HH:MM' with start < end"
    if not isinstance(span, str):
        raise CalendarError(f"{key}: {span!r} is not a string; {expected}")
    m = _INTERVAL_RE.fullmatch(span)
    if not m:
        raise CalendarError(f"{key}: {span!r} is not a time range; {expected}")
    h1, m1, h2, m2 = map(int, m.groups())
    if not (h1 <= 23 and m1 <= 59 and (h2 <= 23 and m2 <= 59 or (h2, m2) == (24, 0))):
        raise CalendarError(
            f"{key}: {span!r} has an invalid time; {expected} (00:00..23:59, or 24:00 as an end)"
        )
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start >= end:
        what = "is empty" if start == end else "ends before it starts"
        raise CalendarError(f"{key}: {span!r} {what}; {expected}")
    return start, end


def _parse_holidays(value: object, key: str) -> tuple[frozenset[date], frozenset[tuple[int, int]]]:
    expected = "expected 'YYYY-MM-DD' (one date) or 'MM-DD' (every year)"
    if not isinstance(value, list):
        raise CalendarError(f"{key}: expected a list of date strings, got {_type_name(value)}")
    fixed: set[date] = set()
    yearly: set[tuple[int, int]] = set()
    for i, item in enumerate(value):
        item_key = f"{key}[{i}]"
        if isinstance(item, date) and not isinstance(item, datetime):
            fixed.add(item)  # an unquoted TOML date literal (2025-12-25) is fine too
            continue
        if not isinstance(item, str):
            raise CalendarError(f"{item_key}: {item!r} is not a string; {expected}")
        try:
            if m := _DATE_RE.fullmatch(item):
                fixed.add(date(*map(int, m.groups())))
            elif m := _YEARLY_RE.fullmatch(item):
                month, day = map(int, m.groups())
                date(2000, month, day)  # a leap year, so "02-29" is valid
                yearly.add((month, day))
            else:
                raise CalendarError(f"{item_key}: {item!r} is not a date; {expected}")
        except ValueError as exc:
            if isinstance(exc, CalendarError):
                raise
            raise CalendarError(f"{item_key}: {item!r} is not a valid date; {expected}") from None
    return frozenset(fixed), frozenset(yearly)


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def _to_us(value: object, what: str) -> int:
    """An aware datetime as int µs since the epoch; rejects anything else."""
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a timezone-aware datetime, got {_type_name(value)}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise TypeError(
            f"{what} must be a timezone-aware datetime, got naive {value.isoformat()}; "
            "attach a zone, e.g. dt.replace(tzinfo=timezone.utc)"
        )
    return (value - _EPOCH) // _ONE_US


def _from_us(u: int) -> datetime:
    return _EPOCH + timedelta(microseconds=u)


def _seconds(value: object) -> int:
    """Validate a business-seconds count: a non-negative int (bool and float refused)."""
    if isinstance(value, bool):
        raise TypeError("seconds must be an int, got bool")
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(f"seconds must be an int, got {_type_name(value)}") from None
    if n < 0:
        raise ValueError(f"seconds must be >= 0, got {n}")
    return n


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _fmt(start: int, end: int) -> str:
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def _type_name(value: object) -> str:
    return type(value).__name__
