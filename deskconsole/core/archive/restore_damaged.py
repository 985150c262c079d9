"""Restore onto a SQLite desk too damaged to open.

:func:`deskconsole.core.archive.backup.restore` copies a backup *into* the live file,
which needs the live file to be a readable database. When SQLite cannot read
it any more (a damaged disk, a file overwritten by mistake), this puts the
backup in its place instead: the backup is checked exactly as for any
restore, copied beside the desk, the damaged file (and its ``-wal``, which
may hold the last commits) is moved aside as ``NAME.damaged-YYYYmmddTHHMMSS``
— kept, never deleted, for whoever wants to salvage it — and the copy is
renamed into place. Then the desk opens as usual (an older backup is brought
forward) and the restore is audited and announced on the change feed.

Consoles that had the damaged file open are failing their reads; they drop
their connection after a failed read and open the restored file at the path.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from deskconsole import migrations
from deskconsole.config import Config
from deskconsole.core.archive.backup import (BackupInfo, BackupResult, Progress, _after_restore, _durable_replace,
                                     _sqlite_backup, create_copy_file, fit_sqlite_backup)
from deskconsole.core.clock import Clock, system_clock
from deskconsole.errors import DeskError
from deskconsole.core.identity import Actor
from deskconsole.core.permissions import require


@dataclass
class DamagedRestore:
    result: BackupResult
    kept: list[Path]  # the damaged file (and its -wal/-shm), moved aside


def file_actor(desk_path: str, login: str) -> Actor:
    """Who may restore a desk whose directory cannot be read: on SQLite the
    file is the trust boundary, so a login that may write the desk file and
    its folder (and so could replace it anyway) acts as an admin; anyone else
    is a viewer and is refused."""
    path = Path(desk_path)
    may_write = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)
    return Actor(login=login, name=login, role="admin" if may_write else "viewer")


def plan(desk_path: str, actor: Actor, backup_path) -> BackupInfo:
    """Check ``actor`` may restore and the backup is fit, changing nothing."""
    require(actor, "restore")
    return fit_sqlite_backup(Path(desk_path), backup_path)


def restore_damaged(url: str, desk_path: str, config: Config, actor: Actor, backup_path, *,
                    clock: Clock = system_clock, progress: Progress | None = None) -> DamagedRestore:
    """Put the backup at ``backup_path`` in the place of the unreadable SQLite
    desk file ``desk_path`` (the desk at ``url``)."""
    from deskconsole.core.desk import open_desk

    require(actor, "restore")
    started = time.monotonic()
    live = Path(desk_path)
    info = fit_sqlite_backup(live, backup_path)
    tmp = live.with_name(f".{live.name}.{os.getpid()}.restore")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    aside = live.with_name(f"{live.name}.damaged-{stamp}")
    kept: list[Path] = []
    try:
        create_copy_file(tmp, desk_path)  # the restored desk is shared as the damaged one was
        _sqlite_backup(str(info.path), tmp, progress)  # a checked, self-contained copy beside the desk
        for suffix in ("", "-wal", "-shm"):  # the -wal goes with its file: it may hold the last commits
            part = live.with_name(live.name + suffix)
            if part.exists():
                os.replace(part, aside.with_name(aside.name + suffix))
                kept.append(aside.with_name(aside.name + suffix))
        _durable_replace(tmp, live)
    except OSError as exc:
        for moved in kept:  # put the damaged desk back as it was: nothing is lost either way
            os.replace(moved, live.with_name(live.name + moved.name[len(aside.name):]))
        raise DeskError(f"cannot put the backup in place of {live}: {exc.strerror or exc}; the desk is as it was") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    desk = open_desk(url, config, clock)  # brings an older backup forward, gives it clocks if it predates them
    try:
        tickets = _after_restore(desk, actor, info, migrations.LATEST, 0)
    finally:
        desk.close()
    migrated = info.schema if info.schema < migrations.LATEST else None
    return DamagedRestore(BackupResult(info.path, tickets, info.size, time.monotonic() - started, info.schema,
                                       migrated), kept)

