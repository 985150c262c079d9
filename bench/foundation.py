"""Foundation benchmarks: demo build, bulk import, `new` and an indexed `ls`
on a large SQLite desk, all through the real `deskconsole` command.

    python bench/foundation.py [--tickets 1000000] [--runs 7] [--workdir DIR] [--only import]

Prints one line per figure (medians over --runs) and a JSON summary last.
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


def run(cmd: list[str], env: dict, check=True) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if check and result.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{result.stderr}")
    return elapsed, result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--import-size", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--workdir")
    ap.add_argument("--only", choices=("import",), help="run just this figure (no big desk needed)")
    args = ap.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="deskbench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "cfg"), "XDG_DATA_HOME": str(work / "data")}
    exe = [sys.executable, "-m", "deskconsole"]
    big = f"sqlite:///{work / 'big.db'}"
    config = work / "big.toml"
    figures: dict[str, float] = {}

    # 1. the big desk, through `demo`
    if not args.only and not (work / "big.db").exists():
        elapsed, _ = run([*exe, "--config", str(config), "--db", big, "demo", "--fresh", "--no-console",
                          "--tickets", str(args.tickets)], env)
        figures["demo_tickets_per_s"] = args.tickets / elapsed
        print(f"demo: {args.tickets:,} tickets in {elapsed:.1f} s = {args.tickets / elapsed:,.0f} tickets/s")
    base = [*exe, "--config", str(config), "--db", big]

    # 2. bulk import of a CSV exported from the big desk, into fresh desks
    csv_path = work / "slice.csv"
    if not csv_path.exists():
        source = f"sqlite:///{work / 'slice.db'}"
        run([*exe, "--config", str(work / "slice.toml"), "--db", source, "demo", "--fresh", "--no-console",
             "--tickets", str(args.import_size)], env)
        run([*exe, "--config", str(work / "slice.toml"), "--db", source, "export", "-o", str(csv_path)], env)
    config = work / "slice.toml"
    import csv

    with open(csv_path, encoding="utf-8", newline="") as handle:
        rows = sum(1 for _ in csv.reader(handle)) - 1
    rates = []
    for i in range(args.runs):
        target = work / f"import{i % 3}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        url = f"sqlite:///{target}"
        # create + migrate the empty desk first (commands no longer create a missing desk; only init does,
        # and init writes a config of its own)
        run([sys.executable, "-c", "import sys; from deskconsole.config import load_config; "
             "from deskconsole.core.desk import open_desk; open_desk(sys.argv[1], load_config(sys.argv[2])).close()",
             url, str(config)], env)
        elapsed, _ = run([*exe, "--config", str(config), "--db", url, "import", str(csv_path)], env)
        rates.append(rows / elapsed)
    figures["import_tickets_per_s"] = statistics.median(rates)
    import sqlite3

    con = sqlite3.connect(target)  # an import must give its tickets their SLA clocks, or it is not the figure
    clocks, summaries = con.execute("SELECT (SELECT COUNT(*) FROM sla_clock), COUNT(sla) FROM ticket").fetchone()
    con.close()
    if not clocks:
        sys.exit(f"the import wrote no SLA clocks into {target}")
    print(f"import: {rows:,} tickets (CSV, with SLA clocks), median {figures['import_tickets_per_s']:,.0f} tickets/s, "
          f"{min(rates):,.0f} .. {max(rates):,.0f} (runs: {', '.join(f'{r:,.0f}' for r in rates)})")
    print(f"  {clocks:,} clocks, {summaries:,} tickets with an SLA summary")
    if args.only == "import":
        print(json.dumps({k: round(v, 4) for k, v in figures.items()}))
        return

    config = work / "big.toml"

    # 3. `new` end to end (interpreter start included)
    times = [run([*base, "new", f"Bench ticket {i}", "--impact", "high", "--urgency", "low", "--team", "network"], env)[0]
             for i in range(args.runs)]
    figures["new_s"] = statistics.median(times)
    print(f"new: median {figures['new_s'] * 1000:.0f} ms per ticket end to end")

    # 4. indexed ls on the big desk
    query = "is:open prio:P1,P2 team:network"
    times = []
    for _ in range(args.runs):
        elapsed, result = run([*base, "ls", query, "--limit", "50"], env)
        times.append(elapsed)
    lines = result.stdout.strip().splitlines()
    figures["ls_s"] = statistics.median(times)
    print(f"ls '{query}' --limit 50: {len(lines) - 1} rows, median {figures['ls_s'] * 1000:.0f} ms end to end")
    startup = [run([*exe, "--version"], env)[0] for _ in range(args.runs)]
    figures["startup_s"] = statistics.median(startup)
    print(f"  of which interpreter + imports: median {figures['startup_s'] * 1000:.0f} ms")

    print(json.dumps({k: round(v, 4) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
