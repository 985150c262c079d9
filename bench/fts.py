"""Text search speed: `ls WORDS` through the text index, and through LIKE as before.

    python bench/fts.py --tickets 2000 1000000 --runs 20 --workdir /tmp/deskbench-fts

For each N it builds (or reuses) a demo desk of N tickets with
`deskconsole demo --tickets N --no-console` in a child process, opens it
in-process (the first open of a desk built by an older deskconsole migrates
it, filling the index: that time is printed), and runs each query the way
`ls QUERY --limit 50` does: ``select_tickets`` + the first page of 50 summary
rows, plus the count `ls` prints when the page is full. Medians of ``--runs``.

"before" is the query language as it was before the index (the commit given
by --before, loaded from git): LIKE '%word%' over title and description.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUERIES = [
    "disk full",  # no demo ticket has these words
    "docking monitors",  # ~5% of the demo's tickets: the words of one title template
    "vpn gateway berlin",
    '"wrong currency"',
    "deploy*",
    "is:open vpn",
    "pool-3 notready",
    "nosuchwordanywhere",
]
BEFORE = "0355bfa"  # the last commit with LIKE text search


def build(work: Path, n: int, env: dict) -> Path:
    db = work / f"desk-{n}.db"
    if not db.exists():
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "deskconsole", "--config", str(work / f"desk-{n}.toml"),
                        "--db", f"sqlite:///{db}", "demo", "--fresh", "--no-console", "--tickets", str(n)],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"demo --tickets {n:,}: {time.perf_counter() - start:.1f} s")
    return db


def old_query_module(commit: str):
    """deskconsole/core/query.py as it was at ``commit`` (None if git cannot say)."""
    root = Path(__file__).resolve().parent.parent
    try:
        source = subprocess.run(["git", "show", f"{commit}:deskconsole/core/query.py"], cwd=root,
                                capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    spec = importlib.util.spec_from_loader("deskconsole_query_before", loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    exec(compile(source, "query_before.py", "exec"), module.__dict__)
    return module


def ls_once(desk, module, text: str, now) -> tuple[float, int]:
    """As `ls QUERY --limit 50` does it with ``module``'s query language."""
    from deskconsole.core.records.views import SUMMARY_COLUMNS, summary

    start = time.perf_counter()
    query = module.select_tickets(desk, text, actor_login="bench", now=now)
    rows = [summary(desk, t) for t in query.select(*SUMMARY_COLUMNS).limit(50)]
    if len(rows) == 50:  # `ls` says "50 of N tickets" when the page is full
        counter = getattr(module, "count_tickets", None)
        counter(desk, text, actor_login="bench", now=now) if counter else query.count()
    return time.perf_counter() - start, len(rows)


def median_ms(desk, module, text: str, runs: int, now) -> tuple[float, int]:
    times, shown = [], 0
    for _ in range(runs):
        elapsed, shown = ls_once(desk, module, text, now)
        times.append(elapsed)
    return statistics.median(times) * 1000, shown


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, nargs="+", default=[2_000, 1_000_000])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--before-runs", type=int, default=5, help="runs of the LIKE queries (slow on big desks)")
    ap.add_argument("--before", default=BEFORE)
    ap.add_argument("--workdir")
    args = ap.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="deskbench-fts-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "cfg"), "XDG_DATA_HOME": str(work / "data")}
    os.environ.update(XDG_CONFIG_HOME=env["XDG_CONFIG_HOME"], XDG_DATA_HOME=env["XDG_DATA_HOME"])

    from deskconsole import migrations
    from deskconsole.config import load_config
    from deskconsole.core.desk import open_desk
    from deskconsole.core.search import query as query_module
    from deskconsole.db import connect

    before = old_query_module(args.before)
    figures: dict = {}
    for n in args.tickets:
        db_path = build(work, n, env)
        url = f"sqlite:///{db_path}"
        db = connect(url)
        version = migrations.current_version(db)
        db.close()
        start = time.perf_counter()
        desk = open_desk(url, load_config(work / f"desk-{n}.toml"), create=False)
        if version < migrations.LATEST:
            print(f"N={n:,}: migrating v{version} -> v{migrations.LATEST} (index filled): "
                  f"{time.perf_counter() - start:.1f} s")
        now = desk.now()
        print(f"N={n:,} tickets, `ls QUERY --limit 50` in-process, ms (median of {args.runs}; before: {args.before_runs})")
        print(f"  {'query':28} {'shown':>5} {'index':>9} {'before (LIKE)':>14}")
        try:
            for text in QUERIES:
                after, shown = median_ms(desk, query_module, text, args.runs, now)
                was = median_ms(desk, before, text, args.before_runs, now)[0] if before else float("nan")
                figures[f"{n}:{text}"] = {"index_ms": round(after, 2), "like_ms": round(was, 2), "shown": shown}
                print(f"  {text:28} {shown:5} {after:9.2f} {was:14.2f}")
        finally:
            desk.close()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
