"""Take next: claim the most urgent unassigned open ticket for round-robin triage.

The select and the take run in one write transaction. On SQLite that
transaction is ``BEGIN IMMEDIATE`` (see :mod:`deskconsole.core.txn`), so two
engineers' select-then-take are serialised by the write lock: the second one
sees the first one's ticket as assigned. On PostgreSQL the candidate row is
claimed with ``SELECT ... ORDER BY ... LIMIT 1 FOR UPDATE OF ticket SKIP
LOCKED``: concurrent callers skip rows another caller has locked instead of
waiting for them, and a row that another caller took and committed meanwhile
is re-checked against the WHERE clause when it is locked (READ COMMITTED), so
it no longer matches ``is:unassigned`` and is passed over — PostgreSQL locks
rows after ORDER BY and before LIMIT, so a skipped row makes it take the next
one rather than return nothing. ``OF ticket`` keeps the lock on the ticket
row alone should a query ever join another table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deskconsole.binding import on_desk
from deskconsole.core.records import tickets
from deskconsole.core.identity import Actor
from deskconsole.core.keys import ticket_key
from deskconsole.core.permissions import require
from deskconsole.core.search.query import select_tickets
from deskconsole.models import Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk


@on_desk
def take_next(desk: "Desk", actor: Actor, query_text: str = "is:open") -> str | None:
    """Take the first unassigned open ticket matching ``query_text`` in the
    default queue order (soonest SLA deadline first; a ``sort:`` term in the
    query changes it); its key, or None if none is left."""
    require(actor, "take")
    text = f"{query_text.strip() if query_text else ''} is:open is:unassigned".strip()
    with desk.transaction():
        query = select_tickets(desk, text, actor_login=actor.login, now=desk.now()).select(Ticket.id).limit(1)
        if not desk.is_sqlite:
            query = query.for_update(of=Ticket, skip_locked=True)
        row = query.first()
        if row is None:
            return None
        tickets.take(desk, actor, row.id)
        return ticket_key(row.id)
