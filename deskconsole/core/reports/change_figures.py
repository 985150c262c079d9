"""Changes in a report: how the changes closed in the period ended (the
success rate), how many were emergencies, and the incidents that changes
caused (opened in the period and linked ``caused_by`` a change)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from peewee import fn

from deskconsole.binding import on_desk
from deskconsole.core.records.change_requests import CAUSED, KIND
from deskconsole.core.records.kinds import of_kind
from deskconsole.models import ChangeRequest, Link, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk


@dataclass(frozen=True)
class ChangeFigures:
    raised: int  # changes raised in the period
    emergency: int  # of them, emergency changes
    closed: int  # changes closed in the period (with an outcome)
    successful: int
    failed: int
    backed_out: int
    caused_incidents: int  # incidents opened in the period that a change caused
    causing_changes: int  # the changes behind them

    @property
    def success_rate(self) -> float | None:
        return self.successful / self.closed if self.closed else None


@on_desk
def change_figures(desk: "Desk", start: datetime, end: datetime) -> ChangeFigures:
    changes = of_kind(KIND)
    raised = dict(Ticket.select(ChangeRequest.type, fn.COUNT(Ticket.id))
                  .join(ChangeRequest, on=(ChangeRequest.ticket == Ticket.id))
                  .where(changes & (Ticket.created_at >= start) & (Ticket.created_at < end))
                  .group_by(ChangeRequest.type).tuples())
    ended = dict(Ticket.select(ChangeRequest.outcome, fn.COUNT(Ticket.id))
                 .join(ChangeRequest, on=(ChangeRequest.ticket == Ticket.id))
                 .where(changes & (Ticket.status == "closed") & (Ticket.closed_at >= start) & (Ticket.closed_at < end))
                 .group_by(ChangeRequest.outcome).tuples())
    incident = Ticket.alias()
    caused = (Link.select(fn.COUNT(Link.source.distinct()), fn.COUNT(Link.target.distinct()))
              .join(incident, on=(incident.id == Link.source))
              .where((Link.kind == CAUSED) & Link.target.in_(Ticket.select(Ticket.id).where(changes))
                     & (incident.created_at >= start) & (incident.created_at < end)
                     & incident.number.is_null())
              .tuples().first())
    return ChangeFigures(
        raised=sum(raised.values()), emergency=int(raised.get("emergency", 0)),
        closed=sum(ended.values()), successful=int(ended.get("successful", 0)), failed=int(ended.get("failed", 0)),
        backed_out=int(ended.get("backed_out", 0)), caused_incidents=int(caused[0] or 0),
        causing_changes=int(caused[1] or 0))
