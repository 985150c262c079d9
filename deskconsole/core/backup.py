"""Backup and restore of a whole desk (admins).

SQLite: an online copy with the sqlite3 backup API — consistent while others
keep writing — into a temporary file beside PATH, checked with
``PRAGMA integrity_check`` and renamed into place. Restore copies a checked
backup *into* the live database file with the same API, so connections held
elsewhere see the restored data on their next read (SQLite's own locking
keeps them from seeing a half-restored desk). PostgreSQL: ``pg_dump`` /
``pg_restore``, run when they are on PATH, else the exact command is given.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from deskconsole import migrations
from deskconsole.core.errors import DeskError, ValidationError
from deskconsole.core.identity import Actor
from deskconsole.core.permissions import require
from deskconsole.db import parse_url

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

PAGES_PER_STEP = 1024
Progress = Callable[[int, int], None]  # (pages done, pages total)


@dataclass
class BackupResult:
    path: Path
    tickets: int | None
    size: int
    seconds: float


def _sqlite_path(desk: "Desk") -> str:
    return parse_url(desk.url).path


def backup(desk: "Desk", actor: Actor, path, *, force: bool = False, progress: Progress | None = None) -> BackupResult:
    require(actor, "backup", desk.config.path)
    target = Path(path).expanduser()
    if target.exists() and not force:
        raise ValidationError(f"{target} already exists; choose another path, or pass --force to replace it")
    if not target.parent.is_dir():
        raise ValidationError(f"cannot write {target}: folder {target.parent} does not exist")
    started = time.monotonic()
    if not desk.is_sqlite:
        _pg_run(["pg_dump", "--format=custom", f"--dbname={desk.url}", f"--file={target}"], "backup")
        return BackupResult(target, None, target.stat().st_size, time.monotonic() - started)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        source = sqlite3.connect(_sqlite_path(desk), timeout=15)
        dest = sqlite3.connect(tmp)
        try:
            step = (lambda status, remaining, total: progress(total - remaining, total)) if progress else None
            source.backup(dest, pages=PAGES_PER_STEP, progress=step)
            dest.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
            ok = dest.execute("PRAGMA integrity_check").fetchone()[0]
            if ok != "ok":
                raise DeskError(f"the backup copy failed its integrity check: {ok}")
            count = dest.execute("SELECT COUNT(*) FROM ticket").fetchone()[0]
        finally:
            dest.close()
            source.close()
        os.replace(tmp, target)
    except OSError as exc:
        raise DeskError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return BackupResult(target, count, target.stat().st_size, time.monotonic() - started)


def check_backup(path) -> int:
    """The schema version of the SQLite desk backup at ``path``; refuses anything else."""
    source = Path(path).expanduser()
    if not source.is_file():
        raise ValidationError(f"no such file: {source}")
    try:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        raise ValidationError(f"{source} is not a deskconsole desk (no schema version table)") from None
    version = row[0] if row else None
    if version is None:
        raise ValidationError(f"{source} is not a deskconsole desk (empty schema version table)")
    if version > migrations.LATEST:
        raise ValidationError(
            f"{source} has schema version {version}, newer than this deskconsole understands "
            f"({migrations.LATEST}); restore it with a newer deskconsole"
        )
    if ok != "ok":
        raise ValidationError(f"{source} fails its integrity check: {ok}")
    return version


def restore(desk: "Desk", actor: Actor, path, *, progress: Progress | None = None) -> BackupResult:
    """Replace the desk's data with the backup at ``path``; audited afterwards."""
    require(actor, "restore", desk.config.path)
    source = Path(path).expanduser()
    started = time.monotonic()
    if desk.is_sqlite:
        check_backup(source)
        desk.close()
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        live = sqlite3.connect(_sqlite_path(desk), timeout=30)
        try:
            step = (lambda status, remaining, total: progress(total - remaining, total)) if progress else None
            src.backup(live, pages=PAGES_PER_STEP, progress=step)
            live.execute("PRAGMA journal_mode=WAL")
        finally:
            live.close()
            src.close()
        desk.db.connect(reuse_if_open=True)
        migrations.migrate(desk.db)  # an older backup is brought forward
    else:
        if not source.is_file():
            raise ValidationError(f"no such file: {source}")
        _pg_run(["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={desk.url}", str(source)], "restore")
    from deskconsole.core.directory import sync_directory
    from deskconsole.core.txn import unit_of_work
    from deskconsole.models import Ticket

    sync_directory(desk)
    with unit_of_work(desk, actor, "restore") as unit:
        unit.audit(None, field="desk", new=str(source))
        unit.feed(None)
    count = Ticket.select().count()
    return BackupResult(source, count, source.stat().st_size, time.monotonic() - started)


def _pg_run(command: list[str], what: str) -> None:
    shown = " ".join(command)
    if shutil.which(command[0]) is None:
        raise DeskError(f"{command[0]} is not on PATH; on a PostgreSQL desk {what} with: {shown}")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise DeskError(f"{shown} failed (exit {done.returncode}): {detail[-1] if detail else 'no message'}")
