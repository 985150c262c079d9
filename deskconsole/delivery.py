"""Outbox messages on their way: e-mail over SMTP (the standard library's
smtplib) and webhook posts (urllib); :class:`Dispatcher` picks by channel.

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

from deskconsole.errors import ValidationError
from deskconsole.core.outbound.notices import MailConfig
from deskconsole.core.outbound.outbox import Message, Undeliverable
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
    """``send(message)`` for :func:`deskconsole.core.outbound.outbox.drain`: one SMTP
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


class WebhookSender:
    """Posts a webhook message's JSON to the URL its webhook has in the config."""

    def __init__(self, hooks):
        self.hooks = {h.name: h for h in hooks}

    def __call__(self, msg: Message) -> None:
        import urllib.error
        import urllib.request

        hook = self.hooks.get(msg.recipients[0] if msg.recipients else "")
        if hook is None:
            raise Undeliverable(f"no [[webhook]] named {msg.recipients[0] if msg.recipients else '?'!r} in the config")
        request = urllib.request.Request(hook.target(), data=msg.body.encode("utf-8"), method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "User-Agent": "deskconsole-webhook"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                response.read(1024)
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500 and exc.code not in (408, 429):
                raise Undeliverable(f"HTTP {exc.code} {exc.reason} from the webhook {hook.name!r}") from None
            raise


class Dispatcher:
    """``send`` for the drain: mail to SMTP, webhooks to HTTP; each made when first needed."""

    def __init__(self, config):
        from deskconsole.core.outbound.notices import mail_config
        from deskconsole.core.outbound.webhooks import webhooks

        self.mail = mail_config(config)
        self.hooks = webhooks(config)
        for hook in self.hooks:
            hook.target()  # a url_file that cannot be read (or that others can) stops here, with what to fix
        self._smtp: SmtpSender | None = None
        self._web: WebhookSender | None = None

    @property
    def configured(self) -> bool:
        return bool(self.mail.sender or self.hooks)

    def __call__(self, msg: Message) -> None:
        if msg.channel == "webhook":
            self._web = self._web or WebhookSender(self.hooks)
            return self._web(msg)
        if not self.mail.sender:
            raise RuntimeError("no [mail] from = \"...\" in this config: mail waits for a sender that has one")
        self._smtp = self._smtp or SmtpSender(self.mail)
        return self._smtp(msg)

    def close(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
