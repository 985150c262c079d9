"""A SQLite desk too damaged to open: every command says so and how to get
back, and ``restore`` puts a backup in its place, keeping the damaged file."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deskconsole.core.archive import backup as core_backup
from deskconsole.core.records import tickets
from deskconsole.core.desk import open_desk
from deskconsole.core.identity import actor_for
from deskconsole.db import DamagedDatabase, parse_url
from deskconsole.db_runner import DbRunner

HINT = "an admin can put the last backup in its place with: deskconsole restore BACKUP --yes"


@pytest.fixture
def backed_up(sqlite_url, desk_config, tmp_path):
    """A desk with three tickets backed up and a fourth added: (url, desk file, backup)."""
    config = desk_config[0]
    desk = open_desk(sqlite_url, config)
    al, ada = actor_for(desk, "al"), actor_for(desk, "ada")
    for i in range(3):
        tickets.create(desk, al, title=f"Backed up {i}", priority="P2")
    backup = tmp_path / "desk.backup"
    core_backup.backup(desk, ada, backup)
    tickets.create(desk, al, title="After the backup", priority="P1")
    for i in range(200):  # enough pages that the damage lands inside the tables
        tickets.note(desk, al, "INC-1", f"note {i} " + "x" * 400)
    desk.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    desk.close()
    return sqlite_url, Path(parse_url(sqlite_url).path), backup


def _damage(path: Path) -> bytes:
    """Overwrite pages in the middle of the file (a bad disk, a stray dd)."""
    with open(path, "r+b") as f:
        f.seek(4096 * 2)
        f.write(os.urandom(4096 * 30))
    return path.read_bytes()


@pytest.fixture
def damaged(backed_up):
    """(url, desk file, backup, the damaged file's bytes)."""
    url, path, backup = backed_up
    return url, path, backup, _damage(path)


def _unreadable(url: str, config) -> bool:
    try:
        open_desk(url, config).close()
    except DamagedDatabase:
        return True
    return False


def test_a_file_that_is_not_a_database_is_named_with_the_way_back(sqlite_url, desk_config, cli):
    path = Path(parse_url(sqlite_url).path)
    path.write_bytes(b"these are not the pages you are looking for" * 100)
    code, out, err = cli("ls", url=sqlite_url)
    assert code == 1
    assert f"the desk {path} cannot be read (file is not a database)" in err and HINT in err


def test_every_command_on_a_damaged_desk_says_so_and_how_to_get_back(damaged, desk_config, cli):
    url, path, _, _ = damaged
    assert _unreadable(url, desk_config[0])
    for argv in (("ls",), ("show", "INC-1"), ("new", "Still down"), ("backup", str(path.with_name("b2")))):
        code, out, err = cli(*argv, url=url)
        assert code == 1, (argv, out, err)
        assert f"the desk {path} cannot be read" in err and HINT in err, (argv, err)


def test_restore_puts_the_backup_in_place_and_keeps_the_damaged_file(damaged, desk_config, cli):
    url, path, backup, broken = damaged
    code, _, err = cli("restore", str(backup), url=url)  # without --yes: says what it would do
    assert code == 1 and "cannot be read" in err and "move it aside" in err and "--yes" in err, err
    assert path.read_bytes() == broken and not list(path.parent.glob("*.damaged-*"))

    # Who may: the directory cannot be read, so the file decides (a login that may write it). A real
    # other login being refused is tests/test_security.py::test_a_damaged_desk_is_restored_only_by_...
    code, out, err = cli("restore", str(backup), "--yes", url=url)
    assert code == 0, err
    assert out.startswith(f"restored {backup}: ") and "3 tickets" in out and "the damaged desk is kept as" in out
    kept = [p for p in path.parent.glob(f"{path.name}.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
    assert len(kept) == 1 and kept[0].read_bytes() == broken  # nothing is thrown away
    assert str(kept[0]) in out

    code, out, _ = cli("ls", "--format", "csv", url=url)
    assert code == 0 and "Backed up 0" in out and "After the backup" not in out
    desk = open_desk(url, desk_config[0])
    try:
        rows = desk.db.execute_sql("SELECT actor, action, new FROM audit_event WHERE action = 'restore'").fetchall()
        assert rows and rows[0][0] == "ada" and str(backup) in rows[0][2]
        assert desk.db.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        desk.close()
    assert cli("new", "First after the restore", url=url, user="al")[1] == "INC-4\n"


def test_restore_refuses_a_bad_backup_and_leaves_the_damaged_desk_alone(damaged, cli, tmp_path):
    url, path, backup, broken = damaged
    half = tmp_path / "half.backup"
    half.write_bytes(backup.read_bytes()[: backup.stat().st_size // 2])
    for candidate in (half, tmp_path / "missing.backup", path):
        code, _, err = cli("restore", str(candidate), "--yes", url=url)
        assert code == 1 and ("nothing was changed" in err or "no such file" in err or "is the live desk's own file" in err), err
    assert path.read_bytes() == broken and not list(path.parent.glob("*.damaged-*"))


async def test_a_console_on_the_damaged_desk_reads_the_restored_one(backed_up, desk_config, tmp_path):
    """A reader that met the damage drops its connection, and its next read
    opens the file now at the path: the restored desk."""
    from deskconsole.db import connect

    url, path, backup = backed_up
    config_path = desk_config[1]
    db = connect(url)  # the console's connection, open when the disk went bad
    runner = DbRunner(db)
    try:
        assert await runner.read(lambda: db.execute_sql("SELECT COUNT(*) FROM ticket").fetchone()[0]) == 4
        _damage(path)
        with pytest.raises(Exception, match="malformed"):
            await runner.read(lambda: db.execute_sql("SELECT COUNT(*) FROM audit_event").fetchone())
        env = {k: v for k, v in os.environ.items() if not k.startswith("DESKCONSOLE_")}
        env.update(XDG_STATE_HOME=str(tmp_path / "state"))  # the real login: it may write the damaged file
        proc = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "deskconsole", "--config", str(config_path),
                                                        "--db", url, "restore", str(backup), "--yes"],
                                       capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        count = await runner.read(lambda: db.execute_sql("SELECT COUNT(*) FROM ticket").fetchone()[0])
        assert count == 3
    finally:
        runner.close()


async def test_the_console_banner_names_a_damaged_file_and_the_way_back(backed_up, desk_config, settle):
    from deskconsole.ui.app import DeskApp

    url, path, _ = backed_up
    config = desk_config[0]
    desk = open_desk(url, config)
    try:
        app = DeskApp(desk, actor_for(desk, "al"), sweep=False, feed_poll=60)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            _damage(path)

            def reconnect_and_read():  # what the reader does after any failed read; no page comes from its cache
                desk.db.close()
                desk.db.connect()
                return desk.db.execute_sql("SELECT COUNT(*) FROM entry").fetchone()

            assert await app._safe_read(reconnect_and_read) is None
            banner = str(app.query_one("#banner").render())
            assert "database trouble: database disk image is malformed" in banner
            assert "deskconsole restore BACKUP --yes" in banner and "nothing you typed is lost" in banner
    finally:
        desk.close()
