"""The report on a big desk, through the real `deskconsole report` command.

    python bench/report.py [--tickets 1000000] [--runs 5] [--workdir DIR] [--case NAME ...]

Builds (once, kept in --workdir) a demo desk of --tickets tickets, then
times `deskconsole report` end to end: the full report (the last 30 days,
every section), the same over the last 90 days, one `--by team`, and a
narrowed query. Prints the median of --runs per case, the read time the
report itself gives, and how many tickets the period held; a JSON summary last.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = (
    ("full report, last 30 days", []),
    ("full report, last 90 days", ["--since", "90d"]),
    ("--by team, last 30 days", ["--by", "team"]),
    ("--by day, last 30 days", ["--by", "day"]),
    ("team:network prio:P1,P2, last 30 days", ["team:network", "prio:P1,P2"]),
)


def run(cmd: list[str], env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{result.stderr}")
    return elapsed, result.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workdir")
    ap.add_argument("--case", action="append", help="run only the cases whose name holds this (repeatable)")
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="deskbench-report-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "cfg"), "XDG_DATA_HOME": str(work / "data")}
    exe = [sys.executable, "-m", "deskconsole"]
    db = work / f"desk-{args.tickets}.db"
    config = work / f"desk-{args.tickets}.toml"
    base = [*exe, "--config", str(config), "--db", f"sqlite:///{db}"]
    if not db.exists():
        elapsed, _ = run([*base, "demo", "--fresh", "--no-console", "--tickets", str(args.tickets)], env)
        print(f"demo desk of {args.tickets:,} tickets built in {elapsed:.1f} s")
    summary = {}
    for name, extra in CASES:
        if args.case and not any(c in name for c in args.case):
            continue
        walls, reads = [], []
        held = None
        for _ in range(args.runs):
            elapsed, out = run([*base, "report", *extra, "--format", "json"], env)
            data = json.loads(out)
            walls.append(elapsed)
            reads.append(data["read_ms"] / 1000)
            held = data["total"]["created"], data["total"]["resolved"]
        wall, read = statistics.median(walls), statistics.median(reads)
        summary[name] = {"wall_s": round(wall, 3), "read_s": round(read, 3), "runs": [round(w, 3) for w in walls],
                         "created": held[0], "resolved": held[1]}
        print(f"{name:40s} median {wall:6.2f} s end to end ({read:6.2f} s reading; runs "
              f"{', '.join(f'{w:.2f}' for w in walls)}); the period held {held[0]:,} created, {held[1]:,} resolved",
              flush=True)
    print(json.dumps({"tickets": args.tickets, "cases": summary}))


if __name__ == "__main__":
    main()
