"""Clocks for tickets that have none yet, rebuilt from their timestamps.

Tickets from a desk that predates SLA clocks get them here, in bulk.
Imported and demo tickets get the same clocks from
:mod:`deskconsole.core.sla_clocks.import_clocks`, which computes them from the rows
being imported (before they are written) by these rules; tests compare the
two column for column, so a rule changed here must change there too.
Only the timestamps are known, not the history of pauses: a clock counts from ``created_at`` to the first
acknowledgement or reply (first response) and to ``resolved_at``
(resolution); a pending ticket is taken as paused since its last update.
Thresholds already passed are marked on the clock, so the sweep does not
escalate old news, but no crossing rows are written for them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Callable, Iterable

from deskconsole.binding import on_desk
from deskconsole.core.bulk import insert_rows
from deskconsole.core.sla_clocks.clocks import amount_for, schedule, summary
from deskconsole.models import SlaClock, Ticket
from deskconsole.sla.policy import BREACH, METRICS

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

BATCH = 5000
COLUMNS = (
    "ticket", "metric", "policy", "calendar", "target", "thresholds", "pause_on", "state", "started_at",
    "counted_to", "elapsed", "paused", "paused_since", "due_at", "warn_at", "warn_pct", "crossed",
    "breached_at", "stopped_at",
)
_TICKET_FIELDS = (
    Ticket.id, Ticket.status, Ticket.priority, Ticket.team, Ticket.service, Ticket.category, Ticket.created_at,
    Ticket.updated_at, Ticket.acknowledged_at, Ticket.first_response_at, Ticket.resolved_at, Ticket.merged_into,
)


@on_desk
def missing(desk: "Desk", ticket_ids: Iterable[int] | None = None) -> int:
    """Give clocks to tickets without any (all of them, or ``ticket_ids``);
    runs in the caller's transaction. Returns how many tickets got clocks."""
    if not desk.config.sla.policies:
        return 0
    query = Ticket.select(*_TICKET_FIELDS).where(~Ticket.id.in_(SlaClock.select(SlaClock.ticket)))
    if ticket_ids is not None:
        ids = list(ticket_ids)
        done = 0
        for i in range(0, len(ids), BATCH):
            done += rebuild(desk, query.where(Ticket.id.in_(ids[i:i + BATCH])).tuples().iterator())
        return done
    return rebuild(desk, query.order_by(Ticket.id).tuples().iterator())


@on_desk
def rebuild(desk: "Desk", rows: Iterable[tuple], on_batch: Callable[[int], None] | None = None) -> int:
    now = desk.now()
    sla = desk.config.sla
    d = desk.directory
    clocks_out: list[_Clock] = []
    summaries: list[tuple] = []
    count = 0
    for row in rows:
        made = clocks_for(sla, d, row, now)
        if made is None:
            continue
        clocks_out.extend(made)
        state, due = summary(made, now)
        summaries.append((state, due, row[0]))
        count += 1
        if len(summaries) >= BATCH:
            _flush(clocks_out, summaries)
            if on_batch:
                on_batch(count)
    _flush(clocks_out, summaries)
    return count


def clocks_for(sla, d, row: tuple, now: datetime) -> list["_Clock"] | None:
    """The clocks of one ticket (``row``: the values of _TICKET_FIELDS) as of
    ``now``, or None when no policy matches it (``d``: the desk's directory)."""
    tid, status, priority, team, service, category, created, updated, acked, responded, resolved, merged = row
    policy = sla.match(priority, d.team_names.get(team), d.service_names.get(service), d.category_names.get(category))
    if policy is None:
        return None
    made = []
    for metric in METRICS:
        if metric not in policy.targets:
            continue
        target = policy.targets[metric]
        if metric == "first_response":
            stops = [t for t in (acked, responded, resolved) if t is not None]
            end = min(stops) if stops else None
        else:
            end = resolved
        clock = _Clock(
            ticket_id=tid, metric=metric, policy=policy.name, calendar=target.calendar, target=target.seconds,
            thresholds=",".join(str(p) for p in policy.thresholds(metric)), pause_on=",".join(policy.pause_on),
            started_at=created,
        )
        cal = sla.calendar(target.calendar)
        cancelled = status == "cancelled" or merged is not None
        if end is not None:
            clock.elapsed = cal.between(created, end)
            clock.stopped_at = end
        elif cancelled or status == "closed":
            clock.elapsed = cal.between(created, updated)
            clock.stopped_at = updated
        elif status in policy.pause_on:
            clock.elapsed = cal.between(created, updated)
            clock.paused_since = updated
        else:
            clock.elapsed = cal.between(created, now)
            clock.counted_to = now
        _verdict(cal, clock, created, cancelled and end is None)
        made.append(clock)
    return made


class _Clock:
    """A clock row being built: the attributes of :class:`SlaClock` without
    a Peewee model instance per row (a million of those cost minutes)."""

    __slots__ = ("ticket_id",) + COLUMNS[1:]

    def __init__(self, **values):
        for name in self.__slots__:
            setattr(self, name, None)
        self.elapsed = self.paused = self.crossed = 0
        for name, value in values.items():
            setattr(self, name, value)


def _verdict(cal, clock: "_Clock", created: datetime, cancelled: bool) -> None:
    passed = [p for p in map(int, filter(None, clock.thresholds.split(","))) if clock.elapsed >= amount_for(clock, p)]
    clock.crossed = passed[-1] if passed else 0
    # Breached when the clock ran past its deadline: more business time than the
    # target, or exactly the target used up at a closing time with the clock
    # still counting (or stopped) after it.
    due = cal.add(created, clock.target) if clock.elapsed >= clock.target else None  # no pauses are known
    end = clock.stopped_at or clock.paused_since or clock.counted_to
    if due is not None and (clock.elapsed > clock.target or end > due):
        clock.crossed = BREACH
        clock.breached_at = clock.due_at = due
        clock.state = "breached"
    elif clock.stopped_at is not None:
        clock.state = "cancelled" if cancelled else "met"
    else:
        clock.state = "paused" if clock.paused_since is not None else "running"
    schedule(cal, clock)


def _flush(clocks_out: list[_Clock], summaries: list[tuple]) -> None:
    insert_rows(SlaClock, COLUMNS, ([getattr(c, "ticket_id" if n == "ticket" else n) for n in COLUMNS] for c in clocks_out))
    if summaries:
        db = Ticket._meta.database
        p = db.param
        rows = [(s, Ticket.sla_due.db_value(due), tid) for s, due, tid in summaries]
        db.cursor().executemany(f"UPDATE ticket SET sla = {p}, sla_due = {p} WHERE id = {p}", rows)
    clocks_out.clear()
    summaries.clear()
