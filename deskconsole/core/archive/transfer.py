"""Bulk import and export of tickets: CSV and JSON Lines, round-trip safe.

Import runs through the one write path (admin only, one transaction, one
audit event and one feed row for the whole import) and is all-or-nothing: a
bad line stops it with the line number and nothing is written. The demo desk
uses the same bulk path.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import json
import multiprocessing
import os
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from collections import deque
from itertools import compress
from operator import itemgetter, lt, methodcaller
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

from deskconsole.binding import on_desk
from deskconsole.config import EMAIL_RE, LEVELS, PRIORITIES
from deskconsole.core import report_facts
from deskconsole.core.sla_clocks import sla_history
from deskconsole.core.records import validate
from deskconsole.core.sla_clocks.import_clocks import ImportClocks
from deskconsole.core.bulk import insert_dicts, insert_rows
from deskconsole.errors import DeskError, NotFound, ValidationError
from deskconsole.core.identity import Actor
from deskconsole.core.keys import ticket_id, ticket_key
from deskconsole.core.records.lifecycle import STATUSES
from deskconsole.core.records.links import KINDS
from deskconsole.core.records.text import terminal_safe
from deskconsole.core.txn import unit_of_work
from deskconsole.db import refresh_statistics
from peewee import fn

from deskconsole.models import TICKET_PREFIX, Entry, Link, SlaClock, Ticket

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


# What a file may hold. Anything beyond these is a damaged or hostile file, and
# is refused with the line and field before anything is written.
NESTING_MAX = 16  # levels of [ and { in a JSON line; an export nests 3 (row, entries, entry)
# The longest CSV cell: the longest text a ticket holds (a description of
# validate.TEXT_MAX characters, up to 16 MiB of UTF-8). The csv module's own
# default (128 KiB) would refuse descriptions the desk stores and exports.
CSV_CELL_MAX = validate.TEXT_MAX
# Times a ticket may carry: none before the Unix epoch (no service desk ran
# earlier; year 1 once cost seconds of SLA arithmetic per row), and none more
# than a day after the desk's clock: enough for clocks that disagree and for a
# local time written without its zone (at most 14 hours off), not for a
# mistyped year (9999).
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
FUTURE_SLACK = timedelta(days=1)
INT_MAX = 2**31 - 1  # the largest ticket number, version or reopen count a desk stores (PostgreSQL integer)
# Text columns with a width in the schema (PostgreSQL enforces it; SQLite does not, and the
# desk must be able to move from one to the other).
_WIDTHS = {"requester_name": 255, "requester_email": 255, "created_by": 255, "acknowledged_by": 255,
           "resolution_code": 32, "source": 16, "external_ref": 255}
_MESSAGE_MAX = 600  # characters of an error message; a longer one keeps its start and end


class ImportError_(ValidationError):
    """A line of an import file is wrong; nothing was imported.

    The message is one line, safe on a terminal (a control character or escape
    from the file shows as \\x1b, never acts) and short (a huge value is cut)."""

    def __init__(self, message: str):
        super().__init__(_safe_message(message))


def _safe_message(message: str) -> str:
    message = terminal_safe(str(message), one_line=True)
    if len(message) > _MESSAGE_MAX:
        cut = len(message) - _MESSAGE_MAX + 200
        message = f"{message[:_MESSAGE_MAX - 200]} [... {cut:,} characters left out ...] {message[-200:]}"
    return message


def _quote(value, width: int = 40) -> str:
    """``value`` for a message: quoted (control characters escaped) if text,
    at most ``width`` characters of it, and how long it is when cut."""
    if isinstance(value, str):
        if len(value) <= width:
            return repr(value)
        return f"{repr(value[:width])[:-1]}...{repr(value)[0]} ({len(value):,} characters)"
    if isinstance(value, bool) or value is None:
        return "true" if value is True else "false" if value is False else "null"
    if isinstance(value, (int, float)):
        try:
            text = str(value)
        except ValueError:  # more digits than Python converts
            return "a number too long to show"
        return text if len(text) <= width else f"{text[:width]}... ({len(text):,} digits)"
    return {"dict": "a JSON object", "list": "a JSON array"}.get(type(value).__name__, type(value).__name__)


# ------------------------------------------------------------------ export
@on_desk
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
    bytes of it have been read so far (for progress). A UTF-8 byte order mark
    at the start (as spreadsheet programs write) is skipped."""
    fmt = fmt or ("csv" if path.lower().endswith(".csv") else "jsonl")
    if fmt not in ("csv", "jsonl"):
        raise ImportError_(f"unknown import format {_quote(fmt)}; use csv or jsonl")
    try:
        handle = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ImportError_(f"cannot read {path}: {exc.strerror}") from None

    def csv_rows(reader, width: int):
        try:
            for cells in reader:
                if len(cells) != width:
                    if not cells:
                        continue
                    raise ImportError_(f"{path}: line {reader.line_num}: {len(cells)} cells, but the header has {width}")
                yield reader.line_num, cells
        except csv.Error as exc:
            raise _csv_error(path, reader, exc) from None

    def json_rows():
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            yield number, _json_row(path, number, line)

    def batches():
        with handle:
            try:
                if fmt == "csv":
                    _allow_csv_cells(CSV_CELL_MAX)
                    reader = csv.reader(handle)
                    try:
                        header = next(reader, None)
                    except csv.Error as exc:
                        raise _csv_error(path, reader, exc) from None
                    if not header or "title" not in header:
                        raise ImportError_(f"{path}: line 1: the CSV header has no 'title' column")
                    yield from _in_batches(csv_rows(reader, len(header)), header)  # "" is no value, to the checks
                else:
                    yield from _in_batches(json_rows())
            except UnicodeDecodeError:
                raise ImportError_(f"{path}: is not UTF-8 text; convert it to UTF-8 first") from None

    size = os.fstat(handle.fileno()).st_size
    # The text layer reads ahead in small chunks: its buffer's position is close enough.
    return batches(), fmt, lambda: size if handle.closed else handle.buffer.tell()


def _allow_csv_cells(characters: int) -> None:
    """Let the csv module read cells of up to ``characters`` (a setting of the
    whole process: only ever raised, never lowered, here)."""
    if csv.field_size_limit() < characters:
        csv.field_size_limit(characters)


def _csv_error(path: str, reader, exc: csv.Error) -> ImportError_:
    where = f"{path}: line {reader.line_num}"
    if "field larger than field limit" in str(exc):
        return ImportError_(f"{where}: a cell is longer than {CSV_CELL_MAX:,} characters, more than any field of a "
                            f"ticket holds (a description is at most {validate.TEXT_MAX:,}); shorten it or attach it as a file")
    return ImportError_(f"{where}: not valid CSV ({exc})")


def _json_row(path: str, number: int, line: str) -> dict:
    """One line of a JSON Lines file -> its object, or an error naming the line (and field)."""
    where = f"{path}: line {number}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ImportError_(f"{where}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise _too_deep(where) from None
    except ValueError:  # a whole number of more digits than Python reads (sys.get_int_max_str_digits)
        raise ImportError_(f"{where}: {_long_number(line)}") from None
    if not isinstance(row, dict):
        raise ImportError_(f"{where}: expected a JSON object")
    # Only a line with many brackets can nest deeply: the others need no walk.
    if line.count("[") + line.count("{") > NESTING_MAX and _too_nested(row):
        raise _too_deep(where)
    return row


def _too_deep(where: str) -> ImportError_:
    return ImportError_(f"{where}: nested too deeply (more than {NESTING_MAX} levels of [ and {{); a ticket row is an "
                        f"object whose entries and links are lists of objects, nothing deeper")


def _too_nested(value) -> bool:
    """Whether ``value`` nests lists and objects more than NESTING_MAX deep (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > NESTING_MAX:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


class _LongNumber(str):
    """A whole number too long for int(), as text (see _long_number)."""


def _long_number(line: str) -> str:
    """What to say about a line json cannot read for a number too long: which field holds it."""
    limit = sys.get_int_max_str_digits()

    def parse_int(text: str):
        return _LongNumber(text) if limit and len(text.lstrip("-")) > limit else int(text)

    try:
        row = json.loads(line, parse_int=parse_int)
    except (ValueError, RecursionError):
        row = None
    fields = [name for name, value in row.items() if _holds_long_number(value)] if isinstance(row, dict) else []
    number = next((value for value in (row or {}).values() if isinstance(value, _LongNumber)), None)
    digits = f" of {len(number.lstrip('-')):,} digits" if number else ""
    where = f"field {_quote(fields[0])}: " if fields else ""
    return (f"{where}a number{digits} is too long to read (at most {limit:,} digits); no field of a ticket takes a "
            f"number above {INT_MAX:,}")


def _holds_long_number(value) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _LongNumber):
            return True
        if isinstance(item, (dict, list)):
            stack.extend(item.values() if isinstance(item, dict) else item)
    return False


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


@on_desk
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
    return _import(desk, actor, lambda now, idle: _converted_batches(checker, _in_batches(iter(rows)), now, actor, origin),
                   origin=origin, progress=progress, total=total, action=action)


@on_desk
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
        make_batches = lambda now, idle: _converted_batches(checker, rows, now, actor, path, tell)
    else:
        rows.close()
        make_batches = lambda now, idle: _batches_from_reader(desk, path, fmt, now, actor, idle)
    return _import(desk, actor, make_batches, origin=path, progress=progress, total=total, action="import", size=size)


def _bulk(size: int, total: int | None) -> bool:
    """A big import (a big file, or many rows announced, as the demo builder does)."""
    return size >= PARALLEL_FROM_BYTES or (total or 0) >= STATISTICS_FROM


def _import(desk, actor, make_batches, *, origin, progress, total, action, size=0) -> list[str]:
    with _page_cache(desk, IMPORT_CACHE_KIB if _bulk(size, total) else 0):
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
        bulk = _bulk(size, total)
        fresh = not Ticket.select().exists()  # the desk's first tickets: its report facts are made whole at the end
        indexes = _indexes_set_aside(desk, _FILLED) if bulk and fresh else []
        fact_indexes = _indexes_set_aside(desk, ("report_fact",)) if indexes else []
        text = _TextIndexFill.set_aside(desk) if bulk else None
        if text:
            indexes = indexes + text.triggers
        deferred_merges: list[tuple[int, int, int]] = []  # (line, id, merged_into id)
        deferred_children: list[tuple[int, int, dict]] = []
        numbering = _Numbering(desk, origin)
        for read, batch in make_batches(unit.now, text.fill if text else None):
            done += _flush(unit, origin, numbering, batch, keys, deferred_merges, deferred_children, text)
            if progress:
                progress(done, total or (max(done, done * size // read) if read else None))
        if text:
            while text.fill():  # what the time spent waiting for the reader did not fill
                pass
        for line, tid, target in deferred_merges:
            if not Ticket.select().where(Ticket.id == target).exists():
                raise ImportError_(f"{origin}: line {line}: merged_into {ticket_key(target)} is neither on the desk nor in the file")
            Ticket.update(merged_into=target).where(Ticket.id == tid).execute()
        _insert_children(unit, origin, deferred_children)
        for statement in indexes:
            desk.db.execute_sql(statement)
        # what the reports count of the new tickets
        if fresh and keys:  # all of the desk's: made in one pass, like a migrated desk's, and indexed after
            report_facts.rebuild(desk)
            for statement in fact_indexes:
                desk.db.execute_sql(statement)
        elif keys:
            report_facts.refresh(desk, [ticket_id(k) for k in keys])
        if not desk.is_sqlite and keys:
            desk.db.execute_sql("SELECT setval(pg_get_serial_sequence('ticket', 'id'), (SELECT MAX(id) FROM ticket))")
        if len(keys) >= STATISTICS_FROM or indexes:
            # The planner's picture of the desk changed (see refresh_statistics): in the same transaction,
            # so the new statistics come with the rows (one commit, not a second one after it).
            refresh_statistics(desk.db)
        # One audit event for the whole import (an event per ticket would cost
        # an eighth of a big import) and one feed row.
        span = f" ({keys[0]} .. {keys[-1]})" if keys else ""
        unit.audit(None, new=f"{len(keys):,} tickets from {origin}{span}")
        unit.feed(None, None)
        if progress:
            progress(done, total or done)
    return keys


PARALLEL_FROM_BYTES = 4 * 1024 * 1024
IMPORT_CACHE_KIB = 256 * 1024  # the page cache a big import works in (the desk's default is 32 MB)
STATISTICS_FROM = 10_000  # imports this big refresh the query planner's statistics
_FILLED = ("ticket", "sla_clock")  # the tables an import fills row by row


class _TextIndexFill:
    """The text index of a SQLite desk without tickets, filled by the import
    itself. The triggers that keep it in step row by row are dropped (each
    re-reads the ticket's document through ``ticket_search``: ~70 µs a row)
    and each written ticket's document goes into it directly, a batch at a
    time (~3 µs a row, what FTS5's 'rebuild' costs): the text and description
    as written and, for a ticket with a conversation, the ``ticket_search``
    row itself, read after its entries are written. The writer does this
    while it would otherwise wait for the reader process, and the rest at the
    end. In the import's transaction, as :func:`_indexes_set_aside`: the
    triggers come back (``triggers``: their statements) at its end, or with
    its rollback."""

    _PLAIN = "INSERT INTO ticket_fts (rowid, title, description, conversation) VALUES (?, ?, ?, '')"
    _TALKED = ("INSERT INTO ticket_fts (rowid, title, description, conversation)"
               " SELECT id, title, description, conversation FROM ticket_search WHERE id = ?")

    def __init__(self, desk, triggers: list[str]):
        self.cursor = desk.db.cursor
        self.triggers = triggers
        # Batches of documents waiting: (id, title, description) of a ticket written, or (id,) of one with a
        # conversation. A fill writes one batch: about a millisecond, short enough never to hold up the reader.
        self.pending: deque[list[tuple]] = deque()

    @classmethod
    def set_aside(cls, desk) -> "_TextIndexFill | None":
        if not desk.is_sqlite or Ticket.select().exists():
            return None
        db = desk.db
        triggers = db.execute_sql("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%fts%'"
                                  " ORDER BY name").fetchall()
        if not triggers:
            return None
        for name, _ in triggers:
            db.execute_sql(f'DROP TRIGGER "{name}"')
        return cls(desk, [sql for _, sql in triggers])

    def written(self, rows: list[list], talked: set[int]) -> None:
        """Tickets just written (values in _COLUMNS order: id, title, description first); ``talked``: the ids
        of those with conversation entries, written too."""
        if talked:
            self.pending.append([(v[0],) if v[0] in talked else (v[0], v[1], v[2]) for v in rows])
        elif rows:
            self.pending.append([(v[0], v[1], v[2]) for v in rows])

    def fill(self) -> bool:
        """Put the next documents into the index; False when none are waiting."""
        if not self.pending:
            return False
        chunk = self.pending.popleft()
        cursor = self.cursor()
        plain = [doc for doc in chunk if len(doc) == 3]
        cursor.executemany(self._PLAIN, plain)
        if len(plain) < len(chunk):
            cursor.executemany(self._TALKED, [doc for doc in chunk if len(doc) == 1])
        return True


def _indexes_set_aside(desk, tables: Sequence[str]) -> list[str]:
    """On a SQLite desk without tickets, drop the plain (not unique) indexes
    of ``tables``, which an import fills, and return the statements that create
    them again: built once from all the rows at the end (a sort per index),
    they cost about half of what keeping these indexes up to date row by
    row does (measured on 100,000 tickets; in the import's 256 MB page cache
    the two cost about the same at that size). In the import's transaction, like everything else: other
    connections never see the desk without them, and a failed import gets
    them back with its rollback. A desk that has tickets already keeps its
    indexes (rebuilding them over all its rows would cost more). Partial
    indexes stay too: they hold only the rows that have a value (a merge, an
    external reference), usually none of an import's, and building one
    would read the whole table for them (~30 ms per 100,000 tickets)."""
    if not desk.is_sqlite or Ticket.select().exists():
        return []
    db, statements = desk.db, []
    for table in tables:
        for _, name, unique, origin, partial in db.execute_sql(f"PRAGMA index_list({table})").fetchall():
            if unique or origin != "c" or partial:  # a unique index checks rows as they come: it stays
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
    # Batches come and go by reference counting; the cyclic collector would
    # only walk them (and every object inherited from the writer) again and
    # again: ~5 % of the reader's time. The process ends with the import.
    gc.disable()
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


def _batches_from_reader(desk, path, fmt, now, actor, idle: Callable[[], bool] | None = None
                         ) -> Iterator[tuple[int, list]]:
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
            # Nothing from the reader yet: other work of the import (idle() says whether it had any) meanwhile.
            while idle and not receive.poll() and idle():
                pass
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


def _flush(unit, origin, numbering, batch: list[_Row], keys, deferred_merges, deferred_children, text=None) -> int:
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
    if text:
        text.written(rows, {tid for _, tid, children in deferred_children if children.get("entries")})
    for item in deferred_children:
        item[2].pop("entries", None)
    deferred_children[:] = [item for item in deferred_children if item[2].get("links")]
    return len(batch)


def _insert_children(unit, origin: str, deferred, *, entries: bool = False) -> None:
    """Write the conversations (``entries=True``) or the links of imported tickets."""
    try:
        _children(unit, origin, deferred, entries)
    except ImportError_:
        raise
    except ValidationError as exc:  # its message names the line and field: made safe to print
        raise ImportError_(str(exc)) from None


def _children(unit, origin: str, deferred, entries: bool) -> None:
    entries_rows, links, seen = [], [], set()
    for line, tid, raw in deferred:
        for i, e in enumerate(raw.get("entries") or [] if entries else []):
            where = f"{origin}: line {line}: entries[{i}]"
            if not isinstance(e, dict) or e.get("kind") not in ("reply", "note"):
                raise ImportError_(f"{where}: expected an object with kind 'reply' or 'note'")
            entries_rows.append(dict(
                ticket=tid, kind=e["kind"], author=str(e.get("author") or "unknown"),
                author_name=str(e.get("author_name") or e.get("author") or "unknown"),
                at=_within(_time(e.get("at"), where + ".at"), where + ".at", unit.now) or unit.now,
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
            if (tid, target, ln["kind"]) in seen:  # the desk keeps a link once
                raise ImportError_(f"{where}: {ln['kind']} {ticket_key(target)} is listed twice; keep one")
            seen.add((tid, target, ln["kind"]))
            links.append(dict(source=tid, target=target, kind=ln["kind"], created_by=str(ln.get("created_by") or "import"),
                              created_at=_within(_time(ln.get("created_at"), where + ".created_at"), where + ".created_at",
                                                 unit.now) or unit.now))
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

    def converted(lines: list[int], table: dict[str, Sequence], texts: bool = False) -> list[_Row]:
        if not texts:  # a CSV cell is always text (csv.reader makes nothing else): nothing to check
            _check_types(table)
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
                    return converted(lines, dict(zip(header, zip(*rows))), texts=True)
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
                    f"{origin}: line {line}: unknown column {_quote(unknown)}; columns are {', '.join(FIELDS)}")
            try:
                result += converted([line], _table([raw]))
            except (ValidationError, NotFound) as exc:
                raise ImportError_(f"{origin}: line {line}: {_shortened(str(exc), raw)}") from None
            except (TypeError, ValueError, AttributeError, OverflowError, RecursionError) as exc:  # a check missed it
                raise ImportError_(f"{origin}: line {line}: cannot read this row ({type(exc).__name__}: {exc}); "
                                   f"compare it with a row of 'deskconsole export'") from None
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
    earliest, latest = _stored(EARLIEST, sqlite), _stored(now + FUTURE_SLACK, sqlite)

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

        ids = _ids(column("key"))
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
        times = {name: _times(column(name), name, sqlite) for name in TIMES}
        given_created = times["created_at"]
        created_at = times["created_at"] = [value or stored_now for value in given_created]
        updated_at = times["updated_at"] = [u or c for u, c in zip(times["updated_at"], created_at)]
        acknowledged_at, first_response_at = times["acknowledged_at"], times["first_response_at"]
        resolved_at, closed_at = times["resolved_at"], times["closed_at"]
        acknowledged_by = _optional_texts(column("acknowledged_by"), "acknowledged_by")
        resolution_codes = _optional_texts(column("resolution_code"), "resolution_code")
        resolution_notes = _optional_texts(column("resolution_note"), "resolution_note")
        merged = [_key(value, "merged_into") if value else None for value in column("merged_into")]
        reopen_counts = _ints(column("reopen_count"), "reopen_count", 0, least=0)
        sources = [_str(value) or "import" for value in column("source")]
        external_refs = _optional_texts(column("external_ref"), "external_ref")
        versions = _ints(column("version"), "version", 1, least=1)
        _check_widths(dict(requester_name=requester_names, requester_email=emails, created_by=created_by,
                           acknowledged_by=acknowledged_by, resolution_code=resolution_codes, source=sources,
                           external_ref=external_refs))
        _check_resolution_codes(statuses, resolution_codes, config.resolution_codes)
        _check_times(times, given_created, earliest, latest, now)
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


def _shortened(message: str, raw: dict) -> str:
    """``message`` with each long value of ``raw`` it quotes in full (as the
    desk's own checks do) quoted short."""
    for value in raw.values():
        if isinstance(value, str) and len(value) > 40:
            message = message.replace(repr(value), _quote(value))
    return message


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
    if text.isascii():  # (a C loop over the bytes) no surrogate can be in it: the NUL is what to look for
        return "\x00" not in text
    try:
        validate.no_nul(text, "")
    except ValidationError:
        return False
    return True


def _titles(values: list) -> list:
    titles = [_str(value).strip() for value in values]
    joined = "".join(titles)
    if (all(titles) and not validate.LINE_BREAK.search(joined) and max(map(len, titles)) <= validate.TITLE_MAX
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
    try:
        return [validate.email(value) for value in values]
    except ValidationError as exc:
        raise ValidationError(f"requester_email: {exc}") from None


def _statuses(values: list) -> list:
    statuses = [value or "new" for value in values]
    if not _STATUSES.issuperset(statuses):
        bad = next(status for status in statuses if status not in _STATUSES)
        raise ValidationError(f"status {_quote(bad)} is not one of {', '.join(STATUSES)}")
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


_INT_TYPES = frozenset((int, str))
_KEY_LENGTHS = frozenset(range(len(TICKET_PREFIX) + 2, len(TICKET_PREFIX) + 14))  # INC- and 1 to 12 digits


def _ints(values: list, what: str, default: int, *, least: int) -> list:
    if _INT_TYPES.issuperset(map(type, values)):  # no None, no true/false, no 1.5
        try:
            numbers = list(map(int, values))
        except ValueError:
            numbers = None
        if numbers and least <= min(numbers) and max(numbers) <= INT_MAX:
            return numbers
    return [_int(value, what, default, least) for value in values]


def _ids(keys: Sequence) -> list:
    if keys and _TEXT.issuperset(map(type, keys)):  # keys as export writes them (INC-42), all of them: in C
        prefix = f"{TICKET_PREFIX}-"
        width = len(prefix)
        if set(map(len, keys)) <= _KEY_LENGTHS and all(map(methodcaller("startswith", prefix), keys)):
            digits = [key[width:] for key in keys]
            joined = "".join(digits)
            if joined.isascii() and joined.isdigit():
                ids = list(map(int, digits))
                if 0 < min(ids) and max(ids) <= INT_MAX:
                    return ids
    try:
        ids = [ticket_id(str(key)) if key else None for key in keys]
    except ValidationError:
        ids = None
    if ids is None or max(filter(None, ids), default=0) > INT_MAX:
        return [_key(key, "key") if key else None for key in keys]  # the first bad one says what is wrong
    return ids


# Column checks that look at several columns of a row.
_DONE = frozenset(("resolved", "closed"))
_AFTER_CREATED = {"updated_at": "changed", "acknowledged_at": "acknowledged", "first_response_at": "answered",
                  "resolved_at": "resolved", "closed_at": "closed"}


def _check_types(table: dict) -> None:
    """JSON values of the wrong kind: a number where text goes is the text of it
    (an external_ref of 12345); true, false, an object or an array are refused."""
    for name, values in table.items():
        kinds = set(map(type, values))
        if name in ("entries", "links"):
            if not kinds <= {list, type(None)}:
                bad = next(v for v in values if v is not None and type(v) is not list)
                raise ValidationError(f"{name}: expected a list of objects, not {_quote(bad)}")
        elif name in ("version", "reopen_count"):
            continue  # _ints says what is wrong
        elif not kinds <= {str, type(None)}:
            bad = next((v for v in values if isinstance(v, (bool, dict, list))), None)
            if bad is not None:
                raise ValidationError(f"{name}: expected text, not {_quote(bad)}")
            table[name] = [_str(v) if isinstance(v, (int, float)) else v for v in values]


def _check_widths(columns: dict[str, list]) -> None:
    for name, values in columns.items():
        limit = _WIDTHS[name]
        if max(map(len, filter(None, values)), default=0) > limit:
            bad = next(v for v in values if v and len(v) > limit)
            raise ValidationError(f"{name} {_quote(bad)} is longer than {limit} characters, the most it holds; shorten it")


def _check_resolution_codes(statuses: list, codes: list, known: Sequence[str]) -> None:
    """A resolved or closed ticket says how it was resolved, as every resolve on the desk does."""
    done = list(map(_DONE.__contains__, statuses))
    if None in compress(codes, done):
        i = next(i for i, (d, code) in enumerate(zip(done, codes)) if d and code is None)
        raise ValidationError(f"resolution_code is missing: a {statuses[i]} ticket needs one; use one of {', '.join(known)}")


def _check_times(times: dict[str, list], given_created: list, earliest, latest, now: datetime) -> None:
    """Every time within the plausible range (EARLIEST .. the desk's clock plus
    FUTURE_SLACK), and nothing about a ticket before its creation. Values are
    as stored: fixed-width UTC text (which sorts as instants do) or datetimes."""
    for name, column in times.items():
        present = list(filter(None, column))
        if present and (min(present) < earliest or max(present) > latest):
            bad = next(v for v in present if v < earliest or v > latest)
            if bad < earliest:
                raise ValidationError(f"{name} {_iso(bad)} is before {EARLIEST.date()}, earlier than any ticket; "
                                      f"check the year")
            raise ValidationError(f"{name} {_iso(bad)} is more than a day after the desk's clock "
                                  f"({now.astimezone(timezone.utc).isoformat(timespec='seconds')}); check the year "
                                  f"and the time zone")
    created = times["created_at"]
    for name, verb in _AFTER_CREATED.items():
        column = times[name]
        if any(map(lt, filter(None, column), compress(created, column))):
            i = next(i for i, (v, c) in enumerate(zip(column, created)) if v is not None and v < c)
            then = (f"created_at {_iso(created[i])}" if given_created[i] is not None else
                    f"created_at (not given, so the time of the import: {_iso(created[i])})")
            raise ValidationError(f"{name} {_iso(column[i])} is before {then}; a ticket is {verb} after it is "
                                  f"created — correct one of them")


def _iso(stored) -> str:
    """A stored time (see _stored) as ISO 8601 UTC, for a message."""
    value = datetime.fromisoformat(stored) if isinstance(stored, str) else stored
    return value.replace(tzinfo=timezone.utc).isoformat()


def _within(value: datetime | None, what: str, now: datetime) -> datetime | None:
    """An entry's or a link's time, within the range a ticket's times are."""
    if value is not None and not EARLIEST <= value <= now + FUTURE_SLACK:
        raise ImportError_(f"{what} {value.isoformat()} is outside {EARLIEST.date()} .. a day after the desk's "
                              f"clock ({now.astimezone(timezone.utc).isoformat(timespec='seconds')}); check the year "
                              f"and the time zone")
    return value


def _times(values: list, what: str, sqlite: bool) -> list:
    """ISO date-times -> what the desk stores for them."""
    present = list(filter(None, values))
    blanks = len(values) - len(present)
    if (sqlite and present and blanks == values.count(None) + values.count("")  # no 0, false, [] ...
            and _TEXT.issuperset(map(type, present)) and set(map(len, present)) == {32}):
        # UTC to the microsecond, as export writes it (2026-11-23T14:05:00.123456+00:00):
        # SQLite keeps the same digits, so there is nothing to parse and format.
        # The separators are checked in all values at once, 33 characters apart.
        joined, n = "\n".join(present), len(present)
        if all(joined[i::33] == c * n for i, c in _CANONICAL_UTC):
            try:
                deque(map(datetime.fromisoformat, present), 0)  # a real day and time (digits, month 1-12, ...)?
            except ValueError:
                pass  # _time says what is wrong, below
            else:
                stored = joined.replace("T", " ").replace("+00:00", "").split("\n")
                if not blanks:
                    return stored
                following = iter(stored)
                return [next(following) if value else None for value in values]
    return [None if (parsed := _time(value, what)) is None else _stored(parsed, sqlite) for value in values]


_TEXT = frozenset((str,))
# Where 2026-11-23T14:05:00.123456+00:00 has its separators (the rest are digits).
_CANONICAL_UTC = tuple((i, c) for i, c in enumerate("2026-11-23T14:05:00.123456+00:00") if not c.isdigit()) + (
    (27, "0"), (28, "0"), (30, "0"), (31, "0"))


def _str(value) -> str:
    return "" if value is None else str(value)


def _int(value, what: str, default: int, least: int = 0) -> int:
    if value is None or value == "":
        return default
    number = None
    if type(value) is int:
        number = value
    elif isinstance(value, str):
        try:
            number = int(value)
        except ValueError:
            if value.strip().lstrip("+-").isdigit():  # more digits than Python reads: out of range
                number = INT_MAX + 1
    if number is None:
        raise ValidationError(f"{what} {_quote(value)} is not a whole number")
    if not least <= number <= INT_MAX:
        raise ValidationError(f"{what} {_quote(value)} is out of range; use a whole number from {least} to {INT_MAX:,}")
    return number


def _key(value, what: str) -> int:
    try:
        tid = ticket_id(str(value))
    except ValidationError as exc:
        raise ImportError_(f"{what}: {_shortened(str(exc), {'': str(value)})}") from None
    if tid > INT_MAX:
        raise ImportError_(f"{what}: {ticket_key(tid)} is beyond the highest ticket number a desk holds, {INT_MAX:,}")
    return tid


def _time(value, what: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError(f"{what} {_quote(value)} is not an ISO date-time like 2026-11-23T14:05:00+00:00")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed if parsed.tzinfo is timezone.utc else parsed.astimezone(timezone.utc)


def _stored(value: datetime, sqlite: bool):
    """What UTCDateTimeField.db_value stores for an aware datetime: fixed-width UTC
    text on SQLite, a naive UTC datetime on PostgreSQL."""
    if value.tzinfo is not None and value.tzinfo is not timezone.utc:
        value = value.astimezone(timezone.utc)
    return value.isoformat(" ", "microseconds")[:26] if sqlite else value.replace(tzinfo=None)
