"""Shared fixtures: a real SQLite desk in a temporary folder, a manual clock,
and one actor for each role."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from deskconsole.models import MODELS

from deskconsole.config import parse_config
from deskconsole.core.clock import ManualClock
from deskconsole.core.desk import open_desk
from deskconsole.core.identity import actor_for

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


@pytest.fixture
def config_text():
    """The test desk's config as TOML text (to extend with more sections)."""
    return TEST_CONFIG


@pytest.fixture
def config():
    return parse_config(TEST_CONFIG, "test.toml")


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'desk.db'}"


@pytest.fixture
def desk(db_url, config, clock):
    desk = open_desk(db_url, config, clock)
    yield desk
    desk.close()


@pytest.fixture
def actors(config):
    return {login: actor_for(config, login) for login in ("ada", "lee", "al", "nia", "vic")}


@pytest.fixture
def write_config(tmp_path):
    """Write a config file (the test config by default); returns its path."""

    def write(text: str = TEST_CONFIG, name: str = "config.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


import os

# One PostgreSQL database per test run; DESKCONSOLE_TEST_PG points a run at another
# (so two runs on one server do not empty each other's tables).
PG_URL = os.environ.get("DESKCONSOLE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
DESK_TABLES = ", ".join(m._meta.table_name for m in reversed(MODELS))  # every desk table, dependants first


@pytest.fixture
def postgres_url():
    """The local PostgreSQL test database, emptied of desk tables; skipped
    (with the reason) where no PostgreSQL answers."""
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=2, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {DESK_TABLES} CASCADE")
    except Exception as exc:  # no driver, no server, no database: all mean "not here"
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}")
    return PG_URL


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


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request, tmp_path):
    """The same test on both backends: a fresh SQLite file, then the local
    PostgreSQL test database (skipped, with the reason, where none answers)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'desk.db'}"
    return request.getfixturevalue("postgres_url")


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


@pytest.fixture
def sqlite_url(tmp_path):
    """A SQLite desk file (not yet created) in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'desk.db'}"


class _PgTestDatabase:
    """The PostgreSQL test database: ``bare()`` leaves no desk tables in it,
    ``empty()`` leaves it for the next open_desk to make a current desk."""

    def __init__(self, url: str):
        self.url = url

    def bare(self) -> None:
        import psycopg

        with psycopg.connect(self.url, connect_timeout=5, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {DESK_TABLES} CASCADE")

    empty = bare


@pytest.fixture
def pg_database(postgres_url):
    """The run's PostgreSQL test database (skipped, with the reason, where none answers)."""
    return _PgTestDatabase(postgres_url)
