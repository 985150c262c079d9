"""Database calls off the event loop (the console, the wallboard, the HTTP API).

None of them touches the database from its event loop. Reads run on
one dedicated thread (one connection, so SQLite's ``PRAGMA data_version``
means something from poll to poll) and writes on another (a write waiting
for a lock never holds up reading). Both hand back plain dataclasses.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

from peewee import DatabaseError, InterfaceError, OperationalError

from deskconsole.binding import use
from deskconsole.db import damaged


class DbRunner:
    def __init__(self, db) -> None:
        self.db = db
        self._reads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="desk-read")
        self._writes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="desk-write")
        self.closed = False

    def read_ahead(self, fn: Callable[..., Any], *args, **kwargs) -> Future:
        """Start a read now, from anywhere (before an event loop runs); await it later with :meth:`result`."""
        return self._reads.submit(self._call, fn, args, kwargs)

    @staticmethod
    async def result(future: Future) -> Any:
        return await asyncio.wrap_future(future)

    async def read(self, fn: Callable[..., Any], *args, **kwargs) -> Any:
        return await asyncio.wrap_future(self._reads.submit(self._call, fn, args, kwargs))

    async def write(self, fn: Callable[..., Any], *args, **kwargs) -> Any:
        return await asyncio.wrap_future(self._writes.submit(self._call, fn, args, kwargs))

    def _call(self, fn, args, kwargs):
        self.db.connect(reuse_if_open=True)
        try:
            with use(self.db):  # whatever fn does, it does on this runner's desk
                return fn(*args, **kwargs)
        except (OperationalError, InterfaceError):
            # The connection may be dead (server restarted, file replaced):
            # drop it, so the next call on this thread connects afresh.
            self._close_connection()
            raise
        except DatabaseError as exc:
            if damaged(exc):  # the file went bad: the next call opens what is at the path (a restored desk)
                self._close_connection()
            raise

    def _close_connection(self) -> None:
        if not self.db.is_closed():
            try:
                self.db.close()
            except Exception:  # a broken connection: forget it all the same
                self.db._state.reset()

    def close(self) -> None:
        """Close both threads' connections and stop the threads (waits for a call in progress)."""
        if self.closed:
            return
        self.closed = True
        for pool in (self._reads, self._writes):
            try:
                pool.submit(self._close_connection).result(timeout=30)
            except Exception:  # a broken connection is closed enough
                pass
            pool.shutdown(wait=True)
