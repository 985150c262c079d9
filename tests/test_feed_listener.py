"""LISTEN/NOTIFY on PostgreSQL: a commit that writes the change feed reaches
a listener within milliseconds, and the listener survives its connection
being killed and the server going away and coming back."""

from __future__ import annotations

import statistics
import threading
import time
from urllib.parse import urlparse

import psycopg
import pytest

from deskconsole.core.records import tickets
from deskconsole.core.desk import open_desk
from deskconsole.core.outbound.feed import FeedListener, FeedReader
from deskconsole.core.keys import ticket_id

from tcp_proxy import TcpProxy


class Heard:
    """Counts nudges and remembers when the last came."""

    def __init__(self):
        self.count = 0
        self.at = 0.0
        self.cond = threading.Condition()

    def __call__(self):
        with self.cond:
            self.count += 1
            self.at = time.perf_counter()
            self.cond.notify_all()

    def wait_beyond(self, count: int, timeout: float = 10.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.count > count, timeout)


@pytest.fixture
def pg_desk(postgres_url, config, clock):
    desk = open_desk(postgres_url, config, clock)
    yield desk
    desk.close()


def test_a_commit_reaches_the_listener_in_milliseconds(pg_desk, postgres_url, actors):
    heard = Heard()
    listener = FeedListener(postgres_url, heard).start()
    try:
        assert listener.connected.wait(10), listener.error
        assert heard.wait_beyond(0)  # the nudge on connecting: catch up on anything missed
        reader = FeedReader(pg_desk.db)
        for i in range(3):  # through the one write path: the feed names the ticket
            before = heard.count
            t = tickets.create(pg_desk, actors["al"], title=f"Disk full #{i}")
            assert heard.wait_beyond(before), f"no notification for {t.key}"
            changes = reader.poll()
            assert changes is not None and changes.tickets == {ticket_id(t.key)}
        latencies = []  # from asking for the commit to the handler running
        with psycopg.connect(postgres_url) as writer:
            for i in range(50):
                before = heard.count
                writer.execute("INSERT INTO feed (at, actor, action) VALUES (now(), 'bench', 'ping')")
                start = time.perf_counter()
                writer.commit()
                assert heard.wait_beyond(before)
                latencies.append(heard.at - start)
        median = statistics.median(latencies) * 1000
        print(f"\ncommit-to-handler on PostgreSQL: median {median:.2f} ms, max {max(latencies) * 1000:.2f} ms "
              f"over {len(latencies)} commits")
        assert median < 50
    finally:
        listener.stop()
    assert not listener.listening


def test_a_write_that_leaves_the_feed_alone_notifies_nobody(pg_desk, postgres_url, actors):
    heard = Heard()
    listener = FeedListener(postgres_url, heard).start()
    try:
        assert listener.connected.wait(10) and heard.wait_beyond(0)
        pg_desk.db.execute_sql("CREATE TEMP TABLE scratch (x int)")
        pg_desk.db.execute_sql("INSERT INTO scratch VALUES (1)")
        assert not heard.wait_beyond(1, timeout=1.0)
    finally:
        listener.stop()


def test_a_killed_listener_connection_reconnects_and_catches_up(pg_desk, postgres_url, actors):
    heard = Heard()
    listener = FeedListener(postgres_url, heard, backoff=(0.05, 0.5)).start()
    try:
        assert listener.connected.wait(10) and heard.wait_beyond(0)
        pid = listener._conn.info.backend_pid
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 10
        while listener.connects < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert listener.connects == 2, listener.error
        before = heard.count
        tickets.create(pg_desk, actors["al"], title="After the reconnect")
        assert heard.wait_beyond(before)
    finally:
        listener.stop()


def test_the_listener_rides_out_a_server_that_goes_away(pg_desk, postgres_url, actors):
    target = urlparse(postgres_url)
    proxy = TcpProxy((target.hostname, target.port or 5432)).up()
    heard = Heard()
    listener = FeedListener(proxy.url(target.path.lstrip("/")), heard, backoff=(0.05, 0.3)).start()
    try:
        assert listener.connected.wait(10) and heard.wait_beyond(0)
        proxy.down()  # the server restarts: the connection drops, new ones are refused
        deadline = time.monotonic() + 10
        while listener.listening and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not listener.listening and listener.error
        reader = FeedReader(pg_desk.db)
        missed = tickets.create(pg_desk, actors["al"], title="While the listener was away")
        time.sleep(0.5)  # a few refused reconnects
        before = heard.count
        proxy.up()
        assert heard.wait_beyond(before)  # back, and nudged at once to read what it missed
        assert listener.connects == 2
        assert reader.poll().tickets == {ticket_id(missed.key)}
    finally:
        listener.stop()
        proxy.down()
