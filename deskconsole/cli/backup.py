"""Commands for the desk's safety and its triage round: backup, restore, take-next."""

from __future__ import annotations

import time
from pathlib import Path

from deskconsole import migrations
from deskconsole.cli.context import Context
from deskconsole.cli.progress import ProgressBar
from deskconsole.core.archive import backup as core_backup
from deskconsole.core.archive import restore_damaged as damaged_restore
from deskconsole.core.search.claim import take_next
from deskconsole.errors import NotFound, ValidationError
from deskconsole.db import DamagedDatabase

SHOW_PROGRESS_AFTER = 0.5  # seconds: a small desk is done before a bar would be worth drawing


class _Progress:
    """A progress bar on stderr that appears only once the work has taken a
    moment (a large desk) and leaves no line behind on a terminal."""

    def __init__(self, label: str):
        self.label = label
        self.start: float | None = None  # when the copy began (checks before it are not counted)
        self.bar: ProgressBar | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if self.start is None:
                self.start = time.monotonic()
            if time.monotonic() - self.start < SHOW_PROGRESS_AFTER:
                return
            self.bar = ProgressBar(self.label)
        self.bar(done, total)

    def close(self) -> None:
        if self.bar is not None and self.bar.tty:
            self.bar.stream.write("\r\x1b[K")
            self.bar.stream.flush()


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} bytes"


def _tickets(n: int | None) -> str:
    return "" if n is None else f", {n:,} ticket{'s' if n != 1 else ''}"


def cmd_backup(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    unit = "pages" if desk.is_sqlite else "tables"
    progress = _Progress(f"backing up ({unit})")
    try:
        result = core_backup.backup(desk, actor, args.path, force=args.force, progress=progress)
    finally:
        progress.close()
    print(f"wrote {result.path}: {_size(result.size)}{_tickets(result.tickets)}, schema {result.schema}, "
          f"in {result.seconds:.1f} s")
    return 0


def _described(b: core_backup.BackupInfo) -> str:
    made = f", made {b.made_at:%Y-%m-%d %H:%M UTC}" if b.made_at else ""
    return f"{b.path} ({_size(b.size)}{_tickets(b.tickets)}, schema {b.schema}{made})"


def _print_restored(result: core_backup.BackupResult, after: str = "") -> None:
    migrated = (f", brought forward from schema {result.migrated_from} to {migrations.LATEST}"
                if result.migrated_from else "")
    print(f"restored {result.path}: {_size(result.size)}{_tickets(result.tickets)}, schema {result.schema}"
          f"{migrated}, in {result.seconds:.1f} s{after}")


def cmd_restore(ctx: Context, args) -> int:
    try:
        desk, actor = ctx.open()
    except DamagedDatabase as exc:
        return _restore_damaged(ctx, args, exc)
    if not args.yes:
        plan = core_backup.plan_restore(desk, actor, args.path)
        raise ValidationError(
            f"restore would replace everything on the desk ({plan.desk}, {plan.tickets_now:,} tickets now) "
            f"with the backup {_described(plan.backup)}; changes made since that backup are lost; "
            f"run again with --yes to restore"
        )
    unit = "pages" if desk.is_sqlite else "tables"
    progress = _Progress(f"restoring ({unit})")
    try:
        result = core_backup.restore(desk, actor, args.path, progress=progress)
    finally:
        progress.close()
    _print_restored(result)
    return 0


def _restore_damaged(ctx: Context, args, damage: DamagedDatabase) -> int:
    """The SQLite desk cannot be opened: put the backup in its place, keeping the damaged file."""
    if ctx.as_login:
        raise ValidationError("--as needs the desk's directory, and this desk cannot be read; run restore as yourself")
    config, actor = ctx.config(), damaged_restore.file_actor(damage.path, ctx.login)
    if not args.yes:
        backup = damaged_restore.plan(damage.path, actor, args.path)
        raise ValidationError(
            f"the desk {damage.path} cannot be read ({damage.reason}); restore would move it aside (kept as"
            f" {Path(damage.path).name}.damaged-TIME) and put the backup {_described(backup)} in its place;"
            f" run again with --yes to restore"
        )
    progress = _Progress("restoring (pages)")
    try:
        done = damaged_restore.restore_damaged(ctx.url_for(config), damage.path, config, actor, args.path,
                                               progress=progress)
    finally:
        progress.close()
    _print_restored(done.result, f"; the damaged desk is kept as {done.kept[0]}" if done.kept else "")
    return 0


def cmd_take_next(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    text = " ".join(args.query)
    key = take_next(desk, actor, text)
    if key is None:
        matching = f" matches {text!r}" if text else " is on the desk"
        raise NotFound(f"nothing left to take: no open, unassigned ticket{matching}")
    print(key)
    return 0


def add_commands(command) -> None:
    """Register backup, restore and take-next with ``command(name, func, help)``
    (see :func:`deskconsole.cli.main.build_parser`)."""
    p = command("backup", cmd_backup,
                "write a consistent copy of the whole desk to PATH while others keep working (admins)")
    p.add_argument("path", metavar="PATH", help="the backup file (SQLite: a desk file; PostgreSQL: a pg_dump archive)")
    p.add_argument("--force", action="store_true", help="replace PATH if it exists")
    p = command("restore", cmd_restore, "replace everything on the desk with a backup (admins)")
    p.add_argument("path", metavar="PATH", help="a file written by deskconsole backup")
    p.add_argument("--yes", action="store_true", help="really replace the desk (without it: say what would be replaced)")
    p = command("take-next", cmd_take_next,
                "take the most urgent open unassigned ticket (matching QUERY); prints its key")
    p.add_argument("query", nargs="*", metavar="QUERY", help="query terms, as for ls (e.g. team:ops prio:P1,P2)")
