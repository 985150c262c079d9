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
from deskconsole.core.inbound import alerts

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
                    jobs, stop = take(self._jobs)
                    if jobs:
                        self._write(jobs)
                    if stop:
                        return
            finally:
                if not db.is_closed():
                    db.close()

    def _write(self, jobs: list[_Job]) -> None:
        answers: dict[asyncio.AbstractEventLoop, list] = {}  # per event loop: (future, results, exception)
        written, transactions = write_batch(self.desk, self.rules, jobs)
        self.batches += transactions
        for job, results, exc in written:
            answers.setdefault(job.loop, []).append((job.future, results, exc))
            if exc is None:
                self.events += len(job.events)
        for loop, settled in answers.items():  # one wake-up of each loop for the whole batch, not one a post
            try:
                loop.call_soon_threadsafe(_settle_all, settled)
            except RuntimeError:  # that loop has closed: nobody is waiting
                pass


def write_batch(desk, rules, jobs: list) -> tuple[list[tuple[object, list | None, Exception | None]], int]:
    """Write the events of ``jobs`` (each with .actor and .events), one
    transaction per actor: for each job (job, its results, None) or (job,
    None, the exception), and how many transactions committed."""
    by_actor: dict[object, list] = {}
    for job in jobs:
        by_actor.setdefault(job.actor, []).append(job)
    out, committed = [], 0
    for actor, group in by_actor.items():
        events = [e for job in group for e in job.events]
        try:
            results = alerts.receive(desk, actor, rules, events)
        except Exception as exc:  # the whole batch failed (database away, locked too long): each post hears it
            log.error("intake: writing %d event(s) failed: %r", len(events), exc)
            if not desk.db.is_closed():
                try:
                    desk.db.close()  # a broken connection: the next batch connects afresh
                except Exception:
                    desk.db._state.reset()
            out += [(job, None, exc) for job in group]
            continue
        committed += 1
        at = 0
        for job in group:
            mine, at = results[at:at + len(job.events)], at + len(job.events)
            out.append((job, mine, None))
    return out, committed


def take(jobs: "queue.Queue") -> tuple[list, bool]:
    """The first job waiting (blocking for it) and every one queued behind
    it, up to :data:`MAX_EVENTS` events; and whether a stop (None) was seen."""
    first = jobs.get()
    if first is None:
        return [], True
    taken, count = [first], len(first.events)
    while count < MAX_EVENTS:
        try:
            job = jobs.get_nowait()
        except queue.Empty:
            break
        if job is None:
            return taken, True  # finish this batch, then stop
        taken.append(job)
        count += len(job.events)
    return taken, False


def _settle_all(settled: list) -> None:
    for future, result, exc in settled:
        _settle(future, result, exc)


def _settle(future: asyncio.Future, result, exc) -> None:
    if future.done():  # the client went away and its handler was cancelled
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)
