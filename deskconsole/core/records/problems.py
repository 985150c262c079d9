"""Problems (``PRB-n``): the cause behind one or more incidents.

A problem is a record of kind ``problem`` on the record base (the ticket
table: title, description, state, priority, team, assignee, version,
conversation, links, audit and feed are the incidents' own), plus its row
in ``problem``: root cause, workaround, when it became a known error, and
the fix. Its incidents are linked to it as ``INC-n caused_by PRB-m``.

    new -> investigating -> known_error -> resolved -> closed
    (see :mod:`deskconsole.core.records.problem_lifecycle`)

A known error's workaround shows on every incident linked to it, and on
open incidents that match it (:func:`workarounds_for`). Resolving a problem
can resolve its open incidents, each with a note naming the problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Iterable

from deskconsole.binding import on_desk
from deskconsole.core.bulk import insert_one
from deskconsole.core.identity import Actor
from deskconsole.core.keys import record_key, ticket_key
from deskconsole.core.permissions import require
from deskconsole.core.records import lifecycle, problem_lifecycle, tickets, validate
from deskconsole.core.records.change import Outcome, TicketChange, change_ticket, load_ticket, shown
from deskconsole.core.records.kinds import next_number, of_kind
from deskconsole.core.txn import unit_of_work
from deskconsole.errors import InvalidTransition, NoChange, ValidationError
from deskconsole.models import Link, Problem, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

KIND = "problem"
PROBLEM = (KIND,)
LINK = "caused_by"  # INC-n caused_by PRB-m
_UNSET = object()


# --------------------------------------------------------------------------- opening one


@on_desk
def create(desk: "Desk", actor: Actor, *, title: str | None = None, description: str = "",
           incidents: Iterable[str] = (), priority: str | None = None, team: str | None = None,
           service: str | None = None, category: str | None = None, assignee: str | None = None) -> Outcome:
    """Open a problem, from incidents (``incidents``: their keys) or on its own.

    From incidents, what is not given comes from them: the title and
    service/category of the first, the highest priority, the first team.
    """
    require(actor, "problem")
    keys = list(dict.fromkeys(k.strip().upper() for k in incidents if k and k.strip()))
    d = desk.directory
    with unit_of_work(desk, actor, "problem") as unit:
        found = [load_ticket(desk, k, for_update=True) for k in keys]
        first = found[0] if found else None
        if title is None and first is None:
            raise ValidationError("a problem needs a title (or incidents to take one from: --from INC-1,INC-7)")
        values = {
            "title": validate.title(title if title is not None else first.title),
            "description": validate.body(description, "the description", required=False),
            "priority": _priority(priority, found),
            "service": d.service(service) if service else (first.service_id if first else None),
            "category": d.category(category) if category else (first.category_id if first else None),
            "team": d.team(team) if team else (first.team_id if first else None),
            "assignee": tickets.assignable(desk, assignee) if assignee else None,
        }
        values["status"] = "investigating" if values["assignee"] else "new"
        number = next_number(desk, KIND)
        now = unit.now
        pid = insert_one(Ticket, {
            **values, "kind": KIND, "number": number, "created_by": actor.login, "created_at": now,
            "updated_at": now, "version": 1, "source": "cli", "requester_name": actor.name,
        })
        insert_one(Problem, {"ticket": pid, "root_cause": "", "workaround": "", "fix": ""})
        key = record_key(KIND, pid, number)
        unit.audit(pid, "create", None, None, values["title"])
        for name in ("priority", "team", "assignee", "category", "service", "status"):
            if values[name] is not None:
                unit.audit(pid, "create", name, None, shown(d, name, values[name]))
        for incident in found:
            _link(unit, incident, pid, key)
        unit.feed(pid, 1)
    return Outcome(key, 1, [])


def _priority(given: str | None, found: list[Ticket]) -> str:
    if given:
        value = given.strip().upper()
        if value not in ("P1", "P2", "P3", "P4"):
            raise ValidationError(f"{given!r} is not a priority; use P1 (highest) to P4")
        return value
    return min((t.priority for t in found), default="P3")


# --------------------------------------------------------------------------- its incidents


@on_desk
def attach(desk: "Desk", actor: Actor, key, incidents: Iterable[str], *, remove: bool = False) -> Outcome:
    """Link incidents to the problem (or take them off with ``remove``)."""
    keys = list(dict.fromkeys(k.strip().upper() for k in incidents if k and k.strip()))
    if not keys:
        raise ValidationError("name the incidents, e.g. INC-1,INC-7")
    with change_ticket(desk, actor, "problem", key, kinds=PROBLEM) as ch:
        for k in keys:
            incident = load_ticket(desk, k, for_update=True)
            link = _found(incident.id, ch.ticket.id)
            if remove:
                if link is None:
                    raise NoChange(f"{incident.key} is not linked to {ch.key}")
                link.delete_instance()
                words = f"{incident.key} {LINK} {ch.key}"
                ch.audit_action("unlink", words, None, field="link")
                ch.unit.audit(incident.id, "unlink", "link", words, None)
                ch.unit.feed(incident.id, None, "link")
            elif link is None:
                _link(ch.unit, incident, ch.ticket.id, ch.key)
                ch.audit_action("link", None, f"{incident.key} {LINK} {ch.key}", field="link")
        return ch.save()


def _link(unit, incident: Ticket, pid: int, key: str) -> None:
    if _found(incident.id, pid) is None:
        insert_one(Link, {"source": incident.id, "target": pid, "kind": LINK, "created_by": unit.actor.login,
                          "created_at": unit.now})
        unit.audit(incident.id, "link", "link", None, f"{incident.key} {LINK} {key}")
        unit.feed(incident.id, None, "link")


def _found(incident_id: int, pid: int) -> Link | None:
    return (Link.select().where((Link.kind == LINK) & (Link.source == incident_id) & (Link.target == pid))
            .first())


def incident_ids(pid: int) -> list[int]:
    """The incidents linked to problem ``pid``, oldest link first."""
    return [lk.source_id for lk in Link.select(Link.source).where((Link.kind == LINK) & (Link.target == pid))
            .order_by(Link.id)]


# --------------------------------------------------------------------------- working it


@on_desk
def update(desk: "Desk", actor: Actor, key, *, title=_UNSET, description=_UNSET, root_cause=_UNSET,
           workaround=_UNSET, fix=_UNSET, priority=_UNSET, team=_UNSET, assignee=_UNSET, service=_UNSET,
           category=_UNSET, expected_version: int | None = None) -> Outcome:
    """Change a problem's fields; a workaround on a known error shows on its incidents at once."""
    d = desk.directory
    with change_ticket(desk, actor, "problem", key, expected_version=expected_version, kinds=PROBLEM) as ch:
        if ch.get("status") in problem_lifecycle.FINAL:
            raise InvalidTransition(f"{ch.key} is closed; it cannot change")
        if title is not _UNSET:
            ch.set("title", validate.title(title))
        if description is not _UNSET:
            ch.set("description", validate.body(description or "", "the description", required=False))
        if priority is not _UNSET:
            ch.set("priority", _priority(priority, []))
        if team is not _UNSET:
            ch.set("team", d.team(team) if team else None)
        if assignee is not _UNSET:
            ch.set("assignee", tickets.assignable(desk, assignee) if assignee else None)
            if assignee and ch.get("status") == "new":  # someone holds it: it is being investigated
                ch.set("status", "investigating")
        if service is not _UNSET:
            ch.set("service", d.service(service) if service else None)
        if category is not _UNSET:
            ch.set("category", d.category(category) if category else None)
        fields = {"root_cause": root_cause, "workaround": workaround, "fix": fix}
        _set_fields(ch, {k: v for k, v in fields.items() if v is not _UNSET})
        if ch.get("status") == "known_error" and not _fields(ch.ticket.id).workaround:
            raise ValidationError(f"{ch.key} is a known error: its workaround cannot be empty")
        return ch.save()


def _fields(pid: int) -> Problem:
    return Problem.get_by_id(pid)


def _set_fields(ch: TicketChange, values: dict[str, str | None]) -> None:
    """Write the problem row's own fields, audited like the base's."""
    if not values:
        return
    row = _fields(ch.ticket.id)
    changed = {}
    for name, value in values.items():
        text = validate.body(value or "", name.replace("_", " "), required=False)
        if getattr(row, name) != text:
            ch.audit_action("update", getattr(row, name) or None, text or None, field=name)
            changed[name] = text
    if changed:
        Problem.update(changed).where(Problem.ticket == ch.ticket.id).execute()


@on_desk
def set_state(desk: "Desk", actor: Actor, key, state: str, *, workaround: str | None = None,
              expected_version: int | None = None) -> Outcome:
    """Move a problem to ``state``. A known error needs its workaround (given here or before)."""
    target = problem_lifecycle.normalise_status(state)
    if target == "resolved":
        raise ValidationError("resolve a problem with 'deskconsole problem resolve' (it says what fixed it)")
    with change_ticket(desk, actor, "problem", key, expected_version=expected_version, kinds=PROBLEM) as ch:
        _transition(ch, target)
        if workaround is not None:
            _set_fields(ch, {"workaround": workaround})
        if target == "known_error":
            if not _fields(ch.ticket.id).workaround:
                raise ValidationError(f"a known error needs its workaround: --workaround \"...\" "
                                      f"(or 'deskconsole problem edit {ch.key} --workaround ...' first)")
            Problem.update(known_error_at=ch.now).where(Problem.ticket == ch.ticket.id).execute()
        if target == "closed":
            ch.set("closed_at", ch.now)
        return ch.save()


def _transition(ch: TicketChange, target: str) -> None:
    current = ch.get("status")
    if target == current:
        raise NoChange(f"{ch.key} is already {current}")
    allowed = problem_lifecycle.TRANSITIONS[current]
    if target not in allowed:
        if not allowed:
            raise InvalidTransition(f"{ch.key} is {current}, which is final; it cannot become {target}")
        raise InvalidTransition(f"{ch.key} cannot go from {current} to {target}; "
                                f"from {current} it can go to: {', '.join(allowed)}")
    ch.set("status", target)


@on_desk
def resolve(desk: "Desk", actor: Actor, key, fix: str, *, incidents: bool = False,
            expected_version: int | None = None) -> tuple[Outcome, list[str]]:
    """Resolve a problem with what fixed it; with ``incidents``, resolve its
    open incidents too, each with a note naming the problem (all in one
    transaction: if one cannot be resolved, none is). Returns the outcome
    and the keys of the incidents resolved."""
    fix = validate.body(fix, "what fixed it", required=True)
    resolved: list[str] = []
    with change_ticket(desk, actor, "problem", key, expected_version=expected_version, kinds=PROBLEM) as ch:
        _transition(ch, "resolved")
        ch.set("resolved_at", ch.now)
        _set_fields(ch, {"fix": fix})
        if incidents:
            code = "fixed" if "fixed" in desk.config.resolution_codes else desk.config.resolution_codes[0]
            for tid in incident_ids(ch.ticket.id):
                incident = load_ticket(desk, tid)
                if incident.status in lifecycle.OPEN and incident.merged_into_id is None:
                    tickets.resolve(desk, actor, tid, code, f"Resolved with {ch.key}: {fix}")
                    resolved.append(incident.key)
        return ch.save(), resolved


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Workaround:
    """A known error's workaround, as an incident shows it."""

    key: str
    title: str
    workaround: str
    linked: bool  # the incident is linked to the problem (else it matches it)


@dataclass(frozen=True)
class ProblemView:
    root_cause: str
    workaround: str
    fix: str
    known_error_at: datetime | None
    incidents: list[str] = field(default_factory=list)


def view(pid: int) -> ProblemView:
    row = _fields(pid)
    keys = [ticket_key(i) for i in incident_ids(pid)]
    return ProblemView(row.root_cause, row.workaround, row.fix, row.known_error_at, keys)


_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
_COMMON = frozenset(
    "the and for with from that this are was were has have not but all any can our out its into on off "
    "error errors issue issues problem failed failing fails down slow".split())
MATCH_SHARE = 0.5  # of the known error's title words an incident's text must have


def words(text: str) -> frozenset[str]:
    """The words that say what a text is about (letters only, 3 or more, not the commonest)."""
    return frozenset(w for w in (m.group(0).lower() for m in _WORD.finditer(text or "")) if w not in _COMMON)


@on_desk
def workarounds_for(desk: "Desk", incident: Ticket | int, linked: Iterable[int] | None = None) -> list[Workaround]:
    """The workarounds of known errors for ``incident`` (a row or an id): those of the
    problems it is linked to (``linked``: their ids, when the caller has read
    its links already), then those of known errors it matches — the
    same service (or, with no service, the same category) and at least half
    of the known error's title words in the incident's title and description."""
    if not isinstance(incident, Ticket):
        incident = load_ticket(desk, incident)
    if linked is None:
        linked = [lk.target_id for lk in Link.select(Link.target)
                  .where((Link.kind == LINK) & (Link.source == incident.id))]
    linked = set(linked)
    out: list[Workaround] = []
    known = (Ticket.select(Ticket.id, Ticket.kind, Ticket.number, Ticket.title, Ticket.service, Ticket.category,
                           Problem.workaround)
             .join(Problem, on=(Problem.ticket == Ticket.id))
             .where(of_kind(KIND) & (Ticket.status == "known_error") & (Problem.workaround != ""))
             .order_by(Ticket.number).objects())
    mine = words(f"{incident.title} {incident.description}")
    matched = []
    for p in known:
        if p.id in linked:
            out.append(Workaround(p.key, p.title, p.workaround, True))
            continue
        same = (incident.service_id is not None and p.service_id == incident.service_id) or (
            incident.service_id is None and incident.category_id is not None and p.category_id == incident.category_id)
        theirs = words(p.title)
        if same and theirs and len(theirs & mine) >= max(1, MATCH_SHARE * len(theirs)):
            matched.append(Workaround(p.key, p.title, p.workaround, False))
    return out + matched


__all__ = ["create", "attach", "update", "set_state", "resolve", "view", "workarounds_for", "words"]
