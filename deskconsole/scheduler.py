"""The live SLA loop: an APScheduler job that sweeps the desk every few
seconds, in any running console and in ``deskconsole daemon``.

Each sweep opens and closes its own database connection in the scheduler's
worker thread, so stopping the loop leaves nothing open behind it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED
from apscheduler.schedulers.background import BackgroundScheduler

from deskconsole.core.automation.sweep import DEFAULT_INTERVAL, SweepReport, sweep

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

log = logging.getLogger("deskconsole.sla")


class SlaLoop:
    """Sweep ``desk`` every ``interval`` seconds until :meth:`stop`.

    ``on_sweep`` (optional) receives each :class:`SweepReport` in the worker
    thread — a console uses it to refresh, a daemon to count.
    """

    def __init__(self, desk: "Desk", interval: float = DEFAULT_INTERVAL,
                 on_sweep: Callable[[SweepReport], None] | None = None,
                 also: tuple[tuple[str, Callable[[], None], float], ...] = ()):
        if interval <= 0:
            raise ValueError("the sweep interval must be more than 0 seconds")
        self.desk = desk
        self.interval = interval
        self.on_sweep = on_sweep
        self.also = also  # (id, function, seconds): more jobs on the same scheduler (the daemon's outbox drain)
        self.sweeps = 0
        self.failures = 0
        self.failing = False  # the last sweep failed (the database is away); the next one tries again
        self._scheduler: BackgroundScheduler | None = None

    @property
    def running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    def start(self) -> None:
        if self.running:
            return
        scheduler = BackgroundScheduler(
            timezone=timezone.utc,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": max(1, int(self.interval))},
        )
        scheduler.add_listener(self._trouble, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
        scheduler.add_job(self.tick, "interval", seconds=self.interval, id="sla-sweep",
                          next_run_time=datetime.now(timezone.utc))
        for job_id, fn, seconds in self.also:
            scheduler.add_job(fn, "interval", seconds=seconds, id=job_id, next_run_time=datetime.now(timezone.utc))
        scheduler.start()
        self._scheduler = scheduler
        log.info("SLA loop started: every %ss on %s", self.interval, self.desk.url or "the desk")

    def tick(self) -> SweepReport:
        """One sweep (the job's body; callable directly)."""
        with self.desk.db.connection_context():
            report = sweep(self.desk)
        self.sweeps += 1
        if self.failing:
            log.info("sweeping again after %d failure(s)", self.failures)
        self.failing = False
        if report.crossings or report.clocks:
            log.info("sweep: %s in %.1f ms", report, report.seconds * 1000)
        if self.on_sweep:
            self.on_sweep(report)
        return report

    def _trouble(self, event) -> None:
        if getattr(event, "exception", None) is not None:
            self.failures += 1
            self.failing = True
            log.error("sweep failed: %r", event.exception, exc_info=event.exception)
        else:
            log.warning("sweep skipped: the previous one was still running at %s", event.scheduled_run_time)

    def stop(self) -> None:
        """Stop and wait for a sweep in progress to finish."""
        if self._scheduler is not None:
            if self._scheduler.running:
                self._scheduler.shutdown(wait=True)
            self._scheduler = None
            log.info("SLA loop stopped after %d sweep(s)", self.sweeps)
