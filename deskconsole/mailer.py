"""Outbox messages as e-mail over SMTP (the standard library's smtplib).

Every message of a ticket threads in mail clients: its ``Message-ID`` is
``<INC-42.17@DOMAIN>`` (the ticket and the outbox row: the same on a retry,
so a receiver can tell a resend), and ``In-Reply-To``/``References`` name
``<INC-42@DOMAIN>``, the ticket's thread. The subject carries ``[INC-42]``,
which is how a reply finds its ticket again. Automatic mail says so
(``Auto-Submitted: auto-generated``), so well-behaved auto-responders stay
quiet and no mail loop starts.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, getaddresses

from deskconsole.core.errors import ValidationError
from deskconsole.core.notices import MailConfig
from deskconsole.core.outbox import Message
from deskconsole.paths import read_secret

log = logging.getLogger("deskconsole.mail")

TIMEOUT = 30  # seconds for the SMTP conversation


def message_id(msg: Message, domain: str) -> str:
    return f"<{msg.ticket or 'desk'}.{msg.id}@{domain}>"


def thread_id(msg: Message, domain: str) -> str | None:
    return f"<{msg.ticket}@{domain}>" if msg.ticket else None


def build(msg: Message, mail: MailConfig) -> EmailMessage:
    email = EmailMessage()
    email["From"] = mail.sender
    email["To"] = ", ".join(msg.recipients)
    email["Subject"] = msg.subject
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email["Message-ID"] = message_id(msg, mail.domain)
    thread = thread_id(msg, mail.domain)
    if thread:
        email["In-Reply-To"] = thread
        email["References"] = thread
    email["Auto-Submitted"] = "auto-generated"
    email["X-Deskconsole-Ticket"] = msg.ticket or ""
    email.set_content(msg.body)
    return email


class SmtpSender:
    """``send(message)`` for :func:`deskconsole.core.outbox.drain`: one SMTP
    connection reused for a drain's messages, opened when first needed."""

    def __init__(self, mail: MailConfig):
        if not mail.sender:
            raise ValidationError("no [mail] from = \"...\" in the config: there is no sender address for outgoing mail")
        self.mail = mail
        host, _, port = mail.smtp.rpartition(":")
        self.host, self.port = (host or mail.smtp), int(port) if port.isdigit() else 25
        self._smtp: smtplib.SMTP | None = None
        self._password = None
        if mail.password_file:
            self._password = read_secret(mail.password_file, "SMTP password", 1).decode("utf-8")

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            smtp = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT)
            if self.mail.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.mail.username:
                smtp.login(self.mail.username, self._password or "")
            self._smtp = smtp
        return self._smtp

    def __call__(self, msg: Message) -> None:
        email = build(msg, self.mail)
        to = [addr for _, addr in getaddresses(msg.recipients) if addr]
        try:
            refused = self._connection().send_message(email, to_addrs=to)
        except (smtplib.SMTPServerDisconnected, OSError):
            self.close()  # the next message connects afresh
            raise
        if refused:  # taken for some recipients: the message went; the log says who was refused
            log.warning("%s: the mail server refused %s", email["Message-ID"], ", ".join(refused))

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except Exception:  # already gone
                pass
            self._smtp = None
