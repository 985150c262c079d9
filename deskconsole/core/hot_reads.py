"""The hot reads, prepared: every batch line, keystroke and write runs them.

Peewee builds a query's SQL text each time it runs: for a ticket's thirty
columns that costs ten times what SQLite takes to run the statement. Here each
hot query is built by Peewee from the models (never by hand) once per kind of
database, and run with parameters; rows become what Peewee itself would have
returned — clean model instances (nothing dirty) with each field's
``python_value`` applied, or plain tuples of converted values.

Cached per kind of database (its class decides placeholders, quoting and
``FOR UPDATE``), never per database object: an id() is reused once its object
is gone (see :mod:`deskconsole.core.bulk`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

from peewee import AutoField, BigAutoField, BigIntegerField, CharField, ForeignKeyField, IntegerField, TextField

from deskconsole.db import dialect
from deskconsole.models import Alert, AuditEvent, Entry, Link, Outbox, Rating, SlaClock, Ticket

# Drivers return these as Python wants them already; every other field (times,
# booleans) goes through its python_value, as Peewee does.
_PLAIN = (CharField, TextField, IntegerField, BigIntegerField, AutoField, BigAutoField, ForeignKeyField)


def _ticket(for_update: bool):
    query = Ticket.select().where(Ticket.id == 0)
    return query.for_update() if for_update else query


# name -> (argument) -> a Peewee query whose parameters are, in order, the
# ones the caller passes (the values written here only shape the SQL).
_QUERIES: dict[str, Callable] = {
    "ticket": lambda _: _ticket(False),
    "ticket_for_update": lambda _: _ticket(True),
    "merged_ids": lambda _: Ticket.select(Ticket.id).where(Ticket.merged_into == 0).order_by(Ticket.id),
    "title_status": lambda _: Ticket.select(Ticket.title, Ticket.status, Ticket.kind, Ticket.number).where(Ticket.id == 0),
    "entries": lambda n: (
        Entry.select(Entry.id, Entry.ticket, Entry.kind, Entry.author, Entry.author_name, Entry.at, Entry.body,
                     Entry.source)
        .where(Entry.ticket == 0 if n == 1 else Entry.ticket.in_(list(range(n))))
        .order_by(Entry.at, Entry.id)
    ),
    "links": lambda _: (
        Link.select(Link.id, Link.source, Link.target, Link.kind)
        .where((Link.source == 0) | (Link.target == 0)).order_by(Link.id)
    ),
    "audit": lambda _: (
        AuditEvent.select(AuditEvent.at, AuditEvent.actor, AuditEvent.via, AuditEvent.action, AuditEvent.field,
                          AuditEvent.old, AuditEvent.new)
        .where(AuditEvent.ticket == 0).order_by(AuditEvent.id)
    ),
    "clocks": lambda _: SlaClock.select().where(SlaClock.ticket == 0).order_by(SlaClock.id),
    "alerts": lambda _: (
        Alert.select(Alert.dedup_key, Alert.source, Alert.status, Alert.count, Alert.first_at, Alert.last_at,
                     Alert.summary).where(Alert.ticket == 0).order_by(Alert.id)
    ),
    "ratings": lambda _: Rating.select(Rating.score, Rating.at, Rating.rated_by).where(Rating.ticket == 0).order_by(Rating.id),
    "outbox": lambda _: (
        Outbox.select(Outbox.created_at, Outbox.channel, Outbox.state, Outbox.recipients, Outbox.subject,
                      Outbox.attempts, Outbox.sent_at)
        .where(Outbox.ticket == 0).order_by(Outbox.id)
    ),
}


@lru_cache(maxsize=128)
def _prepared(name: str, arg, kind: type):
    query = _QUERIES[name](arg)
    sql, _ = query.sql()
    fields = tuple(query._returning)
    names = tuple(f.name for f in fields)
    convert = tuple((i, f.python_value) for i, f in enumerate(fields) if not isinstance(f, _PLAIN))
    return sql, names, convert


def _rows(name: str, params, arg=None) -> tuple[list[list], tuple[str, ...]]:
    db = Ticket._meta.database
    sql, names, convert = _prepared(name, arg, dialect(db))
    rows = db.execute_sql(sql, params).fetchall()
    if convert:
        out = []
        for row in rows:
            row = list(row)
            for i, fn in convert:
                if row[i] is not None:
                    row[i] = fn(row[i])
            out.append(row)
        return out, names
    return rows, names


def _instance(model, names: tuple[str, ...], row):
    """A model instance as Peewee's own cursor wrapper makes it: loaded, nothing dirty."""
    obj = model(__no_default__=1)
    obj.__data__ = dict(zip(names, row))
    return obj


# ---------------------------------------------------------------- the reads
def ticket(tid: int, *, for_update: bool = False) -> Ticket | None:
    """The whole ticket row (``SELECT ... FOR UPDATE`` on PostgreSQL when asked), or None."""
    rows, names = _rows("ticket_for_update" if for_update else "ticket", (tid,))
    return _instance(Ticket, names, rows[0]) if rows else None


def title_status(tid: int) -> tuple[str, str, str, int | None] | None:
    """(title, status, kind, number) of a record."""
    rows, _ = _rows("title_status", (tid,))
    return tuple(rows[0]) if rows else None


def merged_ids(tid: int) -> list[int]:
    """The tickets merged into ``tid``, oldest first."""
    rows, _ = _rows("merged_ids", (tid,))
    return [r[0] for r in rows]


def entries(ids: list[int]) -> list[list]:
    """(id, ticket id, kind, author, author_name, at, body, source) of the tickets' conversation, in time order."""
    rows, _ = _rows("entries", tuple(ids), len(ids))
    return rows


def links(tid: int) -> list[list]:
    """(id, source id, target id, kind) of the links from or to ``tid``, in the order they were made."""
    rows, _ = _rows("links", (tid, tid))
    return rows


def audit(tid: int) -> list[list]:
    """(at, actor, via, action, field, old, new) of the ticket's audit events, oldest first."""
    rows, _ = _rows("audit", (tid,))
    return rows


def clocks(tid: int) -> list[SlaClock]:
    """The ticket's SLA clocks as model instances (the write path saves them), by id."""
    rows, names = _rows("clocks", (tid,))
    return [_instance(SlaClock, names, row) for row in rows]


def alerts(tid: int) -> list[list]:
    """(dedup_key, source, status, count, first_at, last_at, summary) of the alerts on the ticket, oldest first."""
    rows, _ = _rows("alerts", (tid,))
    return rows


def attachments(tid: int) -> list[list]:
    """(filename, content_type, size, kept) of the files that came with the ticket's mail
    (plain SQL: whether the bytes are kept is a test, not a column, and the bytes stay unread)."""
    db = Ticket._meta.database
    sql = ('SELECT "filename", "content_type", "size", "data" IS NOT NULL FROM "attachment"'
           f' WHERE "ticket_id" = {db.param} ORDER BY "id"')
    return [list(row) for row in db.execute_sql(sql, (tid,)).fetchall()]


def ratings(tid: int) -> list[list]:
    """(score, at, rated_by) of the requester's ratings of the ticket, oldest first."""
    rows, _ = _rows("ratings", (tid,))
    return rows


def outbox(tid: int) -> list[list]:
    """(created_at, channel, state, recipients, subject, attempts, sent_at) of the ticket's notifications."""
    rows, _ = _rows("outbox", (tid,))
    return rows
