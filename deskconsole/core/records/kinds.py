"""The kinds of work record in the ticket table, as SQL conditions.

Most rows are incidents; the few of other kinds (problems, later changes)
have a number of their own, so the partial index ``ticket_kind_number``
holds exactly them. Reads that are about incidents (the queue, the
wallboard, the backlog) leave them out with :func:`incidents`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from peewee import fn

from deskconsole.models import Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

NUMBER_LOCK = 7311030  # PostgreSQL: the advisory lock a new record's number is taken under


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


def next_number(desk: "Desk", kind: str) -> int:
    """The next number of a record of ``kind``, taken under the write lock
    (SQLite: the transaction's; PostgreSQL: an advisory lock held to the commit)."""
    if not desk.is_sqlite:
        desk.db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (NUMBER_LOCK,))
    top = Ticket.select(fn.MAX(Ticket.number)).where(of_kind(kind)).scalar()
    return (top or 0) + 1
