"""Mail into the desk: an SMTP listener (aiosmtpd) and a Maildir reader.

The SMTP intake is meant to sit behind the host's MTA (which relays the
desk's address to it on loopback). It demands ``AUTH PLAIN``/``LOGIN`` with
a live API token as the password (the user name is not checked), refuses
messages over the size limit in the SMTP dialogue, and answers ``451`` (try
later: the MTA keeps the mail) when the desk cannot take it now.

The Maildir reader takes what a local MTA delivered (``new/``), in order,
and moves each message to ``cur/`` once the desk has it — a message taken
twice (a crash between the two) is known by its digest and taken once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from deskconsole.binding import use
from deskconsole.core.inbound import mail_in
from deskconsole.core.access import tokens
from deskconsole.core.identity import INTAKE

log = logging.getLogger("deskconsole.mail")
# AUTH without TLS is what this listener is for: loopback, behind the host's MTA.
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
logging.getLogger("mail.log").addFilter(lambda record: "auth_require_tls == False" not in record.getMessage())


class DeskWriter:
    """``mail_in.receive`` on one thread with its own connection (the SMTP handler awaits it)."""

    def __init__(self, desk):
        self.desk = desk
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mail-in")
        self.taken: dict[str, int] = {}

    def _take(self, raw: bytes, source: str) -> mail_in.MailResult:
        with use(self.desk.db):
            self.desk.db.connect(reuse_if_open=True)
            result = mail_in.receive(self.desk, INTAKE, raw, source=source)
        self.taken[result.outcome] = self.taken.get(result.outcome, 0) + 1
        return result

    async def take(self, raw: bytes, source: str = "smtp") -> mail_in.MailResult:
        return await asyncio.get_running_loop().run_in_executor(self.pool, self._take, raw, source)

    def take_now(self, raw: bytes, source: str) -> mail_in.MailResult:
        return self.pool.submit(self._take, raw, source).result()

    def close(self) -> None:
        def close_connection():
            if not self.desk.db.is_closed():
                self.desk.db.close()

        self.pool.submit(close_connection).result()
        self.pool.shutdown(wait=True)


# ------------------------------------------------------------------ SMTP


class _Handler:
    def __init__(self, writer: DeskWriter):
        self.writer = writer

    async def handle_DATA(self, server, session, envelope):
        try:
            result = await self.writer.take(envelope.original_content or envelope.content, "smtp")
        except Exception as exc:  # the desk is away or locked: the sending MTA keeps the mail and retries
            log.error("mail intake: could not store a message: %r", exc)
            return "451 4.3.0 The desk cannot take mail right now; try again later"
        log.info("mail intake: %s %s %s", result.outcome, result.ticket or "-", result.detail)
        return f"250 2.0.0 {result.outcome} {result.ticket or ''}".rstrip()


class _Tokens:
    """aiosmtpd's authenticator: the password must be a live API token (re-read every few seconds)."""

    def __init__(self, desk):
        self.desk = desk
        self.known: dict = {}
        self.at = 0.0

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        if time.monotonic() - self.at > 5:
            with use(self.desk.db), self.desk.db.connection_context():
                self.known = tokens.live(self.desk)
            self.at = time.monotonic()
        secret = auth_data.password.decode("utf-8", "replace")
        return AuthResult(success=tokens.check(self.known, secret) is not None, handled=False)


def smtp_controller(desk, writer: DeskWriter, host: str, port: int, *, max_size: int):
    from aiosmtpd.controller import Controller

    return Controller(_Handler(writer), hostname=host, port=port, data_size_limit=max_size,
                      authenticator=_Tokens(desk), auth_required=True, auth_require_tls=False,
                      ident="deskconsole mail intake", decode_data=False)


# ------------------------------------------------------------------ Maildir


def read_maildir(writer: DeskWriter, folder: Path) -> dict[str, int]:
    """Take every message in ``folder/new`` (oldest first) and move it to ``cur``; counts by outcome."""
    new, cur = folder / "new", folder / "cur"
    if not new.is_dir() or not cur.is_dir():
        from deskconsole.errors import ValidationError

        raise ValidationError(f"{folder} is not a Maildir (it needs new/ and cur/ folders)")
    counts: dict[str, int] = {}
    names = sorted(os.listdir(new), key=lambda n: (n.split(".")[0], n))
    for name in names:
        path = new / name
        if name.startswith("."):
            continue
        try:
            with open(path, "rb") as handle:
                raw = handle.read(mail_in.MAX_MESSAGE + 1)
        except FileNotFoundError:  # another reader took it
            continue
        result = writer.take_now(raw, "maildir")
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
        os.replace(path, cur / (name + ("" if ":2," in name else ":2,S")))
    return counts
