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

from deskconsole.core.access.service_map import service_map
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
    """``names`` and the services and items connected to them (see :meth:`ServiceMap.related`)."""
    return service_map(desk).related(names)


def collisions(desk: "Desk", start: datetime | None, end: datetime | None, services: Iterable[str], *,
               exclude: int | None = None) -> list[Collision]:
    """The collisions of a window [start, end) on ``services`` (names);
    ``exclude``: the change itself."""
    return collisions_of(desk, [(exclude, start, end, services)])[0]


def collisions_of(desk: "Desk", items) -> list[list[Collision]]:
    """The collisions of many windows at once (a week's calendar): items are
    ``(change id or None, start, end, service names)``. The other changes they
    might overlap are read in one query."""
    items = [(cid, start, end, sorted(set(services))) for cid, start, end, services in items]
    planned = [n for n, item in enumerate(items) if item[1] is not None and item[2] is not None]
    smap = service_map(desk)
    near = {n: smap.related(items[n][3]) for n in planned}
    others = _open_changes(desk, set().union(*near.values()) if near else set(),
                           min((items[n][1] for n in planned), default=None),
                           max((items[n][2] for n in planned), default=None))
    policy = desk.directory.change_policy
    out = []
    for n, (cid, start, end, services) in enumerate(items):
        if n not in near:
            out.append([])
            continue
        found = _windows(policy, start, end, services)
        for other in others:
            if other.id != cid and other.start < end and other.end > start and set(other.names) & near[n]:
                same = sorted(set(other.names) & set(services))
                on = (f"on {', '.join(same)}" if same
                      else f"on {', '.join(sorted(set(other.names)))}, connected to this change's")
                found.append(Collision("overlap", other.key, f"overlaps {other.key} {other.title!r} {on} "
                                       f"({_span(other.start, other.end)})", other.start, other.end))
        out.append(found)
    return out


def _windows(policy, start: datetime, end: datetime, services: list[str]) -> list[Collision]:
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


@dataclass
class _Other:
    id: int
    key: str
    title: str
    start: datetime
    end: datetime
    names: list[str]


def _open_changes(desk: "Desk", names: set[str], lo: datetime | None, hi: datetime | None) -> list[_Other]:
    """The open changes on ``names`` whose planned window overlaps [lo, hi)."""
    ids = [desk.directory.service_ids[n] for n in names if n in desk.directory.service_ids]
    if not ids or lo is None:
        return []
    rows = (Ticket.select(Ticket.id, Ticket.kind, Ticket.number, Ticket.title, ChangeRequest.planned_start,
                          ChangeRequest.planned_end, Service.name)
            .join(ChangeRequest, on=(ChangeRequest.ticket == Ticket.id))
            .join(ChangeItem, on=(ChangeItem.change == Ticket.id))
            .join(Service, on=(Service.id == ChangeItem.service))
            .where(of_kind(KIND) & Ticket.status.in_(change_lifecycle.OPEN) & (ChangeItem.service.in_(ids))
                   & (ChangeRequest.planned_start < hi) & (ChangeRequest.planned_end > lo))
            .order_by(ChangeRequest.planned_start, Ticket.id).objects())
    found: dict[int, _Other] = {}
    for r in rows:
        other = found.setdefault(r.id, _Other(r.id, r.key, r.title, r.planned_start, r.planned_end, []))
        other.names.append(r.name)
    return list(found.values())


def _span(start: datetime, end: datetime) -> str:
    return f"{start.strftime(_SHOWN)} to {end.strftime(_SHOWN)}"
