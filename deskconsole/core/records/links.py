"""Links between tickets, and merging a duplicate into the ticket it repeats."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deskconsole.binding import on_desk
from deskconsole.core.bulk import insert_one
from deskconsole.core.records.change import ANY_KIND, Outcome, TicketChange, change_ticket, conflict_error, load_ticket
from deskconsole.errors import InvalidTransition, NoChange, ValidationError
from deskconsole.core.identity import Actor
from deskconsole.core.keys import ticket_id, ticket_key
from deskconsole.core.records.lifecycle import FINAL
from deskconsole.core.txn import unit_of_work
from deskconsole.models import Link, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

# Stored kinds, read "SOURCE <kind> TARGET".
KINDS = ("relates_to", "duplicate_of", "parent_of", "caused_by", "fixed_by")
# What users may type -> (stored kind, whether source/target swap)
_ALIASES = {
    "relates": ("relates_to", False), "relates_to": ("relates_to", False), "related": ("relates_to", False),
    "duplicate": ("duplicate_of", False), "duplicate_of": ("duplicate_of", False), "dup": ("duplicate_of", False),
    "parent": ("parent_of", False), "parent_of": ("parent_of", False),
    "child": ("parent_of", True), "child_of": ("parent_of", True),
    "caused_by": ("caused_by", False), "causes": ("caused_by", True),
    "fixed_by": ("fixed_by", False), "fixes": ("fixed_by", True),
}
# How a link reads from the other end.
INVERSE = {"relates_to": "relates_to", "duplicate_of": "duplicated_by", "parent_of": "child_of", "caused_by": "causes",
           "fixed_by": "fixes"}


def parse_kind(kind: str) -> tuple[str, bool]:
    normal = kind.strip().lower().replace("-", "_")
    if normal not in _ALIASES:
        raise ValidationError(
            f"{kind!r} is not a link kind; use relates-to, duplicate-of, parent-of, child-of, caused-by, causes, fixed-by or fixes"
        )
    return _ALIASES[normal]


@on_desk
def link(desk: "Desk", actor: Actor, key, kind: str, other, *, remove: bool = False,
         expected_version: int | None = None) -> Outcome:
    """Link two records, of any kinds (``INC-4 caused-by PRB-2``)."""
    stored, swap = parse_kind(kind)
    with change_ticket(desk, actor, "link", key, expected_version=expected_version, kinds=ANY_KIND) as ch:
        here = ch.ticket.id
        there = load_ticket(desk, other, kinds=ANY_KIND)  # must exist
        other_id = there.id
        if other_id == here:
            raise ValidationError(f"{ch.key} cannot be linked to itself")
        source, target = (other_id, here) if swap else (here, other_id)
        existing = _find(stored, source, target)
        keys = {here: ch.key, other_id: there.key}
        words = f"{keys[source]} {stored} {keys[target]}"
        if remove:
            if existing is None:
                raise NoChange(f"there is no link {words}")
            existing.delete_instance()
            ch.audit_action("unlink", words, None, field="link")
            ch.unit.audit(other_id, "unlink", "link", words, None)
        else:
            if existing is not None:
                raise NoChange(f"{words} is already recorded")
            _check_new_link(stored, source, target)
            insert_one(Link, {"source": source, "target": target, "kind": stored, "created_by": actor.login,
                              "created_at": ch.now})
            ch.audit_action("link", None, words, field="link")
            ch.unit.audit(other_id, "link", "link", None, words)
        ch.unit.feed(other_id, None, "link")
        return ch.save()


def _find(kind: str, source: int, target: int) -> Link | None:
    query = Link.select().where((Link.kind == kind) & (Link.source == source) & (Link.target == target))
    found = query.first()
    if found is None and kind == "relates_to":  # symmetric
        found = Link.select().where((Link.kind == kind) & (Link.source == target) & (Link.target == source)).first()
    return found


def _check_new_link(kind: str, source: int, target: int) -> None:
    if kind == "parent_of":
        parent = Link.select().where((Link.kind == "parent_of") & (Link.target == target)).first()
        if parent is not None:
            raise ValidationError(
                f"{ticket_key(target)} already has a parent, {ticket_key(parent.source_id)}; unlink it first"
            )
        # Walking up from the new parent must not reach the child: no cycles.
        seen, node = set(), source
        while node is not None and node not in seen:
            if node == target:
                raise ValidationError(f"{ticket_key(target)} is an ancestor of {ticket_key(source)}; that would make a cycle")
            seen.add(node)
            up = Link.select(Link.source).where((Link.kind == "parent_of") & (Link.target == node)).first()
            node = up.source_id if up else None


@on_desk
def merge(desk: "Desk", actor: Actor, duplicate, target, *, expected_version: int | None = None) -> Outcome:
    """Close ``duplicate`` as merged into ``target``.

    The duplicate keeps its conversation (``show`` on the target includes
    it); tickets earlier merged into the duplicate now point at the target.
    """
    dup_id, target_id = ticket_id(duplicate), ticket_id(target)
    if dup_id == target_id:
        raise ValidationError(f"{ticket_key(dup_id)} cannot be merged into itself")
    with unit_of_work(desk, actor, "merge") as unit:
        # Lock in id order so two merges never wait on each other.
        rows = {tid: load_ticket(desk, tid, for_update=True) for tid in sorted((dup_id, target_id))}
        dup, tgt = rows[dup_id], rows[target_id]
        if expected_version is not None and dup.version != expected_version:
            raise conflict_error(desk, dup.id, expected_version, dup.version)
        for t, role in ((dup, "the duplicate"), (tgt, "the target")):
            if t.status in FINAL:
                raise InvalidTransition(f"{ticket_key(t.id)} ({role}) is {t.status}; only open or resolved tickets can be merged")
        d_change, t_change = TicketChange(unit, dup), TicketChange(unit, tgt)
        d_change.set("status", "closed")
        d_change.set("merged_into", tgt.id)
        d_change.set("resolution_code", "duplicate")
        d_change.set("resolution_note", f"Merged into {ticket_key(tgt.id)}")
        d_change.set("resolved_at", dup.resolved_at or unit.now)
        d_change.set("closed_at", unit.now)
        if _find("duplicate_of", dup.id, tgt.id) is None:
            Link.insert(source=dup.id, target=tgt.id, kind="duplicate_of", created_by=actor.login, created_at=unit.now).execute()
        earlier = [t.id for t in Ticket.select(Ticket.id).where(Ticket.merged_into == dup.id)]
        if earlier:
            Ticket.update(merged_into=tgt.id).where(Ticket.id.in_(earlier)).execute()
            for tid in earlier:
                unit.audit(tid, "merge", "merged_into", ticket_key(dup.id), ticket_key(tgt.id))
                unit.feed(tid, None)
        t_change.audit_action("merge", None, f"{ticket_key(dup.id)} merged into this ticket", field="merged_from")
        outcome = d_change.save()
        t_change.save()
        return outcome


def merged_ids(target_id: int) -> list[int]:
    return [t.id for t in Ticket.select(Ticket.id).where(Ticket.merged_into == target_id).order_by(Ticket.id)]


__all__ = ["KINDS", "INVERSE", "link", "merge", "parse_kind", "merged_ids"]
