"""Escalation actions a policy runs when a clock crosses a threshold.

``notify`` writes a message to the outbox (a delivery channel sends it) and
says so in the audit log; ``raise_priority`` and ``reassign_team`` change the
ticket through the ordinary write path, as the SLA engine, so they are
audited, versioned and re-target the clocks like any other change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deskconsole.binding import on_desk
from deskconsole.core.records import tickets
from deskconsole.core.clock import exact_duration
from deskconsole.core.sla_clocks.clocks import LABEL, calendar_of, describe_crossing, used
from deskconsole.errors import DeskError
from deskconsole.core.identity import Actor
from deskconsole.core.keys import ticket_key
from deskconsole.config import EMAIL_RE, PRIORITIES
from deskconsole.models import Outbox, SlaClock, Ticket
from deskconsole.sla.policy import BREACH, Escalation

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk
    from deskconsole.core.txn import Unit

SLA_ACTOR = Actor(login="sla", name="SLA engine", role="admin", internal=True)


@on_desk
def escalate(desk: "Desk", unit: "Unit", clock: SlaClock, pct: int, crossing_id: int) -> int:
    """Run the escalations for one recorded crossing; returns how many actions ran."""
    policy = desk.config.sla.policy(clock.policy)
    if policy is None:
        unit.audit(clock.ticket_id, "escalate", clock.metric, None,
                   f"policy {clock.policy!r} is no longer in the config; no escalation for {pct}%")
        return 0
    done = 0
    for esc in policy.escalations_for(clock.metric, pct):
        ticket = Ticket.get_by_id(clock.ticket_id)
        if esc.notify:
            done += notify(desk, unit, ticket, clock, pct, crossing_id, esc)
        if esc.raise_priority:
            done += _run(unit, ticket, "raise priority", lambda: _raise(desk, ticket, esc.raise_priority))
        if esc.reassign_team:
            done += _run(unit, ticket, f"reassign to {esc.reassign_team}",
                         lambda: tickets.assign(desk, SLA_ACTOR, ticket.id, team=esc.reassign_team))
    return done


def _run(unit: "Unit", ticket: Ticket, what: str, action) -> int:
    try:
        action()
        return 1
    except DeskError as exc:  # e.g. already that priority, or the team left the config
        unit.audit(ticket.id, "escalate", None, None, f"{what}: not done — {exc}")
        return 0


def _raise(desk: "Desk", ticket: Ticket, wanted: str) -> None:
    current = PRIORITIES.index(ticket.priority)
    target = max(current - 1, 0) if wanted == "up" else PRIORITIES.index(wanted)
    if target >= current:
        from deskconsole.errors import NoChange

        raise NoChange(f"{ticket_key(ticket.id)} is already {ticket.priority}")
    tickets.triage(desk, SLA_ACTOR, ticket.id, priority=PRIORITIES[target])


# ---------------------------------------------------------------- notify
@on_desk
def recipients(desk: "Desk", ticket: Ticket, names: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """E-mail addresses for an escalation's ``notify`` list, and the names
    that have none (so the audit can say what to fix) — from the desk's
    directory, not from the config of whoever runs the sweep."""
    d = desk.directory
    team = d.team_names.get(ticket.team_id) if ticket.team_id else None
    assignee = d.agent_logins.get(ticket.assignee_id) if ticket.assignee_id else None
    people = [a for a in d.agents.values() if a.active]
    emails: list[str] = []
    missing: list[str] = []

    def agent(login: str | None, why: str) -> None:
        a = d.agents.get(login) if login else None
        (emails.append(a.email) if a and a.active and a.email else missing.append(f"{why} ({login or 'nobody'})"))

    def team_mail(name: str | None, why: str) -> None:
        email = d.team_email(name)
        if email:
            emails.append(email)
        else:
            members = [a for a in people if a.team == name and a.role != "viewer" and a.email]
            emails.extend(a.email for a in members) if members else missing.append(f"{why} ({name or 'no team'})")

    for name in names:
        if name == "assignee":
            agent(assignee, "assignee")
        elif name == "team":
            team_mail(team, "team")
        elif name == "leads":
            leads = [a for a in people if a.team == team and a.role in ("lead", "admin")]
            for a in leads:
                agent(a.login, "lead")
            if not leads:
                missing.append(f"leads (no lead in team {team or '-'})")
        elif name.startswith("team:"):
            team_mail(name[5:], "team")
        elif EMAIL_RE.match(name):
            emails.append(name)
        else:
            agent(name, "agent")
    return list(dict.fromkeys(emails)), missing


@on_desk
def notify(desk: "Desk", unit: "Unit", ticket: Ticket, clock: SlaClock, pct: int, crossing_id: int,
           esc: Escalation) -> int:
    key = ticket_key(ticket.id)
    emails, missing = recipients(desk, ticket, esc.notify)
    what = describe_crossing(clock, pct)
    if missing:
        unit.audit(ticket.id, "notify", None, None,
                   f"no e-mail address for {', '.join(missing)}; set it in the desk's config, then 'deskconsole admin sync'")
    if not emails:
        return 0
    subject = f"[{key}] {ticket.priority} {LABEL[clock.metric]} {'BREACHED' if pct >= BREACH else f'at {pct}%'}: {ticket.title}"
    Outbox.insert(
        created_at=unit.now, ticket=ticket.id, crossing=crossing_id, channel="mail",
        recipients=", ".join(emails), subject=subject[:300], body=_body(desk, ticket, clock, unit.now, what),
        state="queued", attempts=0,
    ).execute()
    unit.audit(ticket.id, "notify", None, None, f"to {', '.join(emails)}: {what}")
    return 1


def _body(desk: "Desk", ticket: Ticket, clock: SlaClock, now, what: str) -> str:
    d = desk.directory
    spent = used(calendar_of(desk, clock), clock, now)
    left = clock.target - spent
    lines = [
        f"{ticket_key(ticket.id)}: {ticket.title}",
        "",
        f"SLA:       {what}",
        f"Due:       {clock.due_at.isoformat(timespec='seconds') if clock.due_at else '-'}",
        f"Used:      {exact_duration(spent)} of {exact_duration(clock.target)}"
        + (f" ({exact_duration(left)} left)" if left > 0 else " (due now)" if left == 0
           else f" (overdue by {exact_duration(-left)})"),
        f"Priority:  {ticket.priority}    Status: {ticket.status}",
        f"Team:      {d.team_names.get(ticket.team_id, '-') if ticket.team_id else '-'}",
        f"Assignee:  {d.agent_logins.get(ticket.assignee_id, '-') if ticket.assignee_id else 'nobody'}",
        "",
        f"deskconsole show {ticket_key(ticket.id)}",
    ]
    return "\n".join(lines)
