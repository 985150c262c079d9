"""One-shot command latency: each command as a real child process, end to end.

Builds (or reuses) a 300-ticket demo desk on SQLite in a folder, then runs
``--version``, ``ls 'is:open'``, ``show KEY``, ``new TITLE``, ``note KEY TEXT``
and ``take KEY`` RUNS times each, round-robin (a burst of load on the machine
then touches every command alike), through ``python -m deskconsole`` and
through the installed ``deskconsole`` script when there is one beside the
interpreter. Prints the median and p90 per command, and the interpreter's own
start-up (``python -c pass``) for reference, and a JSON line last.

    python bench/cli_latency.py [--runs 20] [--dir FOLDER] [--tickets 300]

Each ``take`` takes a ticket the round's ``new`` just opened, so every run
does the same work. The first round is a warm-up (compiled bytecode) and is
not counted.
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

COMMANDS = ("--version", "ls", "show", "new", "note", "take")
LABELS = {"--version": "--version", "ls": "ls 'is:open'", "show": "show KEY", "new": "new TITLE",
          "note": "note KEY TEXT", "take": "take KEY"}


def run(argv: list[str], env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed, done.stdout


def build_desk(folder: Path, tickets: int, env: dict) -> tuple[Path, str]:
    config, db = folder / "config.toml", folder / "desk.db"
    if not db.exists():
        run([sys.executable, "-m", "deskconsole", "demo", "--tickets", str(tickets), "--no-console",
             "--config", str(config), "--db", f"sqlite:///{db}"], env)
    _, out = run([sys.executable, "-m", "deskconsole", "--config", str(config), "ls", "is:open", "--format", "csv",
                  "--limit", "1"], env)
    return config, out.splitlines()[1].split(",")[0]


def launchers() -> dict[str, list[str]]:
    found = {"python -m deskconsole": [sys.executable, "-m", "deskconsole"]}
    script = Path(sys.executable).parent / "deskconsole"
    if script.exists():
        found["deskconsole (script)"] = [str(script)]
    return found


def argv_for(name: str, key: str, taken: str | None) -> list[str]:
    return {
        "--version": ["--version"],
        "ls": ["ls", "is:open"],
        "show": ["show", key],
        "new": ["new", "Latency probe: printer on floor 3 offline"],
        "note": ["note", key, "checked the spooler"],
        "take": ["take", taken or key],
    }[name]


def measure(prefix: list[str], key: str, runs: int, env: dict) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for round_ in range(runs + 1):  # round 0 warms up
        opened = None
        for name in COMMANDS:
            elapsed, out = run([*prefix, *argv_for(name, key, opened)], env)
            if name == "new":
                opened = out.split()[0]
            if round_:
                times[name].append(elapsed)
    return times


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--dir", type=Path, help="keep the demo desk here (default: a temporary folder)")
    parser.add_argument("--tickets", type=int, default=300)
    opts = parser.parse_args()
    folder = opts.dir or Path(tempfile.mkdtemp(prefix="deskconsole-latency-"))
    folder.mkdir(parents=True, exist_ok=True)
    # An installed deskconsole has its bytecode compiled (pip does it); let the
    # warm-up round write it here too, whatever PYTHONDONTWRITEBYTECODE says.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKCONSOLE_") and k != "PYTHONDONTWRITEBYTECODE"}
    config, key = build_desk(folder, opts.tickets, env)
    env["DESKCONSOLE_CONFIG"] = str(config)  # as a user would set it; the config names the desk

    floor = [run([sys.executable, "-c", "pass"], env)[0] for _ in range(opts.runs)]
    print(f"desk: {opts.tickets} tickets in {folder} (SQLite); {opts.runs} runs per command; key {key}")
    print(f"{'python -c pass':34s} median {statistics.median(floor) * 1e3:6.1f} ms   p90 {p90(floor) * 1e3:6.1f} ms")
    figures: dict = {"runs": opts.runs, "tickets": opts.tickets, "python_pass_ms": round(statistics.median(floor) * 1e3, 1)}
    for label, prefix in launchers().items():
        times = measure(prefix, key, opts.runs, env)
        print(label)
        for name in COMMANDS:
            values = times[name]
            print(f"  {LABELS[name]:32s} median {statistics.median(values) * 1e3:6.1f} ms   p90 {p90(values) * 1e3:6.1f} ms")
            figures[f"{label.split()[0]} {LABELS[name]}"] = {"median_ms": round(statistics.median(values) * 1e3, 1),
                                                             "p90_ms": round(p90(values) * 1e3, 1)}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
