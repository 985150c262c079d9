"""Fast multi-row inserts: one prepared INSERT, many parameter rows.

Peewee builds SQL text for every row of ``insert_many``; for imports of a
million tickets that dominates the run time. Here the statement is built once
by Peewee from the model (never by hand) and run with ``executemany``.

Contract: values for text, number, boolean and foreign-key columns are
already plain Python values (str, int, float, bool, None: ids, not model
instances); other columns (timestamps) go through the field's ``db_value``,
unless the caller says it converted them already (``db_values=True``).
"""

from __future__ import annotations

import sqlite3
from functools import lru_cache
from typing import Iterable, Sequence

from peewee import AutoField, BigAutoField, BooleanField, CharField, FloatField, ForeignKeyField, IntegerField, Model, TextField

from deskconsole.db import dialect

_PLAIN = (CharField, TextField, IntegerField, AutoField, BigAutoField, ForeignKeyField, BooleanField, FloatField)

# For every None it binds, sqlite3 (CPython 3.11) first tries the whole
# adaptation protocol, which fails slowly: a few per cent of a bulk insert
# with some empty columns per row. With this adapter registered a None is
# still bound as NULL, after one dictionary lookup.
sqlite3.register_adapter(type(None), lambda value: value)


@lru_cache(maxsize=64)
def _statement(model: type[Model], names: tuple[str, ...], dialect: type):
    # Cached per kind of database (its class decides placeholders and
    # quoting), not per database object: an id() is reused once an object is
    # gone, and a statement made for a closed PostgreSQL desk then met a
    # SQLite desk opened later in the same process ("near '%': syntax error").
    wanted = set(names)
    # Peewee writes the columns in model order: read the values in that order.
    fields = tuple(f for f in model._meta.sorted_fields if f.name in wanted)
    sql, _ = model.insert({f: None for f in fields}).sql()
    sql = sql.split(" RETURNING ")[0]  # PostgreSQL's RETURNING is not wanted for executemany
    order = tuple(names.index(f.name) for f in fields)
    converted = tuple((j, f.db_value) for j, f in enumerate(fields) if not isinstance(f, _PLAIN))
    return sql, order, converted, order == tuple(range(len(names)))


def insert_rows(model: type[Model], names: Sequence[str], rows: Iterable[Sequence], *, db_values: bool = False) -> None:
    """Insert ``rows`` (value tuples in ``names`` order) into ``model``'s table.

    ``db_values``: the rows already hold what the database stores, timestamps
    included (the caller converted them); given in model order, they go to
    the driver as they are, with no Python work per row.
    """
    db = model._meta.database
    sql, order, converted, in_order = _statement(model, tuple(names), dialect(db))
    if db_values:
        if in_order:  # nothing to reorder or convert
            db.cursor().executemany(sql, rows)
            return
        converted = ()
    params = []
    last = {j: (None, None) for j, _ in converted}  # rows often repeat a value (one "now" per import)
    for row in rows:
        values = [row[i] for i in order]
        for j, conv in converted:
            value = values[j]
            if value is not None:
                seen, done = last[j]
                if value is not seen:
                    done = conv(value)
                    last[j] = (value, done)
                values[j] = done
        params.append(values)
    if params:
        db.cursor().executemany(sql, params)


def insert_dicts(model: type[Model], rows: list[dict]) -> None:
    if rows:
        names = tuple(rows[0])
        insert_rows(model, names, ([row[n] for n in names] for row in rows))


@lru_cache(maxsize=64)
def _one_statement(model: type[Model], names: tuple[str, ...], dialect: type):
    # As _statement, for one row whose new id is wanted: PostgreSQL keeps
    # Peewee's RETURNING, SQLite reads the cursor's lastrowid.
    fields = tuple(f for f in model._meta.sorted_fields if f.name in set(names))
    sql, _ = model.insert({f: None for f in fields}).sql()
    return sql, tuple(f.name for f in fields), tuple(f.db_value for f in fields), " RETURNING " in sql


def insert_one(model: type[Model], values: dict) -> int:
    """Insert one row of ``values`` (field name -> Python value) into ``model``'s
    table with a statement built once; returns the new row's id."""
    db = model._meta.database
    for f in model._meta.sorted_fields:  # the fields' defaults, as Peewee's own insert adds them
        if f.name not in values and f.default is not None and not f.primary_key:
            values = {**values, f.name: f.default() if callable(f.default) else f.default}
    sql, names, converters, returning = _one_statement(model, tuple(sorted(values)), dialect(db))
    cursor = db.execute_sql(sql, [conv(values[n]) for n, conv in zip(names, converters)])
    return cursor.fetchone()[0] if returning else cursor.lastrowid
