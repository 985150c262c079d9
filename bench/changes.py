"""Changes on a busy desk: N changes over a year on a service map of S
services (each depending on a few others), written through the core (one
unit of work each, audit included), then timed in-process, medians of --runs:

- the collisions of one change's window (windows of the policy, maintenance,
  other open changes on connected services);
- a change's whole detail (fields, approvals, collisions, incidents);
- the week's calendar with every change's collisions (what ``changes
  calendar`` and the console's week view read);
- the changes near an incident's service (the last 48 h and the next 24 h);
- approving a change (the rules, the write).

    python bench/changes.py --changes 5000 [--services 200] [--db postgresql://USER@HOST/DB]

Prints one line per figure and a JSON line last.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from deskconsole.config import parse_config
from deskconsole.core.clock import ManualClock
from deskconsole.core.desk import open_desk
from deskconsole.core.identity import Actor
from deskconsole.core.records import change_calendar, change_collisions
from deskconsole.core.records import change_requests as changes
from deskconsole.core.records.views import detail

START = datetime(2027, 1, 4, 8, 0, tzinfo=timezone.utc)  # a Monday


def config(services: int, seed: int) -> str:
    rng = random.Random(seed)
    out = ["[desk]", 'name = "bench"', 'default_team = "ops"', 'timezone = "Europe/Berlin"',
           "[teams.ops]", 'name = "Operations"',
           "[agents.al]", 'name = "Al"', 'role = "agent"', 'team = "ops"',
           "[agents.lee]", 'name = "Lee"', 'role = "lead"', 'team = "ops"',
           "[agents.cara]", 'name = "Cara"', 'role = "agent"', 'team = "ops"']
    for n in range(services):
        # a layered map: each service depends on up to three of those after it (no cycles)
        below = sorted({f"s{m}" for m in (rng.randrange(n + 1, services) for _ in range(rng.randint(0, 3)))
                        if m < services}) if n < services - 1 else []
        out += [f"[services.s{n}]", 'team = "ops"', f"depends_on = {json.dumps(below)}"]
    out += ["[changes]", 'cab = ["cara"]', 'approvals = { normal = ["owner_lead", "cab"] }',
            "[changes.windows.year-end]", 'kind = "freeze"', "start = 2027-12-20T00:00:00",
            "end = 2028-01-03T00:00:00",
            "[changes.windows.nights]", 'kind = "maintenance"', 'days = ["sat", "sun"]', 'from = "01:00"',
            'to = "05:00"', 'services = ["s0", "s1", "s2"]']
    return "\n".join(out) + "\n"


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=5000)
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--db", help="a database URL (default: a SQLite file in a temporary folder)")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp(prefix='chgbench-')) / 'desk.db'}"
    clock = ManualClock(START)
    desk = open_desk(url, parse_config(config(args.services, 7), "bench.toml"), clock)
    al = Actor("al", "Al", "agent", "ops")
    lee = Actor("lee", "Lee", "lead", "ops")
    rng = random.Random(11)
    started = time.perf_counter()
    keys = []
    for n in range(args.changes):
        start = START + timedelta(minutes=rng.randrange(0, 365 * 24 * 60, 15))
        services = sorted({f"s{rng.randrange(args.services)}" for _ in range(rng.randint(1, 3))})
        keys.append(changes.create(desk, al, title=f"Change {n}", services=services, start=start,
                                   end=start + timedelta(minutes=rng.choice((30, 60, 120, 240)))).key)
    write_ms = (time.perf_counter() - started) * 1000 / args.changes
    print(f"write one change: {write_ms:.1f} ms ({args.changes:,} changes, {args.services} services)")
    probe = keys[len(keys) // 2]
    row = detail(desk, probe).change
    week = change_calendar.week_of(row.planned_start.date().isoformat(), row.planned_start, desk.config.zone())
    in_week = len(change_calendar.between(desk, week.start, week.end, collisions=False))
    figures = {
        "collisions of one change": median_ms(lambda: change_collisions.collisions(
            desk, row.planned_start, row.planned_end, row.services), args.runs),
        "a change's detail": median_ms(lambda: detail(desk, probe), args.runs),
        f"the week's calendar ({in_week} changes, with collisions)": median_ms(
            lambda: change_calendar.between(desk, week.start, week.end), max(3, args.runs // 3)),
        "changes near an incident's service": median_ms(
            lambda: change_calendar.near(desk, row.services, row.planned_start), args.runs),
    }
    for key in keys[:args.runs]:
        changes.set_state(desk, al, key, "assessment")
        changes.set_state(desk, al, key, "awaiting_approval")
    approvals = iter(keys[:args.runs])
    figures["approve a change"] = median_ms(lambda: changes.decide(desk, lee, next(approvals), "approve"), args.runs)
    for name, ms in figures.items():
        print(f"{name}: {ms:.1f} ms")
    print(json.dumps({"backend": "sqlite" if desk.is_sqlite else "postgresql", "changes": args.changes,
                      "services": args.services, "write_ms": round(write_ms, 2),
                      **{k: round(v, 2) for k, v in figures.items()}}))
    desk.close()


if __name__ == "__main__":
    main()
