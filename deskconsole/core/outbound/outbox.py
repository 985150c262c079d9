"""Draining the outbox: each queued message handed to a sender once.

:func:`drain` claims a batch of due messages in one short transaction —
each gets ``state = 'sending'``, one more attempt, and a lease (``next_at``
= now + :data:`LEASE`) — commits, then hands them to ``send`` one by one
and records each result in a transaction of its own: ``sent``; or, on a
failure, ``queued`` again with an exponential backoff; or ``failed`` after
:data:`MAX_ATTEMPTS`. A sender that dies mid-drain leaves its rows
``sending`` until the lease runs out, and the next drain takes them; the
message goes with the same ``Message-ID``. Only a death in the instant after
the mail server accepted a message and before the row says so can send it
twice (there is no transaction spanning SMTP and the desk).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable

from deskconsole.binding import on_desk
from deskconsole.core.keys import ticket_key
from deskconsole.models import Outbox

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 10
BACKOFF = 30  # seconds before the first retry; doubling, at most an hour


class Undeliverable(Exception):
    """A send that retrying cannot fix (the receiver refused it for good): the message is failed at once."""


@dataclass(frozen=True)
class Message:
    id: int
    channel: str  # mail | webhook
    ticket: str | None  # INC-42
    kind: str | None
    recipients: list[str]
    subject: str
    body: str
    attempts: int


@dataclass
class DrainReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed"


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, BACKOFF * 2 ** max(0, attempts - 1)))


@on_desk
def claim(desk: "Desk", now: datetime, limit: int = 50) -> list[Message]:
    """Take up to ``limit`` due messages (queued, or sending with a lapsed lease) for sending."""
    due = Outbox.state.in_(("queued", "sending")) & (Outbox.next_at.is_null() | (Outbox.next_at <= now))
    with desk.transaction():
        query = Outbox.select().where(due).order_by(Outbox.id).limit(limit)
        if not desk.is_sqlite:
            query = query.for_update(skip_locked=True)  # two senders never take the same rows
        rows = list(query)
        if not rows:
            return []
        Outbox.update(state="sending", attempts=Outbox.attempts + 1, next_at=now + LEASE).where(
            Outbox.id.in_([r.id for r in rows])).execute()
    return [Message(r.id, r.channel, ticket_key(r.ticket) if r.ticket else None, r.kind,
                    [a.strip() for a in r.recipients.split(",") if a.strip()], r.subject, r.body, r.attempts + 1)
            for r in rows]


@on_desk
def settle(desk: "Desk", message: Message, now: datetime, error: str | None, *, final: bool = False) -> str:
    """Record how sending ``message`` went (``final``: the error is for good); returns its new state."""
    if error is None:
        state, values = "sent", {"state": "sent", "sent_at": now, "next_at": None, "last_error": None}
    elif final or message.attempts >= MAX_ATTEMPTS:
        state, values = "failed", {"state": "failed", "last_error": error[:2000], "next_at": None}
    else:
        state, values = "queued", {"state": "queued", "last_error": error[:2000],
                                   "next_at": now + backoff(message.attempts)}
    with desk.transaction():
        Outbox.update(values).where((Outbox.id == message.id) & (Outbox.state == "sending")).execute()
    return state


@on_desk
def drain(desk: "Desk", send: Callable[[Message], None], *, limit: int = 50,
          now: Callable[[], datetime] | None = None) -> DrainReport:
    """Send what is due: ``send(message)`` raises to say it failed (its text is
    kept; :class:`Undeliverable` fails it at once, anything else is retried)."""
    clock = now or desk.now
    report = DrainReport()
    for message in claim(desk, clock(), limit):
        final = False
        try:
            send(message)
            error = None
        except Undeliverable as exc:
            error, final = f"{exc}", True
        except Exception as exc:  # any other failure of a send is that message's, retried later
            error = f"{type(exc).__name__}: {exc}"
        state = settle(desk, message, clock(), error, final=final)
        if state == "sent":
            report.sent += 1
        elif state == "failed":
            report.failed += 1
        else:
            report.retrying += 1
    return report
