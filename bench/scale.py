"""Many writers on one desk: accepted updates per second with 20 writer
processes, on SQLite and on PostgreSQL.

    python bench/scale.py [--seconds 20] [--runs 3] [--mix soak core] [--backend sqlite postgresql]
                          [--pg-url postgresql://postgres@127.0.0.1:5432/test]

Each run builds a fresh desk (``--hot`` tickets everybody fights over, 6 by
default, and 20 quiet ones; SLA targets of seconds, so clocks cross and
escalate while it runs),
starts 20 processes and lets them write for ``--seconds``:

``soak``  the soak test's mix: 13 consoles (the core write path: read a
          ticket, think up to 5 ms, write with the version seen — 90 % on the
          hot tickets), 4 CLI writers (``deskconsole ... --expect-version``, an
          interpreter start each), an intake creating tickets, an SLA loop
          and ``deskconsole daemon`` (0.25 s interval)
``core``  20 consoles, nothing else: the write path alone

It prints, per run and as the median over ``--runs``: accepted writes per
second (creates included; updates alone too), conflicts per second (a write
refused because someone else changed the ticket first), and the p50/p95
latency of an accepted core write (the call, lock wait included; CLI calls
are timed apart, start-up included). After every run the desk is checked as
the soak test checks it (nothing lost, nothing half-written); a run with a
problem or an error says so.

PostgreSQL runs use ``--pg-url`` and EMPTY ITS DESK TABLES first; without a
reachable server they are skipped with the reason. Prints a JSON line last.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "scale"))

import soak_worker as sw  # noqa: E402

from deskconsole.config import load_config  # noqa: E402
from deskconsole.core.desk import open_desk  # noqa: E402

MIXES = {
    "soak": sw.SOAK_MIX,
    "core": sw.Mix(consoles=20, clis=0, intakes=0, sweepers=0, daemons=0),
}


def pg_ready(url: str) -> str | None:
    """None when ``url`` answers (and its desk tables are dropped), else why not."""
    try:
        import psycopg

        from deskconsole.models import MODELS

        tables = ", ".join(m._meta.table_name for m in reversed(MODELS))
        with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {tables} CASCADE")
    except Exception as exc:  # no driver, no server, no database
        text = str(exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__
    return None


def one_run(backend: str, mix: sw.Mix, seconds: float, seed: int, pg_url: str, hot: int = 6) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"deskscale-{backend}-"))
    try:
        if backend == "sqlite":
            url = f"sqlite:///{workdir / 'desk.db'}"
        else:
            url = pg_url
            reason = pg_ready(url)
            if reason:
                raise RuntimeError(reason)
        run = sw.run_many(url, workdir, seconds, mix, seed=seed, hot=hot)
        f = sw.figures(run.records, seconds)
        desk = open_desk(url, load_config(run.config_path), migrate=False, create=False)
        try:
            state = sw.load_state(desk)
            problems = sw.check_soak(desk, run.records, state) + sw.check_desk(desk, state)
        finally:
            desk.close()
        cli = sorted(r["ms"] for r in run.records if r["kind"] in ("ok", "conflict", "refused") and r.get("cli"))
        return {
            "accepted_per_s": f.accepted_per_s,
            "updates_per_s": (f.accepted - f.creates) / seconds,
            "creates_per_s": f.creates / seconds,
            "conflicts_per_s": f.conflicts_per_s,
            "p50_ms": f.pct(0.5),
            "p95_ms": f.pct(0.95),
            "cli_p50_ms": cli[len(cli) // 2] if cli else None,
            "crossings": f.crossings,
            "tickets": len(state.tickets),
            "errors": f.errors,
            "problems": len(problems),
            "first_problem": (problems[0][:300] if problems else None),
            "exit_codes_ok": all(c == 0 for c in run.returncodes),
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mix", nargs="+", choices=sorted(MIXES), default=["soak", "core"])
    ap.add_argument("--backend", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    ap.add_argument("--hot", type=int, default=6, help="how many hot tickets the consoles fight over (default 6)")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test",
                    help="PostgreSQL database to use; its desk tables are dropped first")
    args = ap.parse_args()

    results: dict = {}
    for backend in args.backend:
        if backend == "postgresql":
            reason = pg_ready(args.pg_url)
            if reason:
                print(f"postgresql: skipped — not reachable at {args.pg_url}: {reason}", flush=True)
                results[backend] = {"skipped": reason}
                continue
        for mix_name in args.mix:
            mix = MIXES[mix_name]
            runs = []
            for i in range(args.runs):
                r = one_run(backend, mix, args.seconds, 100 + i, args.pg_url, args.hot)
                runs.append(r)
                flag = "" if r["problems"] == 0 and r["errors"] == 0 and r["exit_codes_ok"] else (
                    f"  !! {r['errors']} errors, {r['problems']} problems: {r['first_problem']}")
                print(f"{backend:10} {mix_name:4} run {i + 1}: {r['accepted_per_s']:7.1f} accepted/s "
                      f"({r['updates_per_s']:.1f} updates, {r['creates_per_s']:.1f} creates), "
                      f"{r['conflicts_per_s']:6.1f} conflicts/s, p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms"
                      + (f", CLI p50 {r['cli_p50_ms']:.0f} ms" if r["cli_p50_ms"] else "")
                      + f", {r['crossings']} SLA crossings{flag}", flush=True)
            med = {k: statistics.median(r[k] for r in runs)
                   for k in ("accepted_per_s", "updates_per_s", "creates_per_s", "conflicts_per_s", "p50_ms", "p95_ms")}
            clis = [r["cli_p50_ms"] for r in runs if r["cli_p50_ms"]]
            med["cli_p50_ms"] = statistics.median(clis) if clis else None
            med["runs"] = runs
            med["clean"] = all(r["problems"] == 0 and r["errors"] == 0 and r["exit_codes_ok"] for r in runs)
            results.setdefault(backend, {})[mix_name] = med
            print(f"{backend:10} {mix_name:4} MEDIAN of {args.runs}: {med['accepted_per_s']:.1f} accepted/s, "
                  f"{med['conflicts_per_s']:.1f} conflicts/s, p50 {med['p50_ms']:.1f} ms, p95 {med['p95_ms']:.1f} ms"
                  f"{'' if med['clean'] else '  (a run had errors or problems)'}", flush=True)
    print(json.dumps({"seconds": args.seconds, "processes": 20, "hot": args.hot, "results": results}, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
