"""The HTTP alert intake as senders meet it: a real listener on a real port,
real clients (aiohttp, curl, a raw socket), both backends. Refused posts
store nothing; a storm from 50 concurrent clients loses nothing and opens
no duplicate."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import aiohttp
import pytest

from deskconsole.config import parse_config
from deskconsole.core.inbound import alert_routes
from deskconsole.core.access import tokens
from deskconsole.intake import posts
from deskconsole.intake.batcher import Batcher
from deskconsole.intake.http import Listener
from deskconsole.intake.posts import Intake
from deskconsole.intake.writer import ProcessWriter
from deskconsole.models import Alert, AuditEvent, Ticket

from conftest import TEST_CONFIG
from desk_env import REAL_LOGIN, free_port, with_real_admin

SECRET = b"0123456789abcdef0123456789abcdef"


class Running:
    """An intake listening on 127.0.0.1:<free port> in a thread of its own."""

    def __init__(self, desk, rules, *, signing_secret=None, max_body=64 * 1024, writer="thread"):
        self.batcher = ProcessWriter(desk, rules) if writer == "process" else Batcher(desk, rules)
        self.intake = Intake(desk, rules, self.batcher, max_body=max_body, signing_secret=signing_secret)
        self.loop = asyncio.new_event_loop()
        self.listener = Listener(self.intake, "127.0.0.1", 0)
        started = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self.listener.start())
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert started.wait(10)
        self.url = f"http://127.0.0.1:{self.listener.port}"

    def stop(self):
        asyncio.run_coroutine_threadsafe(self.listener.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.batcher.close()


@pytest.fixture(params=["thread", "process"])
def server(request, desk, actors):
    """A running intake, once with its writer in a thread, once in a process of its own."""
    token = tokens.add(desk, actors["ada"], "alertmanager")
    rules = alert_routes.rules(parse_config(TEST_CONFIG + '[intake]\ngroup_window = "0m"\n', "x.toml"))
    running = Running(desk, rules, signing_secret=SECRET, writer=request.param)
    running.token = token
    yield running
    running.stop()


def post(url, body, headers=None, *, raw=False):
    """POST with a real HTTP client; (status, JSON answer)."""

    async def go():
        async with aiohttp.ClientSession() as session:
            data = body if raw else json.dumps(body)
            async with session.post(url, data=data, headers=headers or {}) as response:
                return response.status, await response.json(content_type=None)

    return asyncio.run(go())


def bearer(token):
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def am(status="firing", fingerprint="f1", **labels):
    return {"version": "4", "groupKey": "g", "status": status, "truncatedAlerts": 0, "alerts": [
        {"status": status, "labels": {"alertname": "DiskFull", "instance": "db01", **labels},
         "annotations": {"summary": "disk full on db01"}, "startsAt": "2026-11-23T09:00:00Z",
         "endsAt": "0001-01-01T00:00:00Z", "fingerprint": fingerprint}]}


def counts():
    return Ticket.select().count(), Alert.select().count()


def test_alertmanager_posts_open_repeat_and_resolve(server, desk):
    url = server.url + "/v1/alerts/alertmanager"
    assert post(url, am(), bearer(server.token)) == (200, {"ok": True, "results": [
        {"dedup_key": "am:f1", "outcome": "opened", "ticket": "INC-1", "message": "routed by intake.default"}]})
    assert post(url, am(), bearer(server.token))[1]["results"][0]["outcome"] == "repeated"
    assert post(url, am(status="resolved"), bearer(server.token))[1]["results"][0]["outcome"] == "resolved"
    assert Ticket.get_by_id(1).status == "resolved"
    assert Alert.get().count == 2


def test_pagerduty_events_are_answered_as_pagerduty_does(server, desk):
    url = server.url + "/v2/enqueue"
    event = {"routing_key": server.token, "event_action": "trigger", "dedup_key": "srv01/cpu",
             "payload": {"summary": "CPU at 99%", "source": "srv01", "severity": "critical"}}
    assert post(url, event) == (202, {"status": "success", "message": "Event processed", "dedup_key": "srv01/cpu"})
    assert post(url, {"routing_key": server.token, "event_action": "acknowledge", "dedup_key": "srv01/cpu"})[0] == 202
    assert Ticket.get_by_id(1).acknowledged_by == "intake"
    status, answer = post(url, dict(event, routing_key="R0UT1NGKEY"))
    assert status == 401 and answer["status"] == "invalid event" and "not a live token" in answer["errors"][0]
    status, answer = post(url, dict(event, payload={"summary": "x"}))
    assert status == 400 and "payload.source" in answer["errors"][0]
    assert counts() == (1, 1)


def test_plain_json_alerts(server, desk):
    url = server.url + "/v1/alerts"
    status, answer = post(url, {"title": "Backup failed", "dedup_key": "backup", "severity": "error"},
                          bearer(server.token))
    assert (status, answer["outcome"], answer["ticket"]) == (201, "opened", "INC-1")
    assert post(url, {"title": "Backup failed", "dedup_key": "backup"}, bearer(server.token))[0] == 200
    assert Ticket.get_by_id(1).priority == "P2"  # error: impact high, urgency medium


@pytest.mark.parametrize("headers, reason", [
    ({}, "no credentials"),
    ({"Authorization": "Bearer dkt_guessed"}, "not a live token"),
    ({"Authorization": "Basic YWRhOmFkYQ=="}, "must be 'Bearer TOKEN'"),
    ({"Authorization": "Bearer "}, "must be 'Bearer TOKEN'"),
])
def test_posts_without_a_live_token_are_refused_and_store_nothing(server, desk, headers, reason):
    status, answer = post(server.url + "/v1/alerts/alertmanager", am(), headers)
    assert status == 401 and reason in answer["error"]
    assert counts() == (0, 0)


def test_a_revoked_token_is_refused_within_the_refresh(server, desk, actors, monkeypatch):
    assert post(server.url + "/v1/alerts", {"title": "one"}, bearer(server.token))[0] == 201
    tokens.revoke(desk, actors["ada"], "alertmanager")
    server.intake.known_at = 0  # as if TOKEN_REFRESH seconds had passed
    assert post(server.url + "/v1/alerts", {"title": "two"}, bearer(server.token))[0] == 401
    assert Ticket.select().count() == 1


def signed(body: bytes, secret=SECRET, stamp=None):
    stamp = str(int(time.time()) if stamp is None else stamp)
    mac = hmac.new(secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Deskconsole-Timestamp": stamp, "X-Deskconsole-Signature": f"sha256={mac}"}


def test_signed_posts(server, desk):
    url = server.url + "/v1/alerts"
    body = json.dumps({"title": "signed alert"}).encode()
    assert post(url, body, signed(body), raw=True)[0] == 201
    assert Ticket.get_by_id(1).created_by == "intake"
    for headers, reason in [(signed(body, secret=b"x" * 32), "does not match"),
                            (signed(body + b" "), "does not match"),
                            (signed(body, stamp=int(time.time()) - 3600), "more than 5 minutes off")]:
        status, answer = post(url, body, headers, raw=True)
        assert status == 401 and reason in answer["error"], answer
    assert Ticket.select().count() == 1


@pytest.mark.parametrize("body, status, reason", [
    (b"{not json", 400, "not JSON"),
    (b'{"version": "4", "alerts": "many"}', 400, "'alerts' must be a list"),
    (b"\xff\xfe{}", 400, "not UTF-8"),
    (b"[]", 400, "must be a JSON object"),
    (b'{"version": "4", "alerts": [' + b'{"status": "firing", "labels": {"a": "' + b"x" * 70_000 + b'"}}]}', 413,
     "bytes"),
])
def test_malformed_and_oversized_bodies_get_a_4xx_and_store_nothing(server, desk, body, status, reason):
    got, answer = post(server.url + "/v1/alerts/alertmanager", body, bearer(server.token), raw=True)
    assert got == status and reason in answer["error"], answer
    assert counts() == (0, 0)


def test_an_oversized_chunked_body_is_refused(server, desk):
    async def go():
        async def chunks():
            for _ in range(100):
                yield b"x" * 1024

        async with aiohttp.ClientSession() as session:
            async with session.post(server.url + "/v1/alerts", data=chunks(), headers=bearer(server.token)) as r:
                return r.status

    assert asyncio.run(go()) == 413
    assert counts() == (0, 0)


def test_a_slow_client_is_cut_off_and_others_are_served(server, desk, monkeypatch):
    monkeypatch.setattr(posts, "REQUEST_SECONDS", 1.0)
    slow = socket.create_connection(("127.0.0.1", server.listener.port))
    slow.sendall(b"POST /v1/alerts HTTP/1.1\r\nHost: x\r\n")
    start = time.monotonic()
    assert post(server.url + "/v1/alerts", {"title": "served meanwhile"}, bearer(server.token))[0] == 201
    slow.settimeout(10)
    try:
        while True:
            slow.sendall(b"X-Trickle: 1\r\n")  # a header every 0.2 s: never finishing
            time.sleep(0.2)
            if time.monotonic() - start > 8:
                pytest.fail("the slow client was never cut off")
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert time.monotonic() - start < 4
    slow.close()
    assert Ticket.select().count() == 1


def test_unknown_paths_and_methods(server):
    status, answer = post(server.url + "/v1/nothing", {}, bearer(server.token))
    assert status == 404 and "/v1/alerts/alertmanager" in answer["error"]

    async def get():
        async with aiohttp.ClientSession() as s:
            async with s.get(server.url + "/v1/alerts") as r1, s.get(server.url + "/v1/health") as r2:
                return r1.status, (await r1.json())["error"], r2.status, await r2.json()

    assert asyncio.run(get()) == (405, "GET is not allowed here; use POST", 200, {"ok": True})


def test_a_storm_from_50_clients_loses_nothing_and_opens_no_duplicate(server, desk):
    """2,000 posts: 200 alerts firing, repeating and clearing, out of order
    across 50 concurrent connections. Each key's last event is a trigger, so
    each of the 200 ends on exactly one open ticket."""
    rng = random.Random(3)
    plan = []
    for i in range(200):
        steps = ["firing"] + [rng.choice(["firing", "firing", "resolved"]) for _ in range(8)] + ["firing"]
        plan.append((f"k{i}", steps))
    queues = [[] for _ in range(50)]
    for n, (key, steps) in enumerate(plan):
        queues[n % 50].append((key, steps))  # one key's events stay in order on one client
    sent = {"firing": 0, "resolved": 0}

    async def client(session, work):
        statuses = []
        for key, steps in work:
            for status in steps:
                sent[status] += 1
                async with session.post(server.url + "/v1/alerts/alertmanager", data=json.dumps(am(status, key)),
                                        headers=bearer(server.token)) as r:
                    statuses.append(r.status)
                    await r.read()
        return statuses

    async def storm():
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=50)) as session:
            return await asyncio.gather(*(client(session, q) for q in queues))

    statuses = [s for group in asyncio.run(storm()) for s in group]
    assert len(statuses) == 2000 and set(statuses) == {200}
    assert Alert.select().count() == 200  # one row per key
    open_per_key = {}
    for row in Alert.select():
        assert row.status == "firing"
        open_per_key[row.dedup_key] = Ticket.get_by_id(row.ticket_id).status
    assert set(open_per_key.values()) <= {"new"}  # every key's current ticket is open, once
    # triggers = each ticket's first one + every repeat counted in the history
    repeats = AuditEvent.select().where(AuditEvent.field == "repeats").count()
    assert Ticket.select().count() + repeats == sent["firing"]
    assert server.batcher.batches < 2000  # concurrent posts shared transactions


def cli_desk(tmp_path, write_config, token_name: str):
    """A SQLite desk made by the real login (its admin), the command line
    that works on it, its environment, a new intake token and a free port."""
    from test_cli import created

    cfg = write_config(with_real_admin(TEST_CONFIG))
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    created(cfg, url)
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    base = [sys.executable, "-m", "deskconsole", "--config", str(cfg), "--db", url]
    token = subprocess.run(base + ["token", "add", token_name], capture_output=True, text=True, env=env,
                           check=True).stdout.strip()
    return base, env, token, free_port()


def test_the_command_line_intake_with_curl(tmp_path, write_config):
    """`deskconsole intake http` as an operator starts it, posted to with curl."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed (apt-get install curl)")
    base, env, token, port = cli_desk(tmp_path, write_config, "curl")
    proc = subprocess.Popen(base + ["intake", "http", "--listen", f"127.0.0.1:{port}"], stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        line = proc.stderr.readline()
        assert f"listening on http://127.0.0.1:{port}" in line and "/v1/alerts/alertmanager" in line
        out = subprocess.run(["curl", "-s", "-w", " %{http_code}", "-H", f"Authorization: Bearer {token}",
                              "-H", "Content-Type: application/json", "--data-binary", json.dumps(am()),
                              f"http://127.0.0.1:{port}/v1/alerts/alertmanager"],
                             capture_output=True, text=True, timeout=30).stdout
        body, code = out.rsplit(" ", 1)
        assert code == "200" and json.loads(body)["results"][0]["ticket"] == "INC-1"
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=30)[1]
    assert proc.returncode == 0 and "1 event(s) accepted" in rest
    shown = subprocess.run(base + ["show", "INC-1"], capture_output=True, text=True, env=env).stdout
    assert "DiskFull: disk full on db01" in shown and "intake" in shown
    assert REAL_LOGIN  # the token was made by the real login, a desk admin by the desk's directory


def test_only_agents_may_run_the_intake_and_only_admins_make_tokens(desk, actors):
    from deskconsole.errors import PermissionDenied
    from deskconsole.core.permissions import require

    with pytest.raises(PermissionDenied, match="run the alert intake"):
        require(actors["vic"], "intake")
    with pytest.raises(PermissionDenied):
        tokens.add(desk, actors["lee"], "sneaky")
    assert tokens.live(desk) == {}


def test_the_daemon_runs_the_intake_beside_the_sla_loop(tmp_path, write_config):
    base, env, token, port = cli_desk(tmp_path, write_config, "d")
    proc = subprocess.Popen(base + ["daemon", "--interval", "1", "--intake", f"127.0.0.1:{port}"],
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = [proc.stderr.readline(), proc.stderr.readline()]
        assert any("sweeping" in line for line in lines) and any("listening on" in line for line in lines), lines
        status, answer = post(f"http://127.0.0.1:{port}/v1/alerts", {"title": "from the daemon's intake"},
                              bearer(token))
        assert (status, answer["ticket"]) == (201, "INC-1")
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=30)[1]
    assert proc.returncode == 0 and "1 event(s) accepted" in rest and "stopped after" in rest
