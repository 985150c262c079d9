"""Backup and restore of a whole desk (admins).

SQLite: an online copy with the sqlite3 backup API into a temporary file
beside PATH, checked with ``PRAGMA integrity_check`` and renamed into place.
The copy runs inside one read transaction on the live file, so every page
comes from one snapshot: the backup is the desk as it was at one commit, and
it finishes while others keep writing (without that read transaction SQLite
restarts a stepped backup from the first page after every commit made by
another connection — on a busy desk it never finishes). In WAL mode readers
do not block writers, so nobody waits for a backup.

Restore checks the backup first — a SQLite file with a deskconsole schema no
newer than this program's, whole (not truncated) and passing its integrity
check — and only then copies it *into* the live database file with the same
API, as one write transaction: connections held elsewhere (consoles,
wallboards, daemons) see either the old desk or the restored one, never a mix,
and read the restored one at their next read. An older backup is migrated
forward afterwards. The restore writes a change-feed row numbered past every
row the live desk had, so live views notice it and reload.

PostgreSQL: ``pg_dump --format=custom`` from an exported snapshot (the ticket
count printed is that snapshot's), into a temporary file renamed into place.
Restore checks the archive with ``pg_restore`` (it must read to the end and
hold the desk's tables and a schema version this program understands), then
runs ``pg_restore``'s script through ``psql --single-transaction`` after
dropping the desk's tables in the same transaction: all or nothing, even for
an older backup whose tables differ from today's. When the tools are not on
PATH the error gives the exact commands.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from deskconsole.binding import on_desk
from deskconsole import migrations
from deskconsole.errors import DeskError, ValidationError
from deskconsole.core.identity import Actor
from deskconsole.core.permissions import require
from deskconsole.db import parse_url
from deskconsole.paths import PRIVATE_FILE, create_file

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

PAGES_PER_STEP = 1024  # 4 MB a step with 4 KB pages: progress a few times a second
LOCK_TIMEOUT = "30s"  # PostgreSQL restore: how long to wait for another session's lock on a desk table
Progress = Callable[[int, int], None]  # (done, total): pages on SQLite, tables on PostgreSQL

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
FEED_FUNCTION = "public.deskconsole_feed_notify()"


@dataclass
class BackupResult:
    path: Path
    tickets: int | None
    size: int
    seconds: float
    schema: int | None = None  # the backup's schema version
    migrated_from: int | None = None  # restore: the backup was older and was brought forward from this


@dataclass
class BackupInfo:
    """What a backup file holds, found without changing anything."""

    path: Path
    kind: str  # "sqlite" | "postgresql"
    schema: int
    size: int
    made_at: datetime | None
    tickets: int | None = None  # SQLite backups only (a pg_dump archive does not say without reading it all)


# ------------------------------------------------------------------ backup
@on_desk
def backup(desk: "Desk", actor: Actor, path, *, force: bool = False, progress: Progress | None = None) -> BackupResult:
    """Write a consistent copy of the whole desk to ``path``."""
    require(actor, "backup")
    target = Path(path).expanduser()
    if target.is_dir():
        raise ValidationError(f"{target} is a folder; give the backup file's name, e.g. {target / 'desk-backup.db'}")
    if target.exists() and not force:
        raise ValidationError(f"{target} already exists; choose another path, or pass --force to replace it")
    if not target.parent.is_dir():
        raise ValidationError(f"cannot write {target}: folder {target.parent} does not exist")
    if desk.is_sqlite:
        _refuse_live_file(Path(_sqlite_path(desk)), target, "back up into")
    started = time.monotonic()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        create_copy_file(tmp, _sqlite_path(desk) if desk.is_sqlite else None)
        if desk.is_sqlite:
            tickets, schema = _sqlite_backup(_sqlite_path(desk), tmp, progress)
        else:
            tickets, schema = _pg_backup(desk, tmp, target, progress)
        _durable_replace(tmp, target)
    except OSError as exc:
        raise DeskError(f"cannot write {target}: {exc.strerror or exc}; nothing was written") from None
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
            if leftover.exists():
                leftover.unlink()
    return BackupResult(target, tickets, target.stat().st_size, time.monotonic() - started, schema)


def create_copy_file(path: Path, like: str | None) -> None:
    """Create the empty file ``path`` for a copy of the desk file ``like``, never
    readable by more people than the desk: the desk's group bits (at most 0660)
    where the copy can have the desk's group, else 0600; a copy of a
    PostgreSQL desk (``like`` None: the server decides who reads it) 0600."""
    path.unlink(missing_ok=True)  # our own leftover (the name carries our pid)
    fd = create_file(path, PRIVATE_FILE)
    try:
        if like is None or not os.path.exists(like):
            return
        desk = os.stat(like)
        mode = PRIVATE_FILE | (desk.st_mode & 0o060)
        if os.fstat(fd).st_gid != desk.st_gid:
            try:
                os.fchown(fd, -1, desk.st_gid)
            except OSError:  # not a member of the desk's group: the owner alone
                mode = PRIVATE_FILE
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _sqlite_backup(live: str, tmp: Path, progress: Progress | None) -> tuple[int, int]:
    try:
        source = sqlite3.connect(live, timeout=15, isolation_level=None)
        try:
            # One read transaction for the whole copy: one snapshot, no restarts.
            source.execute("BEGIN")
            source.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            dest = sqlite3.connect(tmp, isolation_level=None)
            try:
                source.backup(dest, pages=PAGES_PER_STEP, progress=_pages(progress))
                source.execute("ROLLBACK")
                dest.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
                problem = _integrity(dest)
                if problem:
                    raise DeskError(f"the backup copy failed its integrity check ({problem}); nothing was written")
                tickets = dest.execute("SELECT COUNT(*) FROM ticket").fetchone()[0]
                schema = dest.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
            finally:
                dest.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise DeskError(f"the backup failed: {exc}; nothing was written") from None
    return tickets, schema


def _pages(progress: Progress | None):
    if progress is None:
        return None
    return lambda status, remaining, total: progress(total - remaining, total)


def _durable_replace(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` over ``target`` so that after a crash there is either the
    old file or the whole new one."""
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, target)
    try:
        fd = os.open(target.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - a platform without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ------------------------------------------------------------------ inspect
def inspect_backup(path) -> BackupInfo:
    """What the backup at ``path`` holds; refuses anything restore must not take:
    not a file, not a deskconsole backup, truncated or damaged, or from a newer
    schema than this program understands."""
    source, kind, size, head = _sniff(path)
    if kind == "sqlite":
        return _inspect_sqlite(source, size, head)
    return _inspect_pg(source, size)


def _sniff(path) -> tuple[Path, str, int, bytes]:
    """The file's kind by its first bytes: "sqlite" or "postgresql" (a pg_dump archive)."""
    source = Path(path).expanduser()
    if not source.exists():
        raise ValidationError(f"no such file: {source}")
    if not source.is_file():
        raise ValidationError(f"{source} is not a file")
    size = source.stat().st_size
    try:
        with open(source, "rb") as f:
            head = f.read(100)
    except OSError as exc:
        raise ValidationError(f"cannot read {source}: {exc.strerror or exc}") from None
    if size == 0:
        raise ValidationError(f"{source} is empty, not a deskconsole backup")
    if head.startswith(SQLITE_MAGIC):
        return source, "sqlite", size, head
    if head.startswith(PG_MAGIC):
        return source, "postgresql", size, head
    raise ValidationError(
        f"{source} is not a deskconsole backup (neither a SQLite desk nor a pg_dump archive); nothing was changed"
    )


def check_backup(path) -> int:
    """The schema version of the desk backup at ``path``; refuses anything else."""
    return inspect_backup(path).schema


def _inspect_sqlite(source: Path, size: int, head: bytes) -> BackupInfo:
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    header_valid = len(head) >= 96 and head[24:28] == head[92:96]
    if len(head) < 100 or page_size < 512 or (header_valid and size < pages * page_size):
        expected = f" of {pages * page_size:,}" if header_valid else ""
        raise ValidationError(
            f"{source} is truncated ({size:,}{expected} bytes): not a whole backup; nothing was changed"
        )
    try:
        conn = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        try:
            problem = _integrity(conn)
            if problem:
                raise ValidationError(f"{source} is damaged (integrity check: {problem}); nothing was changed")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"schema_version", "ticket"} <= tables:
                raise ValidationError(f"{source} is a SQLite file but not a deskconsole desk (no schema version "
                                      f"or ticket table); nothing was changed")
            version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
            tickets = conn.execute("SELECT COUNT(*) FROM ticket").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise ValidationError(f"{source} is damaged or not a SQLite database ({exc}); nothing was changed") from None
    if version is None:
        raise ValidationError(f"{source} is not a deskconsole desk (its schema version table is empty)")
    _refuse_newer(source, version)
    made = datetime.fromtimestamp(source.stat().st_mtime, timezone.utc)
    return BackupInfo(source, "sqlite", int(version), size, made, tickets)


def _integrity(conn) -> str | None:
    rows = [r[0] for r in conn.execute("PRAGMA integrity_check(5)")]
    if rows == ["ok"]:
        return None
    # one row may hold several lines (a header, then a page each): one line for a message
    lines = [line.strip() for row in rows for line in str(row).splitlines()]
    return "; ".join(line for line in lines if line and not line.startswith("***"))


def _refuse_newer(source: Path, version: int) -> None:
    if version > migrations.LATEST:
        raise ValidationError(
            f"{source} has schema version {version}, newer than this deskconsole understands "
            f"({migrations.LATEST}); restore it with a newer deskconsole (pip install -U deskconsole); nothing was changed"
        )


def _inspect_pg(source: Path, size: int) -> BackupInfo:
    tool = shutil.which("pg_restore")
    if tool is None:
        raise DeskError(f"{source} is a pg_dump archive, and pg_restore is not on PATH to read it; "
                        f"install the PostgreSQL client tools (e.g. apt install postgresql-client)")
    listing = subprocess.run([tool, "--list", str(source)], capture_output=True, text=True)
    if listing.returncode != 0:
        raise ValidationError(f"{source} is a damaged pg_dump archive ({_last_line(listing.stderr)}); nothing was changed")
    entries = listing.stdout
    if not all(re.search(rf"^\d+; \d+ \d+ TABLE public {t} ", entries, re.M) for t in ("schema_version", "ticket")):
        raise ValidationError(f"{source} is a pg_dump archive but not of a deskconsole desk "
                              f"(no schema version or ticket table); nothing was changed")
    whole = subprocess.run([tool, "--file", os.devnull, str(source)], capture_output=True, text=True)
    if whole.returncode != 0:  # it must read to the end: a truncated archive lists fine but fails here
        raise ValidationError(f"{source} is a damaged or truncated pg_dump archive ({_last_line(whole.stderr)}); "
                              f"nothing was changed")
    data = subprocess.run([tool, "--data-only", "--table=schema_version", "--file=-", str(source)],
                          capture_output=True, text=True)
    versions = _copy_rows(data.stdout, "public.schema_version")
    if data.returncode != 0 or not versions:
        raise ValidationError(f"{source} is not a deskconsole desk (no schema version in it); nothing was changed")
    version = max(int(row.split("\t", 1)[0]) for row in versions)
    _refuse_newer(source, version)
    made = None
    m = re.search(r"^; Archive created at (.+)$", entries, re.M)
    if m:
        try:
            made = datetime.strptime(m.group(1).strip(), "%Y-%m-%d %H:%M:%S %Z").replace(tzinfo=timezone.utc)
        except ValueError:
            made = None
    return BackupInfo(source, "postgresql", version, size, made)


def _copy_rows(script: str, table: str) -> list[str]:
    m = re.search(rf"^COPY {re.escape(table)} \(.*?\) FROM stdin;\n(.*?)^\\\.$", script, re.M | re.S)
    return [line for line in m.group(1).splitlines() if line] if m else []


# ------------------------------------------------------------------ restore
@dataclass
class RestorePlan:
    """What a restore would do: the backup, and the desk it would replace."""

    backup: BackupInfo
    desk: str  # the live desk, described
    tickets_now: int


@on_desk
def plan_restore(desk: "Desk", actor: Actor, path) -> RestorePlan:
    """Check ``actor`` may restore and the backup is fit, changing nothing."""
    require(actor, "restore")
    info = _fit_backup(desk, path)
    from deskconsole.models import Ticket

    return RestorePlan(info, parse_url(desk.url).describe(), Ticket.select().count())


@on_desk
def restore(desk: "Desk", actor: Actor, path, *, progress: Progress | None = None) -> BackupResult:
    """Replace every row of the desk with the backup at ``path``; audited afterwards.
    Refuses (changing nothing) anything :func:`inspect_backup` refuses."""
    require(actor, "restore")
    started = time.monotonic()
    info = _fit_backup(desk, path)
    feed_before = _newest_feed(desk)
    desk.close()  # our own connection must not hold the live tables while they are replaced
    try:
        if desk.is_sqlite:
            _sqlite_restore(info.path, _sqlite_path(desk), progress)
        else:
            _pg_restore(desk, info.path, progress)
    finally:
        desk.db.connect(reuse_if_open=True)
    before = migrations.migrate(desk.db)  # an older backup is brought forward
    tickets = _after_restore(desk, actor, info, before, feed_before)
    return BackupResult(info.path, tickets, info.size, time.monotonic() - started, info.schema,
                        before if before < migrations.LATEST else None)


def _fit_backup(desk: "Desk", path) -> BackupInfo:
    if desk.is_sqlite:
        return fit_sqlite_backup(Path(_sqlite_path(desk)), path)
    source, kind, _, _ = _sniff(Path(path).expanduser())
    if kind != "postgresql":
        raise ValidationError(f"{source} is a SQLite file and this desk is PostgreSQL: a SQLite desk backup restores "
                              f"onto a SQLite desk (to move tickets between backends use deskconsole export and "
                              f"import); nothing was changed")
    _require_pg_restore_tools(desk, source)
    return inspect_backup(source)


def fit_sqlite_backup(live: Path, path) -> BackupInfo:
    """The backup at ``path``, checked to restore onto the SQLite desk file ``live``."""
    source = Path(path).expanduser()
    if source.exists():
        _refuse_live_file(live, source, "restore from")
    source, kind, _, _ = _sniff(source)
    if kind != "sqlite":
        raise ValidationError(f"{source} is a pg_dump archive and this desk is SQLite: it restores onto a PostgreSQL "
                              f"desk (to move tickets between backends use deskconsole export and import); "
                              f"nothing was changed")
    return inspect_backup(source)


def _sqlite_restore(source: Path, live: str, progress: Progress | None) -> None:
    try:
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        try:
            src.execute("BEGIN")  # one snapshot of the backup file, whatever else opens it
            src.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            live_conn = sqlite3.connect(live, timeout=30, isolation_level=None)
            try:
                # One write transaction on the live file, committed when the
                # last page is in: others see the old desk or the new one.
                src.backup(live_conn, pages=PAGES_PER_STEP, progress=_pages(progress))
                live_conn.execute("PRAGMA journal_mode=WAL")
            finally:
                live_conn.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise DeskError(f"the restore failed ({exc}); the desk is as it was") from None


def _newest_feed(desk: "Desk") -> int:
    row = desk.db.execute_sql("SELECT MAX(seq) FROM feed").fetchone()
    return int(row[0] or 0)


def _after_restore(desk: "Desk", actor: Actor, info: BackupInfo, before: int, feed_before: int) -> int:
    from deskconsole.core.desk import CLOCKS_SINCE
    from deskconsole.core.access.directory import apply_config
    from deskconsole.core.txn import unit_of_work
    from deskconsole.models import FeedEntry, Ticket

    # The restore was allowed by the directory it replaced; the backup's may not know the admin who restored it.
    actor = replace(actor, internal=True)
    desk.directory.load()  # the backup's directory is in force now ...
    if not any(a.active and a.role == "admin" for a in desk.directory.agents.values()):
        apply_config(desk, actor)  # ... unless nobody could administer it: then the restoring admin's config's
    if 0 < before < CLOCKS_SINCE:  # a backup from before SLA clocks: give its tickets theirs
        from deskconsole.core.sla_clocks import sla_history
        from deskconsole.core.automation.escalation import SLA_ACTOR

        with unit_of_work(desk, SLA_ACTOR, "sla"):
            sla_history.missing(desk)
    with unit_of_work(desk, actor, "restore") as unit:
        tickets = Ticket.select().count()
        made = f", made {info.made_at.isoformat(timespec='seconds')}" if info.made_at else ""
        unit.audit(None, field="desk", new=f"{info.path} ({tickets} tickets, schema {info.schema}{made})")
        # Past every sequence number the live desk had: a live view reading the
        # feed from where it was notices the restore and reloads.
        seq = max(_newest_feed(desk), feed_before) + 1
        FeedEntry.insert(seq=seq, at=unit.now, actor=actor.login, action="restore", ticket=None, version=None).execute()
        if not desk.is_sqlite:
            desk.db.execute_sql("SELECT setval(pg_get_serial_sequence('feed', 'seq'), %s)", (seq,))
    return tickets


# ------------------------------------------------------------------ PostgreSQL
def _libpq(url: str) -> tuple[str, dict]:
    """A libpq connection string for the desk's database (no password in it:
    that goes in the environment) and the environment to run a tool in."""
    info = parse_url(url)
    params = dict(info.params or {})
    password = params.pop("password", None)
    params.pop("connect_timeout", None)
    words = [f"{k}={_conn_value(v)}" for k, v in params.items()] + [f"dbname={_conn_value(info.dbname)}"]
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    return " ".join(words), env


def _conn_value(value) -> str:
    text = str(value)
    if text and not re.search(r"[\s'\\]", text):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _password_note(url: str) -> str:
    return " (with the password in PGPASSWORD or ~/.pgpass)" if (parse_url(url).params or {}).get("password") else ""


def _desk_tables() -> list[str]:
    from deskconsole.models import MODELS

    return [m._meta.table_name for m in MODELS]


def _pg_backup(desk: "Desk", tmp: Path, target: Path, progress: Progress | None) -> tuple[int, int]:
    conninfo, env = _libpq(desk.url)
    tool = shutil.which("pg_dump")
    if tool is None:
        shown = shlex.join(["pg_dump", "--format=custom", f"--file={target}", f"--dbname={conninfo}"])
        raise DeskError(f"pg_dump is not on PATH (install the PostgreSQL client tools, e.g. apt install "
                        f"postgresql-client); on this PostgreSQL desk back up with: {shown}{_password_note(desk.url)}")
    import psycopg

    info = parse_url(desk.url)
    with psycopg.connect(dbname=info.dbname, **(info.params or {})) as conn:
        # The dump and the figures printed come from one snapshot.
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        tickets = conn.execute("SELECT COUNT(*) FROM ticket").fetchone()[0]
        schema = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        command = [tool, "--format=custom", "--verbose", f"--snapshot={snapshot}", f"--file={tmp}",
                   f"--dbname={conninfo}"]
        total = len(_desk_tables())
        done = 0
        errors: list[str] = []
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        assert proc.stderr is not None
        for line in proc.stderr:
            if "dumping contents of table" in line:
                done = min(done + 1, total)
                if progress:
                    progress(done, total)
            elif "error" in line.lower() or "fatal" in line.lower():
                errors.append(line.strip())
        code = proc.wait()
        conn.rollback()
    if code != 0:
        raise DeskError(f"pg_dump failed (exit {code}): {errors[-1] if errors else 'no message'}; nothing was written")
    if progress and done < total:
        progress(total, total)
    check = shutil.which("pg_restore")
    if check:
        listing = subprocess.run([check, "--list", str(tmp)], capture_output=True, text=True)
        if listing.returncode != 0:
            raise DeskError(f"the dump pg_dump wrote does not read back ({_last_line(listing.stderr)}); nothing was written")
    return tickets, schema


def _pg_restore_commands(desk: "Desk", source: Path, script="-") -> tuple[list[str], list[str]]:
    conninfo, _ = _libpq(desk.url)
    tables = ", ".join(f"public.{t}" for t in _desk_tables())
    prelude = (f"SET lock_timeout = '{LOCK_TIMEOUT}'; DROP TABLE IF EXISTS {tables} CASCADE; "
               f"DROP FUNCTION IF EXISTS {FEED_FUNCTION} CASCADE")
    dump = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", f"--file={script}", str(source)]
    load = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-c", prelude, "-f", script,
            f"--dbname={conninfo}"]
    return dump, load


def _require_pg_restore_tools(desk: "Desk", source: Path) -> None:
    missing = [t for t in ("pg_restore", "psql") if shutil.which(t) is None]
    if missing:
        # pg_restore reads the whole archive into restore.sql before psql
        # starts: a damaged archive stops it there, with the desk untouched.
        dump, load = _pg_restore_commands(desk, source, script="restore.sql")
        raise DeskError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not on PATH (install the PostgreSQL "
            f"client tools, e.g. apt install postgresql-client); on this PostgreSQL desk restore with: "
            f"{shlex.join(dump)} && {shlex.join(load)}{_password_note(desk.url)}, "
            f"then run any deskconsole command to bring the schema up to date"
        )


def _pg_restore(desk: "Desk", source: Path, progress: Progress | None) -> None:
    _require_pg_restore_tools(desk, source)
    _, env = _libpq(desk.url)
    dump, load = _pg_restore_commands(desk, source)
    dump[0], load[0] = shutil.which(dump[0]), shutil.which(load[0])
    listing = subprocess.run([dump[0], "--list", str(source)], capture_output=True, text=True)
    total = max(1, len(re.findall(r"^\d+; \d+ \d+ TABLE DATA ", listing.stdout, re.M)))
    with tempfile.TemporaryFile() as dump_err, tempfile.TemporaryFile() as load_err:
        producer = subprocess.Popen(dump, stdout=subprocess.PIPE, stderr=dump_err)
        consumer = subprocess.Popen(load, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=load_err, env=env)
        assert producer.stdout is not None and consumer.stdin is not None
        # Relay the script ourselves rather than through a shell pipe: psql
        # commits at the end of its input, so if pg_restore stops half-way
        # psql must be stopped before it sees an end of input and commits half
        # a desk. Killed, it never commits; the server rolls back.
        done, shown, tail, broken = 0, 0, b"", False
        for chunk in iter(lambda: producer.stdout.read(1 << 16), b""):
            seen = tail + chunk
            done = min(done + seen.count(b"\nCOPY "), total)
            tail = seen[-5:]  # shorter than the marker: a match is never counted twice
            if progress and done > shown:
                progress(done, total)
                shown = done
            try:
                consumer.stdin.write(chunk)
            except BrokenPipeError:  # psql stopped at an error (ON_ERROR_STOP): it rolled back
                broken = True
                break
        if broken:
            producer.kill()
        produced = producer.wait()
        if produced != 0 and not broken:
            consumer.kill()
            consumer.wait()
            raise DeskError(f"pg_restore failed (exit {produced}): {_last_line(_read(dump_err))}; the desk is as it was")
        try:
            consumer.stdin.close()
        except BrokenPipeError:
            pass
        loaded = consumer.wait()
        if loaded != 0:
            message = _last_line(_read(load_err))
            if "lock timeout" in message:
                message += f" (another session held a desk table for {LOCK_TIMEOUT}: a long transaction?)"
            raise DeskError(f"the restore failed (psql exit {loaded}): {message}; the desk is as it was")
    if progress and shown < total:
        progress(total, total)


def _read(f) -> str:
    f.seek(0)
    return f.read().decode("utf-8", "replace")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


# ------------------------------------------------------------------ SQLite helpers
def _sqlite_path(desk: "Desk") -> str:
    path = parse_url(desk.url).path
    if not path or path == ":memory:":
        raise ValidationError("an in-memory desk has no file to back up or restore")
    return path


def _refuse_live_file(live: Path, other: Path, what: str) -> None:
    candidates = [live] + [live.with_name(live.name + s) for s in ("-wal", "-shm", "-journal")]
    for c in candidates:
        try:
            same = other.exists() and c.exists() and os.path.samefile(other, c)
        except OSError:
            same = False
        if same or other.resolve() == c.resolve():
            raise ValidationError(f"{other} is the live desk's own file; {what} a file of its own")
