"""Take next: claim the most urgent unassigned open ticket for round-robin triage.

The select and the take run in one write transaction. On SQLite that
transaction is ``BEGIN IMMEDIATE`` (see :mod:`deskconsole.core.txn`), so two
engineers' select-then-take are serialised by the write lock: the second one
sees the first one's ticket as assigned. On PostgreSQL the candidate row is
claimed with ``SELECT ... FOR UPDATE SKIP LOCKED``, so concurrent callers skip
each other's rows instead of waiting or taking the same ticket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deskconsole.core import tickets
from deskconsole.core.identity import Actor
from deskconsole.core.keys import ticket_key
from deskconsole.core.permissions import require
from deskconsole.core.query import select_tickets

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk


def take_next(desk: "Desk", actor: Actor, query_text: str = "is:open") -> str | None:
    """Take the first unassigned ticket matching ``query_text`` in the default
    queue order (soonest SLA deadline first); its key, or None if none is left."""
    require(actor, "take", desk.config.path)
    text = f"{query_text or 'is:open'} is:open is:unassigned"
    with desk.transaction():
        query = select_tickets(desk, text, actor_login=actor.login, now=desk.now()).limit(1)
        if not desk.is_sqlite:
            query = query.for_update("FOR UPDATE SKIP LOCKED")
        row = query.first()
        if row is None:
            return None
        tickets.take(desk, actor, row.id)
        return ticket_key(row.id)
