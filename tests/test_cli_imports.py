"""What a one-shot command loads: only what it runs.

Each command runs as a real child process through the executable's entry
point (``deskconsole.cli.entry.run``), under a small wrapper that writes the
names in ``sys.modules`` to a file at exit. These tests look at modules, not
timings (``bench/cli_latency.py`` measures those).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TEST_CONFIG
from desk_env import child_env, with_real_admin
from deskconsole.config import load_config
from deskconsole.core.desk import open_desk

WRAPPER = """\
import atexit, gc, json, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps({"modules": sorted(sys.modules), "gc": gc.isenabled()})))
sys.argv[0] = "deskconsole"
from deskconsole.cli.entry import run
run()
"""
CONSOLE_ONLY = ("textual", "rich", "apscheduler", "deskconsole.ui")
DRIVERS = ("psycopg", "psycopg2")
ONE_SHOT = (("ls", "is:open"), ("show", "INC-1"), ("new", "Printer on fire"), ("note", "INC-1", "toner"),
            ("take", "INC-2"))


def _desk(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(with_real_admin(TEST_CONFIG), encoding="utf-8")
    open_desk(url, load_config(config)).close()
    return config


def _run(tmp_path: Path, url: str | None, *argv: str) -> tuple[subprocess.CompletedProcess, dict]:
    """Run ``deskconsole ARGV`` as the real login; (the process, what it had loaded at exit)."""
    report = tmp_path / "modules.json"
    report.unlink(missing_ok=True)
    desk = ["--config", str(tmp_path / "config.toml"), "--db", url] if url else []
    proc = subprocess.run([sys.executable, "-c", WRAPPER, str(report), *desk, *argv], capture_output=True,
                          text=True, env=child_env(tmp_path), timeout=60, cwd=tmp_path)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc, json.loads(report.read_text())


def _loaded(modules: list[str], *packages: str) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)]


def test_one_shot_commands_do_not_load_the_console(tmp_path, db_url):
    _desk(tmp_path, db_url)
    for argv in (("new", "VPN down"), ("new", "Mail slow"), *ONE_SHOT):
        proc, seen = _run(tmp_path, db_url, *argv)
        assert proc.returncode == 0, (argv, proc.stderr)
        assert _loaded(seen["modules"], *CONSOLE_ONLY) == [], argv
        # Commands registered by other modules are not imported for these.
        assert _loaded(seen["modules"], "deskconsole.cli.backup", "deskconsole.cli.batch", "deskconsole.cli.admin",
                       "deskconsole.cli.desk_cmds", "deskconsole.core.archive.backup") == [], argv
        assert seen["gc"], argv  # the collector paused for start-up runs again


def test_sqlite_commands_do_not_load_the_postgresql_driver(tmp_path, sqlite_url):
    _desk(tmp_path, sqlite_url)
    for argv in (("--version",), ("new", "VPN down"), ("new", "Mail slow"), *ONE_SHOT):
        proc, seen = _run(tmp_path, sqlite_url, *argv)
        assert proc.returncode == 0, (argv, proc.stderr)
        assert _loaded(seen["modules"], *DRIVERS) == [], argv
        assert "peewee" in seen["modules"] or argv == ("--version",)


def test_a_postgresql_desk_gets_its_driver_when_it_connects(tmp_path, postgres_url):
    """Peewee was imported without psycopg; the desk still works in full
    (writes, conflicts, JSON output) once the connection loads the driver."""
    _desk(tmp_path, postgres_url)
    proc, seen = _run(tmp_path, postgres_url, "new", "VPN down", "--priority", "P2")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "INC-1\n", "")
    assert "psycopg" in seen["modules"]
    assert _run(tmp_path, postgres_url, "take", "INC-1")[0].returncode == 0
    proc, _ = _run(tmp_path, postgres_url, "note", "INC-1", "rebooted the concentrator", "--expect-version", "1")
    assert proc.returncode == 3 and "changed" in proc.stderr  # a stale version is a conflict, as ever
    proc, _ = _run(tmp_path, postgres_url, "show", "INC-1", "--format", "json")
    ticket = json.loads(proc.stdout)
    assert (ticket["priority"], ticket["status"], ticket["version"]) == ("P2", "in_progress", 2)


def _child(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_deferred_driver_is_the_one_peewee_would_have_imported(postgres_url):
    code = f"""
import sys
from deskconsole import pgdriver
pgdriver.defer()
import peewee
assert pgdriver.pending() and peewee.psycopg is None and "psycopg" not in sys.modules
from deskconsole.db import connect
db = connect({postgres_url!r})
assert not pgdriver.pending() and peewee.psycopg is sys.modules["psycopg"]
assert isinstance(db._adapter, peewee.Psycopg3Adapter)
assert db.execute_sql("SELECT 1").fetchone() == (1,)
assert db.is_connection_usable()  # compares the driver's transaction states
try:
    with db.atomic():
        db.execute_sql("SELECT no_such_column FROM no_such_table")
except peewee.ProgrammingError:
    pass
assert db.execute_sql("SELECT 2").fetchone() == (2,)
db.close()
print("ok")
"""
    proc = _child(code)
    assert (proc.returncode, proc.stdout.strip()) == (0, "ok"), proc.stderr


def test_peewee_imported_first_keeps_its_driver():
    proc = _child("import peewee\nfrom deskconsole import pgdriver\npgdriver.defer()\npgdriver.load()\n"
                  "assert not pgdriver.pending() and peewee.psycopg is not None\nprint('ok')")
    assert (proc.returncode, proc.stdout.strip()) == (0, "ok"), proc.stderr


def test_help_lists_every_command_and_their_options(tmp_path):
    proc, seen = _run(tmp_path, None, "--help")
    assert proc.returncode == 0
    listed = [line.split()[0] for line in proc.stdout.split("COMMAND\n", 1)[1].split("\n\n")[0].splitlines()
              if line.startswith("    ") and not line.startswith("     ")]
    assert listed == ["init", "demo", "new", "ls", "show", "take", "ack", "assign", "triage", "status", "reply", "note",
                      "link", "merge", "resolve", "close", "reopen", "cancel", "console", "daemon", "wallboard",
                      "import", "export", "backup", "restore", "take-next", "batch", "admin", "intake", "token",
                      "outbox", "report", "review", "reviews", "problem", "kb", "change", "services"]
    proc, _ = _run(tmp_path, None, "daemon", "--help")
    assert "--interval SECONDS" in proc.stdout and "(default 5)" in proc.stdout
    proc, _ = _run(tmp_path, None, "take-next", "--help")
    assert proc.returncode == 0 and "QUERY" in proc.stdout
    proc, _ = _run(tmp_path, None, "lss")
    assert proc.returncode == 2 and "invalid choice: 'lss'" in proc.stderr and "'take-next'" in proc.stderr


@pytest.mark.parametrize("argv", [("admin", "sync", "--dry-run"), ("take-next",)])
def test_commands_registered_elsewhere_still_run(tmp_path, sqlite_url, argv):
    _desk(tmp_path, sqlite_url)
    proc, seen = _run(tmp_path, sqlite_url, *argv)
    assert proc.returncode in (0, 1), proc.stderr  # 1: nothing to take or to sync, said on one line
    assert proc.returncode == 0 or proc.stderr.count("\n") == 1, proc.stderr
