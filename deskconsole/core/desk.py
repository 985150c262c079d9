"""The Desk: one open database, its config and its clock.

Everything in the core takes a Desk. ``open_desk`` connects and migrates the
schema; a desk it creates gets its first directory (teams, agents and their
roles, categories, services) from the creator's config. After that the
directory is the database's: see ``core.access.directory``.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

from peewee import Database

from deskconsole import migrations
from deskconsole.config import Config
from deskconsole.core import report_facts
from deskconsole.core.clock import Clock, system_clock
from deskconsole.core.access.directory import Directory, seed_directory
from deskconsole.db import DamagedDatabase, DeskNotFound, connect, damaged, first_line, is_sqlite, parse_url
from deskconsole.binding import closed, opened, use


CLOCKS_SINCE = 3  # the schema version that brought SLA clocks
FACTS_SINCE = 16  # ... and the report facts


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

    @contextmanager
    def transaction(self):
        """A write transaction (SQLite: BEGIN IMMEDIATE); inside another, a
        savepoint. The outermost brings the report facts of the tickets its
        units touched up to date before it commits."""
        if self.db.transaction_depth() > 0:
            with self.db.atomic() as txn:
                yield txn
            return
        try:
            with self.db.atomic() as txn:
                yield txn
                report_facts.settle(self)
        finally:
            report_facts.forget(self)

    def bound(self):
        """``with desk.bound():`` — the models speak to this desk inside the
        block (core functions taking a desk do this themselves)."""
        return use(self.db)

    def close(self) -> None:
        closed(self.db)
        if not self.db.is_closed():
            self.db.close()


def open_desk(url: str, config: Config, clock: Clock = system_clock, *, migrate: bool = True,
              create: bool = True) -> Desk:
    """Open the desk at ``url``. With ``create`` a missing desk is made (its
    schema, and its first directory from ``config``); without it a missing
    SQLite file or an empty PostgreSQL database is refused with what to run,
    and opening never writes to the directory."""
    db = connect(url, create=create)
    try:
        with use(db):
            desk = _open(db, url, config, clock, migrate, create)
        opened(db)  # the default desk for code that does not say which
        return desk
    except Exception as exc:
        if is_sqlite(db) and damaged(exc):  # it opened, but its pages do not read
            db.close()
            raise DamagedDatabase(db.database, first_line(exc)) from None
        db.close()
        raise


def _open(db: Database, url: str, config: Config, clock: Clock, migrate: bool, create: bool) -> Desk:
    version = migrations.current_version(db)
    if version == 0 and not create:
        raise DeskNotFound(parse_url(url).describe())  # an empty PostgreSQL database
    before = version
    if migrate:
        before = migrations.migrate(db)
    elif version != migrations.LATEST:
        from deskconsole.errors import SchemaError

        raise SchemaError(f"the database is at schema version {version}, expected {migrations.LATEST}")
    desk = Desk(db=db, config=config, clock=clock, url=url)
    if create:
        seed_directory(desk)  # a new desk's first directory: its creator's config
    else:
        desk.directory.load()
    if 0 < before < CLOCKS_SINCE:  # a desk from before SLA clocks: give its tickets theirs
        from deskconsole.core.sla_clocks import sla_history
        from deskconsole.core.automation.escalation import SLA_ACTOR
        from deskconsole.core.txn import unit_of_work

        with unit_of_work(desk, SLA_ACTOR, "sla"):
            sla_history.missing(desk)
    if 0 < before < FACTS_SINCE:  # a desk from before the report facts: count its tickets in
        with use(db), desk.transaction():
            report_facts.rebuild(desk)
    return desk
