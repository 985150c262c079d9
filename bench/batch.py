"""Batch mode: simple commands a second through one `deskconsole batch` process.

    python bench/batch.py [--tickets 300] [--commands 5000] [--runs 3] [--profile]

Builds a SQLite desk of --tickets tickets through the core, writes a batch of
--commands mixed simple commands (note, take, ack, show, triage --priority;
every one of them succeeds) and runs `deskconsole batch FILE` in a fresh
process on a fresh copy of the desk, --runs times. Prints commands/s end to
end (start-up included) and without the start-up (`deskconsole --version`),
medians, then a JSON line. --profile runs the batch once in-process under
cProfile and prints where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

LOGIN = pwd.getpwuid(os.getuid()).pw_name
CONFIG = f"""
[desk]
name = "Bench desk"
default_team = "ops"

[teams.ops]
name = "Operations"

[agents.{LOGIN}]
name = "Bench runner"
role = "admin"
team = "ops"
"""


def build(work: Path, tickets: int) -> tuple[Path, Path]:
    from deskconsole.config import load_config
    from deskconsole.core.records import tickets as core
    from deskconsole.core.desk import open_desk
    from deskconsole.core.identity import resolve_actor

    config = work / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    path = work / "desk.db"
    desk = open_desk(f"sqlite:///{path}", load_config(config))
    actor = resolve_actor(desk, LOGIN)
    for i in range(tickets):
        core.create(desk, actor, title=f"Bench ticket {i + 1}", priority="P3", source="cli")
    desk.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    desk.close()
    return config, path


def commands(tickets: int, count: int) -> list[str]:
    """``count`` simple commands over the desk's tickets, each of which succeeds."""
    lines, prio = [], {}
    for k in range(1, min(tickets, count) + 1):  # each ticket once: half acknowledged, half taken
        lines.append(f"{'ack' if k % 2 else 'take'} INC-{k}")
    kinds = ("note", "show", "triage", "show", "note", "show", "triage")
    i = 0
    while len(lines) < count:
        key = f"INC-{i % tickets + 1}"
        kind = kinds[i % len(kinds)]
        if kind == "note":
            lines.append(f"note {key} 'checked the logs again (round {i // tickets})'")
        elif kind == "show":
            lines.append(f"show {key}")
        else:
            prio[key] = "P2" if prio.get(key, "P3") == "P3" else "P3"
            lines.append(f"triage {key} --priority {prio[key]}")
        i += 1
    return lines


def by_kind(tickets: int, count: int) -> dict[str, list[str]]:
    """A batch of one kind of command each (take and ack: each ticket once)."""
    keys = [f"INC-{i % tickets + 1}" for i in range(count)]
    return {
        "ack": [f"ack INC-{k}" for k in range(1, tickets + 1)],
        "take": [f"take INC-{k}" for k in range(1, tickets + 1)],
        "note": [f"note {key} 'checked the logs again'" for key in keys],
        "show": [f"show {key}" for key in keys],
        "triage": [f"triage {key} --priority {'P2' if i // tickets % 2 == 0 else 'P3'}" for i, key in enumerate(keys)],
    }


def run_once(work: Path, config: Path, desk: Path, batch: Path, n: int) -> float:
    copy = work / "run.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(desk, copy)
    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "cfg"), "XDG_DATA_HOME": str(work / "data")}
    cmd = [sys.executable, "-m", "deskconsole", "--config", str(config), "--db", f"sqlite:///{copy}", "batch",
           str(batch)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    failed = [r for r in results if not r["ok"]]
    if proc.returncode != 0 or len(results) != n or failed:
        sys.exit(f"the batch failed (exit {proc.returncode}, {len(results)} results): {failed[:3]} {proc.stderr}")
    return elapsed


def startup(work: Path) -> float:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "deskconsole", "--version"], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def profile(config: Path, desk: Path, batch: Path, work: Path) -> None:
    from deskconsole.cli.main import main

    copy = work / "profile.db"
    shutil.copyfile(desk, copy)
    profiler = cProfile.Profile()
    with redirect_stdout(io.StringIO()):
        profiler.enable()
        main(["--config", str(config), "--db", f"sqlite:///{copy}", "batch", str(batch)])
        profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(15)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=300)
    ap.add_argument("--commands", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workdir")
    ap.add_argument("--profile", action="store_true", help="also run once in-process under cProfile")
    args = ap.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="deskbench-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    config, desk = build(work, args.tickets)
    lines = commands(args.tickets, args.commands)
    batch = work / "commands.txt"
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mix = {k: sum(1 for line in lines if line.startswith(k + " ")) for k in ("note", "take", "ack", "show", "triage")}
    print(f"desk: {args.tickets} tickets; batch: {len(lines):,} commands {mix}")

    base = startup(work)
    times = [run_once(work, config, desk, batch, len(lines)) for _ in range(args.runs)]
    median = statistics.median(times)
    rate, net = len(lines) / median, len(lines) / max(median - base, 1e-9)
    print(f"batch of {len(lines):,}: median {median:.2f} s over {args.runs} runs"
          f" ({', '.join(f'{t:.2f}' for t in times)})")
    print(f"  {rate:,.0f} commands/s end to end; {net:,.0f} commands/s without the start-up ({base * 1000:.0f} ms)")
    kinds = {}
    for kind, kind_lines in by_kind(args.tickets, 1000).items():
        path = work / f"{kind}.txt"
        path.write_text("\n".join(kind_lines) + "\n", encoding="utf-8")
        elapsed = statistics.median(run_once(work, config, desk, path, len(kind_lines)) for _ in range(args.runs))
        kinds[kind] = len(kind_lines) / max(elapsed - base, 1e-9)
        print(f"  {kind:<7} alone: {len(kind_lines):>5,} lines, {kinds[kind]:,.0f} commands/s without the start-up")
    if args.profile:
        profile(config, desk, batch, work)
    print(json.dumps({"commands": len(lines), "runs": times, "median_s": median, "commands_per_s": rate,
                      "commands_per_s_without_startup": net, "startup_s": base,
                      "alone_per_s": kinds}))


if __name__ == "__main__":
    main()
