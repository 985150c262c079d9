"""Mail to requesters and teams, queued in the outbox with the change.

A notice is written in the same transaction as the change it tells of —
a ticket created, a public reply, a resolution, a P1 opened — so it is sent
exactly when the change stands, and sending (the daemon draining the outbox,
``core.outbound.outbox``) never holds up the person making it.

Templates come from the ``[mail.templates.KIND]`` tables of the config
(``subject`` and ``body``, Python ``{name}`` fields), over built-in ones::

    [mail]
    from = "Service Desk <desk@example.com>"
    smtp = "127.0.0.1:25"
    reopen_days = 5          # a reply within this many days reopens a resolved ticket

    [mail.templates.resolved]
    subject = "[{key}] Resolved: {title}"
    body = "..."

Fields: key, title, requester, status, priority, team, assignee, text (the
reply or resolution note), code (the resolution code), desk, reopen_days.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import TYPE_CHECKING

from deskconsole.config import ConfigError
from deskconsole.core.bulk import insert_one
from deskconsole.core.keys import ticket_key
from deskconsole.models import Outbox

if TYPE_CHECKING:
    from deskconsole.core.records.change import TicketChange
    from deskconsole.core.txn import Unit

KINDS = ("created", "reply", "resolved", "team_p1")
FIELDS = ("key", "title", "requester", "status", "priority", "team", "assignee", "text", "code", "desk",
          "reopen_days")

DEFAULTS = {
    "created": (
        "[{key}] {title}",
        "Hello {requester},\n\nWe have your request and it is logged as {key} ({priority}).\n"
        "Reply to this mail to add to it; keep [{key}] in the subject.\n\n-- {desk}\n",
    ),
    "reply": (
        "Re: [{key}] {title}",
        "{text}\n\n-- {desk}\nReply to this mail to answer; keep [{key}] in the subject.\n",
    ),
    "resolved": (
        "[{key}] Resolved: {title}",
        "Hello {requester},\n\n{key} is resolved ({code}).\n\n{text}\n\n"
        "If it is not fixed, reply to this mail within {reopen_days} working days and the ticket reopens.\n"
        "How did we do? Reply with a single number from 1 (poor) to 5 (excellent).\n\n-- {desk}\n",
    ),
    "team_p1": (
        "[{key}] P1 opened: {title}",
        "A P1 incident was opened for {team}: {key} {title}\n\n{text}\n\ndeskconsole show {key}\n",
    ),
}


@dataclass(frozen=True)
class MailConfig:
    sender: str | None = None  # From:; None = no outgoing mail is set up (no notices are queued)
    smtp: str = "127.0.0.1:25"
    starttls: bool = False
    username: str | None = None
    password_file: str | None = None
    domain: str = "deskconsole.invalid"  # Message-IDs: <INC-42.17@domain>
    reopen_days: int = 5
    templates: dict | None = None  # kind -> (subject, body)


def mail_config(config) -> MailConfig:
    """The config's ``[mail]`` section, checked (unknown keys, bad template fields)."""
    data = config.raw.get("mail", {})
    path = config.path

    def fail(key, message):
        raise ConfigError(path, key, message)

    if not isinstance(data, dict):
        fail("mail", "expected a table ([mail])")
    allowed = {"from", "smtp", "starttls", "username", "password_file", "domain", "reopen_days", "templates"}
    for key in data:
        if key not in allowed:
            fail(f"mail.{key}", f"unknown key; expected one of {', '.join(sorted(allowed))}")
    sender = data.get("from")
    if sender is not None and (not isinstance(sender, str) or "@" not in sender):
        fail("mail.from", "expected an address, e.g. \"Service Desk <desk@example.com>\"")
    for key in ("smtp", "username", "password_file", "domain"):
        if key in data and not isinstance(data[key], str):
            fail(f"mail.{key}", "expected a string")
    if not isinstance(data.get("starttls", False), bool):
        fail("mail.starttls", "expected true or false")
    days = data.get("reopen_days", 5)
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 365:
        fail("mail.reopen_days", "expected a whole number of days, 0 to 365")
    templates = dict(DEFAULTS)
    raw = data.get("templates", {})
    if not isinstance(raw, dict):
        fail("mail.templates", "expected tables [mail.templates.KIND]")
    for kind, body in raw.items():
        where = f"mail.templates.{kind}"
        if kind not in KINDS:
            fail(where, f"unknown template; expected one of {', '.join(KINDS)}")
        if not isinstance(body, dict) or set(body) - {"subject", "body"}:
            fail(where, "expected subject = \"...\" and body = \"...\"")
        subject, text = body.get("subject", DEFAULTS[kind][0]), body.get("body", DEFAULTS[kind][1])
        for name, value in (("subject", subject), ("body", text)):
            _check_template(value, f"{where}.{name}", fail)
        templates[kind] = (subject, text)
    domain = data.get("domain") or (sender.rpartition("@")[2].strip(" >") if sender else "deskconsole.invalid")
    return MailConfig(sender, data.get("smtp", "127.0.0.1:25"), data.get("starttls", False), data.get("username"),
                      data.get("password_file"), domain, days, templates)


def _check_template(text, where: str, fail) -> None:
    if not isinstance(text, str):
        fail(where, "expected a string")
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        fail(where, f"is not a template: {exc} (write {{{{ and }}}} for literal braces)")
    for name in names:
        if name not in FIELDS:
            fail(where, f"{{{name}}} is not a field; use {', '.join('{' + f + '}' for f in FIELDS)}")


def _render(template: str, fields: dict) -> str:
    return template.format_map(fields)


def queue(unit: "Unit", tid: int, values: dict, kind: str, recipients: list[str], *, text: str = "",
          code: str = "") -> None:
    """Queue a ``kind`` notice about ticket ``tid`` (its fields as ``values``:
    title, requester_name, status, priority, team and assignee ids) in ``unit``'s transaction."""
    recipients = [r for r in dict.fromkeys(recipients) if r]
    desk = unit.desk
    mail = mail_config(desk.config)
    if not recipients or not mail.sender:  # no mail set up ([mail] from): nothing would ever send it
        return
    d = desk.directory
    fields = {
        "key": ticket_key(tid), "title": values.get("title"), "requester": values.get("requester_name") or "there",
        "status": values.get("status"), "priority": values.get("priority"),
        "team": d.team_names.get(values.get("team")) or "-", "assignee": d.agent_logins.get(values.get("assignee")) or "-",
        "text": text, "code": code, "desk": desk.config.desk_name, "reopen_days": mail.reopen_days,
    }
    subject, body = mail.templates[kind]
    insert_one(Outbox, {
        "created_at": unit.now, "ticket": tid, "channel": "mail", "kind": kind, "recipients": ", ".join(recipients),
        "subject": " ".join(_render(subject, fields).split())[:300], "body": _render(body, fields),
        "state": "queued", "attempts": 0,
    })
    unit.audit(tid, "mail", kind, None, f"to {', '.join(recipients)}")


def on_change(ch: "TicketChange", kind: str, recipients: list[str], **kw) -> None:
    """:func:`queue` for the ticket a :class:`TicketChange` is changing (its new values)."""
    values = {name: ch.get(name) for name in ("title", "requester_name", "status", "priority", "team", "assignee")}
    queue(ch.unit, ch.ticket.id, values, kind, recipients, **kw)


def requester(unit: "Unit", email: str | None) -> list[str]:
    """The requester's address, unless the requester is the one acting (no mail to oneself)."""
    actor = unit.desk.directory.agents.get(unit.actor.login)
    if not email or (actor is not None and actor.email and actor.email.lower() == email.lower()):
        return []
    return [email]


def team(unit: "Unit", team_id: int | None) -> list[str]:
    """A team's address from the desk's directory (none: nobody)."""
    d = unit.desk.directory
    email = d.team_email(d.team_names.get(team_id)) if team_id is not None else None
    return [email] if email else []
