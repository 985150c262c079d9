"""The SLA sweep: move on the clocks whose next threshold or deadline has
passed, record each crossing once, and run its escalations once.

It reads only what crosses — two index ranges (``warn_at <= now``; running
and ``due_at < now``) — so its cost follows the number of crossings, not the
number of open tickets. Any number of consoles and daemons may sweep one
desk: on SQLite the write lock serialises them and the second finds nothing
left; on PostgreSQL tickets another sweeper (or a write) holds are skipped;
and the unique (clock, threshold) key is the last word on who recorded a
crossing.

Lock order on PostgreSQL: a ticket's row before its clocks, as every ticket
write takes them (``change_ticket`` locks the ticket, then the clocks follow
the change). A sweep that locked clocks first and then updated their tickets
deadlocked against writes doing the opposite, and a write that had read a
clock before such a sweep committed could save its stale copy over the
crossing the sweep had just recorded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from deskconsole.binding import on_desk
from deskconsole.core.sla_clocks import clocks
from deskconsole.core.outbound import webhooks
from deskconsole.core.automation.auto_close import auto_close
from deskconsole.core.automation.escalation import SLA_ACTOR, escalate
from deskconsole.core.keys import ticket_key
from deskconsole.core.txn import unit_of_work
from deskconsole.models import SlaClock, Ticket
from deskconsole.sla.policy import BREACH

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

DEFAULT_INTERVAL = 5.0  # seconds between sweeps
BATCH = 1000  # clocks per transaction; a backlog is worked off over several sweeps


@dataclass
class SweepReport:
    at: datetime
    clocks: int = 0  # clocks moved on
    crossings: int = 0  # crossings this sweep recorded
    actions: int = 0  # escalation actions run
    more: bool = False  # a backlog is left for the next sweep
    seconds: float = 0.0
    events: list[str] = field(default_factory=list)  # "INC-42 resolution at 90% of 4h 00m (policy p1)"
    latest: dict[int, str] = field(default_factory=dict)  # clock id -> its furthest crossing's event
    closed: list[str] = field(default_factory=list)  # resolved tickets closed by auto_close_days

    @property
    def headlines(self) -> list[str]:
        """One event per clock that crossed (the furthest): what a person needs to hear."""
        return list(self.latest.values())

    def __str__(self) -> str:
        text = f"{self.clocks} clock(s) moved, {self.crossings} crossing(s), {self.actions} escalation action(s)"
        if self.closed:
            text += f", {len(self.closed)} resolved ticket(s) closed"
        return text + (" — more waiting" if self.more else "")


def _crossing(now: datetime):
    return (SlaClock.warn_at <= now) | ((SlaClock.state == "running") & (SlaClock.due_at < now))


def pending(now: datetime) -> bool:
    """Is anything due? A read, without taking the write lock."""
    return SlaClock.select(SlaClock.id).where(_crossing(now)).limit(1).exists()


@on_desk
def due_clocks(desk: "Desk", now: datetime, limit: int, held: list[int] | None = None):
    """The clocks a sweep at ``now`` moves on: two index ranges, no scan.
    ``held``: on PostgreSQL, only the clocks of these tickets (the ones
    :func:`hold_due_tickets` locked)."""
    # No ORDER BY: ordering by id would make SQLite walk the whole table in id
    # order instead of reading the two index ranges.
    query = SlaClock.select().where(_crossing(now)).limit(limit)
    if held is not None:
        query = query.where(SlaClock.ticket.in_(held)).for_update()
    return query


@on_desk
def hold_due_tickets(desk: "Desk", now: datetime, limit: int) -> list[int] | None:
    """PostgreSQL: lock the tickets that have a clock due, skipping those another
    sweeper or a write holds (theirs for now; the next sweep gets them). None on
    SQLite, where the write lock already holds everything."""
    if desk.is_sqlite:
        return None
    due = SlaClock.select(SlaClock.ticket).where(_crossing(now))
    query = Ticket.select(Ticket.id).where(Ticket.id.in_(due)).limit(limit).for_update("FOR UPDATE SKIP LOCKED")
    return [tid for (tid,) in query.tuples()]


@on_desk
def sweep(desk: "Desk", *, batch: int = BATCH) -> SweepReport:
    started = time.perf_counter()
    report = SweepReport(at=desk.now())
    if pending(report.at):
        with unit_of_work(desk, SLA_ACTOR, "sla") as unit:
            report.at = unit.now
            _sweep(desk, unit, report, batch)
    report.closed = auto_close(desk, report.at)
    report.seconds = time.perf_counter() - started
    return report


def _sweep(desk: "Desk", unit, report: SweepReport, batch: int) -> None:
    now = unit.now
    held = hold_due_tickets(desk, now, batch + 1)  # the ticket rows first, then their clocks
    rows = list(due_clocks(desk, now, batch + 1, held))
    report.more = len(rows) > batch
    fired = []
    moved = rows[:batch]
    for clock in moved:
        cal = clocks.calendar_of(desk, clock)
        crossed = clocks.passed(cal, clock, now)
        for pct, at in crossed:
            clocks.mark_crossed(clock, pct, at)
        clocks.schedule(cal, clock)
        report.clocks += 1
        for pct, at in crossed:
            crossing = clocks.record_crossing(clock, pct, at, now)
            if crossing is None:
                continue  # another sweeper recorded it first
            report.crossings += 1
            what = clocks.describe_crossing(clock, pct)
            unit.audit(clock.ticket_id, "sla", clock.metric, None, what)
            report.events.append(f"{ticket_key(clock.ticket_id)} {what}")
            report.latest[clock.id] = report.events[-1]
            fired.append((clock, pct, crossing))
    clocks.save_moved(moved)
    for clock, pct, crossing in fired:
        report.actions += escalate(desk, unit, clock, pct, crossing)
        _tell_channels(desk, unit, clock, pct)
    refresh_summaries(unit, {c.ticket_id for c in rows[:batch]}, now)


def refresh_summaries(unit, ticket_ids: set[int], now: datetime) -> None:
    """Store each ticket's SLA summary again; a feed row tells live views."""
    if not ticket_ids:
        return
    by_ticket: dict[int, list[SlaClock]] = {}
    for clock in SlaClock.select().where(SlaClock.ticket.in_(list(ticket_ids))):
        by_ticket.setdefault(clock.ticket_id, []).append(clock)
    current = Ticket.select(Ticket.id, Ticket.version, Ticket.sla, Ticket.sla_due).where(Ticket.id.in_(list(ticket_ids)))
    changed = []
    for t in current:
        sla, due = clocks.summary(by_ticket.get(t.id, []), now)
        if (sla, due) != (t.sla, t.sla_due):
            changed.append((sla, Ticket.sla_due.db_value(due), t.id))
        unit.feed(t.id, t.version)
    if changed:
        sql, _ = Ticket.update({Ticket.sla: None, Ticket.sla_due: None}).where(Ticket.id == 0).sql()
        Ticket._meta.database.cursor().executemany(sql, changed)


def _tell_channels(desk: "Desk", unit, clock, pct: int) -> None:
    """A clock's breach, and its first warning, to the webhooks that want them."""
    warnings = [p for p in clocks.thresholds_of(clock) if p < BREACH]
    event = "breach" if pct >= BREACH else "warning" if warnings and pct == min(warnings) else None
    if event is None or not desk.config.raw.get("webhook"):
        return
    t = Ticket.get_by_id(clock.ticket_id)
    what = clocks.describe_crossing(clock, pct)
    values = {"title": t.title, "priority": t.priority, "status": t.status, "team": t.team_id,
              "service": t.service_id, "assignee": t.assignee_id}
    webhooks.queue(unit, t.id, event, f"[{ticket_key(t.id)}] {t.priority} {what}: {t.title}",
                   webhooks.ticket_fields(desk.directory, values))
