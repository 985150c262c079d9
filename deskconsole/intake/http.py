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
that takes longer than :data:`posts.REQUEST_SECONDS` to send its request line and
headers, or its body, is cut off (slowloris). The listener binds loopback
unless told otherwise.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from deskconsole.core.inbound import alert_payloads as payloads
from deskconsole.intake import api, posts
from deskconsole.intake.posts import STATE, Intake, Refusal, read_body, who

log = logging.getLogger("deskconsole.intake")

# ------------------------------------------------------------------ connections


class _Handler(RequestHandler):
    """aiohttp's connection handler with a deadline on receiving each request:
    the head must arrive within posts.REQUEST_SECONDS of the connection opening (or
    of the previous response), or the connection is closed."""

    __slots__ = ("_receipt",)

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._receipt = None
        self.expect_request()

    def expect_request(self) -> None:
        self.got_request()
        self._receipt = asyncio.get_running_loop().call_later(posts.REQUEST_SECONDS, self._too_slow)

    def got_request(self) -> None:
        if getattr(self, "_receipt", None) is not None:
            self._receipt.cancel()
            self._receipt = None

    def _too_slow(self) -> None:
        log.warning("intake: closed a connection that sent no complete request in %.0f s", posts.REQUEST_SECONDS)
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


