"""Wallboard benchmark: what an idle board costs the terminal, and whether its
memory stays flat over a long run.

    python bench/wallboard.py [--idle 30] [--runs 3] [--hours 48] [--step 30]
                              [--trace] [--cache-mb MB]
                              [--big-config PATH.toml] [--workdir DIR]

1. Idle traffic. The real command (`python -m deskconsole wallboard`) runs
   on a 160x45 pseudo-terminal (the pty harness of bench/console.py:
   TIOCSWINSZ, TERM=xterm-256color, its answers to Textual's queries, frames
   cut at the synchronized-output marks), with the SLA loop and the change
   feed on, rotation off, and nobody typing. Every byte it writes is counted
   over --idle seconds, --runs fresh processes per desk, on two desks:
     - "demo": `deskconsole demo --tickets 2000` (what a first look shows);
     - "busy hour": 40 open tickets opened over the last 50 minutes, so every
       countdown on screen is under an hour and ticks to the second (the
       most a board repaints each second).
   Also once with rotation on (--rotate 20) on the busy-hour desk: a page
   turn repaints the screen every 20 s.
2. A long run with an injected clock. In this process, a board (headless,
   160x45, the app's own code path) on a desk of its own, with a ManualClock:
   --hours of simulated time in --step second steps; each step moves the
   clock, ticks the board and polls the feed; every simulated minute an
   agent opens a ticket and resolves an older one (through the core), and
   the pages turn every 60 simulated seconds. VmRSS and SQLite's own memory
   (sqlite3_memory_used) are read every simulated hour, and with --trace the
   Python heap (tracemalloc, one frame); the figures are their growth after
   the first hour (warm-up). --cache-mb caps SQLite's page cache, which
   otherwise fills (up to the desk's 32 MB a connection) as the file grows.
   --idle 0 skips part 1.
3. With --big-config (a 1,000,000-ticket demo desk, see bench/README.md):
   one refresh (core.reports.board.snapshot) of each page, median of 5.

Prints one line per figure and a JSON summary last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import console as harness  # noqa: E402  (bench/console.py: the pty terminal)

COLS, ROWS = 160, 45

BUSY_CONFIG = """
[desk]
name = "Busy hour"

[teams.ops]
name = "Operations"

[teams.network]
name = "Network"

[agents.ada]
name = "Ada Admin"
role = "admin"
team = "ops"

[agents.al]
name = "Al Agent"
role = "agent"
team = "ops"

[[sla.policy]]
name = "P1"
priority = "P1"
first_response = "15m"
resolution = "4h"

[[sla.policy]]
name = "rest"
first_response = "1h"
resolution = "8h"
"""


# ---------------------------------------------------------------- desks
def busy_desk(work: Path) -> tuple[Path, Path]:
    from deskconsole.config import parse_config
    from deskconsole.core.records import tickets
    from deskconsole.core.clock import ManualClock
    from deskconsole.core.desk import open_desk
    from deskconsole.core.identity import actor_for

    config, db = work / "busy.toml", work / "busy.db"
    for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        p.unlink(missing_ok=True)
    config.write_text(BUSY_CONFIG, encoding="utf-8")
    cfg = parse_config(BUSY_CONFIG, config)
    clock = ManualClock(datetime.now(timezone.utc) - timedelta(minutes=50))
    desk = open_desk(f"sqlite:///{db}", cfg, clock)
    al = actor_for(desk, "al")
    for i in range(40):
        tickets.create(desk, al, title=f"Busy-hour ticket {i + 1}", priority=("P1", "P2", "P3", "P4")[i % 4],
                       team=("ops", "network")[i % 2])
        clock.advance(75)
    desk.close()
    return config, db


def demo_desk(work: Path, env: dict) -> tuple[Path, Path]:
    config, db = work / "demo.toml", work / "demo.db"
    subprocess.run([sys.executable, "-m", "deskconsole", "--config", str(config), "--db", f"sqlite:///{db}", "demo",
                    "--tickets", "2000", "--no-console", "--fresh"], env=env, check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return config, db


# ---------------------------------------------------------------- 1. idle traffic under a pty
def idle_traffic(config: Path, db: Path, env: dict, work: Path, seconds: float, rotate: float) -> dict:
    cmd = [sys.executable, "-m", "deskconsole", "--config", str(config), "--db", f"sqlite:///{db}", "wallboard",
           "--rotate", f"{rotate:g}"]
    args = SimpleNamespace(quiet_gap=False, gap=5.0)
    con = harness.Console(cmd, env, work, args)
    term = con.term
    first, _ = term.wait(lambda f: any("MTTR TODAY" in row for row in f.rows), 0, 30)
    if first is None:
        last = term.last_frame()
        con.quit()
        sys.exit("the wallboard never showed its figures; last screen:\n" + ("\n".join(last.rows) if last else ""))
    term.wait(lambda f: any(" KEY " in row for row in f.rows) and any("INC-" in row for row in f.rows), 0, 30)
    term.quiet(1.5, limit=20)
    time.sleep(2.0)  # the first sweep and feed reads are done
    with term.cond:
        c0, f0 = len(term.chunks), len(term.frames)
    start = time.perf_counter()
    time.sleep(seconds)
    end = time.perf_counter()
    with term.cond:
        nbytes = sum(n for t, n in term.chunks[c0:] if start <= t < end)
        frames = [f for f in term.frames[f0:] if start <= f.t < end]
    term.sync()
    rss = harness.rss_kb(con.proc.pid).get("VmRSS", 0) / 1024
    rows = [len(f.touched) for f in frames]
    screen = "\n".join(term.last_frame().rows)
    q = con.quit()
    return {"bytes": nbytes, "seconds": end - start, "bytes_per_s": nbytes / (end - start), "frames": len(frames),
            "bytes_per_frame_median": statistics.median([f.nbytes for f in frames]) if frames else 0,
            "rows_per_frame_median": statistics.median(rows) if rows else 0, "rss_mb": rss,
            "quit_s": q["quit_s"], "killed": q["killed"], "screen": screen}


# ---------------------------------------------------------------- 2. a long simulated run
def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sqlite_mb() -> float | None:
    """Memory SQLite itself holds (page caches, statements), MB: sqlite3_memory_used()
    of the library Python's sqlite3 module is linked with."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("sqlite3")
    if not name:
        return None
    lib = ctypes.CDLL(name)
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return lib.sqlite3_memory_used() / 1e6


async def long_run(work: Path, hours: float, step: float, trace: bool = False, cache_mb: float | None = None) -> dict:
    import gc
    import tracemalloc

    from deskconsole.config import parse_config
    from deskconsole.core.reports import board
    from deskconsole.core.records import tickets
    from deskconsole.core.clock import ManualClock
    from deskconsole.core.desk import open_desk
    from deskconsole.core.identity import actor_for
    from deskconsole.models import Ticket
    from deskconsole.ui.wallboard import WallboardApp

    db = work / "long.db"
    for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        p.unlink(missing_ok=True)
    cfg = parse_config(BUSY_CONFIG, work / "long.toml")
    clock = ManualClock(datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc))
    desk = open_desk(f"sqlite:///{db}", cfg, clock)
    if cache_mb is not None:  # every connection the board opens gets this page cache instead of the default
        desk.db._pragmas = [(k, -int(cache_mb * 1000) if k == "cache_size" else v) for k, v in desk.db._pragmas]
        desk.db.close()
        desk.db.connect()
    al = actor_for(desk, "al")
    for i in range(30):
        tickets.create(desk, al, title=f"Open at start {i + 1}", priority=("P1", "P2", "P3", "P4")[i % 4])
    app = WallboardApp(desk, board.board_actor(desk, "ada"), board.pages(cfg), rotate=60, sweep=False,
                       ticking=False, min_refresh=0)
    samples: list[tuple[float, float]] = []
    sqlite_samples: list[tuple[float, float]] = []
    heap: list[tuple[float, float]] = []  # Python objects only (tracemalloc), MB: SQLite's own memory is not in it
    first_snapshot = last_snapshot = None
    if trace:
        tracemalloc.start(1)  # one frame: cheap enough for a day of simulated time
    created = resolved = 0
    started = time.perf_counter()
    steps = int(hours * 3600 / step)
    per_hour = int(3600 / step)
    per_minute = max(int(60 / step), 1)
    async with app.run_test(size=(COLS, ROWS)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await app.poll_feed()
        for n in range(1, steps + 1):
            clock.advance(step)
            if n % per_minute == 0:
                created += 1
                tickets.create(desk, al, title=f"Simulated ticket {created}", priority=("P1", "P2", "P3", "P4")[n % 4])
                open_ids = [t.id for t in Ticket.select(Ticket.id)
                            .where(Ticket.status == "new").order_by(Ticket.id).limit(1)]
                if open_ids and created > 20:
                    tickets.resolve(desk, al, f"INC-{open_ids[0]}", "fixed")
                    resolved += 1
            app.tick()
            await app.poll_feed()
            await pilot.pause()
            if n % 20 == 0:
                await app.workers.wait_for_complete()
            if n % per_hour == 0:
                await app.workers.wait_for_complete()
                gc.collect()
                samples.append((n * step / 3600, rss_mb()))
                held = sqlite_mb()
                if held is not None:
                    sqlite_samples.append((n * step / 3600, held))
                if trace:
                    heap.append((n * step / 3600, tracemalloc.get_traced_memory()[0] / 1e6))
                    if n // per_hour == 1:
                        first_snapshot = tracemalloc.take_snapshot()
                    last_snapshot = tracemalloc.take_snapshot() if n == steps - steps % per_hour else last_snapshot
        await app.workers.wait_for_complete()
        reads, failures, snapshots, widgets = app.reads, app.failures, len(app.snapshots), len(app.screen.query("*"))
    desk.close()
    growth = []
    if trace and first_snapshot is not None and last_snapshot is not None:
        growth = [f"{st.size_diff / 1e3:+.1f} kB {st.traceback[0].filename.split('site-packages/')[-1]}:"
                  f"{st.traceback[0].lineno}"
                  for st in last_snapshot.compare_to(first_snapshot, "lineno")[:5]]
        tracemalloc.stop()
    heap_after = [mb for h, mb in heap if h >= 1]
    after_warmup = [mb for h, mb in samples if h >= 1]
    return {
        "hours": hours, "step_s": step, "wall_s": time.perf_counter() - started, "reads": reads,
        "failures": failures, "tickets_created": created + 30, "tickets_resolved": resolved,
        "snapshots_kept": snapshots, "pages": len(app.pages), "widgets": widgets,
        "rss_mb_by_hour": [(round(h, 1), round(mb, 1)) for h, mb in samples],
        "rss_after_1h_mb": after_warmup[0] if after_warmup else None,
        "rss_end_mb": after_warmup[-1] if after_warmup else None,
        "rss_growth_after_1h_mb": (after_warmup[-1] - after_warmup[0]) if after_warmup else None,
        "rss_max_after_1h_mb": max(after_warmup) if after_warmup else None,
        "cache_mb": cache_mb,
        "sqlite_mb_by_hour": [(round(h, 1), round(mb, 1)) for h, mb in sqlite_samples],
        "sqlite_growth_after_1h_mb": (sqlite_samples[-1][1] - [mb for h, mb in sqlite_samples if h >= 1][0])
        if [mb for h, mb in sqlite_samples if h >= 1] else None,
        "heap_mb_by_hour": [(round(h, 1), round(mb, 2)) for h, mb in heap],
        "heap_growth_after_1h_mb": (heap_after[-1] - heap_after[0]) if heap_after else None,
        "heap_top_growth": growth,
    }


# ---------------------------------------------------------------- 3. a refresh on a big desk
def big_refresh(config_path: Path) -> dict:
    from deskconsole.config import load_config
    from deskconsole.core.reports import board
    from deskconsole.core.desk import open_desk

    cfg = load_config(config_path)
    desk = open_desk(cfg.database, cfg)
    out = {"tickets": desk.db.execute_sql("SELECT COUNT(*) FROM ticket").fetchone()[0],
           "open": desk.db.execute_sql("SELECT COUNT(*) FROM ticket WHERE status IN "
                                       "('new','assigned','in_progress','pending')").fetchone()[0], "pages": {}}
    for page in board.pages(cfg):
        times = []
        for _ in range(5):
            t = time.perf_counter()
            board.snapshot(desk, page, "viewer")
            times.append(time.perf_counter() - t)
        out["pages"][page.id] = round(statistics.median(times) * 1000, 1)
    desk.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--idle", type=float, default=30.0, help="seconds of idle traffic to count per run (0 = skip)")
    ap.add_argument("--runs", type=int, default=3, help="fresh board processes per desk")
    ap.add_argument("--hours", type=float, default=48.0, help="simulated hours of the long run (0 = skip)")
    ap.add_argument("--trace", action="store_true",
                    help="long run: also follow the Python heap (tracemalloc; slower) and name what grew")
    ap.add_argument("--cache-mb", type=float, help="long run: SQLite page cache per connection (default: the desk's)")
    ap.add_argument("--step", type=float, default=30.0, help="simulated seconds per step of the long run")
    ap.add_argument("--big-config", metavar="PATH", help="config of a big demo desk: time one refresh per page")
    ap.add_argument("--workdir")
    args = ap.parse_args()
    harness.COLS, harness.ROWS = COLS, ROWS  # the harness's screen model and pty size
    sys.setswitchinterval(0.0005)

    work = Path(args.workdir or tempfile.mkdtemp(prefix="deskbench-wallboard-"))
    for sub in ("cfg", "data", "state"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    env = harness.child_env(work)
    env["DESKCONSOLE_LOG"] = str(work / "wallboard.log")
    figures: dict = {"cols": COLS, "rows": ROWS}

    desks = {"demo": demo_desk(work, env), "busy hour": busy_desk(work)} if args.idle > 0 else {}
    for name, (config, db) in desks.items():
        runs = [idle_traffic(config, db, env, work, args.idle, rotate=0) for _ in range(args.runs)]
        rates = [r["bytes_per_s"] for r in runs]
        med = statistics.median(rates)
        tag = name.replace(" ", "_")
        figures[f"idle_{tag}_bytes_per_s"] = round(med, 1)
        figures[f"idle_{tag}_all"] = [round(x, 1) for x in rates]
        figures[f"idle_{tag}_frames_per_s"] = round(statistics.median(r["frames"] / r["seconds"] for r in runs), 2)
        figures[f"idle_{tag}_bytes_per_frame"] = statistics.median(r["bytes_per_frame_median"] for r in runs)
        figures[f"idle_{tag}_rss_mb"] = round(statistics.median(r["rss_mb"] for r in runs), 1)
        print(f"idle board, {name} desk, rotation off: median {med:,.0f} bytes/s = {med / 1024:.2f} KB/s "
              f"(target < 1 KB/s; runs {', '.join(f'{x:,.0f}' for x in rates)}); "
              f"{figures[f'idle_{tag}_frames_per_s']} frames/s, median {figures[f'idle_{tag}_bytes_per_frame']:,.0f} "
              f"bytes a frame; VmRSS {figures[f'idle_{tag}_rss_mb']} MB")
        (work / f"screen_{tag}.txt").write_text(runs[-1]["screen"] + "\n", encoding="utf-8")
    if desks:
        config, db = desks["busy hour"]
        r = idle_traffic(config, db, env, work, max(args.idle, 60), rotate=20)
        figures["rotating_busy_hour_bytes_per_s"] = round(r["bytes_per_s"], 1)
        print(f"busy hour desk, pages turning every 20 s: {r['bytes_per_s']:,.0f} bytes/s = "
              f"{r['bytes_per_s'] / 1024:.2f} KB/s over {r['seconds']:.0f} s (a page turn repaints the screen)")

    if args.hours > 0:
        lr = asyncio.run(long_run(work, args.hours, args.step, trace=args.trace, cache_mb=args.cache_mb))
        figures["long_run"] = lr
        print(f"long run: {lr['hours']:g} simulated hours in {lr['wall_s']:.0f} s ({lr['step_s']:g} s steps), "
              f"{lr['reads']:,} page reads, {lr['tickets_created']:,} tickets opened, {lr['tickets_resolved']:,} "
              f"resolved, {lr['failures']} failed reads; VmRSS after 1 h {lr['rss_after_1h_mb']:.1f} MB, at the end "
              f"{lr['rss_end_mb']:.1f} MB (growth {lr['rss_growth_after_1h_mb']:+.1f} MB, max "
              f"{lr['rss_max_after_1h_mb']:.1f} MB); {lr['snapshots_kept']} snapshots kept for {lr['pages']} pages")
        print(f"  VmRSS by simulated hour: {lr['rss_mb_by_hour']}"
              + (f" (SQLite page cache {lr['cache_mb']:g} MB a connection)" if lr["cache_mb"] is not None else ""))
        if lr["sqlite_mb_by_hour"]:
            print(f"  SQLite's own memory (sqlite3_memory_used) by simulated hour: {lr['sqlite_mb_by_hour']}; growth "
                  f"after the first hour {lr['sqlite_growth_after_1h_mb']:+.1f} MB")
        if lr["heap_mb_by_hour"]:
            print(f"  Python heap (tracemalloc) by simulated hour: {lr['heap_mb_by_hour']}; growth after the first "
                  f"hour {lr['heap_growth_after_1h_mb']:+.2f} MB; most grown: {lr['heap_top_growth']}")

    if args.big_config:
        big = big_refresh(Path(args.big_config))
        figures["big_desk"] = big
        print(f"one refresh on a {big['tickets']:,}-ticket desk ({big['open']:,} open), per page (median of 5, ms): "
              f"{big['pages']}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
