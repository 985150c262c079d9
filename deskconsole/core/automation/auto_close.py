"""Resolved tickets close by themselves after ``[desk] auto_close_days``
business days (days on which ``auto_close_calendar`` has working time),
unless the requester reopened them first. The sweep does it, as ``system``,
through the ordinary close: audited, versioned, on the feed.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import TYPE_CHECKING

from deskconsole.binding import on_desk
from deskconsole.core.records import tickets
from deskconsole.core.records.kinds import incidents
from deskconsole.errors import DeskError
from deskconsole.core.identity import SYSTEM
from deskconsole.models import Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

BATCH = 200  # tickets closed in one sweep at most (a backlog goes over the next sweeps)


def cutoff(calendar, now: datetime, days: int) -> datetime:
    """The start of the working day ``days`` working days before today (in
    the calendar's zone): a ticket resolved before it has had ``days`` whole
    working days since."""
    zone = calendar._tz
    day = now.astimezone(zone).date()
    counted, looked = 0, 0
    while counted < days and looked < 3660:  # a calendar with no working days at all: ten years, then stop
        day -= timedelta(days=1)
        looked += 1
        start = datetime.combine(day, time(0), zone)
        if calendar.between(start, start + timedelta(days=1)) > 0:
            counted += 1
    return datetime.combine(day, time(0), zone).astimezone(timezone.utc)


@on_desk
def auto_close(desk: "Desk", now: datetime) -> list[str]:
    """Close what is due; the keys closed."""
    days = desk.config.auto_close_days
    if not days:
        return []
    before = cutoff(desk.config.sla.calendar(desk.config.auto_close_calendar), now, days)
    due = [tid for (tid,) in Ticket.select(Ticket.id).where((Ticket.status == "resolved") & (Ticket.resolved_at < before) & incidents())
           .order_by(Ticket.resolved_at).limit(BATCH).tuples()]
    closed = []
    for tid in due:
        try:
            closed.append(tickets.close(desk, SYSTEM, tid).key)
        except DeskError:  # reopened or closed meanwhile by someone else: nothing to do
            continue
    return closed
