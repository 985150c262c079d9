"""Mail in: a message from a requester opens a ticket or joins one.

:func:`receive` takes the raw bytes of one message (from the SMTP intake or
a Maildir) and, in one transaction, keeps the raw message (``mail_message``:
always, whatever happens next), then:

* mail from a machine — ``Auto-Submitted``, ``Precedence: bulk``, a bounce
  (``MAILER-DAEMON``, a delivery report, an empty ``Return-Path``), a mailing
  list, or our own notices coming back — is kept and goes no further: no
  ticket, no reply, no loop;
* a reply finds its ticket by the ``[INC-42]`` tag in its subject, or by
  ``In-Reply-To``/``References`` naming one of our ``Message-ID``\\ s; it joins
  the conversation as the requester's mail (a pending ticket goes back to
  work); on a resolved ticket a reply within ``reopen_days`` reopens it — or,
  if it is just a number from 1 to 5, is the requester's rating (CSAT);
  a reply to a closed ticket opens a new one that relates to it;
* anything else opens a ticket: the subject its title, the text its
  description, ``From`` its requester — matched by address to a known
  contact (whose name fills in when the mail gives none), or a new contact.

Multipart and HTML-only mail become readable text; attachments are kept
(up to :data:`MAX_ATTACHMENT` each, listed either way); the same message
delivered twice is taken once (by its SHA-256).
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from html.parser import HTMLParser
from typing import TYPE_CHECKING

from deskconsole.binding import on_desk
from deskconsole.core.records import links, tickets
from deskconsole.core.automation.auto_close import cutoff
from deskconsole.core.bulk import insert_one
from deskconsole.errors import DeskError
from deskconsole.core.identity import Actor
from deskconsole.core.keys import ticket_key
from deskconsole.core.records.lifecycle import FINAL, OPEN
from deskconsole.core.outbound.notices import mail_config
from deskconsole.models import Attachment, Contact, MailMessage, Rating, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

MAX_MESSAGE = 25 * 1024 * 1024  # bytes of one message that are read (and kept)
MAX_ATTACHMENT = 10 * 1024 * 1024
MAX_TEXT = 256 * 1024  # characters of a message's text kept as the description or an entry
TAG = re.compile(r"\[INC-(\d{1,12})\]", re.IGNORECASE)
PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|sv|wg|antw)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


@dataclass
class Parsed:
    message_id: str | None = None
    subject: str = ""
    sender_name: str | None = None
    sender_email: str | None = None
    refs: list[str] = field(default_factory=list)
    text: str = ""
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)
    machine: str | None = None  # why it is a machine's mail, not a person's


@dataclass(frozen=True)
class MailResult:
    outcome: str  # opened | added | reopened | rated | followed-up | ignored | duplicate | too-large | unreadable
    ticket: str | None = None
    detail: str = ""


# ------------------------------------------------------------------ reading a message


class _Text(HTMLParser):
    """HTML to readable text: block elements break lines, scripts and styles vanish."""

    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "pre", "hr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.out.append("\n")
        elif tag == "td":
            self.out.append(" ")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)


def html_text(markup: str) -> str:
    parser = _Text()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # markup no parser can follow: its text without tags
        return html.unescape(re.sub(r"<[^>]*>", " ", markup))
    text = "".join(parser.out)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _content(part) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError, AssertionError):  # an unknown charset, bad bytes
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace")
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return content.replace("\x00", "")


def _machine(msg: EmailMessage, sender: str | None) -> str | None:
    auto = (msg.get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = (msg.get("Precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    if msg.get("X-Autoreply") or msg.get("X-Autorespond") or msg.get("X-Auto-Response-Suppress", "").lower() == "all":
        return "an auto-reply"
    if msg.get("X-Deskconsole-Ticket") is not None:
        return "our own notice came back"
    if msg.get("List-Id") or msg.get("List-Unsubscribe"):
        return "a mailing list"
    local = (sender or "").partition("@")[0].lower()
    if local in ("mailer-daemon", "postmaster") or msg.get_content_type() == "multipart/report":
        return "a bounce"
    if (msg.get("Return-Path") or "").strip() == "<>":
        return "a bounce (empty Return-Path)"
    return None


def parse(raw: bytes, domain: str) -> Parsed:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    out = Parsed()
    try:
        name, addr = (getaddresses([str(msg.get("From", ""))]) or [("", "")])[0]
    except Exception:  # a From header no parser can read
        name, addr = "", ""
    out.sender_name = " ".join(name.split()) or None
    out.sender_email = addr.strip().lower() if "@" in addr else None
    out.subject = " ".join(str(msg.get("Subject", "") or "").split())
    out.message_id = (str(msg.get("Message-ID", "")).strip() or None)
    refs = " ".join(str(msg.get(h, "") or "") for h in ("In-Reply-To", "References"))
    out.refs = re.findall(r"<([^<>\s]+)>", refs)
    out.machine = _machine(msg, out.sender_email)
    body = None
    try:
        body = msg.get_body(preferencelist=("plain", "html"))
    except Exception:  # a structure the parser gave up on: the text below is what there is
        body = None
    if body is not None:
        text = _content(body)
        out.text = html_text(text) if body.get_content_type() == "text/html" else text.strip()
    elif not msg.is_multipart():
        out.text = _content(msg).strip()
    try:
        parts = list(msg.iter_attachments())
    except Exception:  # not multipart, or broken: no attachments
        parts = []
    for part in parts:
        payload = part.get_payload(decode=True) or b""
        out.attachments.append((str(part.get_filename() or "attachment")[:255], part.get_content_type()[:127],
                                payload))
    return out


def ticket_of(parsed: Parsed, domain: str) -> int | None:
    """The ticket a reply names: the subject's [INC-42], or one of our Message-IDs it answers."""
    tag = TAG.search(parsed.subject)
    if tag:
        return int(tag.group(1))
    for ref in reversed(parsed.refs):
        local, _, host = ref.partition("@")
        m = re.fullmatch(r"INC-(\d{1,12})(\.\d+)?", local, re.IGNORECASE)
        if m and host.lower() == domain.lower():
            return int(m.group(1))
    return None


def rating(text: str) -> int | None:
    """A reply that is just a score: its first line a digit 1–5 (what follows is the quoted mail)."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    m = re.fullmatch(r"([1-5])(\s*/\s*5)?[.!]?", first)
    return int(m.group(1)) if m else None


# ------------------------------------------------------------------ taking it in


@on_desk
def receive(desk: "Desk", actor: Actor, raw: bytes, *, source: str = "smtp") -> MailResult:
    """Take one message in (see the module's text). Never raises for what is in the message."""
    mail = mail_config(desk.config)
    digest = hashlib.sha256(raw).hexdigest()
    if MailMessage.select().where(MailMessage.digest == digest).exists():
        return MailResult("duplicate", None, "this very message was taken in before")
    if len(raw) > MAX_MESSAGE:
        return _keep(desk, raw[:MAX_MESSAGE], digest, None, "too-large", None,
                     f"{len(raw):,} bytes; at most {MAX_MESSAGE:,} are read (the first are kept)", size=len(raw))
    try:
        parsed = parse(raw, mail.domain)
    except Exception as exc:  # the parser itself failed: keep the bytes, say so
        return _keep(desk, raw, digest, None, "unreadable", None, f"{type(exc).__name__}: {exc}")
    if parsed.machine:
        return _keep(desk, raw, digest, parsed, "ignored", None, parsed.machine)
    if not parsed.sender_email:
        return _keep(desk, raw, digest, parsed, "ignored", None, "no sender address in From")
    with desk.transaction():
        parsed.sender_name = _contact(desk, parsed.sender_email, parsed.sender_name)
        try:
            outcome, tid, detail = _apply(desk, actor, parsed, mail)
        except DeskError as exc:  # e.g. a title the desk refuses: keep the mail, say why
            return _keep(desk, raw, digest, parsed, "refused", None, str(exc))
        mid = _row(desk, raw, digest, parsed, outcome, tid, detail)
        for filename, ctype, data in parsed.attachments if tid else ():
            insert_one(Attachment, {"ticket": tid, "mail": mid, "filename": filename, "content_type": ctype,
                                    "size": len(data), "data": data if len(data) <= MAX_ATTACHMENT else None})
    return MailResult(outcome, ticket_key(tid) if tid else None, detail)


def _contact(desk, email: str, name: str | None) -> str | None:
    """The sender as a contact: the known one (seen now; named if it had no
    name), or a new one. Returns the name to use: the mail's, else the contact's."""
    now = desk.now()
    known = Contact.get_or_none(Contact.email == email)
    if known is None:
        insert_one(Contact, {"email": email, "name": name, "created_at": now, "last_seen_at": now})
        return name
    changes = {"last_seen_at": now}
    if name and not known.name:
        changes["name"] = name
    Contact.update(changes).where(Contact.id == known.id).execute()
    return name or known.name


def _keep(desk, raw, digest, parsed, outcome, tid, detail, size=None) -> MailResult:
    with desk.transaction():
        _row(desk, raw, digest, parsed, outcome, tid, detail, size)
    return MailResult(outcome, ticket_key(tid) if tid else None, detail)


def _row(desk, raw, digest, parsed, outcome, tid, detail, size=None) -> int:
    return insert_one(MailMessage, {
        "digest": digest, "message_id": (parsed.message_id or "")[:998] if parsed else None,
        "received_at": desk.now(), "sender": (parsed.sender_email or "")[:320] if parsed else None,
        "subject": (parsed.subject or "")[:300] if parsed else None, "size": size or len(raw), "raw": raw,
        "ticket": tid, "outcome": outcome, "detail": detail[:2000],
    })


def _apply(desk, actor, parsed: Parsed, mail) -> tuple[str, int, str]:
    text = parsed.text[:MAX_TEXT] or "(no text)"
    tid = ticket_of(parsed, mail.domain)
    ticket = Ticket.get_or_none(Ticket.id == tid) if tid else None
    while ticket is not None and ticket.merged_into_id is not None:
        ticket = Ticket.get_by_id(ticket.merged_into_id)
    if ticket is None:
        return "opened", _open(desk, actor, parsed, text), ""
    key = ticket_key(ticket.id)
    author = (parsed.sender_email, parsed.sender_name or parsed.sender_email)
    if ticket.status == "resolved":
        score = rating(text)
        if score is not None:
            insert_one(Rating, {"ticket": ticket.id, "score": score, "at": desk.now(), "source": "mail",
                                "rated_by": parsed.sender_email})
            tickets.mail_from_requester(desk, actor, ticket.id, text, author=author, rating=score)
            return "rated", ticket.id, f"{score} of 5"
        window = cutoff(desk.config.sla.calendar(desk.config.auto_close_calendar), desk.now(), mail.reopen_days)
        if ticket.resolved_at and ticket.resolved_at >= window:  # within reopen_days working days
            tickets.reopen(desk, actor, ticket.id, None)
            tickets.mail_from_requester(desk, actor, ticket.id, text, author=author)
            return "reopened", ticket.id, f"a reply within {mail.reopen_days} working days of the resolution"
    if ticket.status in FINAL or ticket.status == "resolved":
        new = _open(desk, actor, parsed, text)
        links.link(desk, actor, ticket_key(new), "relates-to", key)
        return "followed-up", new, f"{key} is {ticket.status}: a new ticket relates to it"
    assert ticket.status in OPEN
    tickets.mail_from_requester(desk, actor, ticket.id, text, author=author)
    return "added", ticket.id, ""


def _open(desk, actor, parsed: Parsed, text: str) -> int:
    title = PREFIX.sub("", parsed.subject).strip() or f"Mail from {parsed.sender_email}"
    out = tickets.create(desk, actor, title=title[:300], description=text, requester_name=parsed.sender_name,
                         requester_email=parsed.sender_email, source="mail",
                         external_ref=(parsed.message_id or "")[:255] or None)
    return int(out.key.split("-")[-1])
