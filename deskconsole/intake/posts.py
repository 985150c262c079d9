"""A post to the intake: its body, read within limits, and who sends it.

Shared by the alert endpoints (``intake.http``) and the JSON API
(``intake.api``). Every post needs a live API token as ``Authorization:
Bearer TOKEN`` (or, for PagerDuty senders, as the event's ``routing_key``),
or an HMAC-SHA256 signature of ``TIMESTAMP.BODY`` when the intake was given
a signing secret; secrets are compared in constant time. A body over the
limit, or one that takes longer than :data:`REQUEST_SECONDS` to arrive, is
refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass

from aiohttp import web

from deskconsole.core.access import tokens
from deskconsole.core.identity import INTAKE

MAX_BODY = 1024 * 1024  # bytes
REQUEST_SECONDS = 10.0  # to send a request's head, and again its body
SIGNATURE_SKEW = 300  # seconds a signed request's timestamp may be off
TOKEN_REFRESH = 5.0  # seconds between re-reads of the live tokens (a revoke takes effect within this)

STATE = web.AppKey("intake", object)


@dataclass
class Intake:
    desk: object
    rules: object
    batcher: object
    max_body: int = MAX_BODY
    signing_secret: bytes | None = None
    api_runner: object = None  # the HTTP API's database threads (a DbRunner)
    known: dict | None = None  # token digest -> (name, login)
    known_at: float = 0.0
    accepted: int = 0
    refused: int = 0


async def read_body(request: web.Request, intake: Intake) -> bytes:
    length = request.content_length
    if length is not None and length > intake.max_body:
        raise Refusal(413, f"the body is {length} bytes; at most {intake.max_body}")
    try:
        async with asyncio.timeout(REQUEST_SECONDS):
            body = await request.content.read(intake.max_body + 1)
            if len(body) > intake.max_body:
                raise Refusal(413, f"the body is over {intake.max_body} bytes")
            if not request.content.at_eof():
                await request.content.read(1)  # a body with no length: is there more than we read?
                if not request.content.at_eof():
                    raise Refusal(413, f"the body is over {intake.max_body} bytes")
    except TimeoutError:
        raise Refusal(408, f"the body took longer than {REQUEST_SECONDS:.0f} s to arrive") from None
    return body


class Refusal(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


# ------------------------------------------------------------------ who is posting


async def who(request: web.Request, intake: Intake, body: bytes, routing_key: str | None = None):
    """The identity a post acts as, or a Refusal (401)."""
    known = await _known(intake)
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Refusal(401, "the Authorization header must be 'Bearer TOKEN'")
        return _acting(intake, tokens.check(known, secret.strip()), "the bearer token")
    if request.headers.get("X-Deskconsole-Signature"):
        return _signed(request, intake, body)
    if routing_key is not None:
        return _acting(intake, tokens.check(known, routing_key), "the routing_key")
    raise Refusal(401, "no credentials: send 'Authorization: Bearer TOKEN' (deskconsole token add NAME)"
                        + (" or a signature" if intake.signing_secret else ""))


def _acting(intake: Intake, found, what: str):
    if found is None:
        raise Refusal(401, f"{what} is not a live token of this desk")
    name, login = found
    return tokens.acting(intake.desk, login), name


def _signed(request: web.Request, intake: Intake, body: bytes):
    if intake.signing_secret is None:
        raise Refusal(401, "this intake takes no signatures (it was started without a signing secret); use a bearer token")
    stamp = request.headers.get("X-Deskconsole-Timestamp", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > SIGNATURE_SKEW:
        raise Refusal(401, "X-Deskconsole-Timestamp is missing or more than 5 minutes off (unix seconds)")
    sent = request.headers["X-Deskconsole-Signature"]
    wanted = "sha256=" + hmac.new(intake.signing_secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(sent.strip().encode(), wanted.encode()):
        raise Refusal(401, "the signature does not match the body (HMAC-SHA256 of 'TIMESTAMP.BODY')")
    return INTAKE, "signed"


async def _known(intake: Intake) -> dict:
    if intake.known is None or time.monotonic() - intake.known_at > TOKEN_REFRESH:
        loop = asyncio.get_running_loop()
        intake.known = await loop.run_in_executor(None, _read_tokens, intake.desk)
        intake.known_at = time.monotonic()
    return intake.known


def _read_tokens(desk) -> dict:
    with desk.db.connection_context():
        return tokens.live(desk)
