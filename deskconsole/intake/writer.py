"""The intake's writer in a process of its own.

:class:`~deskconsole.intake.batcher.Batcher` writes in a thread of the
listener's process, so the HTTP side (parsing, tokens, answers) and the
writer take turns on one interpreter lock: under a storm the process runs
one core flat out and the second sits idle. :class:`ProcessWriter` keeps
the same contract — ``submit(actor, events)`` from the event loop, the same
batches (every post waiting, up to ``MAX_EVENTS``, one transaction each),
one database connection, so one writer per dedup key — but in a child
process that opens the desk itself. The listener sends it the events it
has already authenticated and checked; the child answers each post with
what its events did.

If the child dies, every post it held hears an error (503, retry: an event
it had committed before dying counts as a repeat when it comes again, never
as a second ticket) and a new child takes over; posts that arrive while
there is none are answered 503 at once.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass

log = logging.getLogger("deskconsole.intake")

START_SECONDS = 60.0  # for the child to open the desk
RETRY_SECONDS = 1.0  # between attempts to start a new child after one died


class WriterUnavailable(Exception):
    """The writer process died or is not running: nothing can be stored now."""


class WriteFailed(Exception):
    """The writer process could not store a batch; ``kind`` names what went wrong there."""

    def __init__(self, kind: str, text: str):
        super().__init__(f"{kind}: {text}")
        self.kind = kind


@dataclass
class _Job:
    id: int
    actor: object
    events: list


class ProcessWriter:
    def __init__(self, desk, rules, *, start_seconds: float = START_SECONDS) -> None:
        self.url = desk.url
        self.config = desk.config
        self.rules = rules
        self.start_seconds = start_seconds
        self.batches = 0  # transactions committed
        self.events = 0
        self.restarts = 0
        self._ids = itertools.count()
        self._lock = threading.Lock()  # guards _conn, _proc, _sent
        self._waiting: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future]] = {}  # not answered yet
        self._sent: set[int] = set()  # in the pipe to the current child
        self._outbox: queue.Queue = queue.Queue()
        self._closing = False
        self._ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no copied connection or threads
        self._conn, self._proc = self._spawn()  # a desk the child cannot open fails here, before listening
        self._receiver = self._receive_from(self._conn, self._proc)
        self._sender = threading.Thread(target=self._send, name="intake-writer-send", daemon=True)
        self._sender.start()

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None else None

    async def submit(self, actor, events: list) -> list:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        job = _Job(next(self._ids), actor, events)
        self._waiting[job.id] = (loop, future)
        self._outbox.put(job)
        try:
            return await future
        finally:
            self._waiting.pop(job.id, None)

    def close(self) -> None:
        """Write what has been submitted, then stop the child."""
        self._closing = True
        self._outbox.put(None)
        self._sender.join(timeout=30)
        proc = self._proc
        if proc is not None:
            proc.join(timeout=30)
            if proc.is_alive():
                log.error("intake: the writer process did not stop in 30 s; ending it")
                proc.kill()
                proc.join(timeout=5)
        if self._receiver is not None:
            self._receiver.join(timeout=5)

    # ------------------------------------------------------------------ the child's lifetime

    def _spawn(self):
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_main, args=(self.url, self.config, self.rules, child),
                                 name="deskconsole-intake-writer", daemon=True)
        proc.start()
        child.close()
        try:
            if not parent.poll(self.start_seconds):
                raise WriterUnavailable(f"the writer process did not open the desk in {self.start_seconds:.0f} s")
            word, detail = parent.recv()
        except (EOFError, OSError):
            word, detail = "failed", f"it exited with code {proc.exitcode}"
        except WriterUnavailable:
            proc.kill()
            proc.join(timeout=5)
            parent.close()
            raise
        if word != "ready":
            proc.join(timeout=5)
            parent.close()
            raise WriterUnavailable(f"the writer process could not open the desk: {detail}")
        return parent, proc

    def _receive_from(self, conn, proc) -> threading.Thread:
        thread = threading.Thread(target=self._receive, args=(conn, proc), name="intake-writer-receive", daemon=True)
        thread.start()
        return thread

    def _receive(self, conn, proc) -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            if message is None:  # the child stopped, as asked
                break
            transactions, answers = message
            self.batches += transactions
            self._answer(answers)
        self._child_gone(conn, proc)

    def _child_gone(self, conn, proc) -> None:
        proc.join(timeout=5)
        with self._lock:
            lost, self._sent = self._sent, set()
            self._conn = self._proc = None
        conn.close()
        if lost or not self._closing:
            log.error("intake: the writer process ended (exit code %s) holding %d post(s); they were answered 503",
                      proc.exitcode, len(lost))
        self._answer([(i, None, ("WriterUnavailable", "the writer process ended")) for i in lost])
        while not self._closing:
            try:
                conn, proc = self._spawn()
            except Exception as exc:
                log.error("intake: starting a new writer process failed: %s", exc)
                time.sleep(RETRY_SECONDS)
                continue
            with self._lock:
                if self._closing:  # close() came meanwhile: this child is not wanted
                    conn.send(None)
                    proc.join(timeout=30)
                    return
                self._conn, self._proc = conn, proc
                self.restarts += 1
            self._receiver = self._receive_from(conn, proc)
            return

    def _send(self) -> None:
        from deskconsole.intake.batcher import take

        while True:
            jobs, stop = take(self._outbox)
            refused = []
            with self._lock:
                conn = self._conn
                if conn is None:
                    refused = jobs
                elif jobs:
                    self._sent.update(job.id for job in jobs)
                    try:
                        conn.send([(job.id, job.actor, job.events) for job in jobs])
                    except (OSError, ValueError):  # the child is gone: its receiver answers the posts sent to it
                        pass
                if stop and conn is not None:
                    try:
                        conn.send(None)  # write what it has, then stop
                    except (OSError, ValueError):
                        pass
            if refused:
                self._answer([(job.id, None, ("WriterUnavailable", "no writer process is running")) for job in refused])
            if stop:
                return

    def _answer(self, answers: list) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list] = {}
        with self._lock:
            self._sent.difference_update(i for i, _, _ in answers)
        for i, results, failure in answers:
            waiting = self._waiting.get(i)
            if waiting is None:  # its post went away
                continue
            if failure is None:
                self.events += len(results)
                outcome = (results, None)
            else:
                kind, text = failure
                outcome = (None, WriterUnavailable(text) if kind == "WriterUnavailable" else WriteFailed(kind, text))
            by_loop.setdefault(waiting[0], []).append((waiting[1], *outcome))
        from deskconsole.intake.batcher import _settle_all

        for loop, settled in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle_all, settled)
            except RuntimeError:  # that loop has closed: nobody is waiting
                pass


# ------------------------------------------------------------------ in the child


def _main(url: str, config, rules, conn) -> None:
    """The writer process: open the desk, then write batches until told to stop
    (None) or the listener's end of the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the listener stops us
    from deskconsole.binding import use
    from deskconsole.core.desk import open_desk
    from deskconsole.intake.batcher import take, write_batch

    try:
        desk = open_desk(url, config, migrate=False, create=False)
    except Exception as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", os.getpid()))
    jobs: queue.Queue = queue.Queue()

    def read() -> None:  # keeps the pipe drained while a batch is written, so the listener never waits to send
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                message = None
            if message is None:
                jobs.put(None)
                return
            for job in message:
                jobs.put(_Job(*job))

    threading.Thread(target=read, name="intake-writer-read", daemon=True).start()
    try:
        with use(desk.db):
            desk.db.connect(reuse_if_open=True)
            while True:
                batch, stop = take(jobs)
                if batch:
                    written, transactions = write_batch(desk, rules, batch)
                    answers = [(job.id, results, None if exc is None else (type(exc).__name__, str(exc)))
                               for job, results, exc in written]
                    try:
                        conn.send((transactions, answers))
                    except (OSError, ValueError):
                        return  # the listener is gone
                if stop:
                    conn.send(None)
                    return
    finally:
        desk.close()
