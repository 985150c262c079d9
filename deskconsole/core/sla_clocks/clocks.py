"""SLA clocks: one per ticket per metric, following the ticket's life.

The rules (also in the README, because every desk gets one of them wrong):

- Both clocks start when the ticket is created, on the policy that matches
  it then (first match wins); the clock copies the policy's target,
  thresholds and pausing statuses, so editing a policy later never rewrites
  a clock that is already running.
- First response stops at the first public reply or acknowledgement by an
  agent (resolving counts too). Resolution stops when the ticket is resolved.
  Stopped at or before the deadline is *met*, after it *breached*.
- A status in the clock's ``pause_on`` (default: pending) pauses it; the
  deadline moves out by the business time spent paused.
- Reopening resumes the resolution clock where it stopped: the time the
  ticket spent resolved is excluded, so a reopened ticket does not escalate
  at once.
- A priority (or team, service, category) change that matches another policy
  re-targets the open clocks from their original start, keeping the time
  already used; already past the new target means breached now. The audit
  log says so.
- A breach is never taken back. Cancelling or merging a ticket cancels the
  clocks that are still open.

Every function here runs inside the caller's transaction (see
:mod:`deskconsole.core.txn`) and writes audit rows under the action ``sla``.
"""

from __future__ import annotations

import math
from functools import lru_cache
import os
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Iterable

from deskconsole.binding import on_desk
from deskconsole.core import hot_reads
from deskconsole.core.clock import exact_duration
from deskconsole.db import dialect
from deskconsole.models import SlaClock, SlaCrossing
from deskconsole.sla.policy import BREACH, METRICS, Policy

if TYPE_CHECKING:
    from deskconsole.core.records.change import TicketChange
    from deskconsole.core.desk import Desk
    from deskconsole.core.txn import Unit
    from deskconsole.sla import Calendar

LABEL = {"first_response": "first response", "resolution": "resolution"}
SUMMARY_ORDER = ("breached", "warning", "ok", "paused", "met")
WHO = f"{socket.gethostname()}:{os.getpid()}"


# ---------------------------------------------------------------- reading a clock
@on_desk
def calendar_of(desk: "Desk", clock: SlaClock) -> "Calendar":
    return desk.config.sla.calendar(clock.calendar)


def thresholds_of(clock: SlaClock) -> tuple[int, ...]:
    return tuple(int(p) for p in clock.thresholds.split(",") if p)


def counting(clock: SlaClock) -> bool:
    return clock.counted_to is not None


def used(cal: "Calendar", clock: SlaClock, now: datetime) -> int:
    """Business seconds of the target used at ``now``."""
    if counting(clock) and now > clock.counted_to:
        return clock.elapsed + cal.between(clock.counted_to, now)
    return clock.elapsed


def effective_state(clock: SlaClock, now: datetime) -> str:
    """The clock's state as of ``now``: a running clock past its deadline is
    breached even before the sweep has recorded it."""
    if clock.state == "running" and clock.due_at is not None and clock.due_at < now:
        return "breached"
    return clock.state


def is_warning(clock: SlaClock) -> bool:
    return clock.state == "running" and 0 < clock.crossed < BREACH


def amount_for(clock: SlaClock, pct: int) -> int:
    """Business seconds that make ``pct`` percent of the clock's target."""
    return math.ceil(clock.target * pct / 100)


def summary(clocks: Iterable[SlaClock], now: datetime) -> tuple[str | None, datetime | None]:
    """The ticket's SLA summary: its worst clock state and soonest deadline."""
    states = set()
    due = None
    for c in clocks:
        state = effective_state(c, now)
        states.add("warning" if state == "running" and is_warning(c) else "ok" if state == "running" else state)
        if counting(c) and c.due_at is not None and (due is None or c.due_at < due):
            due = c.due_at
    for state in SUMMARY_ORDER:
        if state in states:
            return state, due
    return None, due


# ---------------------------------------------------------------- scheduling
def schedule(cal: "Calendar", clock: SlaClock) -> None:
    """Recompute the stored ``due_at`` / ``warn_at`` of a clock."""
    if not counting(clock):
        clock.warn_at = clock.warn_pct = None
        if clock.breached_at is None:
            clock.due_at = None
        return
    if clock.breached_at is None:
        clock.due_at = _instant(cal, clock, clock.target)
    nxt = next((p for p in thresholds_of(clock) if p > clock.crossed), None)
    if nxt is None or clock.breached_at is not None:
        clock.warn_at = clock.warn_pct = None
    else:
        clock.warn_at, clock.warn_pct = _instant(cal, clock, amount_for(clock, nxt)), nxt


def _instant(cal: "Calendar", clock: SlaClock, amount: int) -> datetime:
    """When a counting clock reaches ``amount`` business seconds used."""
    need = amount - clock.elapsed
    return clock.counted_to if need <= 0 else cal.add(clock.counted_to, need)


def passed(cal: "Calendar", clock: SlaClock, now: datetime) -> list[tuple[int, datetime]]:
    """Thresholds (and the breach) a counting clock has passed by ``now`` that
    are not yet recorded, with the instant each was crossed, in order."""
    if not counting(clock) or clock.crossed >= BREACH:
        return []
    out = []
    for pct in thresholds_of(clock):
        if pct <= clock.crossed:
            continue
        at = _instant(cal, clock, amount_for(clock, pct))
        if at > now:
            return out
        out.append((pct, at))
    if clock.due_at is not None and clock.due_at < now:
        out.append((BREACH, clock.due_at))
    return out


def mark_crossed(clock: SlaClock, pct: int, at: datetime) -> None:
    clock.crossed = max(clock.crossed, pct)
    if pct >= BREACH:
        clock.breached_at = at
        clock.due_at = at
        if clock.state == "running":
            clock.state = "breached"


def record_crossing(clock: SlaClock, pct: int, at: datetime, now: datetime) -> int | None:
    """Record a crossing; returns its id, or None when another writer already did.

    One prepared ``INSERT ... ON CONFLICT DO NOTHING`` (built by Peewee once):
    the sweep records hundreds of these in a burst.
    """
    db = SlaCrossing._meta.database
    sql, returning = _crossing_sql(dialect(db))
    ts = SlaCrossing.at.db_value
    cursor = db.execute_sql(sql, (clock.id, clock.ticket_id, clock.metric, pct, ts(at), ts(now), WHO))
    if returning:
        row = cursor.fetchone()
        return row[0] if row else None
    return cursor.lastrowid if cursor.rowcount == 1 else None


@lru_cache(maxsize=8)
def _crossing_sql(dialect: type) -> tuple[str, bool]:
    # per kind of database, not per object: an id() is reused once its object is gone
    fields = (SlaCrossing.clock, SlaCrossing.ticket, SlaCrossing.metric, SlaCrossing.threshold, SlaCrossing.at,
              SlaCrossing.recorded_at, SlaCrossing.recorded_by)
    query = SlaCrossing.insert({f: None for f in fields}).on_conflict_ignore()
    sql, _ = query.sql()
    return sql, " RETURNING " in sql


_MOVED = ("state", "crossed", "due_at", "warn_at", "warn_pct", "breached_at")


def save_moved(moved: list[SlaClock]) -> None:
    """Store what the sweep changes on many clocks, in one prepared statement."""
    if not moved:
        return
    db = SlaClock._meta.database
    fields = [f for f in SlaClock._meta.sorted_fields if f.name in _MOVED]  # the order Peewee writes SET in
    sql, _ = SlaClock.update({f: None for f in fields}).where(SlaClock.id == 0).sql()
    params = [[f.db_value(getattr(c, f.name)) for f in fields] + [c.id] for c in moved]
    db.cursor().executemany(sql, params)


def describe_crossing(clock: SlaClock, pct: int) -> str:
    if pct >= BREACH:
        return f"{LABEL[clock.metric]} breached (target {exact_duration(clock.target)}, policy {clock.policy})"
    return f"{LABEL[clock.metric]} at {pct}% of {exact_duration(clock.target)} (policy {clock.policy})"


# ---------------------------------------------------------------- transitions
@on_desk
def new_clock(
    desk: "Desk", ticket_id: int | None, metric: str, policy: Policy, start: datetime, now: datetime
) -> SlaClock:
    target = policy.targets[metric]
    clock = SlaClock(
        ticket=ticket_id, metric=metric, policy=policy.name, calendar=target.calendar, target=target.seconds,
        thresholds=",".join(str(p) for p in policy.thresholds(metric)), pause_on=",".join(policy.pause_on),
        state="running", started_at=start, counted_to=start, elapsed=0, paused=0, crossed=0,
    )
    cal = calendar_of(desk, clock)
    if start < now:  # started in the past (an import, a late policy): count up to now
        clock.elapsed = cal.between(start, now)
        clock.counted_to = now
    schedule(cal, clock)
    return clock


def pause(cal: "Calendar", clock: SlaClock, now: datetime) -> bool:
    if not counting(clock):
        return False
    clock.elapsed = used(cal, clock, now)
    clock.counted_to = None
    clock.paused_since = now
    if clock.state == "running":
        clock.state = "paused"
    schedule(cal, clock)
    return True


def resume(cal: "Calendar", clock: SlaClock, now: datetime) -> bool:
    if clock.paused_since is None or clock.stopped_at is not None:
        return False
    _count_again(cal, clock, clock.paused_since, now)
    return True


def _count_again(cal: "Calendar", clock: SlaClock, since: datetime, now: datetime) -> None:
    """Count again from ``now``; the business time since ``since`` is excluded."""
    clock.paused += cal.between(since, now)
    clock.paused_since = clock.stopped_at = None
    clock.counted_to = now
    clock.state = "breached" if clock.breached_at else "running"
    schedule(cal, clock)


def stop(cal: "Calendar", clock: SlaClock, now: datetime, *, cancel: bool = False) -> list[tuple[int, datetime]]:
    """Stop a clock (met, breached, or cancelled); returns the crossings it
    passed that the sweep had not yet recorded (recorded, not escalated)."""
    if clock.stopped_at is not None:
        return []
    missed = passed(cal, clock, now)
    for pct, at in missed:
        mark_crossed(clock, pct, at)
    if counting(clock):
        clock.elapsed = used(cal, clock, now)
    elif clock.paused_since is not None:
        clock.paused += cal.between(clock.paused_since, now)
    clock.counted_to = clock.paused_since = None
    clock.stopped_at = now
    if clock.breached_at is not None or clock.elapsed > clock.target:
        if clock.breached_at is None:  # not counting, but past the target (cannot normally happen)
            mark_crossed(clock, BREACH, now)
            missed.append((BREACH, now))
        clock.state = "breached"
    else:
        clock.state = "cancelled" if cancel else "met"
    schedule(cal, clock)
    return missed


def restart(cal: "Calendar", clock: SlaClock, now: datetime) -> bool:
    """Resume a stopped clock (the ticket reopened); the stopped time is excluded."""
    if clock.stopped_at is None or clock.state == "cancelled":
        return False
    _count_again(cal, clock, clock.stopped_at, now)
    return True


@on_desk
def retarget(desk: "Desk", clock: SlaClock, policy: Policy, now: datetime) -> str | None:
    """Move an open clock onto ``policy``'s target, keeping the time used.
    Returns a sentence for the audit log, or None when nothing changed."""
    target = policy.targets[clock.metric]
    if clock.stopped_at is not None or (clock.policy, clock.target, clock.calendar) == (
        policy.name, target.seconds, target.calendar
    ):
        return None
    old_cal = calendar_of(desk, clock)
    spent = used(old_cal, clock, now)
    before = f"{exact_duration(clock.target)} ({clock.policy})"
    # When the time used passed the new target (if it has): on the old calendar, from the last count.
    if counting(clock) and clock.elapsed < target.seconds:
        passed_at = old_cal.add(clock.counted_to, target.seconds - clock.elapsed)
    else:
        passed_at = clock.counted_to or clock.paused_since or now
    clock.elapsed = spent
    if counting(clock):
        clock.counted_to = now
    clock.policy, clock.target, clock.calendar = policy.name, target.seconds, target.calendar
    clock.thresholds = ",".join(str(p) for p in policy.thresholds(clock.metric))
    clock.pause_on = ",".join(policy.pause_on)
    schedule(calendar_of(desk, clock), clock)
    text = f"target {before} -> {exact_duration(clock.target)} ({policy.name}); {exact_duration(spent)} used"
    if clock.breached_at is None and spent > clock.target:
        text += " — already past the new target: breached now"
        clock.due_at = min(passed_at, now)  # in the past: the next sweep records the breach
    return text


# ---------------------------------------------------------------- following a ticket
@dataclass
class TicketFacts:
    """What the clocks need to know about a ticket."""

    status: str
    priority: str | None
    team: str | None
    service: str | None
    category: str | None


@on_desk
def facts(desk: "Desk", get) -> TicketFacts:
    d = desk.directory
    team, service, category = get("team"), get("service"), get("category")
    return TicketFacts(
        status=get("status"), priority=get("priority"),
        team=d.team_names.get(team) if team else None,
        service=d.service_names.get(service) if service else None,
        category=d.category_names.get(category) if category else None,
    )


@on_desk
def match(desk: "Desk", f: TicketFacts) -> Policy | None:
    return desk.config.sla.match(f.priority, f.team, f.service, f.category)


@on_desk
def plan_new(desk: "Desk", values: dict, now: datetime) -> list[SlaClock]:
    """The clocks a new ticket starts with (not yet saved: no ticket id)."""
    policy = match(desk, facts(desk, values.get))
    if policy is None:
        return []
    return [new_clock(desk, None, m, policy, now, now) for m in METRICS if m in policy.targets]


def save_new(unit: "Unit", ticket_id: int, clocks: list[SlaClock]) -> None:
    for clock in clocks:
        clock.ticket = ticket_id
        clock.save(force_insert=True)
        unit.audit(ticket_id, "sla", clock.metric, None, _started(clock))


def _started(clock: SlaClock) -> str:
    return f"started: target {exact_duration(clock.target)}, policy {clock.policy}, due {_iso(clock.due_at)}"


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


def follow(ch: "TicketChange") -> dict:
    """Bring a ticket's clocks in line with the change being saved; returns
    the ticket's new SLA summary columns (``sla``, ``sla_due``)."""
    if ch.ticket.kind != "incident":  # SLA clocks time incidents only
        return {}
    desk, unit, now = ch.unit.desk, ch.unit, ch.now
    clocks = hot_reads.clocks(ch.ticket.id)  # prepared: every write to a ticket reads them
    changed = dict((name, (old, new)) for name, old, new in ch.changes)
    if not clocks and not changed.keys() & {"priority", "team", "service", "category"}:
        return {}
    touched: dict[int, str] = {}  # clock id -> audit text
    missed: list[tuple[SlaClock, int, datetime]] = []  # crossings passed before the sweep saw them

    def stop_(clock: SlaClock, cancel: bool = False) -> None:
        missed.extend((clock, pct, at) for pct, at in stop(calendar_of(desk, clock), clock, now, cancel=cancel))
    by_metric = {c.metric: c for c in clocks}
    status = ch.get("status")
    old_status = ch.original("status")

    if changed.keys() & {"priority", "team", "service", "category"} and status not in ("closed", "cancelled"):
        policy = match(desk, facts(desk, ch.get))
        for metric in METRICS:
            clock = by_metric.get(metric)
            if policy is not None and metric in policy.targets:
                if clock is None:
                    if status != "resolved" and not (metric == "first_response" and _responded(ch)):
                        clock = new_clock(desk, ch.ticket.id, metric, policy, ch.ticket.created_at, now)
                        clock.save(force_insert=True)
                        by_metric[metric] = clock
                        clocks.append(clock)
                        unit.audit(ch.ticket.id, "sla", metric, None, _started(clock))
                    continue
                text = retarget(desk, clock, policy, now)
                if text:
                    touched[clock.id] = text
            elif clock is not None and clock.stopped_at is None:
                stop_(clock, cancel=True)
                why = "no policy matches the ticket now" if policy is None else f"policy {policy.name} has no {LABEL[metric]} target"
                touched[clock.id] = f"cancelled: {why}"

    for clock in clocks:
        cal = calendar_of(desk, clock)
        before = clock.state
        if status == "cancelled" or ch.get("merged_into") is not None:
            stop_(clock, cancel=True)
        elif clock.metric == "first_response" and (_responded(ch) or status in ("resolved", "closed")):
            stop_(clock)
        elif clock.metric == "resolution" and status in ("resolved", "closed"):
            stop_(clock)
        elif clock.metric == "resolution" and old_status == "resolved" and status not in ("resolved", "closed"):
            restart(cal, clock, now)
            if status in clock.pause_on.split(","):
                pause(cal, clock, now)
        elif status in clock.pause_on.split(","):
            pause(cal, clock, now)
        else:
            resume(cal, clock, now)
        if clock.state != before:
            text = f"{before} -> {clock.state}"
            touched[clock.id] = f"{touched[clock.id]}; {text}" if clock.id in touched else text

    for clock in clocks:
        if clock.id in touched or clock.is_dirty():
            clock.save()
        if clock.id in touched:
            unit.audit(ch.ticket.id, "sla", clock.metric, None, touched[clock.id])
    for clock, pct, at in missed:
        if record_crossing(clock, pct, at, now):
            unit.audit(ch.ticket.id, "sla", clock.metric, None, describe_crossing(clock, pct))
    sla, due = summary(clocks, now)
    return {"sla": sla, "sla_due": due}


def _responded(ch: "TicketChange") -> bool:
    return ch.get("first_response_at") is not None or ch.get("acknowledged_at") is not None

