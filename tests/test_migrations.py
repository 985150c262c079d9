"""Schema versions, on both backends: a fresh desk is at the latest version,
an older desk is migrated on open without losing data, a newer one is
refused, a foreign database is left alone, and the migrations produce
exactly the schema the models describe."""

from __future__ import annotations

import threading

import pytest

from deskconsole import migrations
from deskconsole.core.desk import open_desk
from deskconsole.errors import SchemaError
from deskconsole.core.records.views import detail
from deskconsole.db import connect
from deskconsole.models import MODELS


def test_fresh_desk_is_at_latest_version(desk):
    assert migrations.current_version(desk.db) == migrations.LATEST


def test_older_desk_is_migrated_on_open(bare_db_url, config, clock):
    db = connect(bare_db_url)
    migrations.migrate(db, target=1)
    # Fill the version-1 desk the way version 1 wrote tickets, with plain SQL.
    db.execute_sql("INSERT INTO team (name, title, email, active) VALUES ('ops', 'Operations', NULL, TRUE)")
    db.execute_sql(
        "INSERT INTO ticket (id, title, description, status, priority, team_id, created_by, created_at, updated_at,"
        " reopen_count, version) VALUES (7, 'Legacy outage', 'from v1', 'new', 'P2',"
        " (SELECT id FROM team WHERE name = 'ops'), 'ada',"
        " '2026-01-02 03:04:05.000000', '2026-01-02 03:04:05.000000', 0, 3)"
    )
    assert [r[0] for r in db.execute_sql("SELECT version FROM schema_version")] == [1]
    db.close()

    desk = open_desk(bare_db_url, config, clock)
    try:
        assert migrations.current_version(desk.db) == migrations.LATEST
        t = detail(desk, "INC-7")
        assert (t.title, t.description, t.priority, t.team, t.version) == ("Legacy outage", "from v1", "P2", "ops", 3)
        assert t.source == "cli" and t.external_ref is None  # the columns v2 added, with their defaults
        assert t.created_at.isoformat() == "2026-01-02T03:04:05+00:00"
    finally:
        desk.close()


def test_newer_schema_is_refused_with_a_clear_message(bare_db_url, config):
    db = connect(bare_db_url)
    migrations.migrate(db)
    db.execute_sql(f"INSERT INTO schema_version (version, applied_at) VALUES ({db.param}, '2030-01-01 00:00:00.000000')",
                   (migrations.LATEST + 1,))
    db.close()
    with pytest.raises(SchemaError, match=r"newer than this deskconsole understands .*upgrade deskconsole"):
        open_desk(bare_db_url, config)


def test_a_foreign_database_is_not_touched(bare_db_url, config):
    db = connect(bare_db_url)
    db.execute_sql("CREATE TABLE ticket (id INTEGER PRIMARY KEY, body TEXT)")
    db.close()
    with pytest.raises(SchemaError, match="not made by deskconsole"):
        open_desk(bare_db_url, config)
    db = connect(bare_db_url)
    assert db.get_tables() == ["ticket"]
    db.close()


def test_opening_is_idempotent(bare_db_url, config):
    for _ in range(2):  # the second time there is nothing to do
        open_desk(bare_db_url, config).close()
    db = connect(bare_db_url)
    assert [r[0] for r in db.execute_sql("SELECT version FROM schema_version ORDER BY version")] == list(
        range(1, migrations.LATEST + 1)
    )
    db.close()


def test_migrating_at_once_from_several_connections_migrates_once(bare_db_url):
    """Consoles started together on a new desk: one of them migrates, the
    others wait for it and find nothing to do (SQLite: BEGIN IMMEDIATE;
    PostgreSQL: an advisory lock)."""
    errors, starts = [], []
    go = threading.Barrier(4)

    def migrate(url: str) -> None:
        db = connect(url)
        try:
            go.wait()
            starts.append(migrations.migrate(db))
        except Exception as exc:  # pragma: no cover - the failure this test is about
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=migrate, args=(bare_db_url,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(starts) == [0] + [migrations.LATEST] * 3
    db = connect(bare_db_url)
    assert [r[0] for r in db.execute_sql("SELECT version FROM schema_version ORDER BY version")] == list(
        range(1, migrations.LATEST + 1)
    )
    db.close()


def test_migrations_match_the_models(desk):
    """Every model column and index exists after migrating, and nothing more."""
    db = desk.db
    tables = set(db.get_tables()) - {"sqlite_sequence"}  # SQLite's AUTOINCREMENT bookkeeping
    if desk.is_sqlite:  # the text index (v7): FTS5's table and the ones it keeps
        assert tables >= set(migrations.FTS_TABLES)
        tables -= set(migrations.FTS_TABLES)
    assert tables == {m._meta.table_name for m in MODELS}
    for model in MODELS:
        table = model._meta.table_name
        columns = {c.name: c for c in db.get_columns(table)}
        fields = {f.column_name: f for f in model._meta.sorted_fields}
        assert set(columns) == set(fields), table
        for name, field in fields.items():
            assert columns[name].null == field.null or field.primary_key, f"{table}.{name} nullability"
            if not desk.is_sqlite and field.field_type in ("BIGINT", "BIGAUTO"):  # SQLite's are all 64-bit
                assert columns[name].data_type == "bigint", f"{table}.{name} is {columns[name].data_type}"
        primary_key = tuple(f.column_name for f in model._meta.get_primary_keys())
        # PostgreSQL lists the primary key's own index (SQLite keeps an INTEGER PRIMARY KEY in the rowid)
        indexes = {tuple(i.columns): i.unique for i in db.get_indexes(table)
                   if tuple(i.columns) != primary_key and i.name not in ("ticket_text_search", "entry_text_search", "article_text_search")}
        wanted = {}
        for f in model._meta.sorted_fields:
            if (f.index or f.unique) and not f.primary_key:
                wanted[(f.column_name,)] = f.unique
        for fields_, unique in model._meta.indexes:
            wanted[tuple(model._meta.fields[n].column_name for n in fields_)] = unique
        assert indexes == wanted, table


def test_the_text_index_is_there(desk):
    """v7: SQLite's FTS5 table and its triggers; PostgreSQL's GIN expression index."""
    if desk.is_sqlite:
        triggers = {r[0] for r in desk.db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert {"ticket_fts_insert", "ticket_fts_update", "ticket_fts_delete"} <= triggers
    else:
        (definition,) = desk.db.execute_sql(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'ticket' AND indexname = 'ticket_text_search'").fetchone()
        assert "USING gin" in definition and "to_tsvector('simple'::regconfig" in definition
