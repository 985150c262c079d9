"""SLA sweep benchmark: the live loop's cost on a desk with many open tickets.

    python bench/sla_sweep.py [--open 100000 1000000] [--sweeps 120] [--workdir DIR]

For each size it builds a SQLite desk with that many open tickets (two
clocks each: first response and resolution, on the default policies — P1
24x7, P2..P4 business hours) created over a span that grows with the size
(10 days per 100,000 tickets), so every desk has the same number of clocks
crossing per minute and only the number of open tickets differs. Then it
runs ``--sweeps`` sweeps 5 simulated seconds apart (the loop's interval) and
prints the median and 90th percentile time per sweep, the crossings per
sweep and the share of tickets that crossed during the run; then one
*burst* sweep after an hour without sweeping (a loop that was down).

Prints one line per figure and a JSON summary last.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deskconsole.config import parse_config  # noqa: E402
from deskconsole.core.sla_clocks import sla_history  # noqa: E402
from deskconsole.core.bulk import insert_rows  # noqa: E402
from deskconsole.core.clock import ManualClock  # noqa: E402
from deskconsole.core.desk import open_desk  # noqa: E402
from deskconsole.core.automation.escalation import SLA_ACTOR  # noqa: E402
from deskconsole.core.automation.sweep import sweep  # noqa: E402
from deskconsole.core.txn import unit_of_work  # noqa: E402
from deskconsole.models import SlaClock, SlaCrossing, Ticket  # noqa: E402
from deskconsole.sla.defaults import DEFAULT_SLA_TOML  # noqa: E402

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)  # a Monday, in business hours
CONFIG = """
[desk]
name = "bench"
default_team = "ops"
[teams.ops]
name = "Operations"
email = "ops@example.com"
[agents.ada]
name = "Ada"
role = "admin"
team = "ops"
email = "ada@example.com"
""" + DEFAULT_SLA_TOML
FIELDS = ("title", "description", "status", "priority", "team", "created_by", "created_at", "updated_at",
          "acknowledged_at", "reopen_count", "source", "version")


def build(path: Path, n: int, seed: int = 11) -> tuple[object, ManualClock, float]:
    clock = ManualClock(T0)
    desk = open_desk(f"sqlite:///{path}", parse_config(CONFIG, "bench.toml"), clock)
    rng = random.Random(seed)
    span = 10 * 86400 * n / 100_000
    team = desk.directory.team("ops")
    started = time.perf_counter()
    rows = []
    for _ in range(n):
        created = T0 - timedelta(seconds=rng.random() * span)
        status = rng.choices(("new", "in_progress", "pending"), (3, 6, 1))[0]
        acked = created + timedelta(minutes=5) if status != "new" else None
        rows.append(("bench", "", status, rng.choices(("P1", "P2", "P3", "P4"), (1, 3, 4, 2))[0], team, "ada",
                     created, created if status != "pending" else created + timedelta(minutes=30), acked, 0,
                     "import", 1))
    with desk.transaction():
        insert_rows(Ticket, FIELDS, rows)
    with unit_of_work(desk, SLA_ACTOR, "sla"):
        sla_history.missing(desk)
    return desk, clock, time.perf_counter() - started


def measure(desk, clock: ManualClock, n: int, sweeps: int) -> dict:
    sweep(desk)  # catch up to T0 (thresholds passed before the run)
    times, crossings = [], []
    before = SlaCrossing.select().count()
    for _ in range(sweeps):
        clock.advance(5)
        report = sweep(desk)
        times.append(report.seconds * 1000)
        crossings.append(report.crossings)
    crossed_tickets = SlaCrossing.select(SlaCrossing.ticket).where(SlaCrossing.id > before).distinct().count()
    clock.advance(3600)
    burst = sweep(desk, batch=1_000_000)
    times.sort()
    return {
        "open": n,
        "sweep_ms_median": statistics.median(times),
        "sweep_ms_p90": times[int(len(times) * 0.9) - 1],
        "crossings_per_sweep_median": statistics.median(crossings),
        "crossings_total": sum(crossings),
        "tickets_crossed_pct": 100 * crossed_tickets / n,
        "burst_crossings": burst.crossings,
        "burst_ms": burst.seconds * 1000,
        "burst_us_per_crossing": burst.seconds * 1e6 / max(1, burst.crossings),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--open", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--sweeps", type=int, default=120)
    ap.add_argument("--workdir")
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="deskbench-sla-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for n in args.open:
        path = work / f"sla-{n}.db"
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)
        desk, clock, built = build(path, n)
        clocks = SlaClock.select().count()
        print(f"{n:,} open tickets, {clocks:,} clocks built in {built:.1f} s ({n / built:,.0f} tickets/s)")
        r = measure(desk, clock, n, args.sweeps)
        r["build_s"] = built
        print(f"  sweep every 5 s: median {r['sweep_ms_median']:.2f} ms, p90 {r['sweep_ms_p90']:.2f} ms, "
              f"{r['crossings_per_sweep_median']:g} crossings/sweep (median), "
              f"{r['tickets_crossed_pct']:.2f} % of tickets crossed in {args.sweeps * 5 / 60:.0f} min")
        print(f"  burst after 1 h without sweeping: {r['burst_crossings']:,} crossings in {r['burst_ms']:.0f} ms "
              f"({r['burst_us_per_crossing']:.0f} µs per crossing)")
        results.append(r)
        desk.close()
    if len(results) > 1:
        a, b = results[0], results[-1]
        print(f"{b['open'] / a['open']:.0f}x the open tickets: sweep median x{b['sweep_ms_median'] / a['sweep_ms_median']:.2f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
