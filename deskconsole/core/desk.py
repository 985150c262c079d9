"""The Desk: one open database, its config and its clock.

Everything in the core takes a Desk. ``open_desk`` connects, migrates the
schema and mirrors the config's teams, agents, categories and services into
the database so tickets can refer to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from peewee import Database

from deskconsole import migrations
from deskconsole.config import Config
from deskconsole.core.clock import Clock, system_clock
from deskconsole.core.directory import Directory, sync_directory
from deskconsole.db import DamagedDatabase, connect, damaged, first_line, is_sqlite
from deskconsole.models import MODELS, database


CLOCKS_SINCE = 3  # the schema version that brought SLA clocks


@dataclass
class Desk:
    db: Database
    config: Config
    clock: Clock = system_clock
    url: str = ""
    directory: Directory = field(default_factory=Directory)

    def now(self):
        return self.clock()

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.db)

    def transaction(self):
        """A write transaction (SQLite: BEGIN IMMEDIATE)."""
        return self.db.atomic()

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()


def open_desk(url: str, config: Config, clock: Clock = system_clock, *, migrate: bool = True, sync: bool = True) -> Desk:
    db = connect(url)
    try:
        return _open(db, url, config, clock, migrate, sync)
    except Exception as exc:
        if is_sqlite(db) and damaged(exc):  # it opened, but its pages do not read
            db.close()
            raise DamagedDatabase(db.database, first_line(exc)) from None
        raise


def _open(db: Database, url: str, config: Config, clock: Clock, migrate: bool, sync: bool) -> Desk:
    database.initialize(db)
    db.bind(MODELS, bind_refs=False, bind_backrefs=False)
    before = migrations.LATEST
    if migrate:
        before = migrations.migrate(db)
    else:
        version = migrations.current_version(db)
        if version != migrations.LATEST:
            from deskconsole.core.errors import SchemaError

            raise SchemaError(f"the database is at schema version {version}, expected {migrations.LATEST}")
    desk = Desk(db=db, config=config, clock=clock, url=url)
    if sync:
        sync_directory(desk)
    else:
        desk.directory.load()
    if 0 < before < CLOCKS_SINCE:  # a desk from before SLA clocks: give its tickets theirs
        from deskconsole.core import sla_history
        from deskconsole.core.escalation import SLA_ACTOR
        from deskconsole.core.txn import unit_of_work

        with unit_of_work(desk, SLA_ACTOR, "sla"):
            sla_history.missing(desk)
    return desk
