"""A small JSON API for integrations, on the intake's listener.

    GET  /v1/tickets?q=QUERY&limit=50&offset=0   the query language, as `ls`
    GET  /v1/tickets/KEY                        a ticket in full, as `show --format json`
    POST /v1/tickets                            create: {"title", "description", "priority" | "impact" + "urgency",
                                                "team", "category", "service", "assignee", "requester": "Name <a@b>"}
    POST /v1/tickets/KEY/comments               {"text", "public": true (a reply) | false (an internal note)}
    POST /v1/tickets/KEY/transition             {"action": take | ack | assign | status | resolve | close |
                                                reopen | cancel, ...its fields, "expected_version"}

Each client has its own token (``deskconsole token add NAME --for LOGIN``)
and acts as that directory agent: the same core, the same permissions
(checked again inside each write against the desk's directory), the same
audit — the history names the agent. The intake's own tokens (``intake``)
only post alerts. Errors are JSON with the core's own message: 400 for bad
input, 401 for no token, 403 for what the role may not do, 404, and 409 for
a version conflict (``expected_version``) with who changed the ticket.
"""

from __future__ import annotations

import json

from aiohttp import web

from deskconsole.core.records import tickets
from deskconsole.core.records.change import shown
from deskconsole.core.inbound.alert_payloads import PayloadError, parse_json
from deskconsole.errors import Conflict, DeskError, NoChange, NotFound, PermissionDenied
from deskconsole.core.identity import INTAKE
from deskconsole.core.search.query import QueryError, count_tickets, select_tickets
from deskconsole.core.records.views import SUMMARY_COLUMNS, detail, json_default, summary
from deskconsole.intake.posts import STATE, Refusal, read_body, who

MAX_LIMIT = 500
TRANSITIONS = ("take", "ack", "assign", "status", "resolve", "close", "reopen", "cancel")


def _answer(value, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(value, default=json_default, ensure_ascii=False), status=status,
                        content_type="application/json")


def _status(exc: DeskError) -> int:
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    return 400


async def _call(request: web.Request, fn, *args, **kwargs):
    """Run a core call on the API's database thread as the token's agent; an
    error becomes the JSON refusal the module's text lists."""
    intake = request.app[STATE]
    actor, _ = await who(request, intake, b"")  # a bearer token: signatures are the alert intake's
    if actor is INTAKE:
        raise Refusal(403, "this token is the alert intake's; make one for an agent: deskconsole token add NAME --for LOGIN")
    runner = intake.api_runner
    write = request.method == "POST"
    return await (runner.write if write else runner.read)(fn, intake.desk, actor, *args, **kwargs)


def _api(handler):
    async def wrapped(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except Refusal as exc:
            return _answer({"ok": False, "error": exc.reason}, exc.status)
        except QueryError as exc:
            return _answer({"ok": False, "error": str(exc)}, 400)
        except NoChange as exc:
            return _answer({"ok": False, "error": str(exc), "unchanged": True}, 409)
        except DeskError as exc:
            return _answer({"ok": False, "error": str(exc)}, _status(exc))

    return wrapped


async def _json(request: web.Request) -> dict:

    try:
        doc = parse_json(await read_body(request, request.app[STATE]))
    except PayloadError as exc:
        raise Refusal(400, str(exc)) from None
    if not isinstance(doc, dict):
        raise Refusal(400, "the body must be a JSON object")
    return doc


def _field(doc: dict, name: str, kind=str, required: bool = False):
    value = doc.get(name)
    if value is None:
        if required:
            raise Refusal(400, f"'{name}' is missing")
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise Refusal(400, f"'{name}' must be {'a string' if kind is str else 'a whole number' if kind is int else 'true or false'}")
    return value


# ------------------------------------------------------------------ reads


def _list(desk, actor, text: str, limit: int, offset: int) -> dict:
    now = desk.now()
    query = select_tickets(desk, text, actor_login=actor.login, now=now)
    rows = [summary(desk, t) for t in query.select(*SUMMARY_COLUMNS).limit(limit).offset(offset)]
    total = count_tickets(desk, text, actor_login=actor.login, now=now)
    return {"ok": True, "query": text, "total": total, "offset": offset,
            "tickets": [dict(t.as_dict(), sla=t.sla_state(now)) for t in rows]}


@_api
async def list_tickets(request: web.Request) -> web.Response:
    text = request.query.get("q", "is:open")
    try:
        limit = int(request.query.get("limit", "50"))
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        raise Refusal(400, "limit and offset must be whole numbers") from None
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise Refusal(400, f"limit must be 1..{MAX_LIMIT} and offset 0 or more")
    return _answer(await _call(request, _list, text, limit, offset))


def _show(desk, actor, key):
    return {"ok": True, "ticket": detail(desk, key, desk.now())}


@_api
async def show_ticket(request: web.Request) -> web.Response:
    return _answer(await _call(request, _show, request.match_info["key"]))


# ------------------------------------------------------------------ writes


def _create(desk, actor, doc: dict):
    name = email = None
    requester = doc.get("requester")
    if requester:
        text = requester.strip()
        if text.endswith(">") and "<" in text:
            name, _, email = text[:-1].rpartition("<")
            name, email = name.strip() or None, email.strip()
        elif "@" in text and " " not in text:
            email = text
        else:
            name = text
    out = tickets.create(
        desk, actor, title=doc["title"], description=doc.get("description") or "", requester_name=name,
        requester_email=email, impact=doc.get("impact"), urgency=doc.get("urgency"), priority=doc.get("priority"),
        team=doc.get("team"), category=doc.get("category"), service=doc.get("service"),
        assignee=doc.get("assignee"), source="api",
    )
    return {"ok": True, "key": out.key, "version": out.version}


@_api
async def create_ticket(request: web.Request) -> web.Response:
    doc = await _json(request)
    _field(doc, "title", required=True)
    for name in ("description", "impact", "urgency", "priority", "team", "category", "service", "assignee",
                 "requester"):
        _field(doc, name)
    return _answer(await _call(request, _create, doc), 201)


def _comment(desk, actor, key, text: str, public: bool, expected):
    write = tickets.reply if public else tickets.note
    out = write(desk, actor, key, text, source="api", expected_version=expected)
    return {"ok": True, "key": out.key, "version": out.version}


@_api
async def comment(request: web.Request) -> web.Response:
    doc = await _json(request)
    text = _field(doc, "text", required=True)
    public = _field(doc, "public", bool)
    expected = _field(doc, "expected_version", int)
    return _answer(await _call(request, _comment, request.match_info["key"], text, bool(public), expected))


def _transition(desk, actor, key, doc: dict):
    action, expected = doc["action"], doc.get("expected_version")
    if action == "take":
        out = tickets.take(desk, actor, key, expected_version=expected)
    elif action == "ack":
        out = tickets.acknowledge(desk, actor, key, expected_version=expected)
    elif action == "assign":
        agent = doc.get("agent", tickets.UNSET)
        team = doc.get("team", tickets.UNSET)
        out = tickets.assign(desk, actor, key, agent=agent, team=team, expected_version=expected)
    elif action == "status":
        out = tickets.set_status(desk, actor, key, doc.get("status") or "", expected_version=expected)
    elif action == "resolve":
        out = tickets.resolve(desk, actor, key, doc.get("code") or "", doc.get("note"), expected_version=expected)
    elif action == "close":
        out = tickets.close(desk, actor, key, expected_version=expected)
    elif action == "reopen":
        out = tickets.reopen(desk, actor, key, doc.get("reason"), expected_version=expected)
    else:
        out = tickets.cancel(desk, actor, key, doc.get("reason") or "", expected_version=expected)
    return {"ok": True, "key": out.key, "version": out.version,
            "changes": [{"field": f, "old": shown(desk.directory, f, o), "new": shown(desk.directory, f, n)}
                        for f, o, n in out.changes]}


@_api
async def transition(request: web.Request) -> web.Response:
    doc = await _json(request)
    action = _field(doc, "action", required=True)
    if action not in TRANSITIONS:
        raise Refusal(400, f"'action' must be one of {', '.join(TRANSITIONS)}; not {action!r}")
    for name in ("status", "code", "note", "reason"):
        _field(doc, name)
    for name in ("agent", "team"):
        if name in doc and doc[name] is not None and not isinstance(doc[name], str):
            raise Refusal(400, f"'{name}' must be a string or null")
    _field(doc, "expected_version", int)
    return _answer(await _call(request, _transition, request.match_info["key"], doc))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/tickets", list_tickets)
    app.router.add_post("/v1/tickets", create_ticket)
    app.router.add_get("/v1/tickets/{key}", show_ticket)
    app.router.add_post("/v1/tickets/{key}/comments", comment)
    app.router.add_post("/v1/tickets/{key}/transition", transition)
