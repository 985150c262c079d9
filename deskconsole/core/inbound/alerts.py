"""Alerts into tickets: one open ticket per monitored condition.

Each :class:`AlertEvent` is matched by its dedup key to the ``alert`` row
that says which ticket the condition is on now:

* a trigger with no ticket opens one (routed by ``core.inbound.alert_routes``) — or,
  when another alert of the same service opened a ticket within the group
  window, joins that ticket: an alert storm is one incident, not 500;
* a trigger while its ticket is open counts a repeat (the alert's counter
  and one history line; the ticket's version stays, so nobody triaging it
  gets a conflict);
* a trigger after its ticket was resolved or closed opens a new ticket that
  relates to the old one;
* acknowledge acknowledges the ticket; resolve notes the clear and, when
  every alert on the ticket has cleared, resolves it (``[intake] resolve``).

:func:`receive` takes many events in one transaction (the HTTP intake
batches concurrent posts), each in its own savepoint: one bad event fails
alone. It acts as :data:`~deskconsole.core.identity.INTAKE`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from peewee import IntegrityError

from deskconsole.binding import on_desk
from deskconsole.core import hot_reads
from deskconsole.core.records import links, tickets
from deskconsole.core.inbound.alert_payloads import AlertEvent
from deskconsole.core.inbound.alert_routes import Rules
from deskconsole.errors import DeskError
from deskconsole.core.identity import Actor
from deskconsole.core.keys import ticket_key
from deskconsole.core.records.lifecycle import OPEN
from deskconsole.core.txn import unit_of_work
from deskconsole.models import Alert, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

SOURCE = "alert"  # the ticket's source column for tickets the intake opened


@dataclass(frozen=True)
class Received:
    """What one event did."""

    dedup_key: str
    outcome: str  # opened | grouped | repeated | recurred | acknowledged | cleared | resolved | unknown | failed
    ticket: str | None = None
    message: str = ""

    def as_json(self) -> dict:
        out = {"dedup_key": self.dedup_key, "outcome": self.outcome, "ticket": self.ticket}
        if self.message:
            out["message"] = self.message
        return out


@on_desk
def receive(desk: "Desk", actor: Actor, rules: Rules, events: list[AlertEvent]) -> list[Received]:
    """Apply ``events`` in order, in one transaction; one result each."""
    results = []
    # one unit for the batch: the repeats' and groupings' history lines and
    # feed rows are written together at its end (the other writes have units of their own)
    with unit_of_work(desk, actor, "note") as unit:
        for event in events:
            results.append(_one(desk, actor, rules, event, unit))
    return results


def _one(desk, actor, rules, event, unit) -> Received:
    row = None
    if event.action == "trigger":  # most of a storm: a repeat of an open ticket's alert, one UPDATE
        row = _row(desk, event.dedup_key)
        if row is not None and row.merged_into is None and row.ticket_status in OPEN:
            return _repeat(desk, event, unit, row, row.ticket_id)
    for attempt in (1, 2):
        try:
            with desk.db.atomic():  # a savepoint: this event's writes stand or fall alone
                if event.action == "trigger":
                    if attempt == 2:  # another intake process wrote this key meanwhile: read it again
                        row = _row(desk, event.dedup_key)
                    return _trigger(desk, actor, rules, event, unit, row)
                if event.action == "acknowledge":
                    return _acknowledge(desk, actor, event)
                return _resolve(desk, actor, rules, event)
        except IntegrityError:
            if attempt == 2:  # another intake process inserted the same key twice over: give up on this one
                raise
        except DeskError as exc:
            return Received(event.dedup_key, "failed", None, str(exc))
    raise AssertionError("unreachable")  # pragma: no cover


def _current(row: "_Row") -> Ticket:
    """The ticket an alert row is on, following merges to the surviving ticket."""
    ticket = hot_reads.ticket(row.ticket_id)
    seen = {ticket.id}
    while ticket.merged_into_id is not None and ticket.merged_into_id not in seen:
        ticket = hot_reads.ticket(ticket.merged_into_id)
        seen.add(ticket.id)
    return ticket


# The alert table's statements, run on every event: written once as plain SQL
# (quoted names read the same on SQLite and PostgreSQL; only the placeholder
# differs) instead of built by Peewee each time, which cost more than running them.
_ROW = ('SELECT a."id", a."ticket_id", a."status", a."count", a."summary", t."status", t."merged_into_id"'
        ' FROM "alert" a JOIN "ticket" t ON t."id" = a."ticket_id" WHERE a."dedup_key" = {p}')
_REPEAT = ('UPDATE "alert" SET "count" = "count" + 1, "last_at" = {p}, "status" = \'firing\','
           ' "resolved_at" = NULL, "ticket_id" = {p} WHERE "id" = {p}')
_RENEW = ('UPDATE "alert" SET "ticket_id" = {p}, "status" = \'firing\', "count" = 1, "first_at" = {p},'
          ' "last_at" = {p}, "resolved_at" = NULL, "summary" = {p} WHERE "id" = {p}')
_INSERT = ('INSERT INTO "alert" ("dedup_key", "source", "ticket_id", "status", "count", "first_at", "last_at",'
           ' "summary") VALUES ({p}, {p}, {p}, \'firing\', 1, {p}, {p}, {p})')
_CLEAR = 'UPDATE "alert" SET "status" = \'resolved\', "resolved_at" = {p} WHERE "id" = {p}'
_FIRING = 'SELECT 1 FROM "alert" WHERE "ticket_id" = {p} AND "status" = \'firing\' LIMIT 1'


@dataclass(frozen=True)
class _Row:
    id: int
    ticket_id: int
    status: str  # the alert's: firing | resolved
    count: int
    summary: str
    ticket_status: str
    merged_into: int | None


def _run(desk, statement: str, *params):
    db = desk.db
    return db.execute_sql(statement.format(p=db.param), params)


def _at(value):
    return Alert.last_at.db_value(value)


def _row(desk, key: str) -> _Row | None:
    found = _run(desk, _ROW + ("" if desk.is_sqlite else " FOR UPDATE OF a"), key).fetchone()
    return _Row(*found) if found else None


def _trigger(desk, actor, rules: Rules, event: AlertEvent, unit, row: "_Row | None") -> Received:
    """``row``: the alert's row as :func:`_one` read it (None: a new alert)."""
    now = desk.now()
    if row is not None:
        ticket = _current(row)
        if ticket.status in OPEN:
            return _repeat(desk, event, unit, row, ticket.id)
        before = ticket.id
    else:
        before = None
    route, values = rules.route(event)
    joined = _group_ticket(desk, rules, values, now) if before is None else None
    if joined is not None:
        _run(desk, _INSERT, event.dedup_key, event.source, joined, _at(now), _at(now), event.summary)
        unit.audit(joined, "alert", "grouped", None, event.summary)
        unit.feed(joined)
        return Received(event.dedup_key, "grouped", ticket_key(joined))
    out = tickets.create(
        desk, actor, title=event.summary, description=event.details,
        requester_name=f"{event.source} alert", impact=values["impact"], urgency=values["urgency"],
        team=values["team"], category=values["category"], service=values["service"],
        source=SOURCE, external_ref=event.dedup_key,
    )
    tid = int(out.key.split("-")[-1])
    if row is None:
        _run(desk, _INSERT, event.dedup_key, event.source, tid, _at(now), _at(now), event.summary)
        return Received(event.dedup_key, "opened", out.key, f"routed by {route.name}")
    _run(desk, _RENEW, tid, _at(now), _at(now), event.summary, row.id)
    links.link(desk, actor, out.key, "relates-to", ticket_key(before))
    return Received(event.dedup_key, "recurred", out.key, f"the alert's earlier ticket {ticket_key(before)} was closed")


def _repeat(desk, event: AlertEvent, unit, row: _Row, tid: int) -> Received:
    """The alert fired again while its ticket is open: count it, one history line."""
    _run(desk, _REPEAT, _at(desk.now()), tid, row.id)  # first: if it fails, no history line says it happened
    unit.audit(tid, "alert", "repeats", row.count, row.count + 1)
    if row.status == "resolved":
        unit.audit(tid, "alert", "fired again", None, event.summary)
    unit.feed(tid)
    return Received(event.dedup_key, "repeated", ticket_key(tid))


def _group_ticket(desk, rules: Rules, values: dict, now) -> int | None:
    """An open ticket the intake opened for the same service within the group window."""
    if not rules.group_window or not values.get("service"):
        return None
    service = desk.directory.service_ids.get(values["service"])
    found = (Ticket.select(Ticket.id)
             .where((Ticket.service == service) & (Ticket.source == SOURCE) & Ticket.status.in_(OPEN)
                    & (Ticket.created_at >= now - timedelta(seconds=rules.group_window)))
             .order_by(Ticket.created_at.desc()).limit(1).tuples().first())
    return found[0] if found else None


def _acknowledge(desk, actor, event: AlertEvent) -> Received:
    row = _row(desk, event.dedup_key)
    if row is None:
        return Received(event.dedup_key, "unknown", None, "no alert with this dedup key")
    ticket = _current(row)
    if ticket.status in OPEN and ticket.acknowledged_at is None:
        tickets.acknowledge(desk, actor, ticket.id)
    return Received(event.dedup_key, "acknowledged", ticket_key(ticket.id))


def _resolve(desk, actor, rules: Rules, event: AlertEvent) -> Received:
    row = _row(desk, event.dedup_key)
    if row is None:
        return Received(event.dedup_key, "unknown", None, "no alert with this dedup key")
    ticket = _current(row)
    key = ticket_key(ticket.id)
    if row.status == "resolved":
        return Received(event.dedup_key, "cleared", key, "already cleared")
    now = desk.now()
    _run(desk, _CLEAR, _at(event.at or now), row.id)
    if ticket.status not in OPEN:
        return Received(event.dedup_key, "cleared", key)
    tickets.note(desk, actor, ticket.id, f"Alert cleared ({event.source}): {row.summary}", source=SOURCE)
    firing = _run(desk, _FIRING, row.ticket_id).fetchone() is not None
    if rules.resolve and not firing:
        tickets.resolve(desk, actor, ticket.id, rules.resolution_code, "Every alert on this ticket has cleared.")
        return Received(event.dedup_key, "resolved", key)
    return Received(event.dedup_key, "cleared", key)
