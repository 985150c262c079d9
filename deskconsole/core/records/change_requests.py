"""Changes (``CHG-n``): planned work on services, approved, scheduled, carried out, reviewed.

A change is a record of kind ``change`` on the record base (title,
description, state, priority, impact, team, assignee, version, conversation,
links, audit and feed are the incidents' own), plus its row in
``change_request`` (type, risk, planned and actual window, implementation,
test and backout plans, template, outcome, approval round), the services and
configuration items it affects (``change_item``) and its approvals
(``approval``; see :mod:`.change_approvals`). The states and who may move
between them: :mod:`.change_lifecycle`. What its window runs into:
:mod:`.change_collisions`.

Incidents are linked to the changes that caused them (``INC caused_by CHG``)
or fixed them (``INC fixed_by CHG``); the report counts both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Iterable

from deskconsole.binding import on_desk
from deskconsole.change_policy import RISKS, TYPES
from deskconsole.core.bulk import insert_one
from deskconsole.core.identity import Actor
from deskconsole.core.keys import record_key
from deskconsole.core.permissions import require
from deskconsole.core.records import change_approvals, change_collisions, change_lifecycle, tickets, validate
from deskconsole.core.records.change import Outcome, TicketChange, change_ticket, shown
from deskconsole.core.records.change_times import check_window
from deskconsole.core.records.kinds import next_number
from deskconsole.core.txn import unit_of_work
from deskconsole.errors import InvalidTransition, NoChange, ValidationError
from deskconsole.models import ChangeItem, ChangeRequest, Link, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

KIND = "change"
CHANGE = (KIND,)
CAUSED = "caused_by"  # INC-n caused_by CHG-m
FIXED = "fixed_by"  # INC-n fixed_by CHG-m
PLANS = {"implementation": "implementation", "test_plan": "test plan", "backout": "backout plan"}
# What an approval is an approval of: changing one of these asks for the approvals again.
APPROVED = ("planned_start", "planned_end", "implementation", "test_plan", "backout", "risk", "type", "services")
_UNSET = object()


def _choice(value: str, choices: tuple[str, ...], what: str) -> str:
    normal = (value or "").strip().lower()
    if normal not in choices:
        raise ValidationError(f"{value!r} is not a {what}; use one of {', '.join(choices)}")
    return normal


def _impact(value: str | None) -> str | None:
    return validate.level(value, "impact") if value else None


# --------------------------------------------------------------------------- raising one


@on_desk
def create(desk: "Desk", actor: Actor, *, title: str | None = None, type: str = "normal",
           template: str | None = None, description: str = "", risk: str | None = None, impact: str | None = None,
           services: Iterable[str] = (), start: datetime | None = None, end: datetime | None = None,
           implementation: str | None = None, test_plan: str | None = None, backout: str | None = None,
           team: str | None = None, assignee: str | None = None, priority: str | None = None) -> Outcome:
    """Raise a change. A standard change comes from a template of the desk's
    change policy, which gives what is not given here (its length sets the
    end from the start)."""
    require(actor, "change")
    policy = desk.directory.change_policy
    kind = _choice(type, TYPES, "type of change")
    base: dict = {}
    if template is not None:
        if template not in policy.templates:
            known = ", ".join(sorted(policy.templates)) or "the desk has none ([changes.templates] in its config)"
            raise ValidationError(f"no standard change template called {template!r}; templates: {known}")
        base = policy.templates[template]
        kind = "standard"
    elif kind == "standard":
        known = ", ".join(sorted(policy.templates)) or "none are configured"
        raise ValidationError(f"a standard change comes from a template: --template NAME (templates: {known})")
    services = list(services) or list(base.get("services", ()))
    if start is not None and end is None and base:
        end = start + timedelta(minutes=base["minutes"])
    check_window(start, end)
    d = desk.directory
    service_ids = _service_ids(desk, services)
    with unit_of_work(desk, actor, "change") as unit:
        owner = next((d.service_teams.get(s) for s in service_ids if d.service_teams.get(s)), None)
        values = {
            "title": validate.title(title if title is not None else base.get("title", "")),
            "description": validate.body(description or base.get("description", ""), "the description",
                                         required=False),
            "priority": validate.priority(priority) if priority else "P3",
            "impact": _impact(impact or base.get("impact")),
            "team": d.team(team) if team else owner,
            "assignee": tickets.assignable(desk, assignee) if assignee else None,
            "service": service_ids[0] if service_ids else None,
            "status": "draft",
        }
        number = next_number(desk, KIND)
        now = unit.now
        cid = insert_one(Ticket, {
            **values, "kind": KIND, "number": number, "created_by": actor.login, "created_at": now,
            "updated_at": now, "version": 1, "source": "cli", "requester_name": actor.name,
        })
        own = {
            "type": kind, "risk": _choice(risk or base.get("risk", "medium"), RISKS, "risk"), "template": template,
            "planned_start": start, "planned_end": end,
            "implementation": _text(implementation, base.get("implementation", ""), "implementation"),
            "test_plan": _text(test_plan, base.get("test", ""), "test plan"),
            "backout": _text(backout, base.get("backout", ""), "backout plan"), "round": 1,
        }
        insert_one(ChangeRequest, {"ticket": cid, **own})
        for sid in service_ids:
            insert_one(ChangeItem, {"change": cid, "service": sid})
        key = record_key(KIND, cid, number)
        unit.audit(cid, "create", None, None, values["title"])
        for name in ("priority", "impact", "team", "assignee", "service", "status"):
            if values[name] is not None:
                unit.audit(cid, "create", name, None, shown(d, name, values[name]))
        for name in ("type", "risk", "template", "planned_start", "planned_end"):
            if own[name] is not None:
                unit.audit(cid, "create", name, None, own[name])
        if services:
            unit.audit(cid, "create", "services", None, " ".join(sorted(services)))
        unit.feed(cid, 1)
    return Outcome(key, 1, [])


def _text(given: str | None, default: str, what: str) -> str:
    return validate.body(given if given is not None else default, f"the {what}", required=False)


def _service_ids(desk: "Desk", names: Iterable[str]) -> list[int]:
    out = []
    for name in names:
        name = name.strip()
        if name:
            sid = desk.directory.service(name)
            if sid not in out:
                out.append(sid)
    return out


def fields_of(cid: int) -> ChangeRequest:
    return ChangeRequest.get_by_id(cid)


def service_names(desk: "Desk", cid: int) -> list[str]:
    names = desk.directory.service_names
    return sorted(names.get(r.service_id, "?") for r in ChangeItem.select(ChangeItem.service)
                  .where(ChangeItem.change == cid))


# --------------------------------------------------------------------------- working it


@on_desk
def update(desk: "Desk", actor: Actor, key, *, title=_UNSET, description=_UNSET, type=_UNSET, risk=_UNSET,
           impact=_UNSET, services=_UNSET, start=_UNSET, end=_UNSET, implementation=_UNSET, test_plan=_UNSET,
           backout=_UNSET, team=_UNSET, assignee=_UNSET, priority=_UNSET,
           expected_version: int | None = None) -> Outcome:
    """Change a change's fields. Changing what was approved (window,
    services, plans, risk, type) asks for the approvals again."""
    d = desk.directory
    with change_ticket(desk, actor, "change", key, expected_version=expected_version, kinds=CHANGE) as ch:
        status = ch.get("status")
        if status in change_lifecycle.FINAL:
            raise InvalidTransition(f"{ch.key} is {status}; it cannot change")
        row = fields_of(ch.ticket.id)
        if title is not _UNSET:
            ch.set("title", validate.title(title))
        if description is not _UNSET:
            ch.set("description", validate.body(description or "", "the description", required=False))
        if priority is not _UNSET:
            ch.set("priority", validate.priority(priority))
        if impact is not _UNSET:
            ch.set("impact", _impact(impact))
        if team is not _UNSET:
            ch.set("team", d.team(team) if team else None)
        if assignee is not _UNSET:
            ch.set("assignee", tickets.assignable(desk, assignee) if assignee else None)
        own: dict = {}
        if type is not _UNSET:
            new_type = _choice(type, TYPES, "type of change")
            if new_type != row.type and status not in ("draft", "assessment"):
                raise InvalidTransition(f"{ch.key} is {status.replace('_', ' ')}; its type changes only in draft "
                                        "or assessment")
            if new_type == "standard" and row.template is None:
                raise ValidationError("a standard change comes from a template; raise it with --template NAME")
            own["type"] = new_type
        if risk is not _UNSET:
            own["risk"] = _choice(risk, RISKS, "risk")
        for name, value in (("implementation", implementation), ("test_plan", test_plan), ("backout", backout)):
            if value is not _UNSET:
                own[name] = validate.body(value or "", f"the {PLANS[name]}", required=False)
        new_start = row.planned_start if start is _UNSET else start
        new_end = row.planned_end if end is _UNSET else end
        if start is not _UNSET or end is not _UNSET:
            check_window(new_start, new_end)
            own["planned_start"], own["planned_end"] = new_start, new_end
        changed = _changed(row, own)
        if status in ("implementing", "review") and {"planned_start", "planned_end"} & changed:
            raise InvalidTransition(f"{ch.key} is under way; its planned window is what was agreed (it keeps "
                                    "its actual start and end)")
        for name in sorted(changed):
            ch.audit_action("update", getattr(row, name), own[name], field=name)
        if changed:
            ChangeRequest.update({n: own[n] for n in changed}).where(ChangeRequest.ticket == ch.ticket.id).execute()
        if services is not _UNSET:
            if _set_services(ch, desk, services):
                changed.add("services")
        if changed & set(APPROVED):
            _ask_again(ch, row, "its " + ", ".join(sorted(n.replace("_", " ") for n in changed & set(APPROVED)))
                       + " changed")
        if not ch.values and not changed:
            raise NoChange(f"{ch.key} already has those values")
        return ch.save()


def _changed(row: ChangeRequest, own: dict) -> set[str]:
    return {n for n, v in own.items() if getattr(row, n) != v}


def _set_services(ch: TicketChange, desk: "Desk", names: Iterable[str]) -> bool:
    wanted = _service_ids(desk, names)
    have = [r.service_id for r in ChangeItem.select(ChangeItem.service).where(ChangeItem.change == ch.ticket.id)]
    if set(wanted) == set(have):
        return False
    ChangeItem.delete().where((ChangeItem.change == ch.ticket.id) & ChangeItem.service.not_in(wanted or [0])).execute()
    for sid in wanted:
        if sid not in have:
            insert_one(ChangeItem, {"change": ch.ticket.id, "service": sid})
    label = desk.directory.service_names
    ch.audit_action("update", " ".join(sorted(label[s] for s in have)) or None,
                    " ".join(sorted(label[s] for s in wanted)) or None, field="services")
    ch.set("service", wanted[0] if wanted else None)
    return True


def _ask_again(ch: TicketChange, row: ChangeRequest, why: str) -> None:
    """What was approved changed: the approvals so far no longer count."""
    status = ch.get("status")
    if row.type == "standard" or status not in ("awaiting_approval", "scheduled"):
        return
    if row.type == "normal" and status == "scheduled":
        ch.set("status", "awaiting_approval")
    ChangeRequest.update(round=row.round + 1).where(ChangeRequest.ticket == ch.ticket.id).execute()
    ch.audit_action("approvals", None, f"asked again: {why}", field="approval")


@on_desk
def set_state(desk: "Desk", actor: Actor, key, state: str, *, outcome: str | None = None,
              expected_version: int | None = None) -> Outcome:
    """Move a change to ``state`` (closing it needs its ``outcome``)."""
    target = change_lifecycle.normalise_status(state)
    with change_ticket(desk, actor, "change", key, expected_version=expected_version, kinds=CHANGE) as ch:
        row = fields_of(ch.ticket.id)
        current = ch.get("status")
        if target == current:
            raise NoChange(f"{ch.key} is already {current.replace('_', ' ')}")
        allowed = change_lifecycle.moves(row.type, current)
        if target not in allowed:
            if not allowed:
                raise InvalidTransition(f"{ch.key} is {current}, which is final")
            raise InvalidTransition(f"a {row.type} change cannot go from {current.replace('_', ' ')} to "
                                    f"{target.replace('_', ' ')}; from there it can go to: {', '.join(allowed)}")
        own: dict = {}
        if target in ("awaiting_approval", "scheduled") and row.planned_start is None:
            raise ValidationError(f"plan {ch.key}'s window first: 'deskconsole change edit {ch.key} "
                                  "--start \"2026-12-10 22:00\" --for 2h'")
        if target == "awaiting_approval" and not desk.directory.change_policy.rules_for(row.type):
            target = "scheduled"  # nothing to wait for
        if target == "scheduled" and row.type == "normal":
            left = change_approvals.waiting(ch, row)
            if left:
                raise InvalidTransition(f"{ch.key} still needs its approvals: {change_approvals.needed(left)}")
        if current == "awaiting_approval" and target == "draft":
            own["round"] = row.round + 1  # withdrawn: the next submission asks again
        if target == "implementing":
            own["actual_start"] = ch.now
        if target == "review":
            own["actual_end"] = ch.now
        if target == "closed":
            if not outcome:
                raise ValidationError(f"say how {ch.key} ended: --outcome successful|failed|backed_out")
            if row.type == "emergency":
                left = change_approvals.waiting(ch, row)
                if left:
                    raise InvalidTransition(f"{ch.key} is an emergency change and is closed once approved after "
                                            f"the fact; it still needs: {change_approvals.needed(left)}")
            own["outcome"] = change_lifecycle.normalise_outcome(outcome)
            ch.set("resolved_at", ch.now)
        elif outcome:
            raise ValidationError("an outcome is given when the change is closed (state closed)")
        if target in change_lifecycle.FINAL:
            ch.set("closed_at", ch.now)
        ch.set("status", target)
        for name, value in own.items():
            ch.audit_action("update", getattr(row, name), value, field=name)
        if own:
            ChangeRequest.update(own).where(ChangeRequest.ticket == ch.ticket.id).execute()
        return ch.save()


@on_desk
def decide(desk: "Desk", actor: Actor, key, decision: str, comment: str = "", *,
           expected_version: int | None = None) -> Outcome:
    """Approve or reject a change. The last approval a normal change waits
    for schedules it; a rejection sends it back to draft for the next round."""
    if decision not in ("approve", "reject"):
        raise ValidationError(f"{decision!r}: approve or reject")
    with change_ticket(desk, actor, "change_approve", key, expected_version=expected_version, kinds=CHANGE) as ch:
        row = fields_of(ch.ticket.id)
        change_approvals.decide(ch, row, decision, comment)
        if decision == "reject":
            ch.set("status", "draft")
            ChangeRequest.update(round=row.round + 1).where(ChangeRequest.ticket == ch.ticket.id).execute()
        elif ch.get("status") == "awaiting_approval" and not change_approvals.waiting(ch, row):
            ch.set("status", "scheduled")
        return ch.save()


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class ChangeView:
    type: str
    risk: str
    template: str | None
    planned_start: datetime | None
    planned_end: datetime | None
    actual_start: datetime | None
    actual_end: datetime | None
    implementation: str
    test_plan: str
    backout: str
    outcome: str | None
    round: int
    services: list[str] = field(default_factory=list)
    requirements: list[change_approvals.Requirement] = field(default_factory=list)
    decisions: list[change_approvals.Decision] = field(default_factory=list)
    collisions: list[change_collisions.Collision] = field(default_factory=list)
    incidents: dict[str, list[str]] = field(default_factory=dict)  # caused / fixed -> incident keys


@on_desk
def view(desk: "Desk", t: Ticket) -> ChangeView:
    """A change's own fields, approvals, collisions and incidents."""
    row = fields_of(t.id)
    names = service_names(desk, t.id)
    given = change_approvals.decisions(t.id)
    open_ = t.status in change_lifecycle.OPEN
    incidents: dict[str, list[str]] = {"caused": [], "fixed": []}
    for lk in (Ticket.select(Ticket.id, Ticket.kind, Ticket.number, Link.kind.alias("link"))
               .join(Link, on=(Link.source == Ticket.id))
               .where((Link.target == t.id) & Link.kind.in_((CAUSED, FIXED))).order_by(Link.id).objects()):
        incidents["caused" if lk.link == CAUSED else "fixed"].append(lk.key)
    return ChangeView(
        row.type, row.risk, row.template, row.planned_start, row.planned_end, row.actual_start, row.actual_end,
        row.implementation, row.test_plan, row.backout, row.outcome, row.round, names,
        change_approvals.requirements(desk, t.id, row.type, t.team_id, row.round, given), given,
        change_collisions.collisions(desk, row.planned_start, row.planned_end, names, exclude=t.id) if open_ else [],
        incidents)


__all__ = ["create", "update", "set_state", "decide", "view", "service_names"]
