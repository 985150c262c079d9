"""Trend flags: a category or service logging incidents well above its own
baseline — the early sign of a problem.

For each category and service, tickets created (merged duplicates left out)
are counted per day back from now: day 0 is the last 24 hours, day 1 the 24
before, and so on. A window (the last day, or the last week) is flagged
when its count is at least ``min_count`` and more than ``factor`` times the
baseline: the median of the daily counts over the 28 days before the
window (days without tickets count as 0), times the window's length in days.
A week is not flagged again when its last day is.
Counting back from now in whole 24-hour steps needs no time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import TYPE_CHECKING

from peewee import SQL, fn

from deskconsole.core.keys import ticket_key
from deskconsole.core.records.kinds import incidents
from deskconsole.core.sql_expr import DAY, and_all, epoch
from deskconsole.core.reports.kpis import scope
from deskconsole.models import ReportFact, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

BASELINE_DAYS = 28
WINDOWS = (("day", 1), ("week", 7))
FACTOR = 3.0
MIN_COUNT = 5
SHOWN = 20  # tickets listed with a flag
DAYS = max(days for _, days in WINDOWS) + BASELINE_DAYS  # the days counted back from now


@dataclass(frozen=True)
class TrendFlag:
    dimension: str  # category | service
    group: int  # the category's or service's id
    window: str  # day | week
    count: int  # tickets in the window
    baseline: float  # the window's expected count: median per day x its days
    since: datetime  # the window's start
    tickets: tuple[str, ...]  # the newest first, at most SHOWN

    @property
    def ratio(self) -> float | None:
        return self.count / self.baseline if self.baseline else None


def daily_counts(desk: "Desk", base, now: datetime, column, days: int) -> dict[object, list[int]]:
    """{group id: [tickets created 0, 1, ... days-1 days back from now]} (``column``: a fact's category or service)."""
    F = ReportFact
    ago = (int(now.timestamp()) - epoch(desk.db, F.created_at)) / DAY
    if not desk.is_sqlite:
        ago = fn.floor(ago).cast("BIGINT")
    since = now - timedelta(days=days)
    query = (F.select(column.alias("g"), ago.alias("ago"), fn.COUNT(SQL("*")))
             .where(and_all(scope(base), F.created_at > since, F.created_at <= now, F.live == True, column != 0))  # noqa: E712
             .group_by(SQL("1"), SQL("2")))
    out: dict[object, list[int]] = {}
    for group, back, count in query.tuples():
        back = int(back)
        if 0 <= back < days:
            out.setdefault(int(group), [0] * days)[back] += int(count)
    return out


def flags(desk: "Desk", base, now: datetime, *, factor: float = FACTOR, min_count: int = MIN_COUNT,
          daily: dict[str, dict[object, list[int]]] | None = None) -> list[TrendFlag]:
    """The flags; ``daily``: {dimension: counts as :func:`daily_counts` has
    them over ``DAYS``}, read elsewhere (the hourly sums, for the whole desk)."""
    out: list[TrendFlag] = []
    for dimension, column in (("category", Ticket.category), ("service", Ticket.service)):
        per_day = (daily[dimension] if daily is not None
                   else daily_counts(desk, base, now, getattr(ReportFact, dimension), DAYS))
        for group, counts in per_day.items():
            for window, days in WINDOWS:
                count = sum(counts[:days])
                baseline = median(counts[days:days + BASELINE_DAYS]) * days
                if count >= min_count and count > factor * baseline:
                    since = now - timedelta(days=days)
                    keys = (Ticket.select(Ticket.id)
                            .where(and_all(base, column == group, Ticket.created_at > since,
                                           Ticket.created_at <= now, Ticket.merged_into.is_null(), incidents()))
                            .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(SHOWN).tuples())
                    out.append(TrendFlag(dimension, group, window, count, float(baseline), since,
                                         tuple(ticket_key(i) for (i,) in keys)))
    # a week flagged only because of its last day says nothing the day's flag does not
    days_flagged = {(f.dimension, f.group) for f in out if f.window == "day"}
    out = [f for f in out if f.window == "day" or (f.dimension, f.group) not in days_flagged]
    out.sort(key=lambda f: (-f.count / max(f.baseline, 0.5), f.dimension, f.group))
    return out
