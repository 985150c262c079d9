"""Changing one ticket: load it under the write lock, check its version,
record each field's old and new value, and save it with ``version + 1``."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Iterator

from deskconsole.binding import on_desk
from deskconsole.core.sla_clocks import clocks
from deskconsole.core import hot_reads
from deskconsole.core.clock import ago
from deskconsole.errors import Conflict, NotFound, ValidationError
from deskconsole.core.identity import Actor, article
from deskconsole.core.keys import parse_key, record_id, record_key, ticket_key
from deskconsole.core.txn import Unit, unit_of_work
from deskconsole.db import dialect
from deskconsole.models import KIND_PREFIXES, FeedEntry, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

# Foreign keys are audited by name, not by id.
_FK_NAMES = {
    "team": lambda d, v: d.team_names.get(v),
    "assignee": lambda d, v: d.agent_logins.get(v),
    "category": lambda d, v: d.category_names.get(v),
    "service": lambda d, v: d.service_names.get(v),
    "merged_into": lambda d, v: ticket_key(v) if v else None,
}


def shown(directory, name: str, value):
    """How a field's value reads in the audit log (names, not ids)."""
    fn = _FK_NAMES.get(name)
    return fn(directory, value) if fn else value


@dataclass
class Outcome:
    """What a write did, as plain data for the CLI and the console."""

    key: str
    version: int
    changes: list[tuple[str, object, object]] = field(default_factory=list)


class TicketChange:
    def __init__(self, unit: Unit, ticket: Ticket):
        self.unit = unit
        self.ticket = ticket
        self.values: dict[str, object] = {}

    @property
    def key(self) -> str:
        return self.ticket.key

    @property
    def now(self):
        return self.unit.now

    def original(self, name: str):
        return getattr(self.ticket, f"{name}_id" if name in _FK_NAMES else name)

    def get(self, name: str):
        """The value as it will be saved (pending change, else current)."""
        return self.values[name] if name in self.values else self.original(name)

    def set(self, name: str, value) -> bool:
        """Stage a new value; returns False when it is what the field already holds."""
        if self.get(name) == value:
            return False
        if value == self.original(name):
            del self.values[name]
        else:
            self.values[name] = value
        return True

    @property
    def changes(self) -> list[tuple[str, object, object]]:
        return [(name, self.original(name), value) for name, value in self.values.items()]

    def audit_action(self, action: str, old=None, new=None, field: str | None = None) -> None:
        """An event that is not a plain field change (a reply, a link, a merge)."""
        self.unit.audit(self.ticket.id, action, field, old, new)

    def save(self) -> Outcome:
        t = self.ticket
        version = t.version + 1
        names = self.unit.desk.directory
        for name, old, new in self.changes:
            self.unit.audit(t.id, None, name, shown(names, name, old), shown(names, name, new))
        columns = {**self.values, **clocks.follow(self), "version": version, "updated_at": self.now}
        updated = _update_ticket(columns, t.id, t.version)
        if updated != 1:  # cannot happen under the write lock; never overwrite silently
            raise conflict_error(self.unit.desk, t.id, t.version)
        self.unit.feed(t.id, version)
        return Outcome(self.key, version, self.changes)


def _update_ticket(columns: dict[str, object], tid: int, seen: int) -> int:
    """``UPDATE ticket SET ... WHERE id = ? AND version = ?``: how many rows it changed."""
    db = Ticket._meta.database
    sql, names, converters = _update_sql(frozenset(columns), dialect(db))
    params = [conv(columns[n]) for n, conv in zip(names, converters)]
    params += (tid, seen)
    return db.execute_sql(sql, params).rowcount


@lru_cache(maxsize=256)
def _update_sql(names: frozenset[str], dialect: type) -> tuple[str, tuple[str, ...], tuple]:
    # Built by Peewee once per set of columns and kind of database (not per
    # database object: an id() is reused once its object is gone). Peewee
    # writes SET in model order: the values go in that order, each through
    # its field's db_value as Peewee's own update does.
    fields = [f for f in Ticket._meta.sorted_fields if f.name in names]
    sql, _ = Ticket.update({f: None for f in fields}).where((Ticket.id == 0) & (Ticket.version == 0)).sql()
    return sql, tuple(f.name for f in fields), tuple(f.db_value for f in fields)


INCIDENT = ("incident",)
ANY_KIND = tuple(KIND_PREFIXES)


@on_desk
def load_ticket(desk: "Desk", key: str | int, *, for_update: bool = False, kinds: tuple[str, ...] = INCIDENT) -> Ticket:
    """The record ``key`` names, of one of ``kinds`` (an incident's key names
    no record of another kind: INC-42 is not the problem in row 42)."""
    kind = parse_key(key)[0]
    if kind not in kinds:
        raise ValidationError(f"{str(key).strip().upper()} is {article(kind)} {kind}; this applies to "
                              f"{' and '.join(k + 's' for k in kinds)} only")
    tid = record_id(key)
    ticket = hot_reads.ticket(tid, for_update=for_update and not desk.is_sqlite)
    if ticket is None or ticket.kind != kind:
        shown = record_key(kind, tid, None) if kind == "incident" else str(key).strip().upper()
        listing = "'deskconsole ls' lists tickets" if kind == "incident" else f"'deskconsole ls kind:{kind}' lists them"
        raise NotFound(f"{shown} does not exist; {listing}")
    return ticket


@contextmanager
def change_ticket(
    desk: "Desk",
    actor: Actor,
    action: str,
    key: str | int,
    *,
    expected_version: int | None = None,
    permission: str | None = None,
    kinds: tuple[str, ...] = INCIDENT,
) -> Iterator[TicketChange]:
    """One write transaction around one ticket; yields a :class:`TicketChange`.

    ``expected_version`` is the version the caller last saw: if the ticket
    has moved on since, :class:`Conflict` names who changed it and when.
    """
    with unit_of_work(desk, actor, action, permission=permission) as unit:
        ticket = load_ticket(desk, key, for_update=True, kinds=kinds)
        if expected_version is not None and ticket.version != expected_version:
            raise conflict_error(desk, ticket.id, expected_version, ticket.version)
        yield TicketChange(unit, ticket)


@on_desk
def conflict_error(desk: "Desk", tid: int, seen: int, current: int | None = None) -> Conflict:
    row = Ticket.get_by_id(tid)
    key = row.key
    if current is None:
        current = row.version
    # Who made the version the ticket is at: not simply the newest feed row,
    # which may be the SLA sweep refreshing the ticket's summary (action
    # "sla", no new version) or a link from another ticket.
    mine = FeedEntry.ticket == tid
    last = (
        FeedEntry.select().where(mine & (FeedEntry.version == current) & (FeedEntry.action != "sla"))
        .order_by(FeedEntry.seq.desc()).first()
        or FeedEntry.select().where(mine).order_by(FeedEntry.seq.desc()).first()
    )
    who = last.actor if last else "someone"
    when = f" {ago(last.at, desk.now())} ago" if last else ""
    return Conflict(
        f"{key} was changed by {who}{when} (it is at version {current}, you saw {seen}); "
        f"reload it and try again — nothing was changed",
        key=key,
        current_version=current,
        changed_by=who,
    )
