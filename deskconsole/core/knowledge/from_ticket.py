"""A draft article written from a ticket: its title, a body made of the
description, the resolution note and the public replies, its service, and
a ``source`` link between the two.

The ticket's text goes into the Markdown as it is: it is data, not markup
the desk writes, and the author edits the draft before anyone publishes it.
:func:`draft_from_ticket` takes a ticket id, so any record of the record
base can be written up the same way: a problem's known error becomes its
symptoms, its workaround, its cause and its fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from deskconsole.binding import on_desk
from deskconsole.core.identity import Actor
from deskconsole.core.keys import ticket_key
from deskconsole.core.knowledge import articles
from deskconsole.core.records import problems
from deskconsole.core.permissions import require
from deskconsole.errors import NotFound
from deskconsole.models import Entry, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk


@dataclass(frozen=True)
class Draft:
    """What an article written from a ticket starts with."""

    ticket: str  # its key
    ticket_id: int
    title: str
    body: str
    service: str | None


@on_desk
def draft_from_ticket(desk: "Desk", tid: int) -> Draft:
    """The title, body and service an article about ticket ``tid`` starts with (a read)."""
    t = (Ticket.select(Ticket.id, Ticket.title, Ticket.description, Ticket.resolution_note, Ticket.service,
                       Ticket.kind, Ticket.number)
         .where(Ticket.id == tid).first())
    if t is None:
        raise NotFound(f"{ticket_key(tid)} does not exist; 'deskconsole ls' lists tickets")
    replies = [body for (body,) in Entry.select(Entry.body).where((Entry.ticket == tid) & (Entry.kind == "reply"))
               .order_by(Entry.at, Entry.id).tuples()]
    if t.kind == problems.KIND:  # a known error: what it looks like, how to get round it, why, what fixed it
        p = problems.view(t.id)
        sections = [("Symptoms", t.description), ("Workaround", p.workaround), ("Cause", p.root_cause),
                    ("Fix", p.fix)]
    else:
        sections = [("Problem", t.description), ("Resolution", t.resolution_note)]
    sections += [("What we told the requester" if len(replies) == 1 else f"What we told the requester ({n})", body)
                 for n, body in enumerate(replies, 1)]
    parts = [f"{heading}\n\n{text.strip()}" for heading, text in sections if text and text.strip()]
    body = "\n\n".join(f"## {part}" for part in parts) or "## Problem\n\n(describe it)"
    body += f"\n\nWritten from {t.key}.\n"
    return Draft(ticket=t.key, ticket_id=tid, title=t.title,
                 body=body, service=desk.directory.service_names.get(t.service_id))


@on_desk
def create_from_ticket(desk: "Desk", actor: Actor, tid: int, *, title: str | None = None, body: str | None = None,
                       tags=None, service: str | None = None, owner: str | None = None) -> articles.ArticleView:
    """A new draft written from ticket ``tid`` (its ``source``); given values
    replace what the ticket would have filled in."""
    require(actor, "kb_write")
    draft = draft_from_ticket(desk, tid)
    return articles.create(desk, actor, title=title if title is not None else draft.title,
                           body=body if body is not None else draft.body, tags=tags,
                           service=service if service is not None else draft.service, owner=owner,
                           source_ticket=draft.ticket_id)
