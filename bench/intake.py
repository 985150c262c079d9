"""Alert intake throughput: a storm of Alertmanager posts from many clients.

    python bench/intake.py [--alerts 10000] [--clients 50] [--keys 2000] [--per-post 1]
                           [--rate N] [--writer process|thread] [--db sqlite|postgresql] [--workdir DIR]

Starts `deskconsole intake http` as its own process on a fresh desk (SQLite
in the workdir, or the PostgreSQL database in $DESKCONSOLE_BENCH_PG), makes a
token, and sends ``--alerts`` alerts over ``--clients`` concurrent
connections (aiohttp), ``--per-post`` alerts a post. The alerts belong to
``--keys`` monitored conditions: each key fires, repeats and clears in a
random order and always ends firing, and one key's events go in order
through one client (as Alertmanager sends a group's). Dedup is on; grouping
is off so that every key is a ticket of its own and the counts can be
checked exactly.

Two ways to load it:

* closed loop (the default): every client posts again the moment it hears
  back, so the intake is always saturated. This measures throughput; the
  latency it shows is mostly the queue the clients themselves keep full
  (Little's law: clients / rate).
* open loop, ``--rate N``: N alerts a second offered at a constant rate,
  spread evenly over the clients (each sends its posts on a fixed schedule,
  as wrk2 does). A post's latency counts from the time it was *scheduled*
  to go, not from when it went: a client held up by a slow answer sends late,
  and the wait is counted (no coordinated omission). This is the latency
  at a given load; raise N to find where the intake saturates (the achieved
  rate falls short of N and the latency grows with the run).

Prints accepted alerts per second (wall time of the whole storm), post
latency (median, p90, p99, max, as the clients saw it), transactions used,
and then checks the desk: one alert row per key, every key's ticket open,
no duplicate ticket, and tickets + counted repeats = triggers sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """
[desk]
name = "Intake bench"
default_team = "ops"

[teams.ops]
name = "Operations"

[agents.{login}]
name = "Bench"
role = "admin"
team = "ops"

[intake]
group_window = "0m"
"""


TRACE = [] if os.environ.get("INTAKE_BENCH_TRACE") else None  # (send time, latency) of every post, to that file


def plan(alerts: int, keys: int, seed: int = 5) -> list[list[tuple[str, str]]]:
    """Per key, its events in order (status, key); about alerts in all, each ending in 'firing'."""
    rng = random.Random(seed)
    per_key = max(1, alerts // keys)
    out = []
    for k in range(keys):
        steps = ["firing"] + [rng.choice(["firing", "firing", "resolved"]) for _ in range(per_key - 2)]
        out.append([(s, f"key-{k}") for s in steps + (["firing"] if per_key > 1 else [])])
    return out


def body(events: list[tuple[str, str]]) -> bytes:
    return json.dumps({"version": "4", "groupKey": "bench", "status": events[0][0], "truncatedAlerts": 0, "alerts": [
        {"status": status, "labels": {"alertname": "BenchAlert", "instance": key, "severity": "warning"},
         "annotations": {"summary": f"bench alert {key}"}, "startsAt": "2026-12-06T07:00:00Z",
         "endsAt": "0001-01-01T00:00:00Z", "fingerprint": key} for status, key in events]}).encode()


async def storm(url: str, token: str, work: list[list[list[tuple[str, str]]]],
                rate: float | None = None) -> tuple[list[float], list[int], float, float]:
    """Send every client's posts; ``rate`` (alerts/s, all clients together):
    open loop, else closed. Returns latencies, (status, alerts) per post, the
    greatest lag of a post's send behind its schedule (open loop), and the
    seconds from the first post's (scheduled) send to the last answer."""
    import aiohttp

    latencies, statuses = [], []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    bodies = [[body(events) for events in posts] for posts in work]  # built before the clock starts
    late = [0.0]
    per_post = max((len(p[0]) for p in work if p), default=1)
    interval = len(work) * per_post / rate if rate else 0.0  # seconds between one client's posts
    t0 = time.perf_counter() + (0.2 if rate else 0.0)

    async def client(session, i, posts):
        due = t0 + interval * i / len(work)  # clients' schedules interleave evenly
        for events, data in zip(posts, bodies[i]):
            if rate:
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                late[0] = max(late[0], time.perf_counter() - due)
                start, due = due, due + interval  # latency from the scheduled send
            else:
                start = time.perf_counter()
            async with session.post(url, data=data, headers=headers) as r:
                await r.read()
                statuses.append((r.status, len(events)))
            latencies.append(time.perf_counter() - start)
            if TRACE is not None:
                TRACE.append((start - t0, latencies[-1]))

    connector = aiohttp.TCPConnector(limit=len(work))
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(client(session, i, posts) for i, posts in enumerate(work)))
    return latencies, statuses, late[0], time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=10_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--keys", type=int, default=2_000)
    ap.add_argument("--per-post", type=int, default=1)
    ap.add_argument("--rate", type=float, metavar="N",
                    help="open loop: offer N alerts a second at a constant rate (default: closed loop)")
    ap.add_argument("--writer", choices=("process", "thread"), help="the intake's --writer (default: its default)")
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--workdir")
    ap.add_argument("--profile", metavar="FILE", help="run the intake under cProfile (its figures are then not its own)")
    args = ap.parse_args()

    import pwd

    work_dir = Path(args.workdir or tempfile.mkdtemp(prefix="deskbench-intake-"))
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    login = pwd.getpwuid(os.getuid()).pw_name
    cfg = work_dir / "desk.toml"
    cfg.write_text(CONFIG.format(login=login))
    if args.db == "sqlite":
        url = f"sqlite:///{work_dir / 'desk.db'}"
    else:
        url = os.environ.get("DESKCONSOLE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/bench")
        subprocess.run(["psql", url, "-qc", "DROP SCHEMA public CASCADE; CREATE SCHEMA public"], check=True)
    env = {**os.environ, "XDG_STATE_HOME": str(work_dir / "state"), "XDG_CONFIG_HOME": str(work_dir / "cfg")}
    base = [sys.executable, "-m", "deskconsole", "--config", str(cfg), "--db", url]
    from deskconsole.config import load_config
    from deskconsole.core.desk import open_desk

    open_desk(url, load_config(cfg)).close()  # a new desk, its directory from the config (this login: admin)
    token = subprocess.run(base + ["token", "add", "bench"], env=env, check=True, capture_output=True,
                           text=True).stdout.strip()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = base + ["intake", "http", "--listen", f"127.0.0.1:{port}"] + (["--writer", args.writer] if args.writer else [])
    if args.profile:  # python -m cProfile -o FILE -m deskconsole ...
        command[1:1] = ["-m", "cProfile", "-o", args.profile]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    server.stderr.readline()  # the start line: it listens

    keyed = plan(args.alerts, args.keys)
    sent = sum(1 for k in keyed for s, _ in k if s == "firing")
    total = sum(len(k) for k in keyed)
    work = [[] for _ in range(args.clients)]
    for i, events in enumerate(keyed):
        posts = [events[j:j + args.per_post] for j in range(0, len(events), args.per_post)]
        work[i % args.clients].extend(posts)
    latencies, statuses, late, wall = asyncio.run(storm(f"http://127.0.0.1:{port}/v1/alerts/alertmanager", token,
                                                        work, args.rate))
    if TRACE is not None:
        Path(os.environ["INTAKE_BENCH_TRACE"]).write_text("".join(f"{s:.4f} {l:.4f}\n" for s, l in sorted(TRACE)))
    server.send_signal(signal.SIGINT)
    tail = server.communicate(timeout=60)[1]
    transactions = re.search(r"in (\d+) transaction", tail)

    lat = sorted(latencies)
    q = statistics.quantiles(lat, n=100)
    mode = f"open loop, offered {args.rate:,.0f} alerts/s" if args.rate else "closed loop"
    print(f"{args.db}: {total:,} alerts in {len(lat):,} posts (up to {args.per_post} a post) from {args.clients} clients,"
          f" {args.keys:,} keys, {mode}: {wall:.2f} s -> {total / wall:,.0f} alerts/s")
    if args.rate:
        print(f"  latency from each post's scheduled send; the latest send was {late * 1000:.1f} ms behind schedule")
    print(f"  post latency ms: median {statistics.median(lat) * 1000:.1f}, p90 {q[89] * 1000:.1f},"
          f" p99 {q[98] * 1000:.1f}, max {lat[-1] * 1000:.1f}")
    print(f"  statuses: {sorted({st for st, _ in statuses})}; transactions: {transactions.group(1) if transactions else '?'}")

    from deskconsole.models import Alert, AuditEvent, Ticket

    desk = open_desk(url, load_config(cfg), create=False)
    with desk.bound():
        tickets = Ticket.select().count()
        rows = Alert.select().count()
        repeats = AuditEvent.select().where(AuditEvent.field == "repeats").count()
        open_keys = (Alert.select().join(Ticket, on=(Alert.ticket == Ticket.id))
                     .where(Ticket.status == "new").count())
    desk.close()
    lost = total - sum(n for st, n in statuses if st == 200)
    print(f"  desk: {tickets:,} tickets, {rows:,} alert rows, {repeats:,} repeats counted, {open_keys:,} keys open;"
          f" lost {lost}, tickets + repeats = {tickets + repeats:,} of {sent:,} triggers sent")
    ok = rows == args.keys and open_keys == args.keys and tickets + repeats == sent and lost == 0
    print("  check: " + ("every alert counted once, no duplicate ticket" if ok else "MISMATCH"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
