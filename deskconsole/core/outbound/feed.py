"""The change feed, read cheaply: what changed since sequence N.

Every write appends feed rows (see :mod:`deskconsole.core.txn`). A live view
polls :meth:`FeedReader.poll` every half second or so: on SQLite it first
asks ``PRAGMA data_version`` (microseconds; it moves only when another
connection committed) and reads the feed only then; on PostgreSQL it reads
the feed past its sequence number, an index lookup.

On PostgreSQL a :class:`FeedListener` also waits on ``LISTEN deskconsole_feed``
(a trigger notifies it at every commit that wrote the feed, migration 5) on a
dedicated autocommit connection, and tells the view to poll at once. The feed
stays the source of truth: a notification carries nothing, and after the
listener reconnects it nudges the view once, which reads whatever it missed.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Callable

from deskconsole.db import is_sqlite, parse_url
from deskconsole.models import FeedEntry

CHANNEL = "deskconsole_feed"
log = logging.getLogger("deskconsole.feed")


@dataclass
class Changes:
    seq: int
    tickets: set[int] = field(default_factory=set)
    actions: list[tuple[str, str, int | None]] = field(default_factory=list)  # (actor, action, ticket)


class FeedReader:
    """Reads the feed forward from where it was created (the newest row then)."""

    def __init__(self, db):
        self.db = db
        self.seq = self._newest()
        self._version = self._data_version()

    def _newest(self) -> int:
        row = self.db.execute_sql("SELECT MAX(seq) FROM feed").fetchone()
        return int(row[0] or 0)

    def _data_version(self) -> int | None:
        if not is_sqlite(self.db):
            return None
        return self.db.execute_sql("PRAGMA data_version").fetchone()[0]

    def poll(self, limit: int = 5000) -> Changes | None:
        """What changed since the last poll, or None when nothing did."""
        if is_sqlite(self.db):
            version = self._data_version()
            if version == self._version:
                return None
            self._version = version
        rows = list(
            FeedEntry.select(FeedEntry.seq, FeedEntry.actor, FeedEntry.action, FeedEntry.ticket)
            .where(FeedEntry.seq > self.seq)
            .order_by(FeedEntry.seq)
            .limit(limit)
            .tuples()
        )
        if not rows:
            return None
        changes = Changes(seq=rows[-1][0])
        for seq, actor, action, ticket in rows:
            if ticket is not None:
                changes.tickets.add(ticket)
            changes.actions.append((actor, action, ticket))
        self.seq = changes.seq
        return changes


class FeedListener:
    """Calls ``on_change`` (in its own thread) soon after any commit that wrote
    the feed of the PostgreSQL desk at ``url``; reconnects by itself."""

    def __init__(self, url: str, on_change: Callable[[], None], *, wait: float = 0.5,
                 backoff: tuple[float, float] = (0.2, 5.0)):
        self.url = url
        self.on_change = on_change
        self.wait = wait  # how often the thread looks up from waiting to see if it should stop
        self.backoff = backoff
        self.connected = threading.Event()
        self.connects = 0  # successful (re)connections, for the curious and for tests
        self.error: str | None = None  # why it is not listening now, if it is not
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn = None

    def start(self) -> "FeedListener":
        self._thread = threading.Thread(target=self._run, name="desk-listen", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    @property
    def listening(self) -> bool:
        return self.connected.is_set()

    def _connect(self):
        import psycopg

        info = parse_url(self.url)
        conn = psycopg.connect(dbname=info.dbname, autocommit=True, **(info.params or {}))
        conn.execute(f"LISTEN {CHANNEL}")
        return conn

    def _run(self) -> None:
        delay = self.backoff[0]
        while not self._stop.is_set():
            try:
                self._conn = self._connect()
            except Exception as exc:  # server down or refusing: wait and try again
                self.error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                self._stop.wait(delay)
                delay = min(delay * 2, self.backoff[1])
                continue
            delay, self.error = self.backoff[0], None
            self.connects += 1
            self.connected.set()
            self._nudge()  # whatever was committed while we were not listening
            try:
                while not self._stop.is_set():
                    if any(True for _ in self._conn.notifies(timeout=self.wait, stop_after=1)):
                        self._nudge()
            except Exception as exc:  # connection lost: the server restarted, a network blip
                self.error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                log.warning("change-feed listener lost its connection (%s); reconnecting", self.error)
            finally:
                self.connected.clear()
                self._close()
            if not self._stop.is_set():
                self._nudge()  # the view looks at once: its own connections may have gone the same way

    def _nudge(self) -> None:
        try:
            self.on_change()
        except Exception:  # the view's business; the listener keeps listening
            log.exception("change-feed listener: on_change failed")

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass
