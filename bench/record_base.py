"""The record base on a big desk: migrating a desk from before it, and
what the incident reads and the problem candidates cost on it.

    python bench/record_base.py --desk /tmp/m1/v16.db --config /tmp/m1/demo.toml [--runs 5]

``--desk`` is a SQLite desk of schema v16 (build one with the tree before
the record base: ``deskconsole demo --fresh --no-console --tickets
1000000``); it is copied, never changed. The copy is migrated by opening
it (timed), checked (``PRAGMA integrity_check``; every ticket row's old
columns equal to the original's; every table's row count), then the
commands below are timed end to end (interpreter start included), medians.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

READS = (
    ("ls", "is:open", "--limit", "50"),
    ("ls", "is:open", "team:network", "--limit", "50"),
    ("ls", "disk", "--limit", "50"),
    ("show", "INC-500000"),
    ("report",),
    ("problem", "candidates"),
    ("problem", "candidates", "--days", "30"),
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--desk", required=True, help="a v16 SQLite desk (copied, not changed)")
    ap.add_argument("--config", required=True)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    work = Path(args.workdir or Path(args.desk).parent)
    copy = work / "record_base.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(args.desk, copy)
    os.chmod(copy, 0o600)
    url = f"sqlite:///{copy}"

    from deskconsole.config import load_config
    from deskconsole.core.desk import open_desk

    start = time.perf_counter()
    open_desk(url, load_config(args.config)).close()
    print(f"migration on open: {time.perf_counter() - start:.2f} s")

    con = sqlite3.connect(copy)
    start = time.perf_counter()
    (integrity,) = con.execute("PRAGMA integrity_check").fetchone()
    print(f"integrity_check: {integrity} ({time.perf_counter() - start:.0f} s)")
    con.execute("ATTACH ? AS old", (args.desk,))
    columns = [row[1] for row in con.execute("PRAGMA old.table_info(ticket)")]
    differ = " OR ".join(f"o.{c} IS NOT n.{c}" for c in columns)
    (changed,) = con.execute(f"SELECT COUNT(*) FROM old.ticket o LEFT JOIN main.ticket n ON n.id = o.id"
                             f" WHERE n.id IS NULL OR {differ}").fetchone()
    print(f"ticket rows whose {len(columns)} old columns changed or went: {changed:,}")
    (kinds,) = con.execute("SELECT COUNT(*) FROM ticket WHERE kind <> 'incident' OR number IS NOT NULL").fetchone()
    print(f"rows that are not plain incidents: {kinds:,}")
    tables = [r[0] for r in con.execute("SELECT name FROM old.sqlite_master WHERE type = 'table'"
                                        " AND name NOT LIKE 'sqlite%' AND name NOT LIKE '%fts%'")]
    counts = [(t, con.execute(f"SELECT COUNT(*) FROM old.{t}").fetchone()[0],
               con.execute(f"SELECT COUNT(*) FROM main.{t}").fetchone()[0]) for t in tables]
    print("tables whose row counts differ:", [c for c in counts if c[1] != c[2] and c[0] != "schema_version"] or "none")
    con.close()

    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "cfg"), "XDG_DATA_HOME": str(work / "data")}
    base = [sys.executable, "-m", "deskconsole", "--db", url, "--config", args.config]
    for argv in READS:
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            run = subprocess.run([*base, *argv], env=env, capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            if run.returncode != 0:
                sys.exit(f"failed: {' '.join(argv)}\n{run.stderr}")
        print(f"{' '.join(argv)}: median {statistics.median(times):.2f} s "
              f"({' / '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
