"""Schema versions: a fresh desk is at the latest version, an older desk file
is migrated on open without losing data, a newer one is refused, and the
migrations produce exactly the schema the models describe."""

from __future__ import annotations

import sqlite3

import pytest

from deskconsole import migrations
from deskconsole.core.desk import open_desk
from deskconsole.core.errors import SchemaError
from deskconsole.core.views import detail
from deskconsole.db import connect
from deskconsole.models import MODELS


def test_fresh_desk_is_at_latest_version(desk):
    assert migrations.current_version(desk.db) == migrations.LATEST


def test_older_desk_file_is_migrated_on_open(tmp_path, config, clock):
    path = tmp_path / "old.db"
    db = connect(f"sqlite:///{path}")
    migrations.migrate(db, target=1)
    db.close()
    # Fill the version-1 file the way version 1 wrote tickets, with raw SQL.
    con = sqlite3.connect(path)
    con.execute("INSERT INTO team (id, name, title, email, active) VALUES (1, 'ops', 'Operations', NULL, 1)")
    con.execute(
        "INSERT INTO ticket (id, title, description, status, priority, team_id, created_by, created_at, updated_at,"
        " reopen_count, version) VALUES (7, 'Legacy outage', 'from v1', 'new', 'P2', 1, 'ada',"
        " '2026-01-02 03:04:05.000000', '2026-01-02 03:04:05.000000', 0, 3)"
    )
    con.commit()
    assert [r[0] for r in con.execute("SELECT version FROM schema_version")] == [1]
    con.close()

    desk = open_desk(f"sqlite:///{path}", config, clock)
    assert migrations.current_version(desk.db) == migrations.LATEST
    t = detail(desk, "INC-7")
    assert (t.title, t.description, t.priority, t.team, t.version) == ("Legacy outage", "from v1", "P2", "ops", 3)
    assert t.source == "cli" and t.external_ref is None  # the columns v2 added, with their defaults
    assert t.created_at.isoformat() == "2026-01-02T03:04:05+00:00"
    desk.close()


def test_newer_schema_is_refused_with_a_clear_message(tmp_path, config):
    path = tmp_path / "future.db"
    db = connect(f"sqlite:///{path}")
    migrations.migrate(db)
    db.execute_sql("INSERT INTO schema_version (version, applied_at) VALUES (?, '2030-01-01 00:00:00.000000')",
                   (migrations.LATEST + 1,))
    db.close()
    with pytest.raises(SchemaError, match=r"newer than this deskconsole understands .*upgrade deskconsole"):
        open_desk(f"sqlite:///{path}", config)


def test_a_foreign_database_is_not_touched(tmp_path, config):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE ticket (id INTEGER PRIMARY KEY, body TEXT)")
    con.commit()
    con.close()
    with pytest.raises(SchemaError, match="not made by deskconsole"):
        open_desk(f"sqlite:///{path}", config)


def test_opening_is_idempotent_and_concurrent_safe(tmp_path, config):
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    for _ in range(2):
        open_desk(url, config).close()
    db = connect(url)
    assert [r[0] for r in db.execute_sql("SELECT version FROM schema_version ORDER BY version")] == list(
        range(1, migrations.LATEST + 1)
    )


def test_migrations_match_the_models(desk):
    """Every model column and index exists after migrating, and nothing more."""
    db = desk.db
    tables = set(db.get_tables()) - {"sqlite_sequence"}  # SQLite's AUTOINCREMENT bookkeeping
    assert tables == {m._meta.table_name for m in MODELS}
    for model in MODELS:
        table = model._meta.table_name
        columns = {c.name: c for c in db.get_columns(table)}
        fields = {f.column_name: f for f in model._meta.sorted_fields}
        assert set(columns) == set(fields), table
        for name, field in fields.items():
            assert columns[name].null == field.null or field.primary_key, f"{table}.{name} nullability"
        indexes = {tuple(i.columns): i.unique for i in db.get_indexes(table)}
        wanted = {}
        for f in model._meta.sorted_fields:
            if (f.index or f.unique) and not f.primary_key:
                wanted[(f.column_name,)] = f.unique
        for fields_, unique in model._meta.indexes:
            wanted[tuple(model._meta.fields[n].column_name for n in fields_)] = unique
        assert indexes == wanted, table
