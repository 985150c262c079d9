"""Demo build speed: `deskconsole demo --tickets N --no-console` into a fresh
SQLite desk, through the real command in a fresh process each run.

    python bench/demo_build.py [--tickets 100000] [--runs 3] [--workdir DIR]

Prints each run (wall time of the whole command, start-up included, and the
build time the command itself reports), then the medians and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workdir")
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="demobench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "cfg"), "XDG_DATA_HOME": str(work / "data")}
    walls, reported = [], []
    for run in range(args.runs):
        here = work / f"run{run}"
        shutil.rmtree(here, ignore_errors=True)
        here.mkdir()
        cmd = [sys.executable, "-m", "deskconsole", "demo", "--tickets", str(args.tickets), "--no-console",
               "--config", str(here / "demo.toml"), "--db", f"sqlite:///{here / 'demo.db'}"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode:
            sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr}")
        m = re.search(r" in ([\d.]+) (ms|s)\n", proc.stderr)
        built = (float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)) if m else float("nan")
        walls.append(wall)
        reported.append(built)
        print(f"run {run + 1}: {args.tickets:,} tickets in {wall:.2f} s wall = {args.tickets / wall:,.0f} tickets/s"
              f" (build as reported: {built:.2f} s)")
        shutil.rmtree(here, ignore_errors=True)
    wall, built = statistics.median(walls), statistics.median(reported)
    print(f"median: {wall:.2f} s wall = {args.tickets / wall:,.0f} tickets/s; reported build {built:.2f} s")
    print(json.dumps({"tickets": args.tickets, "runs": args.runs, "wall_s": walls, "reported_s": reported,
                      "median_tickets_per_s": args.tickets / wall}))


if __name__ == "__main__":
    main()
