"""The figures of a report on any query, computed in SQL from the report
facts (``deskconsole.core.report_facts``: one row a ticket, kept by the
write path) of the tickets the query selects: each figure is one aggregate
query, grouped when the report is by team, priority, ..., day or week. A
report on the whole desk reads the hourly sums instead (:mod:`hours`), with
the same figures.

Which tickets count for what (the README has the full definitions):

- *created*: tickets created in the period (duplicates merged later too);
- *MTTA*: tickets first acknowledged in the period, created -> acknowledged;
- *MTTR*, *reopen rate*, *first-contact resolution*, *reassignments*,
  *CSAT*: tickets resolved in the period (and not merged into another),
  created -> the last resolution;
- *business* times are the SLA clocks' own count (first response,
  resolution): business hours of the ticket's calendar, without the time
  spent in a pausing status or resolved before a reopen;
- *SLA compliance*: clocks decided in the period — met when stopped in
  time, breached when their deadline passed — met / (met + breached);
- *backlog*: tickets open now (not merged), by age.

Wall-clock times are whole milliseconds. Medians are the middle value (the
mean of the two middle values for an even count); p90 is the nearest-rank
90th percentile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from peewee import SQL, Case, Select, fn

from deskconsole.core.records.kinds import incidents
from deskconsole.core.records.lifecycle import OPEN
from deskconsole.core.reports.period import Period
from deskconsole.core.report_facts import PING_PONG
from deskconsole.core.sql_expr import and_all, count_if, local_day
from deskconsole.models import ReportFact, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

DIMENSIONS = ("team", "priority", "category", "service", "agent", "day", "week")
F = ReportFact
FACT_GROUPS = {"team": F.team, "priority": F.priority, "category": F.category, "service": F.service, "agent": F.assignee}
MS = 1000  # wall-clock times are whole milliseconds
# open tickets by age: (label, older than, younger than) in seconds
AGE_BUCKETS = (
    ("< 1d", 0, 86400), ("1-3d", 86400, 3 * 86400), ("3-7d", 3 * 86400, 7 * 86400),
    ("7-30d", 7 * 86400, 30 * 86400), ("> 30d", 30 * 86400, None),
)


@dataclass(frozen=True)
class Durations:
    """Seconds: how many, mean, median, p90 (None when there are none)."""

    count: int = 0
    mean: float | None = None
    median: float | None = None
    p90: float | None = None

    @classmethod
    def of(cls, count: int, mean: float, median: float, p90: int, per: int) -> "Durations":
        """From whole units, ``per`` of them a second (the mean and median
        of integers, as the database or Python divides them)."""
        return cls(count, mean / per, median / per, p90 / per)


@dataclass(frozen=True)
class Figures:
    """One row of a report: the whole population (``group`` None) or one group of it."""

    group: object = None  # a team/category/service/agent id, a priority, a day or week number
    created: int = 0
    resolved: int = 0
    mtta: Durations = field(default_factory=Durations)
    mtta_business: Durations = field(default_factory=Durations)
    mttr: Durations = field(default_factory=Durations)
    mttr_business: Durations = field(default_factory=Durations)
    response_met: int = 0
    response_breached: int = 0
    resolution_met: int = 0
    resolution_breached: int = 0
    reopened: int = 0
    first_contact: int = 0
    reassignments: int = 0
    ping_pong: int = 0
    rated: int = 0
    rateable: int = 0  # resolved tickets with a requester address to ask
    score_total: int = 0
    backlog: tuple[int, ...] = ()  # open tickets now, per AGE_BUCKETS

    @property
    def breaches(self) -> int:
        return self.response_breached + self.resolution_breached

    def clocks(self, metric: str) -> tuple[int, int]:
        """(met, breached) clocks of ``metric`` (first_response or resolution)."""
        if metric == "first_response":
            return self.response_met, self.response_breached
        return self.resolution_met, self.resolution_breached

    def compliance(self, metric: str) -> float | None:
        met, breached = self.clocks(metric)
        return None if met + breached == 0 else met / (met + breached)

    @property
    def reopen_rate(self) -> float | None:
        return self.reopened / self.resolved if self.resolved else None

    @property
    def first_contact_rate(self) -> float | None:
        return self.first_contact / self.resolved if self.resolved else None

    @property
    def reassignments_per_ticket(self) -> float | None:
        return self.reassignments / self.resolved if self.resolved else None

    @property
    def csat(self) -> float | None:
        return self.score_total / self.rated if self.rated else None

    @property
    def response_rate(self) -> float | None:
        return self.rated / self.rateable if self.rateable else None

    @property
    def backlog_total(self) -> int:
        return sum(self.backlog)


# --------------------------------------------------------------------------- grouping


def scope(base):
    """The facts of the tickets ``base`` (a WHERE on tickets, None for all) selects."""
    return None if base is None else F.ticket.in_(Ticket.select(Ticket.id).where(base))


def group_expr(desk: "Desk", by: str | None, column, period: Period):
    """What a row is grouped by, for an event that happened at ``column``."""
    if by is None:
        return None
    if by in FACT_GROUPS:
        return FACT_GROUPS[by]
    day = local_day(desk.db, column, period.tz, period.start - timedelta(days=1), period.end + timedelta(days=1))
    if by == "day":
        return day
    if by == "week":  # weeks from Monday: day 0 (1970-01-01) was a Thursday
        return (day + 3) / 7 if desk.is_sqlite else fn.floor((day + 3) / 7.0).cast("BIGINT")
    raise ValueError(by)


def group_key(by: str | None, value):
    """A group's value as the tickets have it: an id (None for none), a priority, a day or week number."""
    if by in ("team", "category", "service", "agent"):
        return int(value) or None
    if by in ("day", "week"):
        return int(value)
    return value


def _rows(query, by: str | None, g) -> dict:
    """{group: row tuple} of a query whose first column is the group (when grouped)."""
    if g is None:
        row = query.tuples().first()
        return {None: row} if row is not None else {}
    return {group_key(by, row[0]): row[1:] for row in query.group_by(SQL("1")).tuples()}


def _counts(query, by: str | None, g) -> dict:
    """:func:`_rows` with every value a whole number (SUM over no rows is NULL: 0)."""
    return {k: tuple(int(x or 0) for x in r) for k, r in _rows(query, by, g).items()}


def _facts(g, *columns):
    return F.select(*(([g.alias("g")] if g is not None else []) + list(columns)))


def in_period(column, period: Period):
    return (column >= period.start) & (column < period.end)


# --------------------------------------------------------------------------- figures


def _count(desk: "Desk", base, column, period: Period, by: str | None) -> dict:
    g = group_expr(desk, by, column, period)
    query = _facts(g, fn.COUNT(SQL("*"))).where(and_all(scope(base), in_period(column, period)))
    return {k: r[0] for k, r in _counts(query, by, g).items()}


def created(desk: "Desk", base, period: Period, by: str | None) -> dict:
    """Tickets created in the period, per group."""
    return _count(desk, base, F.created_at, period, by)


def resolved_count(desk: "Desk", base, period: Period, by: str | None) -> dict:
    """Tickets resolved in the period (not merged), per group."""
    return _count(desk, base, F.resolved_at, period, by)


# each time figure: its fact, the event that dates it, its units a second,
# and the hourly sums' counters of its values and of their sum
TIMES = {
    "mtta": (F.mtta, F.acked_at, MS, "acked", "mtta_sum"),
    "mtta_business": (F.mtta_b, F.acked_at, 1, "mtta_b_n", "mtta_b_sum"),
    "mttr": (F.mttr, F.resolved_at, MS, "resolved", "mttr_sum"),
    "mttr_business": (F.mttr_b, F.resolved_at, 1, "mttr_b_n", "mttr_b_sum"),
}


def durations(desk: "Desk", base, period: Period, by: str | None, which: str) -> dict[object, Durations]:
    """MTTA or MTTR (``which``: mtta, mtta_business, mttr, mttr_business) per group."""
    value, event, per, _, _ = TIMES[which]
    g = group_expr(desk, by, event, period)
    source = _facts(g, value.alias("v")).where(and_all(scope(base), value.is_null(False), in_period(event, period)))
    out = percentiles(desk, source, grouped=g is not None, per=per)
    return {group_key(by, k): v for k, v in out.items()} if g is not None else out


def percentiles(desk: "Desk", source, grouped: bool, per: int) -> dict[object, Durations]:
    """count, mean, median and p90 of ``source``'s column ``v`` (whole
    milliseconds, ``per`` 1000, or seconds, ``per`` 1) per ``g``, in SQL:
    each value's rank in its group by a window, then the ranks wanted."""
    s = source.alias("s")
    part = [s.c.g] if grouped else None
    ranked = Select([s], ([s.c.g] if grouped else []) + [
        s.c.v, fn.ROW_NUMBER().over(partition_by=part, order_by=[s.c.v]).alias("rn"),
        fn.COUNT(SQL("*")).over(partition_by=part).alias("n"),
    ]).alias("r")
    r = ranked.c
    middle = (r.rn == (r.n + 1) / 2) | (r.rn == (r.n + 2) / 2)  # integer division on both databases
    columns = ([r.g] if grouped else []) + [
        fn.COUNT(SQL("*")), fn.AVG(r.v), fn.AVG(Case(None, [(middle, r.v)], None)),
        fn.MIN(Case(None, [(r.rn >= (r.n * 9 + 9) / 10, r.v)], None)),  # nearest rank: ceil(0.9 n)
    ]
    query = Select([ranked], columns).bind(desk.db)
    if grouped:
        query = query.group_by(SQL("1"))
    out = {}
    for row in query.tuples():
        key, (count, mean, median, p90) = (row[0], row[1:]) if grouped else (None, row)
        if count:
            out[key] = Durations.of(int(count), float(mean), float(median), int(p90), per)
    return out


def resolution(desk: "Desk", base, period: Period, by: str | None) -> dict[object, tuple]:
    """Per group: resolved, reopened, first-contact, reassignments, ping-pong,
    rated, rateable, score total — for tickets resolved in the period."""
    g = group_expr(desk, by, F.resolved_at, period)
    query = (_facts(g, fn.COUNT(SQL("*")), count_if(F.reopened == True),  # noqa: E712
                    count_if((F.reopened == False) & (F.handoffs == 0)), fn.SUM(F.handoffs),  # noqa: E712
                    count_if(F.handoffs >= PING_PONG), count_if(F.score.is_null(False)),
                    count_if(F.rateable == True), fn.SUM(fn.COALESCE(F.score, 0)))  # noqa: E712
             .where(and_all(scope(base), in_period(F.resolved_at, period))))
    return _counts(query, by, g)


def compliance(desk: "Desk", base, period: Period, by: str | None) -> dict[object, tuple[int, int, int, int]]:
    """Per group: first response met, breached; resolution met, breached —
    clocks decided in the period (cancelled clocks left out)."""
    return {(k[0] if k else None): v for k, v in compliance_cube(desk, base, period, (by,) if by else ()).items()}


def compliance_cube(desk: "Desk", base, period: Period, dims: tuple[str, ...]) -> dict[tuple, tuple[int, int, int, int]]:
    """:func:`compliance` grouped by several dimensions at once, keyed by the
    tuple of their values: one pass over the facts per metric for every
    breakdown a report shows (see :func:`fold`)."""
    out: dict[tuple, list[int]] = {}
    for slot, (at, met) in enumerate(((F.response_at, F.response_met), (F.resolution_at, F.resolution_met))):
        groups = [group_expr(desk, d, at, period).alias(f"g{i}") for i, d in enumerate(dims)]
        query = (F.select(*groups, count_if(met == True), count_if(met == False))  # noqa: E712
                 .where(and_all(scope(base), in_period(at, period))))
        if dims:
            query = query.group_by(*(SQL(str(i + 1)) for i in range(len(dims))))
        for row in query.tuples():
            key = tuple(group_key(d, v) for d, v in zip(dims, row[:len(dims)]))
            counts = out.setdefault(key, [0, 0, 0, 0])
            counts[2 * slot] += int(row[len(dims)] or 0)
            counts[2 * slot + 1] += int(row[len(dims) + 1] or 0)
    return {k: tuple(v) for k, v in out.items() if any(v)}


def fold(cube: dict[tuple, tuple[int, ...]], index: int | None) -> dict[object, tuple[int, ...]]:
    """Sums of a cube's counts by its ``index``-th dimension (None: all of them, keyed None)."""
    out: dict[object, list[int]] = {}
    for key, counts in cube.items():
        total = out.setdefault(None if index is None else key[index], [0] * len(counts))
        for i, n in enumerate(counts):
            total[i] += n
    return {k: tuple(v) for k, v in out.items()}


def backlog(desk: "Desk", base, now: datetime, by: str | None, period: Period) -> dict[object, tuple[int, ...]]:
    """Per group: open tickets (not merged) by age now, per AGE_BUCKETS —
    the open ones, less the few open ones merged into another (so the first
    count reads only the status index when there is no query)."""
    if by in ("day", "week"):
        return {}  # the backlog is now's, not a day's
    g = {"team": Ticket.team, "priority": Ticket.priority, "category": Ticket.category,
         "service": Ticket.service, "agent": Ticket.assignee}.get(by)
    buckets = []
    for _, older, younger in AGE_BUCKETS:
        cond = Ticket.created_at <= now - timedelta(seconds=older)
        if younger is not None:
            cond = cond & (Ticket.created_at > now - timedelta(seconds=younger))
        buckets.append(count_if(cond))
    is_open = and_all(base, Ticket.status.in_(OPEN), incidents())
    select = lambda *where: Ticket.select(*(([g.alias("g")] if g is not None else []) + buckets)).where(and_all(*where))  # noqa: E731
    out = _counts(select(is_open), None, g)
    for key, merged in _counts(select(is_open, Ticket.merged_into.is_null(False)), None, g).items():
        out[key] = tuple(a - b for a, b in zip(out[key], merged))
    return {k: v for k, v in out.items() if any(v)} if g is not None else out


def figures(desk: "Desk", base, period: Period, now: datetime, by: str | None = None,
            compliance_read: dict | None = None) -> dict[object, Figures]:
    """Every figure per group (``by`` None: one row, keyed None); ``compliance_read``:
    the groups' compliance when the caller has it already (folded from a cube)."""
    parts = {
        "created": created(desk, base, period, by),
        **{w: durations(desk, base, period, by, w) for w in ("mtta", "mtta_business", "mttr", "mttr_business")},
        "resolution": resolution(desk, base, period, by),
        "compliance": compliance_read if compliance_read is not None else compliance(desk, base, period, by),
        "backlog": backlog(desk, base, now, by, period),
    }
    keys = set().union(*(p.keys() for p in parts.values()))
    if by is None:
        keys.add(None)
    out = {}
    for key in keys:
        res = parts["resolution"].get(key, (0,) * 8)
        comp = parts["compliance"].get(key, (0, 0, 0, 0))
        out[key] = Figures(
            group=key, created=parts["created"].get(key, 0), resolved=res[0],
            mtta=parts["mtta"].get(key, Durations()), mtta_business=parts["mtta_business"].get(key, Durations()),
            mttr=parts["mttr"].get(key, Durations()), mttr_business=parts["mttr_business"].get(key, Durations()),
            response_met=comp[0], response_breached=comp[1], resolution_met=comp[2], resolution_breached=comp[3],
            reopened=res[1], first_contact=res[2], reassignments=res[3], ping_pong=res[4],
            rated=res[5], rateable=res[6], score_total=res[7],
            backlog=parts["backlog"].get(key, (0,) * len(AGE_BUCKETS)) if by not in ("day", "week") else (),
        )
    return out
