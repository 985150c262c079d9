"""Files the desk creates are its trust boundary: whatever the caller's umask,
a desk file, its -wal and -shm, the configs init and the demo write, the
folders made for them and every backup are readable by their owner only
(0600, folders 0700) — or by the owner and the desk's group where the folder
is set up for one (group-owned, setgid: folder 2770, files 0660). A backup
is never readable by more people than the desk it was taken from. And a
read never makes a desk: ``connect(url, create=False)`` on a missing SQLite
file says where the desk was looked for and what to run, and leaves no file
or folder behind.

Real files, checked with os.stat, under a permissive umask (022 and 000):
SQLite on its own makes a new database 0644 (0666 under umask 000) and gives
its -wal and -shm the database file's mode.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from desk_env import child_env

from deskconsole.core.archive import backup as core_backup
from deskconsole.core.records import tickets
from deskconsole.core.desk import open_desk
from deskconsole.core.identity import Actor
from deskconsole.core.archive.restore_damaged import restore_damaged
from deskconsole.db import DeskNotFound, connect, parse_url

ADA = Actor(login="ada", name="Ada Admin", role="admin", team="ops")  # an admin in the test config


@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def umask(request):
    """A permissive umask for the test (and the processes it starts)."""
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


@pytest.fixture
def desk_group() -> int:
    """A group other than ours, for a shared desk folder (root may chown to any)."""
    if os.geteuid() != 0:
        pytest.skip("giving a folder to another group needs root here")
    mine = os.getgid()
    return next(g.gr_gid for g in grp.getgrall() if g.gr_gid not in (0, mine))


@pytest.fixture
def group_folder(tmp_path, desk_group) -> Path:
    """A desk group's folder: group-owned, setgid, 2770."""
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chown(folder, -1, desk_group)
    os.chmod(folder, 0o2770)
    return folder


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _log_files(db_file: Path) -> list[Path]:
    return [db_file, db_file.with_name(db_file.name + "-wal"), db_file.with_name(db_file.name + "-shm")]


def _write_a_ticket(url: str, config) -> object:
    desk = open_desk(url, config)
    tickets.create(desk, ADA, title="Printer on fire", priority="P2")
    return desk


def _cli(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    login = pwd.getpwuid(os.getuid()).pw_name
    proc = subprocess.run([sys.executable, "-m", "deskconsole", *argv], capture_output=True, text=True,
                          encoding="utf-8", env=child_env(tmp_path, login), timeout=120, cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return proc


# ---------------------------------------------------------------- the desk file
def test_a_new_desk_its_log_and_its_folders_are_owner_only(tmp_path, umask, config):
    db_file = tmp_path / "data" / "deskconsole" / "desk.db"
    desk = _write_a_ticket(f"sqlite:///{db_file}", config)
    try:
        files = _log_files(db_file)
        assert all(f.exists() for f in files)  # a write in WAL mode: the log and its index are there
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert mode(tmp_path / "data") == mode(tmp_path / "data" / "deskconsole") == 0o700
        tickets.create(desk, ADA, title="Second write", priority="P3")
        assert [mode(f) for f in files] == [0o600] * 3
    finally:
        desk.close()


def test_a_desk_in_a_group_folder_is_shared_with_the_group_only(group_folder, desk_group, umask, config):
    db_file = group_folder / "ops" / "desk.db"  # a folder we make inside the group's: the group's too
    desk = _write_a_ticket(f"sqlite:///{db_file}", config)
    try:
        sub = os.stat(db_file.parent)
        assert (stat.S_IMODE(sub.st_mode), sub.st_gid) == (0o2770, desk_group)
        for f in _log_files(db_file):
            assert (f.name, mode(f), os.stat(f).st_gid) == (f.name, 0o660, desk_group)
    finally:
        desk.close()


# ---------------------------------------------------------------- configs
def test_init_writes_an_owner_only_config_and_desk(tmp_path, umask):
    _cli(tmp_path, "init")
    config_dir = tmp_path / "xdg-config" / "deskconsole"
    data_dir = tmp_path / "xdg-data" / "deskconsole"
    assert mode(config_dir / "config.toml") == 0o600
    assert mode(data_dir / "desk.db") == 0o600
    for folder in (config_dir, config_dir.parent, data_dir, data_dir.parent):
        assert mode(folder) == 0o700, folder
    assert not list(config_dir.glob("*.tmp")) and not list(config_dir.glob(".*.tmp"))


def test_the_demo_writes_an_owner_only_config_and_desk(tmp_path, umask):
    _cli(tmp_path, "demo", "--tickets", "30", "--no-console")
    config_dir = tmp_path / "xdg-config" / "deskconsole"
    data_dir = tmp_path / "xdg-data" / "deskconsole"
    assert mode(config_dir / "demo.toml") == 0o600
    assert mode(data_dir / "demo.db") == 0o600
    for folder in (config_dir, data_dir):
        assert mode(folder) == 0o700, folder
    _cli(tmp_path, "demo", "--fresh", "--tickets", "10", "--no-console")  # written again: still the owner's only
    assert mode(config_dir / "demo.toml") == mode(data_dir / "demo.db") == 0o600


# ---------------------------------------------------------------- backups
def test_a_backup_of_an_owner_only_desk_is_owner_only(tmp_path, umask, config):
    db_file = tmp_path / "desk.db"
    desk = _write_a_ticket(f"sqlite:///{db_file}", config)
    try:
        assert mode(db_file) == 0o600
        target = tmp_path / "backups" / "desk-backup.db"
        target.parent.mkdir()  # the caller's folder, made with the caller's umask
        core_backup.backup(desk, ADA, target)
    finally:
        desk.close()
    assert mode(target) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["desk-backup.db"]


def test_a_backup_of_a_group_desk_is_the_group_s_and_no_wider(group_folder, desk_group, tmp_path, umask, config):
    db_file = group_folder / "desk.db"
    desk = _write_a_ticket(f"sqlite:///{db_file}", config)
    try:
        beside = group_folder / "desk-backup.db"
        core_backup.backup(desk, ADA, beside)
        elsewhere = tmp_path / "desk-backup.db"  # a folder of ours: the copy still goes to the desk's group
        core_backup.backup(desk, ADA, elsewhere)
    finally:
        desk.close()
    for backup in (beside, elsewhere):
        assert (mode(backup), os.stat(backup).st_gid) == (0o660, desk_group), backup


def test_a_postgresql_dump_is_owner_only(postgres_url, config, tmp_path, umask):
    desk = _write_a_ticket(postgres_url, config)
    try:
        result = core_backup.backup(desk, ADA, tmp_path / "desk.dump")
    finally:
        desk.close()
    assert result.tickets == 1
    assert mode(tmp_path / "desk.dump") == 0o600


def test_a_damaged_group_desk_restored_stays_the_group_s(group_folder, desk_group, tmp_path, umask, config):
    db_file = group_folder / "desk.db"
    url = f"sqlite:///{db_file}"
    desk = _write_a_ticket(url, config)
    backup = tmp_path / "desk-backup.db"
    try:
        core_backup.backup(desk, ADA, backup)
        desk.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        desk.close()
    os.chmod(backup, 0o600)  # the backup file's own mode is not what the desk gets back
    with open(db_file, "r+b") as f:
        f.write(b"not a database any more " * 8)
    done = restore_damaged(url, str(db_file), config, ADA, backup)
    assert done.result.tickets == 1
    assert (mode(db_file), os.stat(db_file).st_gid) == (0o660, desk_group)


# ---------------------------------------------------------------- a read never makes a desk
def test_connect_without_create_never_makes_a_desk(tmp_path):
    missing = tmp_path / "nowhere" / "desk.db"
    with pytest.raises(DeskNotFound) as caught:
        connect(f"sqlite:///{missing}", create=False)
    assert str(caught.value) == (
        f"no desk at {missing}; create one with 'deskconsole init' (or try 'deskconsole demo'),"
        f" or point --db / DESKCONSOLE_DB at an existing desk")
    assert caught.value.path == str(missing)
    assert not missing.parent.exists()
    with pytest.raises(DeskNotFound):
        connect(str(tmp_path / "desk.db"), create=False)  # a plain path too
    assert list(tmp_path.iterdir()) == []

    connect(f"sqlite:///{missing}").close()  # (the default: made, for init and the demo)
    assert missing.exists()
    db = connect(f"sqlite:///{missing}", create=False)  # there now: opens as usual
    db.close()


def test_connect_without_create_opens_a_postgresql_database(postgres_url):
    db = connect(postgres_url, create=False)
    try:
        assert db.execute_sql("SELECT 1").fetchone() == (1,)
    finally:
        db.close()
    assert parse_url(postgres_url).backend == "postgresql"
