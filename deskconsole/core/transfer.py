"""Bulk import and export of tickets: CSV and JSON Lines, round-trip safe.

Import runs through the one write path (admin only, one transaction, one
audit event and one feed row for the whole import) and is all-or-nothing: a
bad line stops it with the line number and nothing is written. The demo desk
uses the same bulk path.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import multiprocessing
import os
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from operator import itemgetter
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

from deskconsole.config import EMAIL_RE, LEVELS, PRIORITIES
from deskconsole.core import sla_history, validate
from deskconsole.core.import_clocks import ImportClocks
from deskconsole.core.bulk import insert_dicts, insert_rows
from deskconsole.core.errors import DeskError, NotFound, ValidationError
from deskconsole.core.identity import Actor
from deskconsole.core.keys import ticket_id, ticket_key
from deskconsole.core.lifecycle import STATUSES
from deskconsole.core.links import KINDS
from deskconsole.core.txn import unit_of_work
from deskconsole.db import refresh_statistics
from peewee import fn

from deskconsole.models import Entry, Link, SlaClock, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

Progress = Callable[[int, int | None], None]  # (done, total or None)

FIELDS = (
    "key", "title", "description", "requester_name", "requester_email", "status", "impact", "urgency",
    "priority", "category", "service", "team", "assignee", "created_by", "created_at", "updated_at",
    "acknowledged_at", "acknowledged_by", "first_response_at", "resolved_at", "closed_at",
    "resolution_code", "resolution_note", "merged_into", "reopen_count", "source", "external_ref", "version",
)
TIMES = ("created_at", "updated_at", "acknowledged_at", "first_response_at", "resolved_at", "closed_at")
BATCH = 250  # rows read, checked, sent and written together: few enough to stay in the CPU's cache


class ImportError_(ValidationError):
    """A line of an import file is wrong; nothing was imported."""


# ------------------------------------------------------------------ export
def export_rows(desk: "Desk", query, *, with_conversation: bool) -> Iterator[dict]:
    """Rows for ``query`` (a Ticket select), in id order, as plain dicts."""
    d = desk.directory
    names = {"category": d.category_names, "service": d.service_names, "team": d.team_names, "assignee": d.agent_logins}
    last = 0
    while True:  # keyset pagination: steady memory on any size of desk
        page = list(query.where(Ticket.id > last).order_by(Ticket.id).limit(2000))
        if not page:
            return
        last = page[-1].id
        conversations = _conversations(page) if with_conversation else {}
        for t in page:
            row = {}
            for name in FIELDS:
                if name == "key":
                    row[name] = ticket_key(t.id)
                elif name in names:
                    row[name] = names[name].get(getattr(t, f"{name}_id"))
                elif name == "merged_into":
                    row[name] = ticket_key(t.merged_into_id) if t.merged_into_id else None
                elif name in TIMES:
                    value = getattr(t, name)
                    row[name] = value.isoformat() if value else None
                else:
                    row[name] = getattr(t, name)
            if with_conversation:
                row["entries"], row["links"] = conversations.get(t.id, ([], []))
            yield row


def _conversations(page) -> dict:
    ids = [t.id for t in page]
    result = {tid: ([], []) for tid in ids}
    for e in Entry.select().where(Entry.ticket.in_(ids)).order_by(Entry.id):
        result[e.ticket_id][0].append(
            {"kind": e.kind, "author": e.author, "author_name": e.author_name, "at": e.at.isoformat(),
             "body": e.body, "source": e.source}
        )
    for ln in Link.select().where(Link.source.in_(ids)).order_by(Link.id):
        result[ln.source_id][1].append(
            {"kind": ln.kind, "target": ticket_key(ln.target_id), "created_by": ln.created_by,
             "created_at": ln.created_at.isoformat()}
        )
    return result


def write_jsonl(rows: Iterable[dict], out: io.TextIOBase) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(rows: Iterable[dict], out: io.TextIOBase) -> int:
    writer = csv.DictWriter(out, fieldnames=list(FIELDS), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
        count += 1
    return count


# ------------------------------------------------------------------ import
# Rows as read, a batch at a time: their line numbers, their field names (a CSV
# header; the rows are lists of cells) or None (the rows are dicts), the rows.
_Batch = tuple[list[int], list[str] | None, list]


def read_rows(path: str, fmt: str | None = None) -> tuple[Iterator[_Batch], str, Callable[[], int]]:
    """Batches of rows from a CSV or JSON Lines file, its format, and how many
    bytes of it have been read so far (for progress)."""
    fmt = fmt or ("csv" if path.lower().endswith(".csv") else "jsonl")
    if fmt not in ("csv", "jsonl"):
        raise ValidationError(f"unknown import format {fmt!r}; use csv or jsonl")
    try:
        handle = open(path, encoding="utf-8", newline="")
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}") from None

    def csv_rows(reader, width: int):
        for cells in reader:
            if len(cells) != width:
                if not cells:
                    continue
                raise ImportError_(f"{path}: line {reader.line_num}: {len(cells)} cells, but the header has {width}")
            yield reader.line_num, cells

    def json_rows():
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ImportError_(f"{path}: line {number}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise ImportError_(f"{path}: line {number}: expected a JSON object")
            yield number, row

    def batches():
        with handle:
            try:
                if fmt == "csv":
                    reader = csv.reader(handle)
                    header = next(reader, None)
                    if not header or "title" not in header:
                        raise ImportError_(f"{path}: line 1: the CSV header has no 'title' column")
                    yield from _in_batches(csv_rows(reader, len(header)), header)  # "" is no value, to the checks
                else:
                    yield from _in_batches(json_rows())
            except UnicodeDecodeError:
                raise ImportError_(f"{path}: is not UTF-8 text; convert it to UTF-8 first") from None
            except csv.Error as exc:
                raise ImportError_(f"{path}: not valid CSV: {exc}") from None

    size = os.fstat(handle.fileno()).st_size
    # The text layer reads ahead in small chunks: its buffer's position is close enough.
    return batches(), fmt, lambda: size if handle.closed else handle.buffer.tell()


def _in_batches(rows: Iterator[tuple[int, object]], header: list[str] | None = None) -> Iterator[_Batch]:
    """(line, row) pairs -> batches of BATCH. A line that cannot be read ends
    them after the rows before it, whose own errors come first."""
    batch, error = [], None
    try:
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                yield [line for line, _ in batch], header, [row for _, row in batch]
                batch = []
    except Exception as exc:  # noqa: BLE001 - raised again below
        error = exc
    if batch:
        yield [line for line, _ in batch], header, [row for _, row in batch]
    if error:
        raise error


def import_rows(
    desk: "Desk",
    actor: Actor,
    rows: Iterable[tuple[int, dict]],
    *,
    origin: str,
    progress: Progress | None = None,
    total: int | None = None,
    action: str = "import",
) -> list[str]:
    """Insert tickets (and their conversations and links) in one transaction.

    Returns the keys created. Rows with a ``key`` keep it; rows without one
    get the next free number.
    """
    checker = _Checker.of(desk)
    return _import(desk, actor, lambda now: _converted_batches(checker, _in_batches(iter(rows)), now, actor, origin),
                   origin=origin, progress=progress, total=total, action=action)


def import_file(
    desk: "Desk",
    actor: Actor,
    path: str,
    fmt: str | None = None,
    *,
    progress: Progress | None = None,
    total: int | None = None,
) -> list[str]:
    """Import a CSV or JSON Lines file (see :func:`import_rows`).

    A large file is read and checked by a second process while this one
    writes: each half costs about as much as the other, and a desk host has
    more than one core. Without ``total`` (rows in the file) progress reports
    an estimate from the bytes read so far: nobody has to read the file twice.
    """
    rows, fmt, tell = read_rows(path, fmt)  # checks the file can be opened, here, before anything starts
    try:
        size = os.path.getsize(path)
    except OSError:
        size = 0
    if size < PARALLEL_FROM_BYTES:
        checker = _Checker.of(desk)
        make_batches = lambda now: _converted_batches(checker, rows, now, actor, path, tell)
    else:
        rows.close()
        make_batches = lambda now: _batches_from_reader(desk, path, fmt, now, actor)
    return _import(desk, actor, make_batches, origin=path, progress=progress, total=total, action="import", size=size)


def _import(desk, actor, make_batches, *, origin, progress, total, action, size=0) -> list[str]:
    with _page_cache(desk, IMPORT_CACHE_KIB if size >= PARALLEL_FROM_BYTES else 0):
        return _import_in(desk, actor, make_batches, origin=origin, progress=progress, total=total, action=action,
                          size=size)


@contextlib.contextmanager
def _page_cache(desk, kib: int):
    """A SQLite page cache of at least ``kib`` KiB on this connection while a big
    import runs: the new rows and indexes stay in memory until the commit
    writes them once, instead of spilling to the log half-way."""
    if not kib or not desk.is_sqlite:
        yield
        return
    (before,) = desk.db.execute_sql("PRAGMA cache_size").fetchone()
    wanted = -kib if before >= 0 or -before < kib else before  # negative: KiB; positive: pages
    desk.db.execute_sql(f"PRAGMA cache_size = {int(wanted)}")
    try:
        yield
    finally:
        desk.db.execute_sql(f"PRAGMA cache_size = {int(before)}")


def _import_in(desk, actor, make_batches, *, origin, progress, total, action, size) -> list[str]:
    keys: list[str] = []
    done = 0
    with unit_of_work(desk, actor, action, permission="import") as unit:
        indexes = _indexes_set_aside(desk) if size >= PARALLEL_FROM_BYTES else []
        deferred_merges: list[tuple[int, int, int]] = []  # (line, id, merged_into id)
        deferred_children: list[tuple[int, int, dict]] = []
        numbering = _Numbering(desk, origin)
        for read, batch in make_batches(unit.now):
            done += _flush(unit, origin, numbering, batch, keys, deferred_merges, deferred_children)
            if progress:
                progress(done, total or (max(done, done * size // read) if read else None))
        for line, tid, target in deferred_merges:
            if not Ticket.select().where(Ticket.id == target).exists():
                raise ImportError_(f"{origin}: line {line}: merged_into {ticket_key(target)} is neither on the desk nor in the file")
            Ticket.update(merged_into=target).where(Ticket.id == tid).execute()
        _insert_children(unit, origin, deferred_children)
        for statement in indexes:
            desk.db.execute_sql(statement)
        if not desk.is_sqlite and keys:
            desk.db.execute_sql("SELECT setval(pg_get_serial_sequence('ticket', 'id'), (SELECT MAX(id) FROM ticket))")
        # One audit event for the whole import (an event per ticket would cost
        # an eighth of a big import) and one feed row.
        span = f" ({keys[0]} .. {keys[-1]})" if keys else ""
        unit.audit(None, new=f"{len(keys):,} tickets from {origin}{span}")
        unit.feed(None, None)
        if progress:
            progress(done, total or done)
    if len(keys) >= STATISTICS_FROM or indexes:
        refresh_statistics(desk.db)  # the planner's picture of the desk changed: see refresh_statistics
    return keys


PARALLEL_FROM_BYTES = 4 * 1024 * 1024
IMPORT_CACHE_KIB = 256 * 1024  # the page cache a big import works in (the desk's default is 32 MB)
STATISTICS_FROM = 10_000  # imports this big refresh the query planner's statistics
_FILLED = ("ticket", "sla_clock")  # the tables an import fills row by row


def _indexes_set_aside(desk) -> list[str]:
    """On a SQLite desk without tickets, drop the plain (not unique) indexes
    of the tables an import fills, and return the statements that create
    them again: built once from all the rows at the end (a sort per index),
    they cost about half of what keeping these 15 indexes up to date row by
    row does (measured on 100,000 tickets). In the import's transaction, like everything else: other
    connections never see the desk without them, and a failed import gets
    them back with its rollback. A desk that has tickets already keeps its
    indexes (rebuilding them over all its rows would cost more)."""
    if not desk.is_sqlite or Ticket.select().exists():
        return []
    db, statements = desk.db, []
    for table in _FILLED:
        for _, name, unique, origin, *_ in db.execute_sql(f"PRAGMA index_list({table})").fetchall():
            if unique or origin != "c":  # a unique index checks rows as they come: it stays
                continue
            (sql,) = db.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (name,)).fetchone()
            db.execute_sql(f'DROP INDEX "{name}"')
            statements.append(sql)
    return statements


@dataclass(frozen=True)
class _Checker:
    """What checking a row needs of a desk (picklable: no database in it)."""

    config: object
    directory: object
    sqlite: bool  # how the desk stores timestamps

    @classmethod
    def of(cls, desk: "Desk") -> "_Checker":
        return cls(desk.config, desk.directory, desk.is_sqlite)


def _reader_process(conn, path: str, fmt: str, checker: _Checker, now: datetime, actor: Actor) -> None:
    """Runs in the reader process: file -> checked batches -> pipe."""
    try:
        batches, _, tell = read_rows(path, fmt)
        for batch in _converted_batches(checker, batches, now, actor, path, tell):
            conn.send(batch)
        conn.send(None)
    except DeskError as exc:
        conn.send(exc)
    except BaseException as exc:  # pragma: no cover - a bug: report it, don't hang the writer
        conn.send(DeskError(f"{path}: reading failed: {type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _batches_from_reader(desk, path, fmt, now, actor) -> Iterator[tuple[int, list]]:
    # On Linux the reader is forked: it starts at once, with every module already
    # loaded (a spawned one spends ~0.5 s importing Peewee and the core again).
    # It never touches the database connection it inherits, holds none of our
    # locks (POSIX locks are not inherited) and leaves through os._exit, so the
    # connection is not even closed there. Elsewhere fork is unsafe or missing,
    # and next to other threads (whose held locks a fork would copy) it is
    # risky: spawn a fresh interpreter.
    fork = sys.platform == "linux" and threading.active_count() == 1
    ctx = multiprocessing.get_context("fork" if fork else "spawn")
    receive, send = ctx.Pipe(duplex=False)
    if sys.platform == "linux":  # room for a few batches (not 64 KiB): the reader runs ahead, neither side waits
        import fcntl

        with contextlib.suppress(OSError):  # 1 MiB: the most anyone may ask for, by default
            fcntl.fcntl(send.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
    reader = ctx.Process(target=_reader_process, args=(send, path, fmt, _Checker.of(desk), now, actor),
                         name="deskconsole-import-reader", daemon=True)
    reader.start()
    send.close()
    try:
        while True:
            try:
                item = receive.recv()
            except EOFError:
                raise DeskError(f"{path}: the reader process stopped unexpectedly; nothing was imported") from None
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        receive.close()
        if reader.is_alive():
            reader.terminate()
        reader.join()


# One checked row: (line, ticket values in _COLUMNS order with the id first (None:
# number it), merged_into id or None, {"entries": [...], "links": [...]} or None,
# its SLA clock rows in sla_history.COLUMNS order with the ticket id to fill in, or None).
_Row = tuple[int, list, int | None, dict | None, list | None]


def _converted_batches(checker: _Checker, batches: Iterator[_Batch], now, actor, origin,
                       tell=None) -> Iterator[tuple[int, list[_Row]]]:
    """Rows checked and converted, a batch at a time, each with the bytes read so far (0: unknown)."""
    convert = _batch_converter(checker, now, actor, origin)
    for lines, header, rows in batches:
        yield (tell() if tell else 0), convert(lines, header, rows)


class _Numbering:
    """Ticket ids for an import: keys from the file are kept, the rest are numbered on."""

    def __init__(self, desk: "Desk", origin: str):
        self.origin = origin
        if not desk.is_sqlite:  # no concurrent create may draw an id we hand out here
            desk.db.execute_sql("LOCK TABLE ticket IN SHARE ROW EXCLUSIVE MODE")
        self.next = self.first_new = (Ticket.select(fn.MAX(Ticket.id)).scalar() or 0) + 1
        self.used: set[int] = set()

    def claim(self, batch: list[_Row]) -> None:
        """Fill in each row's id (its first value)."""
        used = self.used
        for line, values, *_ in batch:
            tid = values[0]
            if tid is None:
                while self.next in used:
                    self.next += 1
                tid = values[0] = self.next
            elif tid in used:
                raise ImportError_(f"{self.origin}: line {line}: {ticket_key(tid)} appears twice in the file (or collides with a "
                                   f"ticket numbered earlier in this import: put rows with keys first)")
            used.add(tid)


def _flush(unit, origin, numbering, batch: list[_Row], keys, deferred_merges, deferred_children) -> int:
    explicit = [values[0] for _, values, *_ in batch if values[0] is not None]
    # Keys from the file must be free on the desk (those above its highest
    # number are; the numbering checks them against this import's own).
    if explicit and min(explicit) < numbering.first_new:
        wanted = set(explicit)
        in_range = Ticket.select(Ticket.id).where(Ticket.id.between(min(explicit), max(explicit))).tuples()
        taken = sorted(tid for (tid,) in in_range if tid in wanted)
        if taken:
            line = next(line for line, values, *_ in batch if values[0] in taken)
            raise ImportError_(
                f"{origin}: line {line}: {ticket_key(taken[0])} already exists on this desk; import into an empty desk, "
                f"or drop the key column to import these as new tickets"
            )
    numbering.claim(batch)
    rows, clock_rows = [], []
    for line, values, merged, children, clocks in batch:
        tid = values[0]
        if merged:
            deferred_merges.append((line, tid, merged))
        if children:
            deferred_children.append((line, tid, children))
        if clocks:
            for clock in clocks:
                clock[0] = tid
            clock_rows += clocks
        rows.append(values)
    # Imported tickets run on this desk's service levels from now on: their
    # clocks (and the sla / sla_due summary in their rows) come with them.
    insert_rows(Ticket, _COLUMNS, rows, db_values=True)
    insert_rows(SlaClock, sla_history.COLUMNS, clock_rows, db_values=True)
    keys.extend([ticket_key(values[0]) for values in rows])
    # Entries only need their own ticket: write them now and keep memory flat.
    # Links may point further down the file: those wait for the end.
    _insert_children(unit, origin, deferred_children, entries=True)
    for item in deferred_children:
        item[2].pop("entries", None)
    deferred_children[:] = [item for item in deferred_children if item[2].get("links")]
    return len(batch)


def _insert_children(unit, origin: str, deferred, *, entries: bool = False) -> None:
    """Write the conversations (``entries=True``) or the links of imported tickets."""
    entries_rows, links = [], []
    for line, tid, raw in deferred:
        for i, e in enumerate(raw.get("entries") or [] if entries else []):
            where = f"{origin}: line {line}: entries[{i}]"
            if not isinstance(e, dict) or e.get("kind") not in ("reply", "note"):
                raise ImportError_(f"{where}: expected an object with kind 'reply' or 'note'")
            entries_rows.append(dict(
                ticket=tid, kind=e["kind"], author=str(e.get("author") or "unknown"),
                author_name=str(e.get("author_name") or e.get("author") or "unknown"),
                at=_time(e.get("at"), where + ".at") or unit.now,
                body=validate.body(str(e.get("body") or ""), where + ".body", required=False),
                source=str(e.get("source") or "import"),
            ))
        for i, ln in enumerate([] if entries else raw.get("links") or []):
            where = f"{origin}: line {line}: links[{i}]"
            if not isinstance(ln, dict) or ln.get("kind") not in KINDS:
                raise ImportError_(f"{where}: expected an object with kind one of {', '.join(KINDS)}")
            target = _key(ln.get("target"), where + ".target")
            if not Ticket.select().where(Ticket.id == target).exists():
                raise ImportError_(f"{where}.target: {ticket_key(target)} is neither on the desk nor in the file")
            links.append(dict(source=tid, target=target, kind=ln["kind"], created_by=str(ln.get("created_by") or "import"),
                              created_at=_time(ln.get("created_at"), where + ".created_at") or unit.now))
    insert_dicts(Entry, entries_rows)
    insert_dicts(Link, links)


_ALLOWED = frozenset(FIELDS) | {"entries", "links"}
# The ticket columns an import writes, in the model's order (the rows then go to
# the database as they are); merged_into is set at the end, when every target exists.
# The SLA summary (sla, sla_due) is filled in from the ticket's clocks.
_COLUMNS = ("id", *(name for name in FIELDS[1:] if name != "merged_into"), "sla", "sla_due")
# column -> (the directory's name -> id map, its lookup that lists the known names)
_FK = {"category": ("category_ids", "category"), "service": ("service_ids", "service"),
       "team": ("team_ids", "team"), "assignee": ("agent_ids", "agent")}
_STATUSES = frozenset(STATUSES)
_LEVELS = frozenset(LEVELS)
_PRIORITIES = frozenset(PRIORITIES)


def _batch_converter(checker: _Checker, now: datetime, actor: Actor, origin: str) -> Callable[..., list[_Row]]:
    """A function: a batch of rows of a file (see _Batch) -> the rows checked and converted.

    A batch is converted column by column (see _columns_converter); if anything
    in it is wrong, it goes again row by row, which stops at the first bad line
    with what is wrong there, exactly as a one-row batch would.
    """
    convert = _columns_converter(checker, now, actor)
    clocks = ImportClocks(checker.config.sla, checker.directory, now, checker.sqlite, _COLUMNS)

    def converted(lines: list[int], table: dict[str, Sequence]) -> list[_Row]:
        values, merged = convert(table, len(lines))
        planned = clocks.plan(values, merged)
        # The writer needs a row's own text only for its conversation and links.
        entries, links = table.get("entries"), table.get("links")
        if entries is None and links is None:
            children = [None] * len(lines)
        else:
            absent = [None] * len(lines)
            children = [{k: v for k, v in (("entries", e), ("links", ln)) if v} or None
                        for e, ln in zip(entries or absent, links or absent)]
        return list(zip(lines, values, merged, children, planned))

    def convert_batch(lines: list[int], header: list[str] | None, rows: list) -> list[_Row]:
        if header is not None:  # a CSV file: transposed in C
            if _ALLOWED.issuperset(header):
                with contextlib.suppress(Exception):
                    return converted(lines, dict(zip(header, zip(*rows))))
            rows = [dict(zip(header, cells)) for cells in rows]
        elif all(map(_ALLOWED.issuperset, rows)):
            with contextlib.suppress(Exception):
                return converted(lines, _table(rows))
        # Something is wrong: the rows say where.
        result = []
        for line, raw in zip(lines, rows):
            if not _ALLOWED.issuperset(raw):
                unknown = sorted(set(raw) - _ALLOWED)[0]
                raise ImportError_(
                    f"{origin}: line {line}: unknown column {unknown!r}; columns are {', '.join(FIELDS)}")
            try:
                result += converted([line], _table([raw]))
            except (ValidationError, NotFound) as exc:
                raise ImportError_(f"{origin}: line {line}: {exc}") from None
        return result

    return convert_batch


def _columns_converter(checker: _Checker, now: datetime, actor: Actor) -> Callable[[dict, int], tuple[list, list]]:
    """A function: rows of a file as columns (field name -> values), and how many
    -> (their ticket values, each a list in _COLUMNS order, and their merged_into
    ids), checked as strictly as a new ticket.

    It runs over a million rows, so it works a column at a time: each column
    gets one check over all its values (a set test, a join, a C function mapped
    over them), and only a column that fails it goes value by value through
    the usual checks, which raise on the first bad value.
    """
    config, directory, sqlite, login = checker.config, checker.directory, checker.sqlite, actor.login
    refs = [(getattr(directory, ids), getattr(directory, lookup)) for ids, lookup in _FK.values()]
    stored_now = _stored(now, sqlite)

    def priority(value, impact, urgency):  # as given, else from impact and urgency, else the desk's default
        given = validate.priority(value or None)
        if given:
            return given
        if impact or urgency:
            return config.priority_for(impact or "medium", urgency or "medium")
        return config.default_priority

    def convert(table: dict[str, Sequence], count: int) -> tuple[list, list]:
        absent = (None,) * count

        def column(name: str) -> Sequence:
            return table.get(name, absent)

        ids = [ticket_id(str(key)) if key else None for key in column("key")]
        titles = _titles(column("title"))
        descriptions = _descriptions(column("description"))
        requester_names = _optional_texts(column("requester_name"), "requester_name")
        emails = _emails(column("requester_email"))
        statuses = _statuses(column("status"))
        impacts, urgencies = _levels(column("impact"), "impact"), _levels(column("urgency"), "urgency")
        priorities = column("priority")
        if not _PRIORITIES.issuperset(priorities):  # absent, or to be normalised: one by one
            priorities = list(map(priority, priorities, impacts, urgencies))
        category, service, team, assignee = (_refs(column(name), *ref) for name, ref in zip(_FK, refs))
        created_by = [_str(value) or login for value in column("created_by")]
        created_at = [value or stored_now for value in _times(column("created_at"), "created_at", sqlite)]
        updated_at = [u or c for u, c in zip(_times(column("updated_at"), "updated_at", sqlite), created_at)]
        acknowledged_at = _times(column("acknowledged_at"), "acknowledged_at", sqlite)
        acknowledged_by = _optional_texts(column("acknowledged_by"), "acknowledged_by")
        first_response_at = _times(column("first_response_at"), "first_response_at", sqlite)
        resolved_at = _times(column("resolved_at"), "resolved_at", sqlite)
        closed_at = _times(column("closed_at"), "closed_at", sqlite)
        resolution_codes = _optional_texts(column("resolution_code"), "resolution_code")
        resolution_notes = _optional_texts(column("resolution_note"), "resolution_note")
        merged = [_key(value, "merged_into") if value else None for value in column("merged_into")]
        reopen_counts = _ints(column("reopen_count"), "reopen_count", 0)
        sources = [_str(value) or "import" for value in column("source")]
        external_refs = _optional_texts(column("external_ref"), "external_ref")
        versions = _ints(column("version"), "version", 1)
        if min(versions) < 1:
            raise ValidationError("version must be 1 or more")
        # Values that repeat (a status, a requester, a time both created and
        # updated) become one object each: a batch pickles to less and unpickles
        # faster in the writer.
        share = {}.setdefault

        def shared(column: list) -> list:
            return list(map(share, column, column))

        values = list(map(list, zip(
            ids, titles, descriptions, shared(requester_names), shared(emails), shared(statuses), shared(impacts),
            shared(urgencies), shared(priorities), category, service, team, assignee, shared(created_by),
            shared(created_at), shared(updated_at), shared(acknowledged_at), shared(acknowledged_by),
            shared(first_response_at), shared(resolved_at), shared(closed_at), shared(resolution_codes),
            resolution_notes, reopen_counts, shared(sources), external_refs, versions, absent, absent,  # sla, sla_due
        )))
        return values, merged

    return convert


def _table(raws: list[dict]) -> dict[str, Sequence]:
    """Rows -> columns: field name -> the rows' values (None where a row has no such field)."""
    names = list(raws[0])
    if len(names) > 1 and set(map(len, raws)) == {len(names)}:
        try:  # every row has the same fields (a CSV file, an export): transpose in C
            return dict(zip(names, zip(*map(itemgetter(*names), raws))))
        except KeyError:
            pass
    return {name: [raw.get(name) for raw in raws] for name in set().union(*raws)}


# Column checks: the fast way for the whole column, or else value by value (and
# then the first bad value raises with its own message).
def _clean(text: str) -> bool:
    """No NUL and no undecodable character (validate.no_nul) in ``text``."""
    try:
        validate.no_nul(text, "")
    except ValidationError:
        return False
    return True


def _titles(values: list) -> list:
    titles = [_str(value).strip() for value in values]
    joined = "".join(titles)
    if (all(titles) and "\n" not in joined and "\r" not in joined and max(map(len, titles)) <= validate.TITLE_MAX
            and _clean(joined)):
        return titles
    return [validate.title(_str(value)) for value in values]


def _descriptions(values: list) -> list:
    texts = [_str(value) for value in values]
    if max(map(len, texts)) <= validate.TEXT_MAX and _clean("".join(texts)):
        return texts
    return [validate.body(text, "the description", required=False) for text in texts]


def _optional_texts(values: list, what: str) -> list:
    texts = [(value.strip() or None) if value else None for value in values]
    if _clean("".join(filter(None, texts))):
        return texts
    return [validate.optional_text(value, what) for value in values]


def _emails(values: list) -> list:
    emails = [(value.strip() or None) if value else None for value in values]
    if all(map(EMAIL_RE.match, filter(None, emails))):
        return emails
    return [validate.email(value) for value in values]


def _statuses(values: list) -> list:
    statuses = [value or "new" for value in values]
    if not _STATUSES.issuperset(statuses):
        bad = next(status for status in statuses if status not in _STATUSES)
        raise ValidationError(f"status {bad!r} is not one of {', '.join(STATUSES)}")
    return statuses


def _levels(values: list, what: str) -> list:
    if _LEVELS.issuperset(filter(None, values)):
        return [value or None for value in values]
    return [validate.level(value or None, what) for value in values]  # an empty cell is no value


def _refs(names: list, ids: dict, lookup: Callable[[str], int]) -> list:
    """Team, agent, category or service names -> their ids."""
    try:
        return [ids[name] if name else None for name in names]
    except (KeyError, TypeError):  # the lookup names the known ones
        return [((ids.get(name) if isinstance(name, str) else None) or lookup(str(name))) if name else None
                for name in names]


def _ints(values: list, what: str, default: int) -> list:
    try:
        return list(map(int, values))
    except (TypeError, ValueError):
        return [_int(value, what, default) for value in values]


def _times(values: list, what: str, sqlite: bool) -> list:
    """ISO date-times -> what the desk stores for them."""
    present = [value for value in values if value is not None and value != ""]
    if sqlite and present and all(type(value) is str for value in present) and set(map(len, present)) == {32}:
        # UTC to the microsecond, as export writes it (2026-11-23T14:05:00.123456+00:00):
        # SQLite keeps the same digits, so there is nothing to parse and format.
        # The separators are checked in all values at once, 33 characters apart.
        joined, n = "\n".join(present), len(present)
        if all(joined[i::33] == c * n for i, c in _CANONICAL_UTC):
            try:
                for value in present:
                    datetime.fromisoformat(value)  # a real day and time (digits, month 1-12, ...)?
            except ValueError:
                pass  # _time says what is wrong, below
            else:
                stored = iter(joined.replace("T", " ").replace("+00:00", "").split("\n"))
                return [next(stored) if value else None for value in values]
    return [None if (parsed := _time(value, what)) is None else _stored(parsed, sqlite) for value in values]


# Where 2026-11-23T14:05:00.123456+00:00 has its separators (the rest are digits).
_CANONICAL_UTC = tuple((i, c) for i, c in enumerate("2026-11-23T14:05:00.123456+00:00") if not c.isdigit()) + (
    (27, "0"), (28, "0"), (30, "0"), (31, "0"))


def _str(value) -> str:
    return "" if value is None else str(value)


def _int(value, what: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{what} {value!r} is not a whole number") from None


def _key(value, what: str) -> int:
    try:
        return ticket_id(str(value))
    except ValidationError as exc:
        raise ImportError_(f"{what}: {exc}") from None


def _time(value, what: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError(f"{what} {value!r} is not an ISO date-time like 2026-11-23T14:05:00+00:00")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed if parsed.tzinfo is timezone.utc else parsed.astimezone(timezone.utc)


def _stored(value: datetime, sqlite: bool):
    """What UTCDateTimeField.db_value stores for an aware datetime: fixed-width UTC
    text on SQLite, a naive UTC datetime on PostgreSQL."""
    if value.tzinfo is not None and value.tzinfo is not timezone.utc:
        value = value.astimezone(timezone.utc)
    return value.isoformat(" ", "microseconds")[:26] if sqlite else value.replace(tzinfo=None)
