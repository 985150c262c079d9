"""Database URL -> a connected Peewee database with the right settings.

``sqlite:///relative/desk.db``, ``sqlite:////abs/desk.db`` or a plain path
select the embedded SQLite backend; ``postgresql://user@host:port/db`` (or
``postgres://``) selects PostgreSQL. The same models and code run on both.
"""

from __future__ import annotations

import os
import time
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from deskconsole import pgdriver

pgdriver.defer()  # Peewee without psycopg: a SQLite desk never pays for importing it (see load() below)

from peewee import Database, DatabaseError, OperationalError, PostgresqlDatabase, SqliteDatabase  # noqa: E402

from deskconsole.errors import DeskError
from deskconsole.paths import create_file, make_dirs

SQLITE_PRAGMAS = (
    ("journal_mode", "wal"),
    ("foreign_keys", 1),
    ("busy_timeout", 15000),  # ms: wait for a writer instead of failing at once
    ("synchronous", "normal"),  # safe with WAL: a crash loses no committed data
    ("cache_size", -32000),  # 32 MB page cache
)


class DatabaseURLError(DeskError):
    """The database URL cannot be understood or reached."""


class DeskNotFound(DeskError):
    """There is no SQLite desk file where the URL points (and a read never makes one)."""

    def __init__(self, path: str):
        self.path = path
        super().__init__(
            f"no desk at {path}; create one with 'deskconsole init' (or try 'deskconsole demo'),"
            f" or point --db / DESKCONSOLE_DB at an existing desk"
        )


class DamagedDatabase(DeskError):
    """A SQLite desk file that SQLite cannot read: damaged, or not a database at all."""

    def __init__(self, path: str, reason: str):
        self.path, self.reason = path, reason
        super().__init__(
            f"the desk {path} cannot be read ({reason}): the file is damaged or not a desk; an admin can put the"
            f" last backup in its place with: deskconsole restore BACKUP --yes (the damaged file is kept beside it)"
        )


def refused_by_server(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL refusing a statement for want of a
    privilege (SQLSTATE 42501), e.g. a viewer's role after ``admin pg-grants``."""
    driver = exc.__context__ or exc.__cause__ or exc  # Peewee re-raises the driver's error as its own
    return getattr(driver, "sqlstate", None) == "42501"


def damaged(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite saying a file is not a (sound) database — not a
    lock, a full disk or a missing folder, which are OperationalErrors."""
    return type(exc) in (DatabaseError, sqlite3.DatabaseError)


@dataclass(frozen=True)
class DatabaseURL:
    backend: str  # "sqlite" | "postgresql"
    path: str | None = None  # SQLite file (or ":memory:")
    dbname: str | None = None
    params: dict | None = None

    def describe(self) -> str:
        if self.backend == "sqlite":
            return f"SQLite file {self.path}"
        p = self.params or {}
        host = p.get("host", "localhost")
        return f"PostgreSQL database {self.dbname!r} on {host}:{p.get('port', 5432)}"


def parse_url(url: str) -> DatabaseURL:
    try:
        return _parse_url(url)
    except ValueError as exc:  # urllib: a bad port, an unclosed [ in the host...
        raise DatabaseURLError(f"{url!r} is not a database URL ({exc}); give e.g. sqlite:///desk.db or"
                               f" postgresql://user@host:5432/db") from None


def _parse_url(url: str) -> DatabaseURL:
    url = url.strip()
    if not url:
        raise DatabaseURLError("the database URL is empty; give e.g. sqlite:///desk.db or postgresql://user@host/db")
    if "://" not in url:
        return DatabaseURL("sqlite", path=str(Path(url).expanduser()))
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme in ("sqlite", "sqlite3"):
        raw = unquote(url.split("://", 1)[1])
        # sqlite:///rel/path -> "/rel/path" after the authority; strip one slash.
        path = raw[1:] if raw.startswith("/") else raw
        path = path.split("?", 1)[0]
        if not path:
            raise DatabaseURLError(f"{url!r} names no file; give e.g. sqlite:///desk.db or sqlite:////var/lib/desk.db")
        return DatabaseURL("sqlite", path=path if path == ":memory:" else str(Path(path).expanduser()))
    if scheme in ("postgresql", "postgres", "pgsql"):
        dbname = unquote(parsed.path.lstrip("/")) or None
        if not dbname:
            raise DatabaseURLError(f"{url!r} names no database; give e.g. postgresql://user@host:5432/desk")
        params: dict = {}
        if parsed.hostname:
            params["host"] = parsed.hostname
        if parsed.port:
            params["port"] = parsed.port
        if parsed.username:
            params["user"] = unquote(parsed.username)
        if parsed.password:
            params["password"] = unquote(parsed.password)
        for key, values in parse_qs(parsed.query).items():
            params[key] = values[-1]
        params.setdefault("connect_timeout", 5)
        return DatabaseURL("postgresql", dbname=dbname, params=params)
    raise DatabaseURLError(
        f"unknown database scheme {scheme!r} in {url!r}; use sqlite:///PATH or postgresql://USER@HOST/DB"
    )


def connect(url: str, *, create: bool = True) -> Database:
    """Open the database named by ``url``. A SQLite file that does not exist is
    created (0600, or 0660 in a desk group's folder; its folders 0700) — or,
    with ``create=False``, :class:`DeskNotFound` is raised and nothing is
    made. On PostgreSQL the database itself must exist either way (there
    ``create`` is about the desk's schema, which :func:`connect` leaves alone)."""
    info = parse_url(url)
    if info.backend == "sqlite":
        if info.path != ":memory:":
            _sqlite_file(info.path, create)
        # Every transaction the desk opens is a write transaction: take the
        # write lock up front (BEGIN IMMEDIATE) so read-then-write never fails
        # half-way with "database is locked".
        db = SqliteDatabase(info.path, pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE", timeout=15)
    else:
        pgdriver.load()  # before the database picks its driver adapter
        db = PostgresqlDatabase(info.dbname, **(info.params or {}))
    try:
        _connect(db, info.backend == "sqlite")
    except OperationalError as exc:
        raise DatabaseURLError(f"cannot open {info.describe()}: {first_line(exc)}") from None
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise DatabaseURLError(
            f"PostgreSQL needs the psycopg driver: pip install 'deskconsole[postgres]' ({exc})"
        ) from None
    except Exception as exc:
        if info.backend == "sqlite" and damaged(exc):
            raise DamagedDatabase(info.path, first_line(exc)) from None
        raise
    return db


def _connect(db: Database, sqlite: bool, wait: float = 15.0) -> None:
    """Connect; on SQLite, wait out a lock as a busy timeout would. Turning a
    new file to WAL (the connection's first pragma) needs the file to
    itself, and SQLite answers "database is locked" at once instead of
    waiting when another connection is in it (several consoles opening a
    new desk at the same moment)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            db.connect(reuse_if_open=True)
            return
        except OperationalError as exc:
            if not sqlite or "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            if not db.is_closed():
                db.close()
            time.sleep(0.02)


def _sqlite_file(path: str, create: bool) -> None:
    """Make sure the desk file exists; we create it ourselves so that its mode
    is ours and not SQLite's 0644 (its -wal and -shm take the file's mode)."""
    if os.path.exists(path):
        return
    if not create:
        raise DeskNotFound(path)
    try:
        make_dirs(Path(path).parent)
    except OSError as exc:
        raise DatabaseURLError(f"cannot create the folder for {path}: {exc.strerror}") from None
    try:
        os.close(create_file(path))
    except FileExistsError:  # another process made it meanwhile
        pass
    except OSError as exc:
        raise DatabaseURLError(f"cannot create {path}: {exc.strerror}; choose another --db") from None


def dialect(db: Database) -> type:
    """The kind of database behind ``db`` (a proxy's too): its class decides
    placeholders, quoting and ``FOR UPDATE``. Statements built once are cached
    by this, never by the database object, whose id() is reused once it is gone."""
    return type(getattr(db, "obj", db))


def is_sqlite(db: Database) -> bool:
    return issubclass(dialect(db), SqliteDatabase)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__



def refresh_statistics(db) -> None:
    """Let the query planner know the tables' shape after a bulk load (SQLite
    guesses otherwise, e.g. sorting every open ticket for ``sort:due``).
    Not sampled: a 1,000-row sample told SQLite each status holds ~1,000
    tickets, so it sorted every open ticket instead of walking ``sla_due``
    (0.3 s for a queue page on 1M tickets, 3 ms with full statistics). A
    full ANALYZE of a 1M-ticket desk takes about 2 s."""
    if is_sqlite(db):
        db.execute_sql("PRAGMA analysis_limit=0")
        db.execute_sql("ANALYZE")
