"""What the reports count, kept by the write path.

A report over a big desk cannot read its tickets, their clocks and their
audit trails each time: at a million tickets that is tens of seconds. So
the desk keeps two tables, in the same transaction as every change:

- ``report_fact``: one row a ticket — when it was created, first
  acknowledged and resolved, its wall-clock times (milliseconds) and business
  times (the SLA clocks' seconds), hand-offs, latest rating, how each SLA
  clock was decided, and the groups it falls in. Its indexes give the
  percentiles (an offset in value order) and the tickets of any time range.
- ``report_hour``: the facts' counts and sums per UTC hour of each event and
  per (priority, team, category, service). A report over 30 days reads
  hours; only the part-hours at a period's edges come from the facts.

The definitions (which tickets count for what) are the reports' own; see
``deskconsole.core.reports.kpis``. Every unit of work notes the tickets it
touched (:func:`touch`); the outermost transaction brings their facts and
the hours up to date before it commits (:func:`settle`): it takes the old
facts' sums off, writes the new facts and adds their sums. Bulk writers (an
import) call :func:`refresh` for what they wrote; :func:`rebuild` makes both
tables anew from the tickets, in a few set-based statements (a desk migrated
to them, an import that brought a desk its first tickets).
"""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Iterable, Sequence

from peewee import EXCLUDED, JOIN, SQL, Case, Value, fn

from deskconsole.binding import use
from deskconsole.db import is_sqlite

from deskconsole.core.sql_expr import epoch, milliseconds_between
from deskconsole.models import AuditEvent, Rating, ReportFact, ReportHour, SlaClock, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

UTC = timezone.utc
HOUR = 3600
PING_PONG = 3  # a ticket handed on this many times or more
REASSIGNING_FIELDS = ("assignee", "team")
GROUPS = ("priority", "team", "category", "service")  # an hour's row is per these
COUNTERS = (
    "created", "created_live", "acked", "mtta_sum", "mtta_b_n", "mtta_b_sum", "resolved", "mttr_sum",
    "mttr_b_n", "mttr_b_sum", "reopened", "first_contact", "handoffs", "ping_pong", "rated", "rateable",
    "score", "response_met", "response_breached", "resolution_met", "resolution_breached",
)
FACT_COLUMNS = tuple(f.name for f in ReportFact._meta.sorted_fields)
BATCH = 500  # tickets a refresh reads at once

_pending = threading.local()  # tickets touched by this thread's open transaction, per desk


# --------------------------------------------------------------------------- the facts, from the tickets


def fact_query(db, ids):
    """The facts of the incidents among the tickets ``ids`` (a subquery or
    a list) selects, in ``FACT_COLUMNS`` order: the one definition of every
    fact. Records of other kinds have none: the reports count incidents."""
    fr, rs = SlaClock.alias("fr"), SlaClock.alias("rs")
    handed = (AuditEvent
              .select(AuditEvent.ticket.alias("tid"), fn.COUNT(fn.DISTINCT(AuditEvent.at)).alias("n"))
              .where(AuditEvent.ticket.in_(ids) & AuditEvent.field.in_(REASSIGNING_FIELDS)
                     & AuditEvent.old.is_null(False))
              .group_by(AuditEvent.ticket).alias("h"))
    # the latest rating: a grouped table joined by id (an IN list here is read again for every ticket)
    latest = (Rating.select(Rating.ticket.alias("tid"), fn.MAX(Rating.id).alias("rid"))
              .where(Rating.ticket.in_(ids)).group_by(Rating.ticket).alias("lr"))
    rating = Rating.alias("rt")
    live = Ticket.merged_into.is_null()
    resolved = live & Ticket.resolved_at.is_null(False)
    acked = Ticket.acknowledged_at.is_null(False)
    stopped = lambda c: c.stopped_at.is_null(False) & c.state.in_(("met", "breached"))  # noqa: E731
    decided_at = lambda c: fn.COALESCE(c.breached_at, Case(None, [(c.state == "met", c.stopped_at)], None))  # noqa: E731
    decided_met = lambda c: Case(None, [(c.breached_at.is_null(False), False),  # noqa: E731
                                        (c.state == "met", True)], None)
    moves = fn.COALESCE(handed.c.n, 0)
    columns = {
        "ticket": Ticket.id,
        "created_at": Ticket.created_at,
        "live": live,
        "priority": Ticket.priority,
        "team": fn.COALESCE(Ticket.team, 0),
        "category": fn.COALESCE(Ticket.category, 0),
        "service": fn.COALESCE(Ticket.service, 0),
        "assignee": fn.COALESCE(Ticket.assignee, 0),
        "acked_at": Ticket.acknowledged_at,
        "mtta": Case(None, [(acked, milliseconds_between(db, Ticket.acknowledged_at, Ticket.created_at))], None),
        "mtta_b": Case(None, [(acked & stopped(fr), fr.elapsed)], None),
        "resolved_at": Case(None, [(live, Ticket.resolved_at)], None),
        "mttr": Case(None, [(resolved, milliseconds_between(db, Ticket.resolved_at, Ticket.created_at))], None),
        "mttr_b": Case(None, [(resolved & stopped(rs), rs.elapsed)], None),
        "reopened": Ticket.reopen_count > 0,
        "handoffs": moves,
        "score": rating.score,
        "rateable": Ticket.requester_email.is_null(False),
        "response_at": decided_at(fr),
        "response_met": decided_met(fr),
        "resolution_at": decided_at(rs),
        "resolution_met": decided_met(rs),
    }
    assert tuple(columns) == FACT_COLUMNS
    return (Ticket.select(*columns.values())
            .join(fr, JOIN.LEFT_OUTER, on=((fr.ticket == Ticket.id) & (fr.metric == "first_response")))
            .join(rs, JOIN.LEFT_OUTER, on=((rs.ticket == Ticket.id) & (rs.metric == "resolution")), src=Ticket)
            .join(handed, JOIN.LEFT_OUTER, on=(handed.c.tid == Ticket.id), src=Ticket)
            .join(latest, JOIN.LEFT_OUTER, on=(latest.c.tid == Ticket.id), src=Ticket)
            .join(rating, JOIN.LEFT_OUTER, on=(rating.id == latest.c.rid), src=Ticket)
            .where(Ticket.id.in_(ids) & Ticket.number.is_null()))  # incidents: other kinds have a number


# --------------------------------------------------------------------------- the hours, from the facts

# each event: the fact column that dates it, and the counters it adds to
# (as SQL over report_fact, in the order given)
def _events():
    F = ReportFact
    one = lambda cond: Case(None, [(cond, 1)], 0)  # noqa: E731
    return (
        (F.created_at, {"created": 1, "created_live": one(F.live == True)}),  # noqa: E712
        (F.acked_at, {"acked": 1, "mtta_sum": F.mtta, "mtta_b_n": one(F.mtta_b.is_null(False)),
                      "mtta_b_sum": fn.COALESCE(F.mtta_b, 0)}),
        (F.resolved_at, {"resolved": 1, "mttr_sum": F.mttr, "mttr_b_n": one(F.mttr_b.is_null(False)),
                         "mttr_b_sum": fn.COALESCE(F.mttr_b, 0), "reopened": one(F.reopened == True),  # noqa: E712
                         "first_contact": one((F.reopened == False) & (F.handoffs == 0)),  # noqa: E712
                         "handoffs": F.handoffs, "ping_pong": one(F.handoffs >= PING_PONG),
                         "rated": one(F.score.is_null(False)), "rateable": one(F.rateable == True),  # noqa: E712
                         "score": fn.COALESCE(F.score, 0)}),
        (F.response_at, {"response_met": one(F.response_met == True),  # noqa: E712
                         "response_breached": one(F.response_met == False)}),  # noqa: E712
        (F.resolution_at, {"resolution_met": one(F.resolution_met == True),  # noqa: E712
                           "resolution_breached": one(F.resolution_met == False)}),  # noqa: E712
    )


def hour_of(db, column):
    """The UTC hour (hours since 1970) an instant falls in, floored before 1970 too."""
    seconds = epoch(db, column)
    if is_sqlite(db):  # integer division rounds towards 0
        return Case(None, [(seconds >= 0, seconds / HOUR)], (seconds - (HOUR - 1)) / HOUR)
    return fn.floor(seconds / float(HOUR)).cast("BIGINT")


def sums(desk: "Desk", where_fact=None, *, window: tuple[datetime, datetime] | None = None,
         counters: tuple[str, ...] = COUNTERS) -> dict[tuple, list[int]]:
    """{(hour, priority, team, category, service): counters in COUNTERS order}
    of the facts ``where_fact`` selects — of their events in ``window``
    (start, end) when given; only the events that add to ``counters`` are
    read (one query: a grouped select per event, joined by UNION ALL)."""
    query = _sums_query(desk.db, where_fact, window, counters)
    return _fold(desk.db.execute_sql(*query.sql()).fetchall()) if query is not None else {}


def _sums_query(db, where_fact, window, counters):
    parts = [query for _, query in _event_sums(db, where_fact, window, counters)]
    if not parts:
        return None
    query = parts[0]
    for part in parts[1:]:
        query = query + part  # UNION ALL
    return query


def _event_sums(db, where_fact, window, counters) -> list[tuple[tuple[str, ...], object]]:
    """(the counters it adds to, its grouped select) of each event that adds to ``counters``."""
    F = ReportFact
    parts = []
    for column, adds in _events():
        if not set(adds) & set(counters):
            continue
        cond = column.is_null(False)
        if where_fact is not None:
            cond &= where_fact
        if window is not None:
            cond &= (column >= window[0]) & (column < window[1])
        if is_sqlite(db):  # grouped by the text of the hour; its number worked out once a group
            hour, by_hour = hour_of(db, fn.MIN(column)), fn.substr(column, 1, len("YYYY-MM-DD HH"))
        else:
            hour, by_hour = hour_of(db, column), SQL("1")  # by position: the expression's parameters differ
        parts.append((tuple(adds), F.select(hour.alias("hour"), F.priority, F.team, F.category, F.service,
                                            *(fn.SUM(adds[c]) if c in adds else Value(0) for c in COUNTERS))
                      .where(cond).group_by(by_hour, F.priority, F.team, F.category, F.service)))
    return parts


def _fold(rows) -> dict[tuple, list[int]]:
    out: dict[tuple, list[int]] = {}
    for row in rows:
        add_counts(out, (int(row[0]), row[1], int(row[2]), int(row[3]), int(row[4])), [int(v or 0) for v in row[5:]])
    return out


def add_counts(table: dict, key, counts: list[int]) -> None:
    """Add ``counts`` to ``table[key]`` (a copy of them when the key is new)."""
    total = table.get(key)
    if total is None:
        table[key] = list(counts)
    else:
        for i, n in enumerate(counts):
            total[i] += n


# --------------------------------------------------------------------------- keeping them


def touch(desk: "Desk", ids: Iterable[int | None]) -> None:
    """Note tickets this transaction changed: :func:`settle` refreshes them before it commits."""
    pending = _pending.__dict__.setdefault(id(desk.db), set())
    pending.update(i for i in ids if i is not None)


def forget(desk: "Desk") -> None:
    """The transaction ended without committing: nothing is pending."""
    _pending.__dict__.pop(id(desk.db), None)


def settle(desk: "Desk") -> None:
    """Refresh the tickets this transaction touched (called by the outermost
    transaction, just before it commits)."""
    pending = _pending.__dict__.pop(id(desk.db), None)
    if pending:
        ids = sorted(pending)
        for i in range(0, len(ids), BATCH):
            refresh(desk, ids[i:i + BATCH])


def refresh(desk: "Desk", ids: Sequence[int]) -> None:
    """Bring the facts of tickets ``ids`` and the hours they count in up to
    date: old sums off, new facts, new sums on."""
    db = desk.db
    st = _statements(db)
    ids_json = json.dumps([int(i) for i in ids])
    if not desk.is_sqlite:  # one refresh of a ticket at a time; the next reads what this one wrote
        _run(db, st["lock"], ids_json).fetchall()
    old = _fold(_run(db, st["sums"], ids_json).fetchall())
    _run(db, st["delete"], ids_json)
    _run(db, st["insert"], ids_json)
    new = _fold(_run(db, st["sums"], ids_json).fetchall())
    add_hours(desk, _delta(old, new))


def _delta(old: dict, new: dict) -> dict[tuple, list[int]]:
    delta = {}
    for key in old.keys() | new.keys():
        a, b = old.get(key), new.get(key)
        change = [y - x for x, y in zip(a or [0] * len(COUNTERS), b or [0] * len(COUNTERS))]
        if any(change):
            delta[key] = change
    return delta


# A write refreshes a ticket or two: the statements are made once per
# database (Peewee would build the long UNION and the facts' joins again for
# every write) and take the ids as one JSON parameter.
_IDS = "\x00ticket ids\x00"


def _listed(db):
    if is_sqlite(db):
        return SQL("(SELECT value FROM json_each(?))", [_IDS])
    return SQL("(SELECT CAST(value AS INTEGER) FROM json_array_elements_text(CAST(%s AS json)))", [_IDS])


@lru_cache(maxsize=8)
def _statements(db) -> dict[str, tuple[str, list]]:
    F = ReportFact
    with use(db):
        ids = _listed(db)
        queries = {
            "sums": _sums_query(db, F.ticket.in_(ids), None, COUNTERS),
            "delete": F.delete().where(F.ticket.in_(ids)),
            "insert": F.insert_from(fact_query(db, ids), [getattr(F, c) for c in FACT_COLUMNS]),
        }
        H = ReportHour
        names = ("hour",) + GROUPS + COUNTERS
        marks = {name: (f"\x00{name}\x00" if name == "priority" else -(10**12) - i) for i, name in enumerate(names)}
        upsert = (H.insert({getattr(H, n): v for n, v in marks.items()})
                  .on_conflict(conflict_target=[H.hour, H.priority, H.team, H.category, H.service],
                               update={getattr(H, c): getattr(H, c) + getattr(EXCLUDED, c) for c in COUNTERS}))
        if not is_sqlite(db):
            queries["lock"] = F.select(F.ticket).where(F.ticket.in_(ids)).order_by(F.ticket).for_update()
        out = {name: q.sql() for name, q in queries.items()}
        sql, params = upsert.sql()
    where = {v: n for n, v in marks.items()}
    out["upsert"] = (sql, [where.get(p, p) for p in params])  # the column a parameter holds, by name
    return out


def _run(db, statement: tuple[str, list], ids_json: str):
    sql, params = statement
    return db.execute_sql(sql, [ids_json if p == _IDS else p for p in params])


def _insert_facts(desk: "Desk", ids) -> None:
    ReportFact.insert_from(fact_query(desk.db, ids), [getattr(ReportFact, c) for c in FACT_COLUMNS]).execute()


def add_hours(desk: "Desk", delta: dict[tuple, list[int]]) -> None:
    """Add ``delta`` to the hours, in key order (PostgreSQL locks the rows in one order for every writer)."""
    if not delta:
        return
    sql, names = _statements(desk.db)["upsert"]
    rows = []
    for key, counts in sorted(delta.items()):
        values = dict(zip(("hour",) + GROUPS + COUNTERS, (*key, *counts)))
        rows.append([values[n] for n in names])
    desk.db.cursor().executemany(sql, rows)


def rebuild(desk: "Desk", on_progress=None) -> int:
    """Make the facts and the hours anew from every ticket; returns how many tickets."""
    F, H = ReportFact, ReportHour
    H.delete().execute()
    F.delete().execute()
    top = Ticket.select(fn.MAX(Ticket.id)).scalar() or 0
    step = 50_000
    done = 0
    for lo in range(0, top, step):
        ids = Ticket.select(Ticket.id).where((Ticket.id > lo) & (Ticket.id <= lo + step))
        _insert_facts(desk, ids)
        done = min(top, lo + step)
        if on_progress:
            on_progress(done)
    _hours_from_facts(desk)
    return ReportFact.select().count()


def _hours_from_facts(desk: "Desk") -> None:
    """Fill the empty hours from all the facts: a statement per event, each
    adding its sums to the hours the ones before wrote (a million facts'
    sums would take seconds to fold in Python and write back)."""
    keys = ("hour",) + GROUPS
    for adds, query in _event_sums(desk.db, None, None, COUNTERS):
        sql, params = query.sql()
        added = ", ".join(f"{c} = report_hour.{c} + excluded.{c}" for c in adds)
        desk.db.execute_sql(f"INSERT INTO report_hour ({', '.join(keys + COUNTERS)}) {sql}"
                            f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {added}", params)


def hour_start(hour: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(hours=hour)
