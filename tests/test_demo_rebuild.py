"""A demo whose build is killed half-way is built again by the next demo.

Real ``deskconsole demo`` child processes, killed with SIGKILL once their
build has visibly started (its progress is on stderr), then the real command
run again. The demo's config carries a line while its desk is being built;
the next demo finds it and builds the desk again in place, with the ticket
count of the build that was stopped. It never shows the half-built desk as a
finished one, and never throws away a desk that holds what the stopped build
could not have left there.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from desk_env import child_env

from deskconsole.core.archive import demo

TICKETS = 20_000


def _env(tmp_path: Path) -> dict[str, str]:
    import pwd
    import os

    return child_env(tmp_path, pwd.getpwuid(os.getuid()).pw_name)


def _demo(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "deskconsole", *argv], capture_output=True, text=True,
                          encoding="utf-8", env=_env(tmp_path), timeout=300, cwd=tmp_path)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _kill_mid_build(tmp_path: Path, *argv: str) -> str:
    """Start ``deskconsole demo`` with ``argv``; SIGKILL it at its first line
    of build progress. Returns what it had printed."""
    proc = subprocess.Popen([sys.executable, "-m", "deskconsole", *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8", env=_env(tmp_path), cwd=tmp_path)
    seen = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if line.startswith("building demo desk:"):
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait(timeout=60)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, seen
    return "".join(seen)


def _sqlite_tickets(path: Path) -> int:
    """The demo desk's incidents (its changes are records of their own)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT COUNT(*) FROM ticket WHERE number IS NULL").fetchone()[0]
    finally:
        conn.close()


def test_a_demo_killed_mid_build_is_built_again_in_place(tmp_path):
    config = tmp_path / "xdg-config" / "deskconsole" / "demo.toml"
    db = tmp_path / "xdg-data" / "deskconsole" / "demo.db"
    printed = _kill_mid_build(tmp_path, "demo", "--tickets", str(TICKETS), "--no-console")
    assert f"/{TICKETS:,}" in printed
    # the build had started: its desk and config are there, its tickets never committed
    assert db.exists() and config.exists()
    assert _sqlite_tickets(db) == 0
    assert demo.unfinished(config.read_text(encoding="utf-8")) == (TICKETS, 7)

    again = _demo(tmp_path, "demo", "--no-console")  # (no --tickets: the stopped build's count is kept)
    assert again.returncode == 0, again.stderr
    assert "using the demo desk" not in again.stderr
    told = [line for line in again.stderr.splitlines() if "left unfinished" in line]
    assert told == [f"the demo desk at sqlite:///{db} was left unfinished (a build of {TICKETS:,} tickets was"
                    f" stopped); building it again"]
    assert f"demo desk: {TICKETS:,} tickets" in again.stderr
    assert _sqlite_tickets(db) == TICKETS
    assert demo.unfinished(config.read_text(encoding="utf-8")) is None

    reused = _demo(tmp_path, "demo", "--no-console")  # finished now: used as it is
    assert reused.returncode == 0, reused.stderr
    assert f"using the demo desk at sqlite:///{db} ({TICKETS:,} tickets)" in reused.stderr
    assert "left unfinished" not in reused.stderr
    assert _sqlite_tickets(db) == TICKETS


def test_a_stopped_build_never_costs_tickets_it_did_not_write(tmp_path):
    """Someone worked on the desk a killed build left behind: the next demo
    refuses to throw that desk away, with what to do instead."""
    config = tmp_path / "xdg-config" / "deskconsole" / "demo.toml"
    db = tmp_path / "xdg-data" / "deskconsole" / "demo.db"
    _kill_mid_build(tmp_path, "demo", "--tickets", str(TICKETS), "--no-console")
    assert db.exists() and _sqlite_tickets(db) == 0
    made = _demo(tmp_path, "--config", str(config), "new", "Someone's real ticket")
    assert made.returncode == 0 and made.stdout.strip() == "INC-1", made.stderr

    refused = _demo(tmp_path, "demo", "--no-console")
    assert refused.returncode == 1
    assert refused.stderr.startswith("deskconsole: ") and refused.stderr.count("\n") == 1, refused.stderr
    assert "holds 1 ticket, not the 20,000" in refused.stderr and "--fresh" in refused.stderr
    assert _sqlite_tickets(db) == 1


def test_a_demo_killed_mid_build_on_postgresql_is_built_again(pg_database, tmp_path):
    pg_database.bare()  # a database just made with createdb: no desk in it yet
    config = tmp_path / "demo.toml"
    printed = _kill_mid_build(tmp_path, "--config", str(config), "--db", pg_database.url, "demo", "--tickets",
                              str(TICKETS), "--no-console")
    assert f"/{TICKETS:,}" in printed and demo.unfinished(config.read_text(encoding="utf-8")) == (TICKETS, 7)

    again = _demo(tmp_path, "--config", str(config), "demo", "--no-console")
    assert again.returncode == 0, again.stderr
    assert "left unfinished" in again.stderr and f"demo desk: {TICKETS:,} tickets" in again.stderr
    held = pg_database.conn.execute("SELECT COUNT(*) FROM ticket WHERE number IS NULL").fetchone()[0]
    assert held == TICKETS
    assert demo.unfinished(config.read_text(encoding="utf-8")) is None


@pytest.mark.parametrize("building", [(20_000, 7), (5, -3)])
def test_the_mark_of_a_build_under_way_comes_and_goes(building):
    text = demo.demo_config_text("zed", "sqlite:///demo.db")
    assert demo.unfinished(text) is None
    marked = demo.mark_unfinished(text, building)
    assert marked.splitlines()[0] == text.splitlines()[0]  # still the demo's own config
    assert demo.unfinished(marked) == building
    assert demo.mark_unfinished(demo.mark_unfinished(marked, building), None) == text
