"""The figures of a report on the whole desk, from the hourly sums the write
path keeps (``deskconsole.core.report_facts``) instead of from the tickets.

Counts and sums over a period are its whole hours' rows plus, at each edge,
the part-hour's events read from the facts; a median or p90 is the value at
its rank in a fact index (value, event time), read from that rank on. The
figures are the same as :mod:`kpis` computes from the tickets (the tests
hold both to the same hand-computed values), to the millisecond.

A report with a query, or ``by agent``, reads the tickets: the hours are
per priority, team, category and service only. So is a trend by day in a
time zone whose days do not start on a whole UTC hour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from peewee import SQL, fn

from deskconsole.core import report_facts
from deskconsole.core.report_facts import COUNTERS, GROUPS, HOUR, add_counts, hour_start
from deskconsole.core.reports import kpis
from deskconsole.core.reports.kpis import AGE_BUCKETS, Durations, Figures
from deskconsole.core.reports.period import Period
from deskconsole.core.sql_expr import offsets
from deskconsole.models import ReportFact, ReportHour

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

UTC = timezone.utc
DAY = 86400
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DIMENSIONS = GROUPS + ("day", "week")  # the ``by`` a report from the hours can have
_INDEX = {name: i for i, name in enumerate(COUNTERS)}


def serves(desk: "Desk", base, by: str | None, period: Period) -> bool:
    """Can the hours answer this report? (the whole desk, by a group they keep)"""
    if base is not None or (by is not None and by not in DIMENSIONS):
        return False
    return by not in ("day", "week") or whole_hour_days(period)


def whole_hour_days(period: Period) -> bool:
    """Does every local day of the period start on a whole UTC hour?"""
    return all(seconds % HOUR == 0 for _, seconds in offsets(period.tz, period.start, period.end))


# --------------------------------------------------------------------------- reading the sums


def _hour(at: datetime) -> int:
    return int((at - EPOCH).total_seconds() // HOUR)


def _split(start: datetime, end: datetime) -> tuple[int, int, list[tuple[datetime, datetime]]]:
    """[start, end) as whole hours [first, last) and the part-hours at its edges."""
    first, last = _hour(start), _hour(end)
    edges = []
    if start != hour_start(first):
        edges.append((start, min(end, hour_start(first + 1))))
        first += 1
    if last >= first and end != hour_start(last):
        edges.append((hour_start(last), end))
    return first, last, edges


@dataclass
class Sums:
    """The counters of a period's events, per (priority, team, category,
    service) and per hour: two reads of the kept hours, and the part-hours
    at the edges from the facts."""

    groups: dict[tuple, list[int]] = field(default_factory=dict)
    hours: dict[int, list[int]] = field(default_factory=dict)

    def by(self, by: str | None, period: Period, counters: tuple[str, ...] = COUNTERS) -> dict[object, dict[str, int]]:
        """{group: {counter: sum}} (``by`` a group, a local day or week; None: one row keyed None)."""
        out: dict[object, list[int]] = {}
        if by in ("day", "week"):
            rows = ((_local(hour, by, period), counts) for hour, counts in self.hours.items())
        elif by is None:
            rows = ((None, counts) for counts in self.hours.values())
        else:
            index = GROUPS.index(by)
            rows = ((kpis.group_key(by, key[index]), counts) for key, counts in self.groups.items())
        for key, counts in rows:
            add_counts(out, key, counts)
        slots = [_INDEX[c] for c in counters]
        return {k: {c: v[slot] for c, slot in zip(counters, slots)} for k, v in out.items()}


def read(desk: "Desk", period: Period) -> Sums:
    first, last, edges = _split(period.start, period.end)
    out = Sums()
    H = ReportHour
    totals = [fn.SUM(getattr(H, c)) for c in COUNTERS]
    if first < last:
        whole = (H.hour >= first) & (H.hour < last)
        for row in (H.select(H.priority, H.team, H.category, H.service, *totals).where(whole)
                    .group_by(SQL("1"), SQL("2"), SQL("3"), SQL("4")).tuples()):
            out.groups[tuple(row[:4])] = [int(x or 0) for x in row[4:]]
        for row in H.select(H.hour, *totals).where(whole).group_by(H.hour).tuples():
            out.hours[int(row[0])] = [int(x or 0) for x in row[1:]]
    for window in edges:
        for key, counts in report_facts.sums(desk, window=window).items():
            add_counts(out.groups, key[1:], counts)
            add_counts(out.hours, key[0], counts)
    return out


def _local(hour: int, by: str, period: Period) -> int:
    """The local day number (days since 1970-01-01) or week number of an hour."""
    day = (hour_start(hour).astimezone(period.tz).date() - EPOCH.date()).days
    return day if by == "day" else (day + 3) // 7


# --------------------------------------------------------------------------- percentiles


def _at_rank(desk: "Desk", which: str, period: Period, rank: int, count: int, n: int) -> list[int]:
    """The ``count`` values from the ``rank``-th (0 first) of the ``n`` in the
    period, in value order: read from the nearer end of the index."""
    value, event, _, _, _ = kpis.TIMES[which]
    query = ReportFact.select(value).where(value.is_null(False) & (event >= period.start) & (event < period.end))
    if rank + count <= n - rank:
        query = query.order_by(value).offset(rank)
    else:  # from the top: p90 reads a tenth of the index, not nine
        query = query.order_by(value.desc()).offset(n - rank - count)
    query = query.limit(count)
    if desk.is_sqlite:  # SQLite would read the period's rows by time and sort them
        query = query.from_(SQL(f'report_fact AS "t1" INDEXED BY {_index_name(which)}'))
    return sorted(int(v) for (v,) in query.tuples())


def _index_name(which: str) -> str:
    value, event, _, _, _ = kpis.TIMES[which]
    return f"report_fact_{value.column_name}_{event.column_name}"


def durations(desk: "Desk", which: str, period: Period, counts: dict[str, int]) -> Durations:
    """Count, mean, median and p90 of a time figure over the whole desk."""
    _, _, per, n_name, sum_name = kpis.TIMES[which]
    n = counts.get(n_name, 0)
    if not n:
        return Durations()
    middle = _at_rank(desk, which, period, (n + 1) // 2 - 1, 1 if n % 2 else 2, n)
    p90 = _at_rank(desk, which, period, (9 * n + 9) // 10 - 1, 1, n)
    return Durations.of(n, counts[sum_name] / n, sum(middle) / len(middle), p90[0], per)


# --------------------------------------------------------------------------- figures


def figures(desk: "Desk", period: Period, by: str | None, backlog: dict, sums: Sums) -> dict[object, Figures]:
    """Every figure per group, as :func:`kpis.figures` has them (``backlog``: the groups' backlog, read apart)."""
    per_group = sums.by(by, period)
    if by is None:
        per_group.setdefault(None, dict.fromkeys(COUNTERS, 0))
        times = {w: {None: durations(desk, w, period, per_group[None])} for w in kpis.TIMES}
    else:
        times = {w: kpis.durations(desk, None, period, by, w) for w in kpis.TIMES}  # ranked per group over the facts
    keys = set(per_group) | set(backlog)
    for t in times.values():
        keys |= set(t)
    out = {}
    for key in keys:
        c = per_group.get(key) or dict.fromkeys(COUNTERS, 0)
        t = {w: times[w].get(key, Durations()) for w in kpis.TIMES}
        out[key] = Figures(
            group=key, created=c["created"], resolved=c["resolved"],
            mtta=t["mtta"], mtta_business=t["mtta_business"], mttr=t["mttr"], mttr_business=t["mttr_business"],
            response_met=c["response_met"], response_breached=c["response_breached"],
            resolution_met=c["resolution_met"], resolution_breached=c["resolution_breached"],
            reopened=c["reopened"], first_contact=c["first_contact"], reassignments=c["handoffs"],
            ping_pong=c["ping_pong"], rated=c["rated"], rateable=c["rateable"], score_total=c["score"],
            backlog=backlog.get(key, (0,) * len(AGE_BUCKETS)) if by not in ("day", "week") else (),
        )
    return out


def daily_created(desk: "Desk", now: datetime, days: int) -> dict[str, dict[object, list[int]]]:
    """{"category"|"service": {id: [tickets created (not merged) 0, 1, ... days-1 days back from now]}},
    counted as :func:`trends.daily_counts` counts them from the tickets: in
    whole seconds, day k holding the seconds now - (k+1) days < s <= now - k days.

    Each whole hour goes to the day it starts in; where a day starts inside an
    hour, the hour's tickets from that moment on are read from the facts and
    moved to the later day."""
    top = datetime.fromtimestamp(int(now.timestamp()) + 1, UTC)  # the second after now's
    bounds = [min(top, now + timedelta(microseconds=1))] + [top - timedelta(days=k) for k in range(1, days + 1)]
    out: dict[str, dict[object, list[int]]] = {"category": {}, "service": {}}

    def add(dim: str, value, day: int, n: int) -> None:
        if value and 0 <= day < days and n:
            out[dim].setdefault(value, [0] * days)[day] += n

    H, F = ReportHour, ReportFact
    first = _hour(bounds[-1])
    day_of = [int((top - hour_start(h)).total_seconds() // DAY) for h in range(first, _hour(bounds[0]) + 1)]
    for hour, category, service, n in (H.select(H.hour, H.category, H.service, fn.SUM(H.created_live))
                                       .where((H.hour >= first) & (H.hour <= _hour(bounds[0])) & (H.created_live != 0))
                                       .group_by(SQL("1"), SQL("2"), SQL("3")).tuples()):
        day = day_of[int(hour) - first]
        add("category", int(category), day, int(n))
        add("service", int(service), day, int(n))
    for k, bound in enumerate(bounds):
        if bound == hour_start(_hour(bound)):
            continue
        rest = (F.created_at >= bound) & (F.created_at < hour_start(_hour(bound) + 1)) & (F.live == True)  # noqa: E712
        for category, service, n in F.select(F.category, F.service, fn.COUNT(F.ticket)).where(rest).group_by(
                SQL("1"), SQL("2")).tuples():
            for dim, value in (("category", category), ("service", service)):
                add(dim, int(value), k, -int(n))  # counted in the hour's day ...
                add(dim, int(value), k - 1, int(n))  # ... but after the day's start
    return out
