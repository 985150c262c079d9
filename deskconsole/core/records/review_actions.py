"""A review's follow-up actions: each one a ticket of its own, linked to the
incident and assigned to its owner, and a line in the review."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from deskconsole.binding import on_desk
from deskconsole.core.records import links, tickets, validate
from deskconsole.core.bulk import insert_one
from deskconsole.errors import NotFound
from deskconsole.core.identity import Actor
from deskconsole.core.keys import ticket_id, ticket_key
from deskconsole.core.records.reviews import ActionView, review_for
from deskconsole.core.txn import unit_of_work
from deskconsole.models import ReviewAction

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk


@on_desk
def add_action(desk: "Desk", actor: Actor, key, text: str, *, owner: str, due: datetime) -> ActionView:
    """A follow-up action: a new ticket (linked to the incident, assigned to
    ``owner``) that tracks it, and its line in the review — all or nothing."""
    text = validate.title(text)
    if owner not in desk.directory.agents:
        raise NotFound(f"no agent called {owner!r} to own the action")
    if due.tzinfo is None:
        raise ValueError("due must be an aware datetime")
    with desk.transaction():
        review = review_for(desk, key)
        incident = ticket_key(review.ticket_id)
        made = tickets.create(desk, actor, title=f"Follow-up of {incident}: {text}"[:300],
                              description=f"A follow-up action of the post-incident review of {incident}, "
                                          f"due {due.date().isoformat()}.", assignee=owner)
        links.link(desk, actor, made.key, "relates-to", incident)
        with unit_of_work(desk, actor, "review") as unit:
            insert_one(ReviewAction, {"review": review.id, "text": text, "owner": owner, "due_at": due,
                                      "ticket": ticket_id(made.key), "created_at": unit.now,
                                      "created_by": actor.login})
            unit.audit(review.ticket_id, "review", "review.action", None,
                       f"{text} (owner {owner}, due {due.date().isoformat()}, {made.key})")
            unit.feed(review.ticket_id)
    return ActionView(text, owner, due, made.key, "assigned")
