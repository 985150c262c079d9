"""Shared fixtures: a real desk on each backend, a manual clock, and one actor
for each role.

Every test that asks for ``db_url`` (or ``desk`` and the other desk fixtures
built on it) runs twice: on a fresh SQLite file in ``tmp_path`` and on the
local PostgreSQL test database (``DESKCONSOLE_TEST_PG``, by default
``postgresql://postgres@127.0.0.1:5432/test``). Where no PostgreSQL answers,
the PostgreSQL half is skipped with the reason; with ``DESKCONSOLE_REQUIRE_PG=1``
(as ``.ci/run`` sets it) it fails instead, so a run cannot pass with that half
silently missing. ``pytest -m "not postgresql"`` leaves it out on purpose.

Tests about SQLite itself (the file, its locks, ``PRAGMA data_version``,
WAL, query plans) ask for ``sqlite_url``; tests about PostgreSQL itself
(LISTEN/NOTIFY, a server restart) ask for ``postgres_url``.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from facts_check import stale_facts

from deskconsole import migrations
from deskconsole.models import MODELS

from deskconsole.config import parse_config
from deskconsole.core.clock import ManualClock
from deskconsole.core.desk import open_desk
from deskconsole.core.identity import Actor

PROJECT = Path(__file__).resolve().parents[1]
SHARED = PROJECT.parent / "shared"

TEST_CONFIG = """
[desk]
name = "Test desk"
default_team = "ops"

[teams.ops]
name = "Operations"
email = "ops@example.com"

[teams.network]
name = "Network"

[agents.ada]
name = "Ada Admin"
role = "admin"
team = "ops"
email = "ada@example.com"

[agents.lee]
name = "Lee Lead"
role = "lead"
team = "ops"

[agents.al]
name = "Al Agent"
role = "agent"
team = "ops"

[agents.nia]
name = "Nia Network"
role = "agent"
team = "network"

[agents.vic]
name = "Vic Viewer"
role = "viewer"

[categories]
outage = "Outage"
access = "Access request"

[services.vpn]
name = "Corporate VPN"
team = "network"

[services.mail]
name = "E-mail"
team = "ops"
"""

START = datetime(2026, 11, 23, 9, 0, 0, tzinfo=timezone.utc)


# Two SLA policies, P1 and the rest: what the console, wallboard and backup tests run with.
TWO_POLICIES = """
[[sla.policy]]
name = "p1"
priority = "P1"
first_response = "15m"
resolution = "4h"

[[sla.policy]]
name = "rest"
first_response = "1h"
resolution = "8h"
"""


@pytest.fixture
def config_text():
    """The test desk's config as TOML text (to extend with more sections)."""
    return TEST_CONFIG


@pytest.fixture
def two_policies_text(config_text):
    """The test desk's config with :data:`TWO_POLICIES`."""
    return config_text + TWO_POLICIES


@pytest.fixture
def config():
    return parse_config(TEST_CONFIG, "test.toml")


@pytest.fixture
def clock():
    return ManualClock(START)


# ------------------------------------------------------------------ backends


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite: the SQLite half of a test that runs on both backends")
    config.addinivalue_line("markers", "postgresql: needs the PostgreSQL test database (DESKCONSOLE_TEST_PG)")


def pytest_collection_modifyitems(items):
    # Tests about PostgreSQL itself (they ask for postgres_url, pg_proxy...) are
    # part of the PostgreSQL half too: ``-m postgresql`` runs all of it.
    for item in items:
        if "pg_database" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("sqlite"):
            item.add_marker(pytest.mark.postgresql)


PG_URL = os.environ.get("DESKCONSOLE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
# One PostgreSQL database per test run: DESKCONSOLE_TEST_PG points a run at
# another, so two runs on one server never empty each other's tables.
REQUIRE_PG = os.environ.get("DESKCONSOLE_REQUIRE_PG", "").strip() not in ("", "0")
DESK_TABLES = [m._meta.table_name for m in reversed(MODELS)]  # every desk table, dependants first


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class PgTestDatabase:
    """The run's PostgreSQL test database, through one autocommit connection.

    The desk schema is created once and kept: between tests :meth:`empty`
    deletes every row and restarts the id sequences in one round trip (a few
    ms; dropping and re-migrating costs about 40 times that, TRUNCATE about 5
    times, a copy of a template database about 30 times). Connections a finished test
    left open are ended first, so none of them holds a lock or a transaction
    into the next test. A test that changed the schema (an older version, a
    renamed table, a foreign table) leaves it to be dropped and made afresh.
    """

    def __init__(self, url: str):
        import psycopg

        self.url = url
        try:
            self._connect()
        except psycopg.OperationalError as exc:
            if "does not exist" not in str(exc):
                raise
            self._create_database(url)  # a newcomer's server: make the test database
            self._connect()
        self._reset_sql: str | None = None
        try:  # commits need not wait for the disk here: a test database, not a desk (new connections)
            from psycopg import sql

            self.conn.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(
                sql.Identifier(self.conn.info.dbname)))
        except Exception:  # not the database's owner: commits wait, the tests still pass
            pass

    def _connect(self) -> None:
        import psycopg

        self.conn = psycopg.connect(self.url, connect_timeout=3, autocommit=True)

    def _alive(self) -> None:
        """Connected again if a test ended every connection to the database, ours too."""
        import psycopg

        try:
            self.conn.execute("SELECT 1")
        except psycopg.Error:
            self.conn.close()
            self._connect()

    @staticmethod
    def _create_database(url: str) -> None:
        from urllib.parse import urlparse, urlunparse

        import psycopg
        from psycopg import sql

        parsed = urlparse(url)
        name = parsed.path.lstrip("/")
        with psycopg.connect(urlunparse(parsed._replace(path="/postgres")), connect_timeout=3,
                             autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def end_other_connections(self) -> int:
        rows = self.conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        ).fetchall()
        return len(rows)

    def _schema_is_the_desk(self) -> bool:
        tables = {r[0] for r in self.conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        if tables != set(DESK_TABLES):
            return False
        version = self.conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        return version == migrations.LATEST

    def empty(self) -> None:
        """No rows in any desk table, ids from 1 again; the schema stays."""
        self._alive()
        self.end_other_connections()
        if not self._schema_is_the_desk():
            self.bare()
            self._migrate()
        if self._reset_sql is None:
            sequences = [r[0] for r in self.conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relkind = 'S' AND n.nspname = 'public' ORDER BY 1")]
            self._reset_sql = "".join(
                [f"DELETE FROM {t};" for t in DESK_TABLES if t != "schema_version"]
                + [f"ALTER SEQUENCE {s} RESTART;" for s in sequences])
        self.conn.execute("BEGIN;" + self._reset_sql + "COMMIT;")

    def _migrate(self) -> None:
        from deskconsole.db import connect

        db = connect(self.url)
        try:
            migrations.migrate(db)
        finally:
            db.close()

    def bare(self) -> None:
        """No desk at all: an empty public schema (the next desk opened migrates from 0)."""
        self._alive()
        self.end_other_connections()
        self.conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        self._reset_sql = None

    def close(self) -> None:
        self.conn.close()


@pytest.fixture(scope="session")
def pg_database():
    """The run's :class:`PgTestDatabase`, checked once per run; skipped with the
    reason where no PostgreSQL answers (failed with it under DESKCONSOLE_REQUIRE_PG)."""
    try:
        db = PgTestDatabase(PG_URL)
    except Exception as exc:  # no driver, no server, no database: all mean "not here"
        reason = f"PostgreSQL not reachable at {PG_URL}: {_first_line(exc)}"
        if REQUIRE_PG:
            pytest.fail(f"{reason} (DESKCONSOLE_REQUIRE_PG is set: the PostgreSQL half must run)", pytrace=False)
        pytest.skip(reason)
    yield db
    db.close()


@pytest.fixture
def postgres_url(pg_database):
    """The PostgreSQL test database: the desk schema, no rows, ids from 1 again."""
    pg_database.empty()
    return pg_database.url


@pytest.fixture
def sqlite_url(tmp_path):
    """A SQLite desk file (not yet created) in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'desk.db'}"


BACKENDS = [pytest.param("sqlite", marks=pytest.mark.sqlite),
            pytest.param("postgresql", marks=pytest.mark.postgresql)]


@pytest.fixture(params=BACKENDS)
def db_url(request):
    """The desk's database, once per backend: a fresh SQLite file, then the
    emptied PostgreSQL test database."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture
def backend_url(db_url):
    """Another name for :func:`db_url`."""
    return db_url


@pytest.fixture(params=BACKENDS)
def bare_db_url(request, tmp_path):
    """A database with no desk in it yet, once per backend (for tests of
    migrations and of what opening a desk does to a database)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bare.db'}"
    pg = request.getfixturevalue("pg_database")
    pg.bare()
    return pg.url


@pytest.fixture
def query_plan():
    """``query_plan(db, sql, params)``: how the database would run a query, one
    line a step. SQLite: EXPLAIN QUERY PLAN's own words ("SEARCH t1 USING
    INDEX ..."; a bare "SCAN t1" reads the whole table). PostgreSQL: EXPLAIN
    with sequential scans priced out (enable_seqscan off), since on a test
    desk's few rows a table scan is always cheapest; a "Seq Scan" left in
    the plan means no index can answer the query."""
    from deskconsole.db import is_sqlite

    def plan(db, sql, params=()) -> list[str]:
        if is_sqlite(db):
            return [row[-1] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()]
        with db.atomic():
            db.execute_sql("SET LOCAL enable_seqscan = off")
            return [row[0].strip() for row in db.execute_sql("EXPLAIN " + sql, params).fetchall()]

    return plan


@pytest.fixture
def desk(db_url, config, clock):
    desk = open_desk(db_url, config, clock)
    yield desk
    try:
        if not desk.db.is_closed():  # whatever the test wrote, the reports' facts followed
            stale = stale_facts(desk)
            assert not stale, "report facts out of date:\n" + "\n".join(stale[:20])
    finally:
        desk.close()


@pytest.fixture
def actors(config):
    """The test config's agents as the desk seeded from it knows them (each
    write checks the role against the desk's directory again)."""
    return {login: config_actor(config, login) for login in ("ada", "lee", "al", "nia", "vic")}


def config_actor(config, login: str) -> Actor:
    """``login`` as a desk created from ``config`` has it in its directory."""
    agent = config.agents[login]
    return Actor(login=login, name=agent.name, role=agent.role, team=agent.team)


@pytest.fixture
def write_config(tmp_path):
    """Write a config file (the test config by default); returns its path."""

    def write(text: str = TEST_CONFIG, name: str = "config.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


async def _settle(app, pilot, rounds: int = 3, timeout: float = 15.0) -> None:
    """Let a console or a wallboard finish what a key started: its database workers done
    and the screen refreshed. An action waiting for its own modal screen (a
    picker, a text entry, a confirm) counts as settled — it waits for keys."""
    import asyncio

    from textual.worker import WorkerState

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    for _ in range(rounds):
        while True:
            await pilot.pause()
            busy = [w for w in app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)]
            waiting_for_keys = len(app.screen_stack) > 1 and all(w.group == "action" for w in busy)
            if not busy or waiting_for_keys:
                break
            if loop.time() > deadline:
                raise AssertionError(f"the app never settled; still busy: {busy}")
            await asyncio.sleep(0.01)
    await pilot.pause()


@pytest.fixture
def settle():
    return _settle


@pytest.fixture
def pg_proxy(postgres_url):
    """The PostgreSQL test database behind a TCP proxy (tests/tcp_proxy.py):
    ``.down()`` is a server restart as clients see it, ``.up()`` its return;
    ``.desk_url`` reaches the database through it."""
    from urllib.parse import urlparse

    from tcp_proxy import TcpProxy

    target = urlparse(postgres_url)
    proxy = TcpProxy((target.hostname, target.port or 5432)).up()
    proxy.desk_url = proxy.url(target.path.lstrip("/"))
    yield proxy
    proxy.down()
