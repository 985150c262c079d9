"""The JSON API on the intake's listener, through a real HTTP client: each
token acts as its directory agent, with that agent's rights and history."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from deskconsole.config import parse_config
from deskconsole.core.inbound import alert_routes
from deskconsole.core.records import tickets
from deskconsole.core.access import tokens
from deskconsole.models import AuditEvent, Ticket

from conftest import TEST_CONFIG
from test_intake_http import Running


@pytest.fixture
def api(desk, actors):
    rules = alert_routes.rules(parse_config(TEST_CONFIG, "x.toml"))
    running = Running(desk, rules)
    running.tokens = {login: tokens.add(desk, actors["ada"], f"client-{login}", login) for login in ("al", "vic", "lee")}
    running.tokens["intake"] = tokens.add(desk, actors["ada"], "alerts")
    yield running
    running.stop()


def call(api, method, path, body=None, *, who="al", raw=None):
    headers = {"Authorization": f"Bearer {api.tokens[who]}"} if who else {}

    async def go():
        async with aiohttp.ClientSession() as session:
            data = raw if raw is not None else (json.dumps(body) if body is not None else None)
            async with session.request(method, api.url + path, data=data, headers=headers) as r:
                return r.status, await r.json(content_type=None)

    return asyncio.run(go())


def test_create_show_list_comment_and_transition(api, desk):
    status, out = call(api, "POST", "/v1/tickets", {"title": "Printer on fire", "priority": "P2",
                                                    "requester": "Ann Lee <ann@example.com>", "team": "ops"})
    assert (status, out["key"]) == (201, "INC-1")
    t = Ticket.get_by_id(1)
    assert (t.created_by, t.source, t.requester_email, t.priority) == ("al", "api", "ann@example.com", "P2")
    status, out = call(api, "POST", "/v1/tickets/INC-1/comments", {"text": "On my way", "public": True})
    assert status == 200 and out["version"] == 2
    call(api, "POST", "/v1/tickets/INC-1/comments", {"text": "extinguisher in room 4"})  # a note
    status, out = call(api, "POST", "/v1/tickets/INC-1/transition", {"action": "take"})
    assert status == 200 and {"field": "assignee", "old": None, "new": "al"} in out["changes"]
    status, out = call(api, "POST", "/v1/tickets/INC-1/transition", {"action": "resolve", "code": "fixed",
                                                                      "note": "out"})
    assert status == 200
    status, shown = call(api, "GET", "/v1/tickets/INC-1", who="vic")
    ticket = shown["ticket"]
    assert (status, ticket["status"], ticket["assignee"]) == (200, "resolved", "al")
    assert [(e["kind"], e["body"]) for e in ticket["entries"]] == [("reply", "On my way"),
                                                                  ("note", "extinguisher in room 4")]
    status, listed = call(api, "GET", "/v1/tickets?q=status:resolved%20fire", who="vic")
    assert (status, listed["total"], [t["key"] for t in listed["tickets"]]) == (200, 1, ["INC-1"])
    actors = {e.actor for e in AuditEvent.select().where(AuditEvent.ticket == 1)}
    assert actors == {"al"}  # the history names the client's agent


def test_the_role_decides_as_on_the_command_line(api, desk):
    tickets.create(desk, tickets_actor(desk, "ada"), title="held by nia", assignee="nia")
    status, out = call(api, "POST", "/v1/tickets", {"title": "a viewer tries"}, who="vic")
    assert status == 403 and "viewer" in out["error"]
    status, out = call(api, "POST", "/v1/tickets/INC-1/transition", {"action": "take"}, who="al")
    assert status == 403 and "reassign" in out["error"]
    assert call(api, "POST", "/v1/tickets/INC-1/transition", {"action": "take"}, who="lee")[0] == 200
    status, out = call(api, "GET", "/v1/tickets", who="intake")
    assert status == 403 and "alert intake" in out["error"]
    assert Ticket.select().count() == 1


def tickets_actor(desk, login):
    from deskconsole.core.identity import actor_for

    return actor_for(desk, login)


def test_conflicts_and_bad_input_say_what_to_do(api, desk):
    call(api, "POST", "/v1/tickets", {"title": "one"})
    status, out = call(api, "POST", "/v1/tickets/INC-1/comments", {"text": "late", "expected_version": 0})
    assert status == 409 and "INC-1" in out["error"]
    for body, reason in [({"title": 7}, "'title' must be a string"), ({}, "'title' is missing"),
                         ({"title": "x", "priority": "P9"}, "P9")]:
        status, out = call(api, "POST", "/v1/tickets", body)
        assert status == 400 and reason in out["error"], out
    status, out = call(api, "POST", "/v1/tickets/INC-1/transition", {"action": "explode"})
    assert status == 400 and "take, ack" in out["error"]
    assert call(api, "GET", "/v1/tickets/INC-99")[0] == 404
    assert call(api, "GET", "/v1/tickets?q=stauts:open")[1]["error"].startswith("unknown field")
    assert call(api, "GET", "/v1/tickets?limit=9999")[0] == 400
    assert call(api, "POST", "/v1/tickets", raw=b"{nope")[0] == 400
    assert call(api, "GET", "/v1/tickets", who=None)[0] == 401
    assert Ticket.select().count() == 1
