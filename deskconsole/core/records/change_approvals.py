"""Who must approve a change, who may, and what an approval or a rejection does.

The desk's change policy names the rules each type needs (``owner_lead``,
``cab``, ``lead``, ``admin``: see :data:`deskconsole.change_policy.RULES`).
Each rule is met by one approval from someone it names; one person meets at
most one rule of a round, and nobody approves a change they raised. Roles,
teams and the CAB are the desk's own (its database), never a config's.

Approvals count within a round. A rejection (its comment is required) sends
the change back to draft and starts the next round, as does a change to
what was approved (its window, services, plans, risk or type).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from deskconsole.change_policy import RULES
from deskconsole.core.bulk import insert_one
from deskconsole.errors import InvalidTransition, NoChange, PermissionDenied, ValidationError
from deskconsole.models import Agent, Approval, ChangeItem, ChangeRequest, Service

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk
    from deskconsole.core.records.change import TicketChange

# The states in which an approval counts (an emergency change's may come after it is under way).
APPROVABLE = {"normal": ("awaiting_approval",),
              "emergency": ("awaiting_approval", "scheduled", "implementing", "review")}


@dataclass(frozen=True)
class Requirement:
    rule: str
    who: str  # who may meet it, in words
    by: str | None = None  # the login that met it in this round
    at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    round: int
    rule: str
    approver: str
    decision: str  # approve | reject
    comment: str
    at: datetime


def owner_teams(desk: "Desk", change_id: int, team_id: int | None) -> set[int]:
    """The teams that own the change's services (else the change's own team)."""
    owners = {row.team_id for row in Service.select(Service.team).join(ChangeItem, on=(ChangeItem.service == Service.id))
              .where((ChangeItem.change == change_id) & Service.team.is_null(False))}
    return owners or ({team_id} if team_id else set())


def qualifies(desk: "Desk", login: str, rule: str, owners: set[int]) -> bool:
    """Whether the desk's directory lets ``login`` meet ``rule`` (read inside the write)."""
    agent = Agent.get_or_none((Agent.login == login) & Agent.active)
    if agent is None:
        return False
    lead = agent.role in ("lead", "admin")
    if rule == "owner_lead":
        return lead and (not owners or agent.team_id in owners)
    if rule == "cab":
        return login in desk.directory.change_policy.cab
    if rule == "lead":
        return lead
    if rule == "admin":
        return agent.role == "admin"
    return False


def describe(desk: "Desk", rule: str, owners: set[int]) -> str:
    if rule == "owner_lead" and owners:
        names = ", ".join(sorted(desk.directory.team_names.get(t, "?") for t in owners))
        return f"a lead of {names}"
    if rule == "cab":
        return "a CAB member (" + ", ".join(desk.directory.change_policy.cab) + ")"
    return RULES[rule]


def decisions(change_id: int) -> list[Decision]:
    return [Decision(a.round, a.rule, a.approver, a.decision, a.comment, a.at)
            for a in Approval.select().where(Approval.change == change_id).order_by(Approval.id)]


def requirements(desk: "Desk", change_id: int, change_type: str, team_id: int | None, round_: int,
                 given: list[Decision] | None = None, owners: set[int] | None = None) -> list[Requirement]:
    """The approvals the change's type needs, and who met each in this round
    (``given``, ``owners``: its decisions and owner teams, when read already)."""
    owners = owner_teams(desk, change_id, team_id) if owners is None else owners
    given = decisions(change_id) if given is None else given
    met = {d.rule: d for d in given if d.round == round_ and d.decision == "approve"}
    return [Requirement(rule, describe(desk, rule, owners), met[rule].approver if rule in met else None,
                        met[rule].at if rule in met else None)
            for rule in desk.directory.change_policy.rules_for(change_type)]


def waiting(ch: "TicketChange", fields: ChangeRequest) -> list[Requirement]:
    """The approvals the change in ``ch`` still waits for in its round."""
    reqs = requirements(ch.unit.desk, ch.ticket.id, fields.type, ch.get("team"), fields.round)
    return [r for r in reqs if r.by is None]


def needed(reqs: list[Requirement]) -> str:
    """``owner_lead (a lead of ops); cab (a CAB member ...)``."""
    return "; ".join(f"{r.rule} ({r.who})" for r in reqs)


def decide(ch: "TicketChange", fields: ChangeRequest, decision: str, comment: str) -> None:
    """Record ``ch.unit.actor``'s approval or rejection of the change in ``ch``
    (under the first rule of its round that the actor may meet and nobody has)."""
    desk, login = ch.unit.desk, ch.unit.actor.login
    kind, status = fields.type, ch.get("status")
    if kind == "standard":
        raise NoChange(f"{ch.key} is a standard change: it was approved with its template")
    if status not in APPROVABLE.get(kind, ()):
        when = "once it is submitted for approval" if kind == "normal" else "from when it is submitted"
        raise InvalidTransition(f"{ch.key} is {status.replace('_', ' ')}; a {kind} change is approved {when}")
    if login == ch.ticket.created_by:
        raise PermissionDenied(f"{login} raised {ch.key} and cannot approve or reject it; another approver must")
    owners = owner_teams(desk, ch.ticket.id, ch.get("team"))
    reqs = requirements(desk, ch.ticket.id, kind, ch.get("team"), fields.round, owners=owners)
    mine = [r for r in reqs if qualifies(desk, login, r.rule, owners)]
    if not mine:
        needed = "; ".join(f"{r.rule}: {r.who}" for r in reqs) or "no approvals"
        raise PermissionDenied(f"{login} may not approve {ch.key}; it needs {needed}")
    if any(r.by == login for r in reqs):
        raise NoChange(f"{login} has already approved {ch.key} in this round")
    if decision == "reject":
        comment = (comment or "").strip()
        if not comment:
            raise ValidationError("say why it is rejected: --comment \"...\" (the requester reads it)")
        rule = mine[0].rule
    else:
        open_ = [r for r in mine if r.by is None]
        if not open_:
            raise NoChange(f"the approvals {login} may give for {ch.key} ({', '.join(r.rule for r in mine)}) "
                           "are given already")
        rule = open_[0].rule
    insert_one(Approval, {"change": ch.ticket.id, "round": fields.round, "rule": rule, "approver": login,
                          "decision": decision, "comment": (comment or "").strip(), "at": ch.now})
    ch.audit_action(decision, None, f"{rule}: {comment.strip()}" if comment and comment.strip() else rule,
                    field="approval")
