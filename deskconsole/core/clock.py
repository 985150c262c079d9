"""Time for the desk. Everything that needs "now" takes a clock, so tests can set it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Callable

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


class ManualClock:
    """A clock that only moves when told to (tests, simulations, benchmarks)."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(timezone.utc)

    def __call__(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0, **kwargs) -> datetime:
        self._now += timedelta(seconds=seconds, **kwargs)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(timezone.utc)


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """The first instant of ``day`` in ``tz``, in UTC (a day that starts in a
    daylight-saving gap starts at the gap's end)."""
    # fold=0: a repeated midnight is its first instant; a skipped one is read
    # with the offset before the change, which is the instant the day begins
    return datetime.combine(day, time()).replace(tzinfo=tz).astimezone(timezone.utc)


def ago(then: datetime, now: datetime) -> str:
    """A short human age: '3 s', '5 min', '2 h', '4 d'."""
    seconds = max(0, int((now - then).total_seconds()))
    return short_duration(seconds)


def short_duration(seconds: int) -> str:
    seconds = abs(int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400 * 2:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def exact_duration(seconds: int) -> str:
    """A duration to the minute (to the second under an hour): '42s',
    '12m 05s', '4h 30m', '52h 00m' — SLA targets and countdowns."""
    seconds = abs(int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
