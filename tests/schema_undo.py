"""Take a test desk's schema back to an older version, to test what opening
an old desk does (the migrations have no way down: this is test-only)."""

from __future__ import annotations

from deskconsole.db import connect, is_sqlite

# What each version added, undone (newest first when going back several).
_UNDO = {
    19: lambda sqlite: ["DROP TABLE approval", "DROP TABLE change_item", "DROP TABLE change_request",
                        "DROP TABLE desk_setting", "ALTER TABLE service DROP COLUMN depends_on",
                        "ALTER TABLE service DROP COLUMN kind", "DROP INDEX ticket_service_id_status",
                        "CREATE INDEX ticket_service_id ON ticket (service_id)"]
    + ([] if sqlite else ["ALTER TABLE ticket ALTER COLUMN status TYPE VARCHAR(16)"]),
    18: lambda sqlite: ([f"DROP TRIGGER article_fts_{op}" for op in ("insert", "delete", "update")]
                        + ["DROP TABLE article_fts"] if sqlite else []) + [
        "DROP TABLE article_use", "DROP TABLE article_version", "DROP TABLE article"],
    17: lambda sqlite: ["DROP TABLE problem", "DROP INDEX ticket_kind_number", "ALTER TABLE ticket DROP COLUMN number",
                        "ALTER TABLE ticket DROP COLUMN kind"],
    16: lambda sqlite: ["DROP TABLE report_hour", "DROP TABLE report_fact"],
}


def back_to(url: str, version: int) -> None:
    """The desk at ``url`` as schema ``version`` left it (its rows kept)."""
    db = connect(url)
    try:
        (latest,) = db.execute_sql("SELECT MAX(version) FROM schema_version").fetchone()
        for step in range(latest, version, -1):
            for statement in _UNDO[step](is_sqlite(db)):
                db.execute_sql(statement)
        db.execute_sql(f"DELETE FROM schema_version WHERE version > {int(version)}")
    finally:
        db.close()
