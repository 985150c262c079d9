"""The change calendar: changes whose window falls in a span, the policy's
windows in it, and the changes near a moment on some services (what an
incident's detail shows)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Iterable

from deskconsole.binding import on_desk
from deskconsole.core.clock import local_midnight
from deskconsole.core.records import change_collisions
from deskconsole.core.records.kinds import of_kind
from deskconsole.errors import ValidationError
from deskconsole.models import ChangeItem, ChangeRequest, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

KIND = "change"
_WEEK = re.compile(r"^([0-9]{4})-?W([0-9]{1,2})$", re.IGNORECASE)
NEAR_BEFORE = timedelta(hours=48)
NEAR_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class CalendarEntry:
    key: str
    title: str
    type: str
    status: str
    risk: str
    start: datetime | None  # UTC: the actual window once it started, else the planned one (None: not planned yet)
    end: datetime | None
    services: list[str] = field(default_factory=list)
    version: int = 1
    updated_at: datetime | None = None
    outcome: str | None = None
    collisions: list[change_collisions.Collision] = field(default_factory=list)
    description: str = ""
    planned_start: datetime | None = None
    planned_end: datetime | None = None


@dataclass(frozen=True)
class WindowSpan:
    name: str
    kind: str  # freeze | blackout | maintenance
    start: datetime
    end: datetime
    services: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Week:
    start: datetime  # UTC: the Monday's local midnight
    end: datetime
    first_day: date
    label: str  # 2026-W49


def week_of(text: str | None, now: datetime, tz: tzinfo) -> Week:
    """The week ``text`` names: ``2026-W49``, a day in it (``2026-12-02``),
    ``+1``/``-1`` weeks from this one, or this week (None)."""
    raw = (text or "").strip()
    today = now.astimezone(tz).date()
    if not raw:
        day = today
    elif re.fullmatch(r"[+-][0-9]{1,3}", raw):
        day = today + timedelta(weeks=int(raw))
    elif m := _WEEK.match(raw):
        try:
            day = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        except ValueError:
            raise ValidationError(f"{raw!r} is not a week; write e.g. 2026-W49, 2026-12-02, +1 or -1") from None
    else:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise ValidationError(f"{raw!r} is not a week; write e.g. 2026-W49, 2026-12-02, +1 or -1") from None
    return week_starting(day, tz)


def week_starting(day: date, tz: tzinfo) -> Week:
    """The week ``day`` falls in (Monday to Sunday in ``tz``)."""
    monday = day - timedelta(days=day.weekday())
    year, number, _ = monday.isocalendar()
    return Week(local_midnight(monday, tz), local_midnight(monday + timedelta(days=7), tz), monday,
                f"{year}-W{number:02d}")


def _rows(desk: "Desk", where):
    return (Ticket.select(Ticket.id, Ticket.kind, Ticket.number, Ticket.title, Ticket.status, Ticket.version,
                          Ticket.updated_at, Ticket.description, ChangeRequest.type, ChangeRequest.risk,
                          ChangeRequest.planned_start, ChangeRequest.planned_end, ChangeRequest.actual_start,
                          ChangeRequest.actual_end, ChangeRequest.outcome)
            .join(ChangeRequest, on=(ChangeRequest.ticket == Ticket.id))
            .where(of_kind(KIND) & where)
            .order_by(ChangeRequest.planned_start, Ticket.number).objects())


def _services_of(desk: "Desk", ids: list[int]) -> dict[int, list[str]]:
    names = desk.directory.service_names
    out: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for r in ChangeItem.select(ChangeItem.change, ChangeItem.service).where(ChangeItem.change.in_(ids)):
            out[r.change_id].append(names.get(r.service_id, "?"))
    return {i: sorted(v) for i, v in out.items()}


def _entries(desk: "Desk", rows, *, collisions: bool) -> list[CalendarEntry]:
    rows = list(rows)
    services = _services_of(desk, [r.id for r in rows])
    checked = [r for r in rows if collisions and r.status not in ("closed", "cancelled")]
    found = dict(zip((r.id for r in checked), change_collisions.collisions_of(
        desk, [(r.id, r.planned_start, r.planned_end, services[r.id]) for r in checked])))
    out = []
    for r in rows:
        start = r.actual_start or r.planned_start
        end = r.actual_end or r.planned_end or start
        if r.actual_start and not r.actual_end:  # under way: it runs till now at least
            end = max(end, desk.now())
        out.append(CalendarEntry(r.key, r.title, r.type, r.status, r.risk, start, end, services[r.id], r.version,
                                 r.updated_at, r.outcome, found.get(r.id, []), r.description, r.planned_start,
                                 r.planned_end))
    return out


@on_desk
def listed(desk: "Desk", ids: list[int]) -> list[CalendarEntry]:
    """The changes ``ids``, in that order, with their services and the open
    ones' collisions, in one read (what ``change ls`` shows); one with no
    window yet has no start or end."""
    order = {cid: n for n, cid in enumerate(ids)}
    rows = sorted(_rows(desk, Ticket.id.in_(ids)), key=lambda r: order[r.id]) if ids else []
    return _entries(desk, rows, collisions=True)


@on_desk
def between(desk: "Desk", start: datetime, end: datetime, *, cancelled: bool = False,
            collisions: bool = True) -> list[CalendarEntry]:
    """The changes whose planned (or actual) window overlaps [start, end)."""
    planned = (ChangeRequest.planned_start < end) & (ChangeRequest.planned_end > start)
    actual = (ChangeRequest.actual_start < end) & ((ChangeRequest.actual_end > start) | ChangeRequest.actual_end.is_null())
    where = planned | actual
    if not cancelled:
        where &= Ticket.status != "cancelled"
    return _entries(desk, _rows(desk, where), collisions=collisions)


@on_desk
def windows_between(desk: "Desk", start: datetime, end: datetime) -> list[WindowSpan]:
    """The change policy's freeze, blackout and maintenance windows in [start, end)."""
    out = [WindowSpan(w.name, w.kind, s, e, w.services, w.note)
           for w in desk.directory.change_policy.windows for s, e in w.spans(start, end)]
    return sorted(out, key=lambda w: (w.start, w.name))


@on_desk
def near(desk: "Desk", services: Iterable[str], now: datetime | None = None) -> list[CalendarEntry]:
    """The changes on ``services`` (names) with a window in the last 48 hours or
    the next 24: what changed, or is about to, where an incident is."""
    now = now or desk.now()
    ids = [desk.directory.service_ids[n] for n in set(services) if n in desk.directory.service_ids]
    if not ids:
        return []
    on = Ticket.id.in_(ChangeItem.select(ChangeItem.change).where(ChangeItem.service.in_(ids)))
    lo, hi = now - NEAR_BEFORE, now + NEAR_AFTER
    planned = (ChangeRequest.planned_start < hi) & (ChangeRequest.planned_end > lo)
    actual = (ChangeRequest.actual_start < hi) & ((ChangeRequest.actual_end > lo) | ChangeRequest.actual_end.is_null())
    return _entries(desk, _rows(desk, on & (planned | actual) & (Ticket.status != "cancelled")), collisions=False)


__all__ = ["between", "windows_between", "near", "listed", "week_of", "CalendarEntry", "WindowSpan", "Week"]
