"""Read side: tickets as plain dataclasses (no Peewee objects leave the core)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from deskconsole.core.change import load_ticket
from deskconsole.core.keys import ticket_key
from deskconsole.core.links import INVERSE, merged_ids
from deskconsole.models import AuditEvent, Entry, Link, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

SUMMARY_COLUMNS = (
    Ticket.id, Ticket.priority, Ticket.status, Ticket.title, Ticket.assignee, Ticket.team,
    Ticket.created_at, Ticket.updated_at, Ticket.version, Ticket.requester_name,
)


@dataclass(frozen=True)
class TicketSummary:
    key: str
    id: int
    priority: str
    status: str
    title: str
    assignee: str | None
    team: str | None
    created_at: datetime
    updated_at: datetime
    version: int
    requester: str | None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class EntryView:
    id: int
    ticket: str
    kind: str  # reply | note
    author: str
    author_name: str
    at: datetime
    body: str
    source: str


@dataclass(frozen=True)
class LinkView:
    kind: str  # as read from this ticket: relates_to, duplicate_of, duplicated_by, parent_of, child_of, caused_by, causes
    other: str
    title: str
    status: str


@dataclass(frozen=True)
class AuditView:
    at: datetime
    actor: str
    via: str | None
    action: str
    field: str | None
    old: str | None
    new: str | None


@dataclass(frozen=True)
class TicketDetail:
    key: str
    id: int
    title: str
    description: str
    status: str
    priority: str
    impact: str | None
    urgency: str | None
    requester_name: str | None
    requester_email: str | None
    category: str | None
    service: str | None
    team: str | None
    assignee: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution_code: str | None
    resolution_note: str | None
    merged_into: str | None
    reopen_count: int
    source: str
    external_ref: str | None
    version: int
    entries: list[EntryView] = field(default_factory=list)
    links: list[LinkView] = field(default_factory=list)
    audit: list[AuditView] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)


def summary(desk: "Desk", t: Ticket) -> TicketSummary:
    d = desk.directory
    return TicketSummary(
        key=ticket_key(t.id), id=t.id, priority=t.priority, status=t.status, title=t.title,
        assignee=d.agent_logins.get(t.assignee_id), team=d.team_names.get(t.team_id),
        created_at=t.created_at, updated_at=t.updated_at, version=t.version, requester=t.requester_name,
    )


def detail(desk: "Desk", key) -> TicketDetail:
    t = load_ticket(desk, key)
    d = desk.directory
    merged = merged_ids(t.id)
    entries = [
        EntryView(e.id, ticket_key(e.ticket_id), e.kind, e.author, e.author_name, e.at, e.body, e.source)
        for e in Entry.select().where(Entry.ticket.in_([t.id, *merged])).order_by(Entry.at, Entry.id)
    ]
    links = []
    for ln in Link.select().where((Link.source == t.id) | (Link.target == t.id)).order_by(Link.id):
        outgoing = ln.source_id == t.id
        other_id = ln.target_id if outgoing else ln.source_id
        other = Ticket.select(Ticket.title, Ticket.status).where(Ticket.id == other_id).first()
        links.append(LinkView(ln.kind if outgoing else INVERSE[ln.kind], ticket_key(other_id), other.title, other.status))
    audit = [
        AuditView(a.at, a.actor, a.via, a.action, a.field, a.old, a.new)
        for a in AuditEvent.select().where(AuditEvent.ticket == t.id).order_by(AuditEvent.id)
    ]
    return TicketDetail(
        key=ticket_key(t.id), id=t.id, title=t.title, description=t.description, status=t.status,
        priority=t.priority, impact=t.impact, urgency=t.urgency, requester_name=t.requester_name,
        requester_email=t.requester_email, category=d.category_names.get(t.category_id),
        service=d.service_names.get(t.service_id), team=d.team_names.get(t.team_id),
        assignee=d.agent_logins.get(t.assignee_id), created_by=t.created_by, created_at=t.created_at,
        updated_at=t.updated_at, acknowledged_at=t.acknowledged_at, acknowledged_by=t.acknowledged_by,
        first_response_at=t.first_response_at, resolved_at=t.resolved_at, closed_at=t.closed_at,
        resolution_code=t.resolution_code, resolution_note=t.resolution_note,
        merged_into=ticket_key(t.merged_into_id) if t.merged_into_id else None, reopen_count=t.reopen_count,
        source=t.source, external_ref=t.external_ref, version=t.version,
        entries=entries, links=links, audit=audit, merged=[ticket_key(m) for m in merged],
    )
