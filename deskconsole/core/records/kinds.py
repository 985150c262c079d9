"""The kinds of work record in the ticket table, as SQL conditions.

Most rows are incidents; the few of other kinds (problems, later changes)
have a number of their own, so the partial index ``ticket_kind_number``
holds exactly them. Reads that are about incidents (the queue, the
wallboard, the backlog) leave them out with :func:`incidents`.
"""

from __future__ import annotations

from deskconsole.models import Ticket


def incidents():
    """Incidents only: every row but the few of other kinds, whose ids the
    partial index holds. Written as ``id NOT IN``, it keeps every index of
    the ticket table covering (they all hold the id), where ``kind =
    'incident'`` would read each row."""
    return Ticket.id.not_in(Ticket.select(Ticket.id).where(Ticket.number.is_null(False)))


def of_kind(kind: str):
    """The records of ``kind``."""
    if kind == "incident":
        return incidents()
    return (Ticket.kind == kind) & Ticket.number.is_null(False)  # through the partial index


def other_kinds_exist() -> bool:
    """Does the desk hold records other than incidents? (a read of the partial index)"""
    return Ticket.select(Ticket.id).where(Ticket.number.is_null(False)).exists()
