"""When a live view reads the change feed.

SQLite: every ``every`` seconds (a ``PRAGMA data_version`` read, microseconds
when nothing changed). PostgreSQL: at once when a :class:`FeedListener`
hears a commit (LISTEN/NOTIFY), plus a slow safety poll while it listens;
while it cannot listen (server down, reconnecting) the view falls back to
polling every ``every`` seconds, and so it does after a poll that failed
(the poll returns False) until one succeeds. Polls never overlap: a nudge during a poll
makes one more poll after it, however many nudges came.
"""

from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable

from deskconsole.core.outbound.feed import FeedListener

SAFETY_POLL = 10.0  # seconds between polls while a listener is connected


class FeedWatch:
    def __init__(self, app, desk, poll: Callable[[], Awaitable[bool | None]], every: float,
                 safety: float = SAFETY_POLL):
        self.app = app
        self.desk = desk
        self.poll = poll
        self.every = every
        self.safety = safety
        self.listener: FeedListener | None = None
        self.polls = 0
        self._busy = False
        self._again = False
        self._last = 0.0
        self._failing = False

    def start(self) -> None:
        self.app.set_interval(self.every, self._on_timer)
        if not self.desk.is_sqlite and self.desk.url:
            loop = asyncio.get_running_loop()

            def heard() -> None:  # the listener's thread
                try:
                    loop.call_soon_threadsafe(self._on_nudge)
                except RuntimeError:  # the app's loop is gone: it is shutting down
                    pass

            self.listener = FeedListener(self.desk.url, heard).start()

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.stop()
            self.listener = None

    @property
    def listening(self) -> bool:
        return self.listener is not None and self.listener.listening

    def _on_nudge(self) -> None:
        if self._busy:
            self._again = True
            return
        self.app.run_worker(self.run(), group="feed", exit_on_error=False)

    async def _on_timer(self) -> None:
        if self.listening and not self._failing and time.monotonic() - self._last < self.safety:
            return
        await self.run()

    async def run(self) -> None:
        """Poll now (or once more after the poll in progress)."""
        if self._busy:
            self._again = True
            return
        self._busy = True
        try:
            while True:
                self._again = False
                self._last = time.monotonic()
                self.polls += 1
                self._failing = await self.poll() is False
                if not self._again:
                    return
        finally:
            self._busy = False
