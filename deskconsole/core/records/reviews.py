"""Post-incident reviews: what happened, the impact, the root cause, the
contributing factors, and follow-up actions that become tickets.

Resolving a P1 or P2 incident asks for a review, due ``[desk] review_days``
days later (5 unless set; 0 asks for none); any ticket can have one opened
by hand. A review is *done* once it states the impact and the root cause.
Its timeline is generated from the ticket's audit log — who did what, when,
SLA warnings and breaches included — so it is never typed in again.
Every change goes through one unit of work: audited on the ticket, and on
the change feed so open consoles see it. (Follow-up actions, which open
tickets, are in ``review_actions``.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from peewee import fn

from deskconsole.binding import on_desk
from deskconsole.core.records import validate
from deskconsole.core.bulk import insert_one
from deskconsole.core.records.change import load_ticket
from deskconsole.errors import Conflict, NotFound, ValidationError
from deskconsole.core.identity import Actor
from deskconsole.core.keys import ticket_id, ticket_key
from deskconsole.core.sql_expr import and_all, count_if
from deskconsole.core.txn import unit_of_work
from deskconsole.models import AuditEvent, Review, ReviewAction, Ticket

if TYPE_CHECKING:
    from deskconsole.core.records.change import TicketChange
    from deskconsole.core.desk import Desk

ASKED_FOR = ("P1", "P2")
FIELDS = ("owner", "impact", "root_cause", "factors")


@dataclass(frozen=True)
class ActionView:
    text: str
    owner: str
    due_at: datetime
    ticket: str | None
    ticket_status: str | None


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    actor: str
    text: str


@dataclass(frozen=True)
class ReviewView:
    key: str
    title: str
    priority: str
    state: str  # due | done
    due_at: datetime
    owner: str | None
    impact: str
    root_cause: str
    factors: tuple[str, ...]
    actions: tuple[ActionView, ...]
    created_at: datetime
    done_at: datetime | None
    version: int

    def overdue(self, now: datetime) -> bool:
        return self.state == "due" and self.due_at < now


# --------------------------------------------------------------------------- asked for on resolve


def ask(ch: "TicketChange") -> None:
    """Called as a ticket is resolved: a P1 or P2 gets a review to do (once)."""
    desk = ch.unit.desk
    days = desk.config.review_days
    if not days or ch.get("priority") not in ASKED_FOR:
        return
    if Review.select(Review.id).where(Review.ticket == ch.ticket.id).exists():
        return
    due = ch.now + timedelta(days=days)
    _insert(ch.ticket.id, due, ch.unit.actor.login, ch.now)
    ch.audit_action("review", None, f"asked for: due {due.date().isoformat()}", field="review")


def _insert(tid: int, due: datetime, login: str, now: datetime) -> int:
    return insert_one(Review, {"ticket": tid, "state": "due", "due_at": due, "impact": "", "root_cause": "",
                               "factors": "", "created_at": now, "created_by": login, "updated_at": now})


# --------------------------------------------------------------------------- writes


@on_desk
def open_review(desk: "Desk", actor: Actor, key, *, due_days: int | None = None) -> ReviewView:
    """Open a review of any ticket by hand (one per ticket); due in ``due_days``
    (default ``[desk] review_days``, at least 1)."""
    days = (desk.config.review_days or 5) if due_days is None else due_days
    if not 0 < days <= 365:
        raise ValidationError("a review is due 1 to 365 days from now")
    with unit_of_work(desk, actor, "review") as unit:
        t = load_ticket(desk, key)
        if Review.select(Review.id).where(Review.ticket == t.id).exists():
            raise ValidationError(f"{ticket_key(t.id)} has a review already: deskconsole review {ticket_key(t.id)}")
        due = unit.now + timedelta(days=days)
        _insert(t.id, due, actor.login, unit.now)
        unit.audit(t.id, "review", "review", None, f"opened: due {due.date().isoformat()}")
        unit.feed(t.id)
    return get(desk, key)


@on_desk
def update(desk: "Desk", actor: Actor, key, *, expected_version: int | None = None, **values) -> ReviewView:
    """Set the owner, impact, root cause or contributing factors (a list or
    one a line); each change audited on the ticket."""
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ValueError(f"not review fields: {sorted(unknown)}")
    clean = {name: _field(desk, name, value) for name, value in values.items() if value is not None}
    with unit_of_work(desk, actor, "review") as unit:
        review = review_for(desk, key, lock=True)
        if expected_version is not None and review.version != expected_version:
            raise Conflict(f"the review of {ticket_key(review.ticket_id)} changed since version {expected_version}"
                           f" (now {review.version}); show it again, then edit",
                           key=ticket_key(review.ticket_id), current_version=review.version)
        changed = {n: v for n, v in clean.items() if getattr(review, n) != v}
        if not changed:
            return get(desk, key)
        for name, value in changed.items():
            unit.audit(review.ticket_id, "review", f"review.{name}", getattr(review, name), value)
        n = (Review.update(**changed, updated_at=unit.now, version=Review.version + 1)
             .where((Review.id == review.id) & (Review.version == review.version)).execute())
        if n != 1:
            raise Conflict(f"the review of {ticket_key(review.ticket_id)} was changed meanwhile; try again",
                           key=ticket_key(review.ticket_id), current_version=review.version + 1)
        unit.feed(review.ticket_id)
    return get(desk, key)


@on_desk
def complete(desk: "Desk", actor: Actor, key) -> ReviewView:
    """Mark the review done: it must state the impact and the root cause."""
    with unit_of_work(desk, actor, "review") as unit:
        review = review_for(desk, key, lock=True)
        incident = ticket_key(review.ticket_id)
        if review.state == "done":
            raise ValidationError(f"the review of {incident} is done already")
        missing = [label for label, value in (("the impact", review.impact), ("the root cause", review.root_cause))
                   if not value.strip()]
        if missing:
            raise ValidationError(f"the review of {incident} needs {' and '.join(missing)} before it is done: "
                                  f"deskconsole review {incident} --impact TEXT --root-cause TEXT")
        Review.update(state="done", done_at=unit.now, updated_at=unit.now, version=Review.version + 1).where(
            Review.id == review.id).execute()
        unit.audit(review.ticket_id, "review", "review.state", "due", "done")
        unit.feed(review.ticket_id)
    return get(desk, key)


def _field(desk, name: str, value) -> str | None:
    if name == "owner":
        login = str(value).strip()
        if login not in desk.directory.agents:
            raise NotFound(f"no agent called {login!r} to own the review")
        return login
    if name == "factors" and not isinstance(value, str):
        value = "\n".join(str(v).strip() for v in value if str(v).strip())
    return validate.optional_text(str(value), f"the review's {name.replace('_', ' ')}") or ""


def review_for(desk: "Desk", key, *, lock: bool = False) -> Review:
    tid = ticket_id(key) if isinstance(key, str) else int(key)
    query = Review.select().where(Review.ticket == tid)
    if lock and not desk.is_sqlite:
        query = query.for_update()
    review = query.first()
    if review is None:
        if not Ticket.select(Ticket.id).where(Ticket.id == tid).exists():
            raise NotFound(f"no ticket {ticket_key(tid)}")
        raise NotFound(f"{ticket_key(tid)} has no review; open one with: deskconsole review {ticket_key(tid)} --open")
    return review


# --------------------------------------------------------------------------- reads


@on_desk
def get(desk: "Desk", key) -> ReviewView:
    review = review_for(desk, key)
    t = Ticket.get_by_id(review.ticket_id)
    rows = (ReviewAction.select(ReviewAction.text, ReviewAction.owner, ReviewAction.due_at, ReviewAction.ticket,
                                Ticket.status)
            .join(Ticket, "LEFT OUTER JOIN", on=(ReviewAction.ticket == Ticket.id))
            .where(ReviewAction.review == review.id).order_by(ReviewAction.id).tuples())
    actions = [ActionView(text, owner, due, ticket_key(tid) if tid else None, status)
               for text, owner, due, tid, status in rows]
    return ReviewView(
        key=ticket_key(t.id), title=t.title, priority=t.priority, state=review.state, due_at=review.due_at,
        owner=review.owner, impact=review.impact, root_cause=review.root_cause,
        factors=tuple(line for line in review.factors.splitlines() if line.strip()), actions=tuple(actions),
        created_at=review.created_at, done_at=review.done_at, version=review.version,
    )


@on_desk
def timeline(desk: "Desk", key) -> list[TimelineEvent]:
    """The ticket's story from its audit log: each change in one line."""
    tid = ticket_id(key) if isinstance(key, str) else int(key)
    rows = (AuditEvent.select().where((AuditEvent.ticket == tid) & (AuditEvent.field.is_null()
                                                                      | ~AuditEvent.field.startswith("review")))
            .order_by(AuditEvent.id))
    out = []
    for e in rows:
        who = e.actor if not e.via else f"{e.actor} (by {e.via})"
        out.append(TimelineEvent(e.at, who, _sentence(e)))
    return out


def _sentence(e: AuditEvent) -> str:
    if e.action == "sla":
        return f"SLA {(e.field or '').replace('_', ' ')}: {e.new}"
    if e.field is None:
        text = e.action.replace("_", " ")
        return f"{text}: {e.new}" if e.new else text
    if e.old is None:
        return f"{e.field.replace('_', ' ')} set to {e.new}"
    if e.new is None:
        return f"{e.field.replace('_', ' ')} cleared (was {e.old})"
    return f"{e.field.replace('_', ' ')}: {e.old} -> {e.new}"


@on_desk
def listing(desk: "Desk", *, state: str = "due", now: datetime | None = None) -> list[ReviewView]:
    """Reviews to do (``due``: all not done, oldest due first; ``overdue``:
    past their date), or ``done`` (newest first), or ``all``."""
    now = now or desk.now()
    query = Review.select(Review.ticket)
    if state == "due":
        query = query.where(Review.state == "due").order_by(Review.due_at, Review.id)
    elif state == "overdue":
        query = query.where((Review.state == "due") & (Review.due_at < now)).order_by(Review.due_at, Review.id)
    elif state == "done":
        query = query.where(Review.state == "done").order_by(Review.done_at.desc(), Review.id.desc())
    elif state == "all":
        query = query.order_by(Review.id.desc())
    else:
        raise ValidationError(f"{state!r}: list due, overdue, done or all reviews")
    return [get(desk, tid) for (tid,) in query.tuples()]


@on_desk
def counts(desk: "Desk", base, start: datetime, end: datetime, now: datetime) -> tuple[int, int, int]:
    """(due and not yet overdue, overdue, done in [start, end)) among the tickets ``base`` selects."""
    due = (Review.state == "due") & (Review.due_at >= now)
    overdue = (Review.state == "due") & (Review.due_at < now)
    done = (Review.state == "done") & (Review.done_at >= start) & (Review.done_at < end)
    query = Review.select(count_if(due), count_if(overdue), count_if(done), fn.COUNT(Review.id))
    if base is not None:
        query = query.join(Ticket, on=(Review.ticket == Ticket.id))
    row = query.where(and_all(base, due | overdue | done)).tuples().first()
    return tuple(int(x or 0) for x in row[:3]) if row else (0, 0, 0)


def markdown(review: ReviewView, events: list[TimelineEvent], tz) -> str:
    """The review as Markdown, for a wiki page or a mail."""
    def when(at: datetime) -> str:
        return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    zone = getattr(tz, "key", "UTC")
    lines = [f"# Post-incident review: {review.key} {review.title}", "",
             f"- Priority: {review.priority}",
             f"- State: {review.state}" + (f" ({when(review.done_at)})" if review.done_at else
                                            f", due {when(review.due_at)}"),
             f"- Owner: {review.owner or '(none)'}", "",
             "## Impact", "", review.impact or "_(not written yet)_", "",
             "## Root cause", "", review.root_cause or "_(not written yet)_", "",
             "## Contributing factors", ""]
    lines += [f"- {f}" for f in review.factors] or ["_(none written)_"]
    lines += ["", "## Follow-up actions", ""]
    lines += [f"- [{'x' if a.ticket_status in ('resolved', 'closed') else ' '}] {a.text} — {a.owner}, due "
              f"{a.due_at.astimezone(tz).date().isoformat()} ({a.ticket or 'no ticket'}"
              f"{', ' + a.ticket_status.replace('_', ' ') if a.ticket_status else ''})" for a in review.actions] \
        or ["_(none yet)_"]
    lines += ["", f"## Timeline ({zone})", "", "| when | who | what |", "| --- | --- | --- |"]
    lines += [f"| {when(e.at)} | {_cell(e.actor)} | {_cell(e.text)} |" for e in events]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


_PLACEHOLDERS = {"_(not written yet)_", "_(none written)_", "_(none yet)_"}
_SECTIONS = {"impact": "impact", "root cause": "root_cause", "contributing factors": "factors"}


def parse_markdown(text: str) -> dict:
    """What a user may change in the Markdown of :func:`markdown` (edited in
    $EDITOR): the owner line, the impact, the root cause and the contributing
    factors. Actions and the timeline are read-only there (they are kept)."""
    out: dict = {}
    section = None
    body: dict[str, list[str]] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("## "):
            heading = stripped[3:].strip().lower()
            section = _SECTIONS.get(heading)
            if section is not None:
                body[section] = []
            continue
        if stripped.startswith("# "):
            section = None
            continue
        if section is None:
            if stripped.lower().startswith("- owner:"):
                owner = stripped.split(":", 1)[1].strip()
                out["owner"] = None if owner in ("", "(none)") else owner
            continue
        body[section].append(line.rstrip())
    for name, lines in body.items():
        kept = [line for line in lines if line.strip() not in _PLACEHOLDERS]
        if name == "factors":
            out[name] = [line.strip()[2:].strip() if line.strip().startswith(("- ", "* ")) else line.strip()
                         for line in kept if line.strip()]
        else:
            out[name] = "\n".join(kept).strip()
    return out
