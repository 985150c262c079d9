"""The wallboard's figures: what a shared screen shows about the desk, read
with a handful of indexed queries and handed out as plain dataclasses.

A board shows *pages* (:class:`BoardPage`): the overview, one per team,
the breaches and the recently resolved tickets. Each page has a scope — a
query in the desk's query language (``team:ops``, plus the board's own
``--query``) — and a :func:`snapshot` of a page holds its headline
:class:`Figures` and the tickets of its list.

What the figures mean:

- *open by priority*: open tickets (new, assigned, in progress, pending);
- *breached* / *at risk*: open tickets whose SLA summary is breached / in
  warning as of now (a deadline that has passed is a breach even before the
  sweep records it, as everywhere on the desk);
- *unassigned*: open tickets nobody holds;
- *oldest unacknowledged P1/P2*: the open P1 or P2 ticket waiting longest
  for an acknowledgement;
- *MTTA* / *MTTR* today: the mean time from created to acknowledged, for
  the tickets acknowledged today, and from created to resolved, for the
  tickets resolved today (merged duplicates left out). "Today" is the desk's
  day: midnight to now in ``[desk] timezone``, UTC when none is set.

Every query is an index range (status + priority, the SLA deadline,
acknowledged and resolved times), so a refresh costs the same on a desk of
a million tickets as on a small one, give or take the open queue's size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime, time as dtime, timezone, tzinfo
from typing import TYPE_CHECKING

from peewee import fn

from deskconsole.binding import on_desk
from deskconsole.config import Config
from deskconsole.core.identity import Actor, actor_for
from deskconsole.core.keys import ticket_key
from deskconsole.core.records.lifecycle import OPEN
from deskconsole.core.search.query import of_its_kinds, parse, to_peewee
from deskconsole.core.sql_expr import and_all, count_if, seconds_between
from deskconsole.core.records.views import SUMMARY_COLUMNS, TicketSummary, summary
from deskconsole.models import Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

PRIORITIES = ("P1", "P2", "P3", "P4")
LIST_LIMIT = 60  # tickets fetched for a page's list (more than the tallest screen shows)


# --------------------------------------------------------------------------- who and when
@on_desk
def board_actor(desk: "Desk", login: str) -> Actor:
    """The board's identity: whoever runs it, always as a viewer. A lead who
    starts a wallboard on the ops-room screen does not leave a lead's
    session open on it; every write in the core refuses this actor."""
    real = actor_for(desk, login)
    return replace(real, role="viewer", via=None)


def day_start(config: Config, now: datetime) -> datetime:
    """Midnight of the desk's day containing ``now``, as a UTC instant."""
    tz = config.zone()
    local = now.astimezone(tz)
    return datetime.combine(local.date(), dtime(0), tzinfo=tz).astimezone(timezone.utc)


# --------------------------------------------------------------------------- pages
@dataclass(frozen=True)
class BoardPage:
    id: str  # "overview", "team:ops", "breaches", "resolved"
    title: str
    kind: str  # "urgent" | "breaches" | "resolved" | "report": what the area below the figures shows
    scope: str  # the query every figure and the list of this page are narrowed by ("" = the whole desk)
    query: str = ""  # the board's own --query (part of scope), shown with the title


REPORT_PANELS = {  # --report PANEL: a report's panel as a page of the rotation (the last 7 days)
    "trend": "Trend: created, resolved and breached per day",
    "compliance": "SLA compliance by priority and team",
    "flags": "Trend flags: well above their own baseline",
}
REPORT_PERIOD = "7d"


def pages(config: Config, *, team: str | None = None, query: str = "", reports: tuple[str, ...] = ()) -> list[BoardPage]:
    """The rotation: overview, one page per team (when the board is not
    about one team already), breaches, recently resolved, then the report
    panels asked for."""
    query = query.strip()
    base = " ".join(part for part in (f"team:{team}" if team else "", query) if part)
    name = config.teams[team].title if team and team in config.teams else team
    out = [BoardPage("overview", f"{name}: overview" if team else "Overview", "urgent", base, query)]
    if not team and len(config.teams) > 1:
        for tid, conf in config.teams.items():
            scope = " ".join(p for p in (f"team:{tid}", base) if p)
            out.append(BoardPage(f"team:{tid}", conf.title, "urgent", scope, query))
    out.append(BoardPage("breaches", "Breaches", "breaches", base, query))
    out.append(BoardPage("resolved", "Recently resolved", "resolved", base, query))
    for panel in dict.fromkeys(reports):
        if panel not in REPORT_PANELS:
            raise ValueError(f"--report {panel!r}: use one of {', '.join(REPORT_PANELS)}")
        out.append(BoardPage(f"report:{panel}", REPORT_PANELS[panel], "report", base, query))
    return out


# --------------------------------------------------------------------------- figures
@dataclass(frozen=True)
class Oldest:
    key: str
    priority: str
    title: str
    created_at: datetime


@dataclass(frozen=True)
class Figures:
    at: datetime  # "now" of the read
    day_start: datetime  # the start of "today" (UTC instant)
    open_by_priority: dict[str, int]
    breached: int
    at_risk: int
    unassigned: int
    oldest_unacked: Oldest | None  # the oldest open unacknowledged P1/P2
    mtta_seconds: int | None  # None: nothing acknowledged today
    acked_today: int
    mttr_seconds: int | None  # None: nothing resolved today
    resolved_today: int
    on_track: int = 0  # open tickets with a running SLA, neither breached nor at risk
    breached_by_priority: dict[str, int] = field(default_factory=dict)

    @property
    def open_total(self) -> int:
        return sum(self.open_by_priority.values())


@dataclass(frozen=True)
class ResolvedTicket:
    key: str
    priority: str
    title: str
    team: str | None
    assignee: str | None
    created_at: datetime
    resolved_at: datetime
    resolution_code: str | None
    sla: str | None  # met, breached (a breach is never taken back) or None: no clocks

    @property
    def seconds_to_resolve(self) -> int:
        return max(int((self.resolved_at - self.created_at).total_seconds()), 0)


@dataclass(frozen=True)
class Snapshot:
    """One page's data as read at ``at`` (plain values; safe to keep for weeks)."""

    page: BoardPage
    at: datetime
    figures: Figures
    tickets: tuple[TicketSummary, ...] = ()  # urgent / breaches pages
    resolved: tuple[ResolvedTicket, ...] = ()  # resolved page
    listed: int = 0  # how many tickets the list has in all (it shows the first ones)
    read_seconds: float = 0.0
    report: object = None  # a report page's deskconsole.core.reports.report.Report


def _where(desk: "Desk", text: str, login: str, now: datetime, tz: tzinfo):
    """The board's scope: its query's tickets, and incidents only (the board is the incident queue's)."""
    query = parse(text)
    where, _ = to_peewee(query, desk, actor_login=login, now=now, tz=tz)
    return of_its_kinds(query, where)


@on_desk
def check_scope(desk: "Desk", text: str, login: str) -> None:
    """Raise the query error (with the bad term marked) for a scope that cannot run."""
    _where(desk, text or "is:open", login, desk.now(), desk.config.zone())


@on_desk
def figures(desk: "Desk", scope: str, login: str, now: datetime) -> Figures:
    tz = desk.config.zone()
    base = _where(desk, scope, login, now, tz)
    is_open = Ticket.status.in_(OPEN)
    breached = _where(desk, "sla:breached", login, now, tz)
    warning = _where(desk, "sla:warning", login, now, tz)
    ok = _where(desk, "sla:ok", login, now, tz)

    # One pass over the open tickets (the status+priority index): counts per priority.
    by_prio = {p: 0 for p in PRIORITIES}
    breached_by = {p: 0 for p in PRIORITIES}
    n_breached = n_warning = n_ok = n_unassigned = 0
    rows = (
        Ticket.select(Ticket.priority, fn.COUNT(Ticket.id), count_if(breached), count_if(warning), count_if(ok),
                      count_if(Ticket.assignee.is_null()))
        .where(and_all(base, is_open))
        .group_by(Ticket.priority)
        .tuples()
    )
    for prio, count, b, w, k, u in rows:
        by_prio[prio] = by_prio.get(prio, 0) + int(count)
        breached_by[prio] = breached_by.get(prio, 0) + int(b or 0)
        n_breached += int(b or 0)
        n_warning += int(w or 0)
        n_ok += int(k or 0)
        n_unassigned += int(u or 0)

    oldest = None
    row = (
        Ticket.select(Ticket.id, Ticket.priority, Ticket.title, Ticket.created_at)
        .where(and_all(base, is_open, Ticket.priority.in_(("P1", "P2")), Ticket.acknowledged_at.is_null()))
        .order_by(Ticket.created_at, Ticket.id)
        .limit(1)
        .tuples()
        .first()
    )
    if row:
        oldest = Oldest(ticket_key(row[0]), row[1], row[2], row[3])

    start = day_start(desk.config, now)
    mtta, acked = _mean(desk, base, Ticket.acknowledged_at, start, now)
    mttr, resolved = _mean(desk, and_all(base, fn.COALESCE(Ticket.merged_into, 0) == 0), Ticket.resolved_at, start, now)
    return Figures(
        at=now, day_start=start, open_by_priority=by_prio, breached=n_breached, at_risk=n_warning,
        unassigned=n_unassigned, oldest_unacked=oldest, mtta_seconds=mtta, acked_today=acked,
        mttr_seconds=mttr, resolved_today=resolved, on_track=n_ok, breached_by_priority=breached_by,
    )


def _mean(desk: "Desk", base, column, start: datetime, now: datetime) -> tuple[int | None, int]:
    """(mean seconds from created to ``column``, how many) for ``column`` in [start, now].

    The day's tickets are taken from the ``(column, created_at)`` index first
    (a covering range), then narrowed by the page's scope: a planner left to
    itself prefers the team index for ``team:X`` and reads the team's whole
    history instead of one day of it."""
    span = seconds_between(desk.db, column, Ticket.created_at)
    today = (column >= start) & (column <= now)
    where = today if base is None else (Ticket.id.in_(Ticket.select(Ticket.id).where(today)) & base)
    avg, count = Ticket.select(fn.AVG(span), fn.COUNT(Ticket.id)).where(where).tuples().first()
    count = int(count or 0)
    return (round(avg) if count and avg is not None else None), count


# --------------------------------------------------------------------------- lists
@on_desk
def urgent(desk: "Desk", scope: str, login: str, now: datetime, limit: int = LIST_LIMIT) -> list[TicketSummary]:
    """Open tickets with a running SLA, nearest deadline first (overdue ones first of all)."""
    return _by_deadline(desk, f"{scope} is:open sla:breached,warning,ok", login, now, limit)


@on_desk
def breaches(desk: "Desk", scope: str, login: str, now: datetime, limit: int = LIST_LIMIT) -> list[TicketSummary]:
    """Open breached tickets, longest overdue first."""
    return _by_deadline(desk, f"{scope} is:open sla:breached", login, now, limit)


def _by_deadline(desk: "Desk", text: str, login: str, now: datetime, limit: int) -> list[TicketSummary]:
    """The first ``limit`` tickets matching ``text`` in deadline order.

    The candidates are the tickets with the soonest deadlines, read from the
    ``sla_due`` index (a covering range, a few ms even with 200,000 open
    tickets); the filter runs on those alone. When too few of them match (a
    small team's page), the window grows until it holds every deadline.
    Ordering the whole filtered queue instead would sort every open ticket
    of a million-ticket desk on each refresh.
    """
    where = _where(desk, text, login, now, desk.config.zone())
    window = max(limit * 32, 2000)
    while True:
        candidates = (Ticket.select(Ticket.id).where(Ticket.sla_due.is_null(False))
                      .order_by(Ticket.sla_due, Ticket.id).limit(window))
        query = (Ticket.select(*SUMMARY_COLUMNS).where(and_all(Ticket.id.in_(candidates), where))
                 .order_by(Ticket.sla_due, Ticket.id).limit(limit))
        rows = [summary(desk, t) for t in query]
        if len(rows) >= limit or window >= _deadlines(desk):
            return rows
        window *= 8


def _deadlines(desk: "Desk") -> int:
    """How many tickets have a deadline (an index-only count)."""
    return Ticket.select(Ticket.id).where(Ticket.sla_due.is_null(False)).count()


@on_desk
def recently_resolved(desk: "Desk", scope: str, login: str, now: datetime,
                      limit: int = LIST_LIMIT) -> list[ResolvedTicket]:
    """The last tickets resolved (newest first), over the resolved-time index."""
    tz = desk.config.zone()
    base = _where(desk, scope, login, now, tz)
    d = desk.directory
    query = (
        Ticket.select(Ticket.id, Ticket.priority, Ticket.title, Ticket.team, Ticket.assignee, Ticket.created_at,
                      Ticket.resolved_at, Ticket.resolution_code, Ticket.sla)
        .where(and_all(base, Ticket.resolved_at.is_null(False), Ticket.resolved_at <= now,
                    fn.COALESCE(Ticket.merged_into, 0) == 0))
        .order_by(Ticket.resolved_at.desc())
        .limit(limit)
        .tuples()
    )
    return [
        ResolvedTicket(ticket_key(tid), prio, title, d.team_names.get(team), d.agent_logins.get(assignee), created,
                       resolved, code, sla)
        for tid, prio, title, team, assignee, created, resolved, code, sla in query
    ]


@on_desk
def snapshot(desk: "Desk", page: BoardPage, login: str, now: datetime | None = None,
             limit: int = LIST_LIMIT) -> Snapshot:
    """Everything one page shows, read in one go (call it off the UI thread)."""
    now = now or desk.now()
    started = time.perf_counter()
    figs = figures(desk, page.scope, login, now)
    tickets: list[TicketSummary] = []
    resolved: list[ResolvedTicket] = []
    if page.kind == "urgent":
        tickets = urgent(desk, page.scope, login, now, limit)
        listed = figs.breached + figs.at_risk + figs.on_track
    elif page.kind == "breaches":
        tickets = breaches(desk, page.scope, login, now, limit)
        listed = figs.breached
    elif page.kind == "report":
        from deskconsole.core.reports.report import build

        return Snapshot(page, now, figs, listed=0, read_seconds=time.perf_counter() - started,
                        report=build(desk, login, page.scope, since=REPORT_PERIOD, now=now))
    else:
        resolved = recently_resolved(desk, page.scope, login, now, limit)
        listed = figs.resolved_today
    return Snapshot(page, now, figs, tuple(tickets), tuple(resolved), listed, time.perf_counter() - started)


def age_of(then: datetime, now: datetime) -> int:
    return max(int((now - then).total_seconds()), 0)


__all__ = [
    "BoardPage", "Figures", "Oldest", "ResolvedTicket", "Snapshot", "age_of", "board_actor", "breaches",
    "check_scope", "day_start", "figures", "pages", "recently_resolved", "snapshot", "urgent",
]
