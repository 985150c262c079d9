"""The queue as the console reads it: one page of a query at a time.

The console never loads the whole queue: it asks for the total once per
filter, then for the rows of the visible window (``page``), so a
million-ticket desk opens and scrolls like a small one. Rows are plain
:class:`~deskconsole.core.records.views.TicketSummary` dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from deskconsole.binding import on_desk
from deskconsole.core.keys import ticket_key
from deskconsole.core.search.query import count_tickets, parse, select_tickets
from deskconsole.core.records.views import SUMMARY_COLUMNS, TicketSummary, summary
from deskconsole.models import SlaClock, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

DEFAULT_FILTER = "is:open"
ID_CHUNK = 5000  # ids per IN (...) list: well under any driver's limit of bound values


@dataclass(frozen=True)
class QueueSpec:
    """What the queue shows: a query in the CLI's language, for one login."""

    text: str
    login: str

    def check(self) -> None:
        parse(self.text)  # raises QueryError pointing at the bad term


@on_desk
def count(desk: "Desk", spec: QueueSpec, now: datetime) -> int:
    return count_tickets(desk, spec.text, actor_login=spec.login, now=now)


@on_desk
def page(desk: "Desk", spec: QueueSpec, offset: int, limit: int, now: datetime) -> list[TicketSummary]:
    query = select_tickets(desk, spec.text, actor_login=spec.login, now=now).select(*SUMMARY_COLUMNS)
    return [summary(desk, t) for t in query.offset(offset).limit(limit)]


@on_desk
def count_and_page(desk: "Desk", spec: QueueSpec, offset: int, limit: int, now: datetime) -> tuple[int, list[TicketSummary]]:
    """Both at once (one trip to the read thread), for a live refresh."""
    return count(desk, spec, now), page(desk, spec, offset, limit, now)


@on_desk
def ids(desk: "Desk", spec: QueueSpec, now: datetime, limit: int) -> list[int]:
    """The ids of the first ``limit`` tickets of the view, in its order."""
    query = select_tickets(desk, spec.text, actor_login=spec.login, now=now)
    return [tid for (tid,) in query.select(Ticket.id).limit(limit).tuples()]


@on_desk
def rows_by_id(desk: "Desk", ids: list[int]) -> dict[int, TicketSummary]:
    """Fresh rows for tickets by id (marked ones off screen, ones the change feed says moved)."""
    out: dict[int, TicketSummary] = {}
    for i in range(0, len(ids), ID_CHUNK):
        chunk = ids[i:i + ID_CHUNK]
        out.update((t.id, summary(desk, t)) for t in Ticket.select(*SUMMARY_COLUMNS).where(Ticket.id.in_(chunk)))
    return out


@dataclass(frozen=True)
class UrgentClock:
    key: str
    title: str
    metric: str
    state: str
    due_at: datetime


@on_desk
def most_urgent(desk: "Desk", spec: QueueSpec, now: datetime, limit: int = 8) -> list[UrgentClock]:
    """The counting clocks with the nearest deadlines among the queue's tickets.

    A ticket's stored ``sla_due`` is its soonest counting deadline, so the
    ``limit`` most urgent clocks belong to the ``limit`` tickets with the
    soonest ``sla_due``: an index walk over tickets, then their clocks — never
    every clock of the view sorted."""
    tickets = (
        select_tickets(desk, spec.text, actor_login=spec.login, now=now)
        .select(Ticket.id, Ticket.title)
        .where(Ticket.sla_due.is_null(False))
        .order_by(Ticket.sla_due, Ticket.id)
        .limit(limit)
        .tuples()
    )
    titles = dict(tickets)
    if not titles:
        return []
    clocks = (
        SlaClock.select(SlaClock.ticket, SlaClock.metric, SlaClock.state, SlaClock.due_at)
        .where(SlaClock.ticket.in_(list(titles)) & SlaClock.counted_to.is_null(False) & SlaClock.due_at.is_null(False))
        .tuples()
    )
    ranked = sorted(clocks, key=lambda c: (c[3], c[0], c[1]))[:limit]
    return [
        UrgentClock(ticket_key(tid), titles[tid], metric, "breached" if due < now or state == "breached" else state, due)
        for tid, metric, state, due in ranked
    ]
