"""Read side: tickets as plain dataclasses (no Peewee objects leave the core)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from deskconsole.binding import on_desk
from deskconsole.core.sla_clocks import clocks as engine
from deskconsole.core import hot_reads
from deskconsole.core.records import change_requests, problems
from deskconsole.core.records.change import ANY_KIND, load_ticket
from deskconsole.core.keys import record_key, ticket_key
from deskconsole.core.records.links import INVERSE
from deskconsole.models import SlaClock, Ticket
from deskconsole.sla.policy import METRICS

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

SUMMARY_COLUMNS = (
    Ticket.id, Ticket.priority, Ticket.status, Ticket.title, Ticket.assignee, Ticket.team,
    Ticket.created_at, Ticket.updated_at, Ticket.version, Ticket.requester_name, Ticket.sla, Ticket.sla_due,
    Ticket.kind, Ticket.number,
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
    sla: str | None = None  # the stored summary: breached, warning, ok, paused, met; None = no clocks
    sla_due: datetime | None = None  # the soonest deadline of a counting clock
    kind: str = "incident"

    def as_dict(self) -> dict:
        return asdict(self)

    def sla_state(self, now: datetime) -> str | None:
        """The summary as of ``now``: a deadline that has passed is a breach
        even before the sweep records it (as :func:`deskconsole.core.sla_clocks.clocks.effective_state`)."""
        if self.sla in ("ok", "warning") and self.sla_due is not None and self.sla_due < now:
            return "breached"
        return self.sla

    def sla_left(self, now: datetime) -> int | None:
        """Wall-clock seconds to ``sla_due`` (negative: overdue), or None."""
        return None if self.sla_due is None else int((self.sla_due - now).total_seconds())


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
class ClockView:
    """One SLA clock as of ``now``. Durations are business seconds on ``calendar``."""

    metric: str  # first_response | resolution
    state: str  # running | warning | paused | met | breached | cancelled (as of now)
    policy: str
    calendar: str
    target_seconds: int
    used_seconds: int
    left_seconds: int  # target - used; negative = overdue
    percent_used: int  # of the target, rounded down
    due_at: datetime | None  # the deadline while counting; the breach instant once breached
    paused_seconds: int  # spent paused (or resolved), up to now
    paused_since: datetime | None
    started_at: datetime
    stopped_at: datetime | None
    breached_at: datetime | None

    @property
    def label(self) -> str:
        return engine.LABEL.get(self.metric, self.metric)


@dataclass(frozen=True)
class AlertView:
    """A monitored condition on this ticket (see core.inbound.alerts)."""

    dedup_key: str
    source: str
    status: str  # firing | resolved
    count: int  # triggers received for this ticket
    first_at: datetime
    last_at: datetime
    summary: str


@dataclass(frozen=True)
class AttachmentView:
    filename: str
    content_type: str
    size: int
    kept: bool  # False: over the size limit, listed only


@dataclass(frozen=True)
class RatingView:
    score: int  # 1..5
    at: datetime
    by: str | None


@dataclass(frozen=True)
class NotificationView:
    """A message an escalation left in the outbox for this ticket."""

    created_at: datetime
    channel: str
    state: str  # queued | sent | failed
    recipients: str
    subject: str
    attempts: int
    sent_at: datetime | None


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
    sla: str | None = None  # the summary as of now (see TicketSummary.sla_state)
    sla_due: datetime | None = None
    clocks: list[ClockView] = field(default_factory=list)
    notifications: list[NotificationView] = field(default_factory=list)
    alerts: list[AlertView] = field(default_factory=list)
    attachments: list[AttachmentView] = field(default_factory=list)
    ratings: list[RatingView] = field(default_factory=list)
    kind: str = "incident"
    problem: problems.ProblemView | None = None  # a problem's own fields and its incidents
    problems: list[str] = field(default_factory=list)  # an incident's problems
    workarounds: list[problems.Workaround] = field(default_factory=list)  # known errors' workarounds for it
    change: change_requests.ChangeView | None = None  # a change's own fields, approvals and collisions


@on_desk
def summary(desk: "Desk", t: Ticket) -> TicketSummary:
    d = desk.directory
    return TicketSummary(
        key=t.key, id=t.id, priority=t.priority, status=t.status, title=t.title,
        assignee=d.agent_logins.get(t.assignee_id), team=d.team_names.get(t.team_id),
        created_at=t.created_at, updated_at=t.updated_at, version=t.version, requester=t.requester_name,
        sla=t.sla, sla_due=t.sla_due, kind=t.kind,
    )


@on_desk
def clock_view(desk: "Desk", c: SlaClock, now: datetime) -> ClockView:
    cal = engine.calendar_of(desk, c)
    state = engine.effective_state(c, now)
    if state == "running" and engine.is_warning(c):
        state = "warning"
    spent = engine.used(cal, c, now)
    paused = c.paused + (cal.between(c.paused_since, now) if c.paused_since is not None and now > c.paused_since else 0)
    return ClockView(
        metric=c.metric, state=state, policy=c.policy, calendar=c.calendar, target_seconds=c.target,
        used_seconds=spent, left_seconds=c.target - spent,
        percent_used=spent * 100 // c.target if c.target > 0 else 0,
        due_at=c.due_at, paused_seconds=paused, paused_since=c.paused_since, started_at=c.started_at,
        stopped_at=c.stopped_at, breached_at=c.breached_at,
    )


def _metric_order(c: SlaClock) -> tuple[int, int]:
    return (METRICS.index(c.metric) if c.metric in METRICS else len(METRICS), c.id)


@on_desk
def detail(desk: "Desk", key, now: datetime | None = None) -> TicketDetail:
    """Everything about one ticket; its SLA clocks as of ``now`` (default: the desk's clock).

    Read with the prepared statements of :mod:`deskconsole.core.hot_reads`:
    ``show`` is the most frequent command."""
    now = now or desk.now()
    t = load_ticket(desk, key, kinds=ANY_KIND)
    d = desk.directory
    merged = hot_reads.merged_ids(t.id)
    entries = [
        EntryView(eid, ticket_key(tid), kind, author, author_name, at, body, source)
        for eid, tid, kind, author, author_name, at, body, source in hot_reads.entries([t.id, *merged])
    ]
    links = []
    linked_problems: dict[int, str] = {}  # an incident's problems (INC caused_by PRB): id -> key
    for _, source_id, target_id, kind in hot_reads.links(t.id):
        outgoing = source_id == t.id
        other_id = target_id if outgoing else source_id
        title, status, other_kind, number = hot_reads.title_status(other_id)
        other_key = record_key(other_kind, other_id, number)
        links.append(LinkView(kind if outgoing else INVERSE[kind], other_key, title, status))
        if outgoing and kind == problems.LINK and other_kind == problems.KIND:
            linked_problems[other_id] = other_key
    audit = [AuditView(*row) for row in hot_reads.audit(t.id)]
    rows = sorted(hot_reads.clocks(t.id), key=_metric_order)
    clock_views = [clock_view(desk, c, now) for c in rows]
    sla, sla_due = engine.summary(rows, now) if rows else (t.sla, t.sla_due)
    notifications = [NotificationView(*row) for row in hot_reads.outbox(t.id)]
    alert_views = [AlertView(*row) for row in hot_reads.alerts(t.id)]
    files = [AttachmentView(name, ctype, size, bool(kept)) for name, ctype, size, kept in hot_reads.attachments(t.id)]
    ratings = [RatingView(*row) for row in hot_reads.ratings(t.id)]
    return TicketDetail(
        key=t.key, id=t.id, title=t.title, description=t.description, status=t.status, kind=t.kind,
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
        sla=sla, sla_due=sla_due, clocks=clock_views, notifications=notifications, alerts=alert_views,
        attachments=files, ratings=ratings,
        problem=problems.view(t.id) if t.kind == problems.KIND else None,
        problems=list(linked_problems.values()) if t.kind == "incident" else [],
        workarounds=problems.workarounds_for(desk, t, linked_problems) if t.kind == "incident" else [],
        change=change_requests.view(desk, t) if t.kind == change_requests.KIND else None,
    )


def json_default(value):
    """``json.dumps(..., default=json_default)``: views (dataclasses) as objects, times in ISO 8601."""
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value):
        return asdict(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")
