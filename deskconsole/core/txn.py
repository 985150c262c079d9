"""The one write path.

Every change to the desk — from the CLI, the console, intake, the scheduler or
an import — happens inside :func:`unit_of_work`: one database transaction
(SQLite ``BEGIN IMMEDIATE``) that checks the actor's role first and, before it
commits, writes the audit events and change-feed rows the change produced.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Iterator

from deskconsole.binding import use
from deskconsole.core import report_facts
from deskconsole.core.bulk import insert_rows
from deskconsole.core.identity import Actor
from deskconsole.core.permissions import require, role_now
from deskconsole.models import AuditEvent, FeedEntry

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

AUDIT_TEXT_LIMIT = 4000
AUDIT_FIELDS = ("ticket", "at", "actor", "via", "action", "field", "old", "new")
FEED_FIELDS = ("at", "actor", "action", "ticket", "version")  # audit keeps the first 4000 characters of a long value


class Unit:
    """What one transaction did: its audit events and feed rows, written in bulk."""

    def __init__(self, desk: "Desk", actor: Actor, action: str, now: datetime):
        self.desk = desk
        self.actor = actor
        self.action = action
        self.now = now
        self._audit: list[tuple] = []
        self._feed: list[tuple] = []

    def audit(self, ticket_id: int | None, action: str | None = None, field: str | None = None, old=None, new=None):
        self._audit.append(
            (ticket_id, self.now, self.actor.login, self.actor.via, action or self.action, field, _text(old), _text(new))
        )

    def feed(self, ticket_id: int | None, version: int | None = None, action: str | None = None):
        self._feed.append((self.now, self.actor.login, action or self.action, ticket_id, version))

    def flush(self) -> None:
        report_facts.touch(self.desk, {row[0] for row in self._audit} | {row[3] for row in self._feed})
        insert_rows(AuditEvent, AUDIT_FIELDS, self._audit)
        insert_rows(FeedEntry, FEED_FIELDS, self._feed)
        self._audit.clear()
        self._feed.clear()


@contextmanager
def unit_of_work(desk: "Desk", actor: Actor, action: str, *, permission: str | None = None) -> Iterator[Unit]:
    """Check ``actor`` may do ``action``, then run the body in one transaction.

    The role is checked twice: as the actor came (a refusal needs no lock),
    then as the desk's directory has it inside the transaction, so a role an
    admin has just taken away no longer writes anything."""
    require(actor, permission or action)
    with use(desk.db), desk.transaction():  # the body's model calls write to this desk
        require(role_now(desk, actor), permission or action)
        unit = Unit(desk, actor, action, desk.now())
        yield unit
        unit.flush()


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    text = str(value)
    if len(text) > AUDIT_TEXT_LIMIT:
        return text[:AUDIT_TEXT_LIMIT] + f"… ({len(text)} characters)"
    return text
