"""What a change's window runs into.

- ``freeze`` / ``blackout``: the window overlaps a freeze or blackout window
  of the change policy that covers one of its services;
- ``maintenance``: a service it touches has maintenance windows and the
  change does not fall inside one of them;
- ``overlap``: another open change's window overlaps it, on the same service
  or one that depends on it or that it depends on (directly or further).

Windows are read in their own time zones (see
:meth:`deskconsole.change_policy.Window.spans`), so a weekly window keeps its
wall-clock hours across a DST change. Collisions warn: they never refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Iterable

from deskconsole.core.records import change_lifecycle
from deskconsole.core.records.kinds import of_kind
from deskconsole.models import ChangeItem, ChangeRequest, Service, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

KIND = "change"
_SHOWN = "%Y-%m-%d %H:%M UTC"


@dataclass(frozen=True)
class Collision:
    kind: str  # freeze | blackout | maintenance | overlap
    what: str  # the window's name or the other change's key
    message: str
    start: datetime | None = None  # the other window's occurrence or change's window (UTC)
    end: datetime | None = None


def related(desk: "Desk", names: Iterable[str]) -> set[str]:
    """``names``, what they depend on and what depends on them, directly or
    further (not sideways: two services that share a database are not related
    through it)."""
    up: dict[str, set[str]] = {}
    down: dict[str, set[str]] = {}
    for name, row in desk.directory.rows.get("service", {}).items():
        if row["active"]:
            for other in (row.get("depends_on") or "").split():
                up.setdefault(name, set()).add(other)
                down.setdefault(other, set()).add(name)
    out = set(names)
    for edges in (up, down):
        todo = list(names)
        seen: set[str] = set()
        while todo:
            for other in edges.get(todo.pop(), ()):
                if other not in seen:
                    seen.add(other)
                    todo.append(other)
        out |= seen
    return out


def collisions(desk: "Desk", start: datetime | None, end: datetime | None, services: Iterable[str], *,
               exclude: int | None = None) -> list[Collision]:
    """The collisions of a window [start, end) on ``services`` (names)."""
    if start is None or end is None:
        return []
    services = sorted(set(services))
    policy = desk.directory.change_policy
    out: list[Collision] = []
    for window in policy.windows:
        if window.kind == "maintenance" or not window.covers(services):
            continue
        for s, e in window.spans(start, end):
            out.append(Collision(window.kind, window.name, f"overlaps the {window.kind} window {window.name} "
                                 f"({_span(s, e)}){': ' + window.note if window.note else ''}", s, e))
            break
    for name in services:
        windows = [w for w in policy.windows if w.kind == "maintenance" and w.services and name in w.services]
        if windows and not _inside(start, end, windows):
            names = ", ".join(w.name for w in windows)
            out.append(Collision("maintenance", names, f"{name} is changed outside its maintenance window "
                                 f"({'; '.join(w.describe() for w in windows)})"))
    out.extend(_overlaps(desk, start, end, services, exclude))
    return out


def _inside(start: datetime, end: datetime, windows) -> bool:
    """Is [start, end) within one stretch of the windows' occurrences (touching ones join up)?"""
    spans = sorted(s for w in windows for s in w.spans(start, end))
    joined: list[list[datetime]] = []
    for s, e in spans:
        if joined and s <= joined[-1][1]:
            joined[-1][1] = max(joined[-1][1], e)
        else:
            joined.append([s, e])
    return any(s <= start and end <= e for s, e in joined)


def _overlaps(desk: "Desk", start: datetime, end: datetime, services: list[str], exclude: int | None) -> list[Collision]:
    if not services:
        return []
    near = related(desk, services)
    ids = [desk.directory.service_ids[n] for n in near if n in desk.directory.service_ids]
    rows = (Ticket.select(Ticket.id, Ticket.kind, Ticket.number, Ticket.title, ChangeRequest.planned_start,
                          ChangeRequest.planned_end, Service.name)
            .join(ChangeRequest, on=(ChangeRequest.ticket == Ticket.id))
            .join(ChangeItem, on=(ChangeItem.change == Ticket.id))
            .join(Service, on=(Service.id == ChangeItem.service))
            .where(of_kind(KIND) & Ticket.status.in_(change_lifecycle.OPEN) & (ChangeItem.service.in_(ids))
                   & (ChangeRequest.planned_start < end) & (ChangeRequest.planned_end > start)
                   & (Ticket.id != (exclude or 0)))
            .order_by(ChangeRequest.planned_start, Ticket.id).objects())
    found: dict[int, tuple] = {}
    for r in rows:
        found.setdefault(r.id, (r, []))[1].append(r.name)
    out = []
    for r, names in found.values():
        same = sorted(set(names) & set(services))
        on = f"on {', '.join(same)}" if same else f"on {', '.join(sorted(set(names)))}, connected to this change's"
        out.append(Collision("overlap", r.key, f"overlaps {r.key} {r.title!r} {on} "
                             f"({_span(r.planned_start, r.planned_end)})", r.planned_start, r.planned_end))
    return out


def _span(start: datetime, end: datetime) -> str:
    return f"{start.strftime(_SHOWN)} to {end.strftime(_SHOWN)}"
