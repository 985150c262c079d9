"""An incident's service in its map: the services and items upstream of it
(what it depends on) and downstream (what depends on it), each with its open
incidents, the impact those dependents suggest, and the changes on any of
them in the last 48 hours and the next 24 (most outages follow a change).

The detail pane reads it after the ticket's detail (as it does the suggested
articles), ``deskconsole show`` with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Iterable

from peewee import fn

from deskconsole.binding import on_desk
from deskconsole.core.access.service_map import ImpactSuggestion, Related, service_map
from deskconsole.core.records import change_calendar
from deskconsole.core.records.change import ANY_KIND, load_ticket
from deskconsole.core.records.kinds import incidents
from deskconsole.core.records.lifecycle import OPEN
from deskconsole.models import Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

# changes on these services this far back and this far ahead belong in the context
CHANGES_BEFORE, CHANGES_AFTER = change_calendar.NEAR_BEFORE, change_calendar.NEAR_AFTER


@dataclass(frozen=True)
class ContextLine:
    """A service or item near the incident's, with its open incidents."""

    name: str
    title: str
    kind: str  # "service", or the item's type
    team: str | None
    depth: int  # 1: directly; 2: through one other ...
    via: str | None  # the direct neighbour it is reached through (None when direct)
    open_incidents: int


@dataclass
class ServiceContext:
    """The incident ``key``'s service ``service`` in the map."""

    key: str
    service: str
    title: str
    kind: str
    team: str | None
    open_incidents: int  # on the service itself, this incident included when it is open
    upstream: list[ContextLine] = field(default_factory=list)  # what it depends on, nearest first
    downstream: list[ContextLine] = field(default_factory=list)  # what depends on it, nearest first
    suggestion: ImpactSuggestion | None = None  # a higher impact than the incident's, and why; never applied
    window: tuple[datetime, datetime] | None = None  # now - CHANGES_BEFORE .. now + CHANGES_AFTER
    # Changes (CHG-n) on :attr:`names` with a window in :attr:`window`, soonest first
    changes: list[change_calendar.CalendarEntry] = field(default_factory=list)

    @property
    def at(self) -> datetime | None:
        """The moment the context was read for (the middle of :attr:`window`'s span)."""
        return self.window[0] + CHANGES_BEFORE if self.window else None

    @property
    def names(self) -> list[str]:
        """The service, then everything upstream and downstream of it."""
        return [self.service, *(r.name for r in self.upstream), *(r.name for r in self.downstream)]

    @property
    def empty(self) -> bool:
        """Nothing to show: no neighbours, no suggestion, no changes."""
        return not (self.upstream or self.downstream or self.suggestion or self.changes)


@on_desk
def open_counts(desk: "Desk", names: Iterable[str]) -> dict[str, int]:
    """Open incidents per service or item name (0 for none), in one grouped query."""
    names = list(names)
    ids = {desk.directory.service_ids[n]: n for n in names if n in desk.directory.service_ids}
    counts = dict.fromkeys(names, 0)
    if not ids:
        return counts
    rows = (Ticket.select(Ticket.service, fn.COUNT(Ticket.id))
            .where(Ticket.service.in_(list(ids)), Ticket.status.in_(OPEN), incidents())
            .group_by(Ticket.service).tuples())
    for service_id, count in rows:
        counts[ids[service_id]] = count
    return counts


def _lines(related: list[Related], counts: dict[str, int]) -> list[ContextLine]:
    return [ContextLine(r.name, r.title, r.kind, r.team, r.depth, r.via, counts.get(r.name, 0)) for r in related]


@on_desk
def service_context(desk: "Desk", key: str, now: datetime | None = None) -> ServiceContext | None:
    """The service context of the ticket ``key``; None when it has no service
    (or one retired from the map). The impact suggestion is an incident's only."""
    now = now or desk.now()
    row = load_ticket(desk, key, kinds=ANY_KIND)
    if row.service_id is None:
        return None
    name = desk.directory.service_names.get(row.service_id)
    smap = service_map(desk)
    if name not in smap:
        return None
    return context_of(desk, smap, name, key=row.key, impact=row.impact if row.kind == "incident" else None,
                      incident=row.kind == "incident", now=now)


@on_desk
def context_of(desk: "Desk", smap, name: str, *, key: str = "", impact: str | None = None, incident: bool = True,
               now: datetime | None = None) -> ServiceContext:
    """``name``'s context in ``smap`` (its neighbours' open incidents read in one query)."""
    now = now or desk.now()
    entry = smap.entry(name)
    up, down = smap.upstream(name), smap.downstream(name)
    counts = open_counts(desk, [name, *(r.name for r in up), *(r.name for r in down)])
    context = ServiceContext(
        key=key, service=name, title=entry.title, kind=entry.kind, team=entry.team,
        open_incidents=counts.get(name, 0), upstream=_lines(up, counts), downstream=_lines(down, counts),
        suggestion=smap.suggest_impact(name, impact) if incident else None,
        window=(now - CHANGES_BEFORE, now + CHANGES_AFTER),
    )
    context.changes = change_calendar.near(desk, context.names, now)
    return context


@on_desk
def map_and_counts(desk: "Desk"):
    """The desk's map and every service's open incidents (the console's map screen)."""
    smap = service_map(desk)
    return smap, open_counts(desk, list(smap.entries))
