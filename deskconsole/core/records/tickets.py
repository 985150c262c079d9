"""Every write to a ticket. The CLI, the console, intake and the scheduler all
call these functions; each is one transaction with audit, feed and permission
checks (see :mod:`deskconsole.core.txn` and :mod:`deskconsole.core.records.change`).

``expected_version`` is the version the caller showed to its user: pass it
and a concurrent change raises :class:`~deskconsole.errors.Conflict`
instead of being overwritten.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deskconsole.binding import on_desk
from deskconsole.core.sla_clocks import clocks
from deskconsole.core.outbound import notices, webhooks
from deskconsole.core.records import reviews, validate
from deskconsole.core.bulk import insert_one
from deskconsole.core.records.change import ANY_KIND, Outcome, TicketChange, change_ticket, load_ticket, shown
from deskconsole.errors import InvalidTransition, NoChange, NotFound, ValidationError
from deskconsole.core.identity import Actor
from deskconsole.core.keys import ticket_key
from deskconsole.core.records.lifecycle import FINAL, NEEDS_ASSIGNEE, OPEN, check_transition, normalise_status
from deskconsole.core.permissions import require
from deskconsole.core.txn import unit_of_work
from deskconsole.models import Entry, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

UNSET = object()  # "leave this field as it is"


# ---------------------------------------------------------------- create
@on_desk
def create(
    desk: "Desk",
    actor: Actor,
    *,
    title: str,
    description: str = "",
    requester_name: str | None = None,
    requester_email: str | None = None,
    impact: str | None = None,
    urgency: str | None = None,
    priority: str | None = None,
    team: str | None = None,
    category: str | None = None,
    service: str | None = None,
    assignee: str | None = None,
    source: str = "cli",
    external_ref: str | None = None,
) -> Outcome:
    require(actor, "create")  # before looking at the input: refusals come first
    d = desk.directory
    values = {
        "title": validate.title(title),
        "description": validate.body(description, "the description", required=False),
        "requester_name": validate.optional_text(requester_name, "the requester's name"),
        "requester_email": validate.email(requester_email),
    }
    if values["requester_name"] is None and values["requester_email"] is None:
        values["requester_name"] = actor.name
        agent = d.agents.get(actor.login)
        values["requester_email"] = agent.email if agent else None
    values["impact"], values["urgency"], values["priority"] = _priority(desk, impact, urgency, priority)
    values["category"] = d.category(category) if category else None
    values["service"] = d.service(service) if service else None
    team = team or (d.team_names.get(d.service_teams.get(values["service"])) if values["service"] else None)
    team = team or desk.config.default_team
    values["team"] = d.team(team) if team else None
    values["assignee"] = assignable(desk, assignee) if assignee else None
    if values["assignee"] and values["team"] is None:
        values["team"] = d.agent_teams.get(values["assignee"])
    values["status"] = "assigned" if values["assignee"] else "new"

    with unit_of_work(desk, actor, "create") as unit:
        now = unit.now
        new_clocks = clocks.plan_new(desk, values, now)
        sla, sla_due = clocks.summary(new_clocks, now)
        tid = insert_one(Ticket, {
            **values, "created_by": actor.login, "created_at": now, "updated_at": now, "version": 1,
            "source": source, "external_ref": validate.optional_text(external_ref, "the external reference"),
            "sla": sla, "sla_due": sla_due,
        })
        unit.audit(tid, "create", None, None, values["title"])
        for name in ("priority", "impact", "urgency", "team", "assignee", "category", "service", "status"):
            if values[name] is not None:
                unit.audit(tid, "create", name, None, shown(desk.directory, name, values[name]))
        clocks.save_new(unit, tid, new_clocks)
        notices.queue(unit, tid, values, "created", notices.requester(unit, values["requester_email"]))
        if values["priority"] == "P1":
            notices.queue(unit, tid, values, "team_p1", notices.team(unit, values["team"]),
                          text=values["description"])
            webhooks.queue(unit, tid, "p1", f"[{ticket_key(tid)}] P1 opened: {values['title']}",
                           webhooks.ticket_fields(d, values))
        unit.feed(tid, 1)
    return Outcome(ticket_key(tid), 1, [])


# ---------------------------------------------------------------- triage
@on_desk
def triage(
    desk: "Desk",
    actor: Actor,
    key,
    *,
    category=UNSET,
    service=UNSET,
    impact=UNSET,
    urgency=UNSET,
    priority=UNSET,
    expected_version: int | None = None,
) -> Outcome:
    d = desk.directory
    with change_ticket(desk, actor, "triage", key, expected_version=expected_version) as ch:
        _not_final(ch, "triaged")
        if category is not UNSET:
            ch.set("category", d.category(category) if category else None)
        if service is not UNSET:
            ch.set("service", d.service(service) if service else None)
            if service and ch.get("team") is None:
                ch.set("team", d.service_teams.get(ch.get("service")))
        if impact is not UNSET or urgency is not UNSET:
            new_impact = validate.level(impact, "impact") if impact is not UNSET else (ch.get("impact") or "medium")
            new_urgency = validate.level(urgency, "urgency") if urgency is not UNSET else (ch.get("urgency") or "medium")
            explicit = validate.priority(priority) if priority is not UNSET else None
            _, _, derived = _priority(desk, new_impact, new_urgency, explicit)
            ch.set("impact", new_impact)
            ch.set("urgency", new_urgency)
            ch.set("priority", derived)
        elif priority is not UNSET:
            value = validate.priority(priority)
            if value is None:
                raise ValidationError("a ticket always has a priority; give P1, P2, P3 or P4")
            ch.set("priority", value)
        _require_change(ch, "nothing to change: give a category, service, impact, urgency or priority")
        return ch.save()


def _priority(desk, impact, urgency, priority):
    impact = validate.level(impact, "impact")
    urgency = validate.level(urgency, "urgency")
    priority = validate.priority(priority)
    if impact is None and urgency is None:
        return None, None, priority or desk.config.default_priority
    impact, urgency = impact or "medium", urgency or "medium"
    derived = desk.config.priority_for(impact, urgency)
    if priority and priority != derived:
        raise ValidationError(
            f"priority {priority} disagrees with impact {impact} x urgency {urgency} = {derived} "
            f"in the priority matrix; give impact and urgency, or the priority alone"
        )
    return impact, urgency, derived


# ---------------------------------------------------------------- assignment
@on_desk
def assign(desk: "Desk", actor: Actor, key, *, team=UNSET, agent=UNSET, expected_version: int | None = None) -> Outcome:
    if team is UNSET and agent is UNSET:
        raise ValidationError("say whom to assign to: a team, an agent, or both")
    d = desk.directory
    with change_ticket(desk, actor, "assign", key, expected_version=expected_version) as ch:
        _open_only(ch, "assigned")
        if agent is not UNSET:
            new_agent = assignable(desk, agent) if agent else None
            _check_reassign(desk, actor, ch, new_agent)
            ch.set("assignee", new_agent)
            if new_agent and team is UNSET and ch.get("team") is None:
                ch.set("team", d.agent_teams.get(new_agent))
            if new_agent and ch.get("status") == "new":
                ch.set("status", "assigned")
            if new_agent is None and ch.get("status") in NEEDS_ASSIGNEE:
                ch.set("status", "new")
        if team is not UNSET:
            ch.set("team", d.team(team) if team else None)
        _require_change(ch, f"{ch.key} is already assigned that way")
        return ch.save()


@on_desk
def take(desk: "Desk", actor: Actor, key, *, expected_version: int | None = None) -> Outcome:
    """Assign to me and acknowledge; a new or assigned ticket goes in progress."""
    require(actor, "take")
    me = assignable(desk, actor.login)
    with change_ticket(desk, actor, "take", key, expected_version=expected_version) as ch:
        _open_only(ch, "taken")
        _check_reassign(desk, actor, ch, me)
        ch.set("assignee", me)
        if ch.get("team") is None:
            ch.set("team", desk.directory.agent_teams.get(me))
        _acknowledge(ch, actor)
        if ch.get("status") in ("new", "assigned"):
            ch.set("status", "in_progress")
        _require_change(ch, f"{ch.key} is already yours and in progress")
        return ch.save()


@on_desk
def acknowledge(desk: "Desk", actor: Actor, key, *, expected_version: int | None = None) -> Outcome:
    with change_ticket(desk, actor, "ack", key, expected_version=expected_version) as ch:
        _open_only(ch, "acknowledged")
        if ch.get("acknowledged_at") is not None:
            raise NoChange(f"{ch.key} was already acknowledged by {ch.get('acknowledged_by')}")
        _acknowledge(ch, actor)
        return ch.save()


def _acknowledge(ch: TicketChange, actor: Actor) -> None:
    if ch.get("acknowledged_at") is None:
        ch.set("acknowledged_at", ch.now)
        ch.set("acknowledged_by", actor.login)


def _check_reassign(desk, actor: Actor, ch: TicketChange, new_agent: int | None) -> None:
    holder = ch.get("assignee")
    mine = desk.directory.agent_ids.get(actor.login)
    if holder is not None and holder != mine and holder != new_agent:
        require(actor, "reassign")


def assignable(desk, login: str) -> int:
    login = login.strip()
    agent = desk.directory.agents.get(login)  # the desk's own directory, not the config at hand
    if agent is None or not agent.active:
        known = ", ".join(sorted(a for a, e in desk.directory.agents.items() if e.active and e.role != "viewer")[:20])
        raise NotFound(f"no agent called {login!r}; agents: {known or 'none configured'}")
    if agent.role == "viewer":
        raise ValidationError(f"{login} is a viewer and cannot hold tickets; give them the agent role first")
    return desk.directory.agent(login)


# ---------------------------------------------------------------- lifecycle
@on_desk
def set_status(desk: "Desk", actor: Actor, key, status: str, *, expected_version: int | None = None) -> Outcome:
    """Move to ``status``. Resolving needs a code (:func:`resolve`) and
    cancelling a reason (:func:`cancel`); closing and reopening route here too."""
    target = normalise_status(status)
    if target == "resolved":
        raise ValidationError(f"resolving needs a resolution code: deskconsole resolve {key} CODE [NOTE]")
    if target == "cancelled":
        raise ValidationError(f"cancelling needs a reason: deskconsole cancel {key} REASON")
    if target == "closed":
        return close(desk, actor, key, expected_version=expected_version)
    with change_ticket(desk, actor, "status", key, expected_version=expected_version) as ch:
        if ch.get("status") == "resolved" and target == "in_progress":
            return _reopen(ch, None)
        check_transition(ch.key, ch.get("status"), target)
        if target in NEEDS_ASSIGNEE and ch.get("assignee") is None:
            raise ValidationError(f"{ch.key} has no assignee; take it or assign it before it can be {target}")
        ch.set("status", target)
        return ch.save()


@on_desk
def resolve(desk: "Desk", actor: Actor, key, code: str, note: str | None = None, *, expected_version: int | None = None) -> Outcome:
    code = (code or "").strip().lower()
    codes = desk.config.resolution_codes
    if code not in codes:
        raise ValidationError(f"{code!r} is not a resolution code; use one of {', '.join(codes)}")
    with change_ticket(desk, actor, "resolve", key, expected_version=expected_version) as ch:
        check_transition(ch.key, ch.get("status"), "resolved")
        ch.set("status", "resolved")
        ch.set("resolved_at", ch.now)
        ch.set("resolution_code", code)
        ch.set("resolution_note", validate.optional_text(note, "the resolution note"))
        if ch.get("assignee") is None and actor.login in desk.directory.agent_ids:
            ch.set("assignee", desk.directory.agent_ids[actor.login])
        notices.on_change(ch, "resolved", notices.requester(ch.unit, ch.get("requester_email")),
                          text=ch.get("resolution_note") or "", code=code)
        reviews.ask(ch)  # a P1 or P2 gets a post-incident review to do
        return ch.save()


@on_desk
def close(desk: "Desk", actor: Actor, key, *, expected_version: int | None = None) -> Outcome:
    with change_ticket(desk, actor, "close", key, expected_version=expected_version) as ch:
        check_transition(ch.key, ch.get("status"), "closed")
        ch.set("status", "closed")
        ch.set("closed_at", ch.now)
        return ch.save()


@on_desk
def reopen(desk: "Desk", actor: Actor, key, reason: str | None = None, *, expected_version: int | None = None) -> Outcome:
    with change_ticket(desk, actor, "reopen", key, expected_version=expected_version) as ch:
        return _reopen(ch, reason)


def _reopen(ch: TicketChange, reason: str | None) -> Outcome:
    status = ch.get("status")
    if status != "resolved":
        hint = "closed tickets are final: open a new ticket and link it" if status in FINAL else "only resolved tickets reopen"
        raise InvalidTransition(f"{ch.key} is {status}; {hint}")
    ch.set("status", "in_progress" if ch.get("assignee") is not None else "new")
    ch.set("resolved_at", None)
    ch.set("resolution_code", None)
    ch.set("resolution_note", None)
    ch.set("reopen_count", ch.get("reopen_count") + 1)
    if reason and reason.strip():
        _add_entry(ch, "note", validate.body(reason, "the reason"))
    return ch.save()


@on_desk
def cancel(desk: "Desk", actor: Actor, key, reason: str, *, expected_version: int | None = None) -> Outcome:
    reason = validate.body(reason, "the reason for cancelling")
    with change_ticket(desk, actor, "cancel", key, expected_version=expected_version) as ch:
        check_transition(ch.key, ch.get("status"), "cancelled")
        ch.set("status", "cancelled")
        ch.set("closed_at", ch.now)
        _add_entry(ch, "note", reason)
        return ch.save()


# ---------------------------------------------------------------- conversation
@on_desk
def reply(desk: "Desk", actor: Actor, key, text: str, *, source: str = "cli", expected_version: int | None = None) -> Outcome:
    """A public reply to the requester; the first one is the first response."""
    text = validate.body(text, "the reply")
    with change_ticket(desk, actor, "reply", key, expected_version=expected_version) as ch:
        if ch.get("status") in FINAL:
            raise InvalidTransition(
                f"{ch.key} is {ch.get('status')}; replies go to open tickets — open a new ticket and link it"
            )
        if ch.get("first_response_at") is None:
            ch.set("first_response_at", ch.now)
        _add_entry(ch, "reply", text, source)
        notices.on_change(ch, "reply", notices.requester(ch.unit, ch.get("requester_email")), text=text)
        return ch.save()


@on_desk
def note(desk: "Desk", actor: Actor, key, text: str, *, source: str = "cli", expected_version: int | None = None) -> Outcome:
    """An internal note: never shown to the requester. Any kind of record takes one."""
    text = validate.body(text, "the note")
    with change_ticket(desk, actor, "note", key, expected_version=expected_version, kinds=ANY_KIND) as ch:
        _add_entry(ch, "note", text, source)
        return ch.save()


@on_desk
def mail_from_requester(desk: "Desk", actor: Actor, key, text: str, *, author: tuple[str, str],
                        rating: int | None = None) -> Outcome:
    """The requester's mail joins the conversation (kind ``email``, by the
    sender's address); a ticket pending on the requester goes back to work."""
    text = validate.body(text, "the mail's text")
    with change_ticket(desk, actor, "inbound", key) as ch:
        if ch.get("status") == "pending":
            ch.set("status", "in_progress")
        _add_entry(ch, "email", text, "mail", author=author)
        if rating is not None:
            ch.audit_action("rating", None, f"{rating} of 5", field="csat")
        return ch.save()


def _add_entry(ch: TicketChange, kind: str, text: str, source: str = "cli", *,
               author: tuple[str, str] | None = None) -> None:
    actor = ch.unit.actor
    login, name = author or (actor.login, actor.name)
    entry = insert_one(Entry, {"ticket": ch.ticket.id, "kind": kind, "author": login,
                               "author_name": name, "at": ch.now, "body": text, "source": source})
    ch.audit_action(kind, None, f"#{entry}: {text}", field="entry")


# ---------------------------------------------------------------- helpers
def _not_final(ch: TicketChange, what: str) -> None:
    if ch.get("status") in FINAL:
        raise InvalidTransition(f"{ch.key} is {ch.get('status')}, which is final; it cannot be {what}")


def _open_only(ch: TicketChange, what: str) -> None:
    status = ch.get("status")
    if status not in OPEN:
        hint = "reopen it first" if status == "resolved" else "open a new ticket and link it"
        raise InvalidTransition(f"{ch.key} is {status}; only open tickets can be {what} — {hint}")


def _require_change(ch: TicketChange, message: str) -> None:
    if not ch.values:
        raise NoChange(message)


__all__ = [
    "UNSET", "create", "triage", "assign", "take", "acknowledge", "set_status", "resolve", "close",
    "reopen", "cancel", "reply", "note", "load_ticket",
]
