"""The intake's writer in a process of its own, behind a real listener: it
writes what the listener took and stops cleanly when the listener stops;
when it dies, the posts it held hear 503 (retry) and a new one takes over;
a desk it cannot open stops the intake before it listens.

(The HTTP behaviour itself — refusals, tokens, signatures, a storm from 50
clients — runs against both writers in test_intake_http.py.)"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import threading
import time
from types import SimpleNamespace

import aiohttp
import pytest

from deskconsole.config import parse_config
from deskconsole.core.inbound import alert_routes
from deskconsole.core.access import tokens
from deskconsole.core.desk import open_desk
from deskconsole.intake.writer import ProcessWriter, WriterUnavailable
from deskconsole.models import Alert

from conftest import TEST_CONFIG
from test_intake_http import Running, am, bearer, post

RULES = TEST_CONFIG + '[intake]\ngroup_window = "0m"\n'


@pytest.fixture
def running(sqlite_url, config, clock, actors):
    desk = open_desk(sqlite_url, config, clock)
    token = tokens.add(desk, actors["ada"], "alertmanager")
    server = Running(desk, alert_routes.rules(parse_config(RULES, "x.toml")), writer="process")
    server.token, server.desk, server.path = token, desk, sqlite_url.removeprefix("sqlite:///")
    yield server
    if server.thread.is_alive():
        server.stop()
    desk.close()


def stored_keys(desk) -> set[str]:
    with desk.bound():
        return {a.dedup_key for a in Alert.select()}


def wait_until(condition, seconds=20.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def post_many(url, token, keys) -> list[int]:
    async def go():
        async with aiohttp.ClientSession() as session:
            async def one(key):
                async with session.post(url, data=json.dumps(am("firing", key)), headers=bearer(token)) as r:
                    await r.read()
                    return r.status

            return await asyncio.gather(*(one(k) for k in keys))

    return asyncio.run(go())


def test_stopping_the_listener_answers_every_post_held_and_ends_the_writer(running):
    """Posts waiting in the writer when the listener is told to stop are
    written and answered before it stops; the writer process exits cleanly."""
    url = running.url + "/v1/alerts/alertmanager"
    child = running.batcher._proc
    lock = sqlite3.connect(running.path, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # the writer waits on this until it is released
    statuses = []
    posting = threading.Thread(target=lambda: statuses.extend(post_many(url, running.token, [f"s{i}" for i in range(20)])))
    posting.start()
    wait_until(lambda: running.batcher._sent)  # the writer holds posts
    stopping = threading.Thread(target=running.stop)
    stopping.start()
    time.sleep(0.3)
    lock.execute("ROLLBACK")
    lock.close()
    posting.join(30)
    stopping.join(60)
    assert statuses == [200] * 20
    assert stored_keys(running.desk) == {f"am:s{i}" for i in range(20)}
    assert not child.is_alive() and child.exitcode == 0
    assert running.batcher.events == 20 and running.batcher.restarts == 0


def test_a_writer_process_that_dies_is_replaced_and_its_posts_hear_503(running):
    url = running.url + "/v1/alerts/alertmanager"
    assert post(url, am("firing", "before"), bearer(running.token))[0] == 200
    old = running.batcher.pid
    lock = sqlite3.connect(running.path, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # the next post waits in the writer
    answer = {}
    held = threading.Thread(target=lambda: answer.update(r=post(url, am("firing", "held"), bearer(running.token))))
    held.start()
    wait_until(lambda: running.batcher._sent)
    os.kill(old, signal.SIGKILL)
    held.join(30)
    status, body = answer["r"]
    assert status == 503 and "retry" in body["error"] and body["ok"] is False
    lock.execute("ROLLBACK")
    lock.close()

    def taken():  # a new writer takes over; until it has, posts are answered 503 at once
        status, body = post(url, am("firing", "after"), bearer(running.token))
        assert status in (200, 503), body
        return status == 200

    wait_until(taken, 60)
    assert running.batcher.pid not in (None, old) and running.batcher.restarts == 1
    assert stored_keys(running.desk) == {"am:before", "am:after"}  # the held post was never committed
    child = running.batcher._proc
    running.stop()
    assert not child.is_alive() and child.exitcode == 0


def test_a_desk_the_writer_cannot_open_stops_the_intake_before_it_listens(tmp_path, config):
    missing = SimpleNamespace(url=f"sqlite:///{tmp_path / 'gone.db'}", config=config)
    with pytest.raises(WriterUnavailable, match="could not open the desk"):
        ProcessWriter(missing, alert_routes.rules(parse_config(RULES, "x.toml")))
    assert not (tmp_path / "gone.db").exists()  # nothing was created
