"""The alert intake over HTTP (aiohttp).

    POST /v1/alerts/alertmanager    Prometheus Alertmanager webhook (version 4)
    POST /v2/enqueue                PagerDuty Events API v2 (as events.pagerduty.com answers it)
    POST /v1/alerts/pagerduty       the same
    POST /v1/alerts                 a plain JSON alert
    GET  /v1/health                 {"ok": true} (no token needed; says nothing else)

Every post needs a live API token (``deskconsole token add``) as
``Authorization: Bearer TOKEN`` — or, for PagerDuty senders that cannot set
headers, as the event's ``routing_key`` — or, when the intake was given a
signing secret, an HMAC-SHA256 signature of ``TIMESTAMP.BODY`` in
``X-Deskconsole-Signature: sha256=HEX`` with ``X-Deskconsole-Timestamp``
within five minutes. Secrets are compared in constant time.

A body over the size limit, one that is not JSON, or not the shape its
endpoint reads gets a 4xx with the reason, and nothing is stored. A client
that takes longer than :data:`REQUEST_SECONDS` to send its request line and
headers, or its body, is cut off (slowloris). The listener binds loopback
unless told otherwise.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from deskconsole.core import alert_payloads as payloads
from deskconsole.core import tokens
from deskconsole.core.identity import INTAKE

log = logging.getLogger("deskconsole.intake")

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


# ------------------------------------------------------------------ connections


class _Handler(RequestHandler):
    """aiohttp's connection handler with a deadline on receiving each request:
    the head must arrive within REQUEST_SECONDS of the connection opening (or
    of the previous response), or the connection is closed."""

    __slots__ = ("_receipt",)

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._receipt = None
        self.expect_request()

    def expect_request(self) -> None:
        self.got_request()
        self._receipt = asyncio.get_running_loop().call_later(REQUEST_SECONDS, self._too_slow)

    def got_request(self) -> None:
        if getattr(self, "_receipt", None) is not None:
            self._receipt.cancel()
            self._receipt = None

    def _too_slow(self) -> None:
        log.warning("intake: closed a connection that sent no complete request in %.0f s", REQUEST_SECONDS)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc) -> None:
        self.got_request()
        super().connection_lost(exc)


@web.middleware
async def _deadline(request: web.Request, handler):
    protocol = request.protocol
    if isinstance(protocol, _Handler):
        protocol.got_request()
    try:
        return await handler(request)
    finally:
        if isinstance(protocol, _Handler) and protocol.transport is not None:
            protocol.expect_request()  # the next request on this connection gets the same deadline


@web.middleware
async def _json_errors(request: web.Request, handler):
    """aiohttp's own refusals (no such path, wrong method) as JSON that says what to do."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return _error(404, "no such endpoint; POST alerts to /v1/alerts/alertmanager, /v2/enqueue or /v1/alerts")
    except web.HTTPMethodNotAllowed as exc:
        return _error(405, f"{request.method} is not allowed here; use {', '.join(sorted(exc.allowed_methods))}")


# ------------------------------------------------------------------ answers


def _error(status: int, reason: str, **extra) -> web.Response:
    return web.json_response({"ok": False, "error": reason, **extra}, status=status)


def _pd_error(status: int, reason: str) -> web.Response:
    return web.json_response({"status": "invalid event", "message": "Event object is invalid", "errors": [reason]},
                             status=status)


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


# ------------------------------------------------------------------ endpoints


async def alertmanager(request: web.Request) -> web.Response:
    intake: Intake = request.app[STATE]
    try:
        body = await read_body(request, intake)
        actor, name = await who(request, intake, body)
        events, truncated = payloads.alertmanager(payloads.parse_json(body), by_group=intake.rules.by_group)
    except Refusal as exc:
        return _refuse(intake, exc.status, exc.reason)
    except payloads.PayloadError as exc:
        return _refuse(intake, 400, str(exc))
    results = await _write(intake, actor, events)
    if isinstance(results, web.Response):
        return results
    extra = {"truncated_alerts": truncated} if truncated else {}
    return web.json_response({"ok": True, "results": [r.as_json() for r in results], **extra})


async def pagerduty(request: web.Request) -> web.Response:
    intake: Intake = request.app[STATE]
    try:
        body = await read_body(request, intake)
        doc = payloads.parse_json(body)
        event, routing_key = payloads.pagerduty(doc)
        actor, name = await who(request, intake, body, routing_key=routing_key)
    except Refusal as exc:
        intake.refused += 1
        return _pd_error(exc.status, exc.reason)
    except payloads.PayloadError as exc:
        intake.refused += 1
        return _pd_error(400, str(exc))
    results = await _write(intake, actor, [event], pagerduty_style=True)
    if isinstance(results, web.Response):
        return results
    (result,) = results
    if result.outcome == "failed":
        return _pd_error(400, result.message)
    return web.json_response({"status": "success", "message": "Event processed", "dedup_key": event.dedup_key},
                             status=202)


async def generic(request: web.Request) -> web.Response:
    intake: Intake = request.app[STATE]
    try:
        body = await read_body(request, intake)
        actor, name = await who(request, intake, body)
        event = payloads.generic(payloads.parse_json(body))
    except Refusal as exc:
        return _refuse(intake, exc.status, exc.reason)
    except payloads.PayloadError as exc:
        return _refuse(intake, 400, str(exc))
    results = await _write(intake, actor, [event])
    if isinstance(results, web.Response):
        return results
    (result,) = results
    status = 400 if result.outcome == "failed" else 201 if result.outcome in ("opened", "recurred") else 200
    return web.json_response({"ok": result.outcome != "failed", **result.as_json()}, status=status)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def _refuse(intake: Intake, status: int, reason: str) -> web.Response:
    intake.refused += 1
    return _error(status, reason)


async def _write(intake: Intake, actor, events, *, pagerduty_style: bool = False):
    try:
        results = await intake.batcher.submit(actor, events)
    except Exception as exc:  # the database is away or locked: the sender retries (Alertmanager and PagerDuty clients do)
        reason = f"the desk could not store this now ({getattr(exc, 'kind', type(exc).__name__)}); retry shortly"
        response = _pd_error(503, reason) if pagerduty_style else _error(503, reason)
        response.headers["Retry-After"] = "5"
        return response
    intake.accepted += len(events)
    return results


# ------------------------------------------------------------------ the app and its listener


def make_app(intake: Intake) -> web.Application:
    app = web.Application(middlewares=[_deadline, _json_errors], client_max_size=intake.max_body)
    app[STATE] = intake
    app.router.add_post("/v1/alerts/alertmanager", alertmanager)
    app.router.add_post("/v2/enqueue", pagerduty)
    app.router.add_post("/v1/alerts/pagerduty", pagerduty)
    app.router.add_post("/v1/alerts", generic)
    app.router.add_get("/v1/health", health)
    from deskconsole.intake import api

    api.add_routes(app)
    return app


class Listener:
    """The intake's HTTP listener on ``host:port`` (port 0: any free port; see ``port``)."""

    def __init__(self, intake: Intake, host: str = "127.0.0.1", port: int = 8080):
        self.intake = intake
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        if self.intake.api_runner is None:
            from deskconsole.db_runner import DbRunner

            self.intake.api_runner = DbRunner(self.intake.desk.db)
        self._runner = web.AppRunner(make_app(self.intake), access_log=None, handle_signals=False)
        await self._runner.setup()
        manager = self._runner.server
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Handler(manager, loop=loop, keepalive_timeout=15.0, max_line_size=8190, max_field_size=8190),
            self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.intake.api_runner is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.intake.api_runner.close)
            self.intake.api_runner = None


