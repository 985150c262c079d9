"""Alert events from many concurrent posts, written a batch per transaction.

Every post hands its events to :meth:`Batcher.submit` and awaits their
results. One writer thread (one database connection) takes whatever has
queued up — the first post waiting, and all that arrived while the last
batch was written, up to :data:`MAX_EVENTS` — and writes them in one
transaction: one commit (one fsync on SQLite) for a storm's worth of
alerts, and never two writers racing for one dedup key. The event loop
never waits for the database.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from deskconsole.binding import use
from deskconsole.core import alerts

log = logging.getLogger("deskconsole.intake")

MAX_EVENTS = 500  # in one transaction


@dataclass
class _Job:
    actor: object
    events: list
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    queued: float = field(default_factory=time.perf_counter)


class Batcher:
    def __init__(self, desk, rules) -> None:
        self.desk = desk
        self.rules = rules
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="intake-writer", daemon=True)
        self.batches = 0
        self.events = 0
        self._thread.start()

    async def submit(self, actor, events: list) -> list[alerts.Received]:
        loop = asyncio.get_running_loop()
        job = _Job(actor, events, loop, loop.create_future())
        self._jobs.put(job)
        return await job.future

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        db = self.desk.db
        with use(db):
            db.connect(reuse_if_open=True)
            try:
                while True:
                    first = self._jobs.get()
                    if first is None:
                        return
                    jobs, count = [first], len(first.events)
                    while count < MAX_EVENTS:
                        try:
                            job = self._jobs.get_nowait()
                        except queue.Empty:
                            break
                        if job is None:
                            self._jobs.put(None)  # finish this batch, then stop
                            break
                        jobs.append(job)
                        count += len(job.events)
                    self._write(jobs)
            finally:
                if not db.is_closed():
                    db.close()

    def _write(self, jobs: list[_Job]) -> None:
        by_actor: dict[object, list[_Job]] = {}
        for job in jobs:
            by_actor.setdefault(job.actor, []).append(job)
        for actor, group in by_actor.items():
            events = [e for job in group for e in job.events]
            try:
                results = alerts.receive(self.desk, actor, self.rules, events)
            except Exception as exc:  # the whole batch failed (database away, locked too long): each post hears it
                log.error("intake: writing %d event(s) failed: %r", len(events), exc)
                if not self.desk.db.is_closed():
                    try:
                        self.desk.db.close()  # a broken connection: the next batch connects afresh
                    except Exception:
                        self.desk.db._state.reset()
                for job in group:
                    job.loop.call_soon_threadsafe(_settle, job.future, None, exc)
                continue
            self.batches += 1
            self.events += len(events)
            at = 0
            for job in group:
                mine, at = results[at:at + len(job.events)], at + len(job.events)
                job.loop.call_soon_threadsafe(_settle, job.future, mine, None)


def _settle(future: asyncio.Future, result, exc) -> None:
    if future.done():  # the client went away and its handler was cancelled
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)
