"""The figures of a report, computed in SQL: each is one aggregate query
(grouped when the report is by team, priority, ..., day or week), so a
report reads a few rows whatever the desk's size.

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

Medians are the middle value (the mean of the two middle values for an
even count); p90 is the nearest-rank 90th percentile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from peewee import SQL, Case, Select, fn

from deskconsole.core.lifecycle import OPEN
from deskconsole.core.reports.period import Period
from deskconsole.core.sql_expr import and_all, count_if, local_day, seconds_between
from deskconsole.models import AuditEvent, Rating, SlaClock, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

DIMENSIONS = ("team", "priority", "category", "service", "agent", "day", "week")
TICKET_COLUMNS = {
    "team": Ticket.team, "priority": Ticket.priority, "category": Ticket.category,
    "service": Ticket.service, "agent": Ticket.assignee,
}
PING_PONG = 3  # a ticket handed on this many times or more
REASSIGNING_FIELDS = ("assignee", "team")
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


def group_expr(desk: "Desk", by: str | None, column, period: Period):
    """What a row is grouped by, for an event that happened at ``column``."""
    if by is None:
        return None
    if by in TICKET_COLUMNS:
        return TICKET_COLUMNS[by]
    day = local_day(desk.db, column, period.tz, period.start - timedelta(days=1), period.end + timedelta(days=1))
    if by == "day":
        return day
    if by == "week":  # weeks from Monday: day 0 (1970-01-01) was a Thursday
        return (day + 3) / 7 if desk.is_sqlite else fn.floor((day + 3) / 7.0).cast("BIGINT")
    raise ValueError(by)


def _rows(query, g) -> dict:
    """{group: row tuple} of a query whose first column is the group (when grouped)."""
    if g is None:
        row = query.tuples().first()
        return {None: row} if row is not None else {}
    return {row[0]: row[1:] for row in query.group_by(SQL("1")).tuples()}


def _counts(query, g) -> dict:
    """:func:`_rows` with every value a whole number (SUM over no rows is NULL: 0)."""
    return {k: tuple(int(x or 0) for x in r) for k, r in _rows(query, g).items()}


def _select(g, *columns):
    return Ticket.select(*(([g.alias("g")] if g is not None else []) + list(columns)))


def in_period(column, period: Period):
    return (column >= period.start) & (column < period.end)


# --------------------------------------------------------------------------- figures


def _count(desk: "Desk", where, column, period: Period, by: str | None) -> dict:
    g = group_expr(desk, by, column, period)
    return {k: r[0] for k, r in _counts(_select(g, fn.COUNT(Ticket.id)).where(where), g).items()}


def created(desk: "Desk", base, period: Period, by: str | None) -> dict:
    """Tickets created in the period, per group."""
    return _count(desk, and_all(base, in_period(Ticket.created_at, period)), Ticket.created_at, period, by)


def resolved_count(desk: "Desk", base, period: Period, by: str | None) -> dict:
    """Tickets resolved in the period (not merged), per group."""
    return _count(desk, _resolved_where(base, period), Ticket.resolved_at, period, by)


def _resolved_where(base, period: Period):
    return and_all(base, in_period(Ticket.resolved_at, period), Ticket.merged_into.is_null())


def durations(desk: "Desk", base, period: Period, by: str | None, which: str) -> dict[object, Durations]:
    """MTTA or MTTR (``which``: mtta, mtta_business, mttr, mttr_business) per group."""
    event = Ticket.acknowledged_at if which.startswith("mtta") else Ticket.resolved_at
    g = group_expr(desk, by, event, period)
    if which.startswith("mtta"):
        where = and_all(base, in_period(Ticket.acknowledged_at, period))
    else:
        where = _resolved_where(base, period)
    source = _select(g, (seconds_between(desk.db, event, Ticket.created_at)).alias("v"))
    if which.endswith("business"):
        metric = "first_response" if which.startswith("mtta") else "resolution"
        source = _select(g, SlaClock.elapsed.alias("v")).join(
            SlaClock, on=((SlaClock.ticket == Ticket.id) & (SlaClock.metric == metric)))
        where = and_all(where, SlaClock.stopped_at.is_null(False), SlaClock.state.in_(("met", "breached")))
    return _percentiles(desk, source.where(where), grouped=g is not None)


def _percentiles(desk: "Desk", source, grouped: bool) -> dict[object, Durations]:
    """count, mean, median and p90 of ``source``'s column ``v`` per ``g``, in SQL:
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
            out[key] = Durations(int(count), float(mean), float(median), float(p90))
    return out


def resolution(desk: "Desk", base, period: Period, by: str | None) -> dict[object, tuple]:
    """Per group: resolved, reopened, first-contact, reassignments, ping-pong,
    rated, rateable, score total — for tickets resolved in the period."""
    g = group_expr(desk, by, Ticket.resolved_at, period)
    where = _resolved_where(base, period)
    # hand-offs: changes (one transaction each) that moved a held ticket to
    # another agent or team; a team change with its assignee change is one
    handed = (AuditEvent
              .select(AuditEvent.ticket.alias("ticket"), fn.COUNT(fn.DISTINCT(AuditEvent.at)).alias("n"))
              .where(AuditEvent.field.in_(REASSIGNING_FIELDS) & AuditEvent.old.is_null(False)
                     & AuditEvent.ticket.in_(Ticket.select(Ticket.id).where(where)))
              .group_by(AuditEvent.ticket)
              .alias("h"))
    latest = Rating.select(fn.MAX(Rating.id)).group_by(Rating.ticket)
    rated = Rating.select(Rating.ticket.alias("ticket"), Rating.score.alias("score")).where(Rating.id.in_(latest)).alias("rt")
    moves = fn.COALESCE(handed.c.n, 0)
    query = (_select(g, fn.COUNT(Ticket.id), count_if(Ticket.reopen_count > 0),
                     count_if((Ticket.reopen_count == 0) & (moves == 0)), fn.SUM(moves), count_if(moves >= PING_PONG),
                     count_if(rated.c.score.is_null(False)), count_if(Ticket.requester_email.is_null(False)),
                     fn.SUM(fn.COALESCE(rated.c.score, 0)))
             .join(handed, "LEFT OUTER JOIN", on=(handed.c.ticket == Ticket.id))
             .join(rated, "LEFT OUTER JOIN", on=(rated.c.ticket == Ticket.id), src=Ticket)
             .where(where))
    return _counts(query, g)


def compliance(desk: "Desk", base, period: Period, by: str | None) -> dict[object, tuple[int, int, int, int]]:
    """Per group: first response met, breached; resolution met, breached —
    clocks decided in the period (cancelled clocks left out)."""
    return {(k[0] if k else None): v for k, v in compliance_cube(desk, base, period, (by,) if by else ()).items()}


def compliance_cube(desk: "Desk", base, period: Period, dims: tuple[str, ...]) -> dict[tuple, tuple[int, int, int, int]]:
    """:func:`compliance` grouped by several dimensions at once, keyed by the
    tuple of their values: one pass over the clocks for every breakdown a
    report shows (see :func:`fold`). The tickets are joined only when a
    query or a ticket's field asks for them."""
    decided_at = fn.COALESCE(SlaClock.breached_at, SlaClock.stopped_at)
    groups = [group_expr(desk, d, decided_at, period).alias(f"g{i}") for i, d in enumerate(dims)]
    met = (SlaClock.state == "met") & in_period(SlaClock.stopped_at, period)
    breached = SlaClock.breached_at.is_null(False) & in_period(SlaClock.breached_at, period)
    response = SlaClock.metric == "first_response"
    query = SlaClock.select(*groups, count_if(met & response), count_if(breached & response),
                            count_if(met & ~response), count_if(breached & ~response))
    if base is not None or any(d in TICKET_COLUMNS for d in dims):
        query = query.join(Ticket, on=(SlaClock.ticket == Ticket.id))
    query = query.where(and_all(base, met | breached))
    if dims:
        query = query.group_by(*(SQL(str(i + 1)) for i in range(len(dims))))
    out = {}
    for row in query.tuples():
        counts = tuple(int(x or 0) for x in row[len(dims):])
        if any(counts):
            out[tuple(row[:len(dims)])] = counts
    return out


def fold(cube: dict[tuple, tuple[int, ...]], index: int | None) -> dict[object, tuple[int, ...]]:
    """Sums of a cube's counts by its ``index``-th dimension (None: all of them, keyed None)."""
    out: dict[object, list[int]] = {}
    for key, counts in cube.items():
        total = out.setdefault(None if index is None else key[index], [0] * len(counts))
        for i, n in enumerate(counts):
            total[i] += n
    return {k: tuple(v) for k, v in out.items()}


def backlog(desk: "Desk", base, now: datetime, by: str | None, period: Period) -> dict[object, tuple[int, ...]]:
    """Per group: open tickets (not merged) by age now, per AGE_BUCKETS."""
    if by in ("day", "week"):
        return {}  # the backlog is now's, not a day's
    g = group_expr(desk, by, Ticket.created_at, period)
    buckets = []
    for _, older, younger in AGE_BUCKETS:
        cond = Ticket.created_at <= now - timedelta(seconds=older)
        if younger is not None:
            cond = cond & (Ticket.created_at > now - timedelta(seconds=younger))
        buckets.append(count_if(cond))
    query = _select(g, *buckets).where(and_all(base, Ticket.status.in_(OPEN), Ticket.merged_into.is_null()))
    return _counts(query, g)


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
