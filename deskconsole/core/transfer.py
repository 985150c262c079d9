"""Bulk import and export of tickets: CSV and JSON Lines, round-trip safe.

Import runs through the one write path (admin only, one transaction, an
audit event per ticket, one feed row) and is all-or-nothing: a bad line stops
it with the line number and nothing is written. The demo desk uses the same
bulk path.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from deskconsole.core import validate
from deskconsole.core.bulk import insert_dicts
from deskconsole.core.errors import DeskError, NotFound, ValidationError
from deskconsole.core.identity import Actor
from deskconsole.core.keys import ticket_id, ticket_key
from deskconsole.core.lifecycle import STATUSES
from deskconsole.core.links import KINDS
from deskconsole.core.txn import unit_of_work
from peewee import fn

from deskconsole.models import Entry, Link, Ticket

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
_FK = {"category": "category", "service": "service", "team": "team", "assignee": "agent"}
_NOT_NULL_TEXT = ("description",)
BATCH = 500


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
def read_rows(path: str, fmt: str | None = None) -> tuple[Iterator[tuple[int, dict]], str]:
    """(line number, row) pairs from a CSV or JSON Lines file."""
    fmt = fmt or ("csv" if path.lower().endswith(".csv") else "jsonl")
    if fmt not in ("csv", "jsonl"):
        raise ValidationError(f"unknown import format {fmt!r}; use csv or jsonl")
    try:
        handle = open(path, encoding="utf-8", newline="")
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}") from None

    def rows():
        with handle:
            try:
                if fmt == "csv":
                    reader = csv.reader(handle)
                    header = next(reader, None)
                    if not header or "title" not in header:
                        raise ImportError_(f"{path}: line 1: the CSV header has no 'title' column")
                    width = len(header)
                    # Empty cells are "no value", except where a text is never absent.
                    keep_empty = {i for i, name in enumerate(header) if name in _NOT_NULL_TEXT}
                    for cells in reader:
                        if len(cells) != width:
                            if not cells:
                                continue
                            raise ImportError_(
                                f"{path}: line {reader.line_num}: {len(cells)} cells, but the header has {width}")
                        row = {name: (None if cell == "" and i not in keep_empty else cell)
                               for i, (name, cell) in enumerate(zip(header, cells))}
                        yield reader.line_num, row
                else:
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
            except UnicodeDecodeError:
                raise ImportError_(f"{path}: is not UTF-8 text; convert it to UTF-8 first") from None
            except csv.Error as exc:
                raise ImportError_(f"{path}: not valid CSV: {exc}") from None

    return rows(), fmt


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
    return _import(desk, actor, lambda now: _converted_batches(desk, rows, now, actor, origin),
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
    more than one core.
    """
    rows, fmt = read_rows(path, fmt)  # checks the file can be opened, here, before anything starts
    try:
        size = os.path.getsize(path)
    except OSError:
        size = 0
    if size < PARALLEL_FROM_BYTES:
        return import_rows(desk, actor, rows, origin=path, progress=progress, total=total)
    rows.close()
    return _import(desk, actor, lambda now: _batches_from_reader(desk, path, fmt, now, actor),
                   origin=path, progress=progress, total=total, action="import")


def _import(desk, actor, make_batches, *, origin, progress, total, action) -> list[str]:
    keys: list[str] = []
    done = 0
    with unit_of_work(desk, actor, action, permission="import") as unit:
        deferred_merges: list[tuple[int, int, int]] = []  # (line, id, merged_into id)
        deferred_children: list[tuple[int, int, dict]] = []
        numbering = _Numbering(desk, origin)
        for batch in make_batches(unit.now):
            done += _flush(unit, origin, numbering, batch, keys, deferred_merges, deferred_children)
            if progress:
                progress(done, total)
        for line, tid, target in deferred_merges:
            if not Ticket.select().where(Ticket.id == target).exists():
                raise ImportError_(f"{origin}: line {line}: merged_into {ticket_key(target)} is neither on the desk nor in the file")
            Ticket.update(merged_into=target).where(Ticket.id == tid).execute()
        _insert_children(unit, origin, deferred_children)
        if not desk.is_sqlite and keys:
            desk.db.execute_sql("SELECT setval(pg_get_serial_sequence('ticket', 'id'), (SELECT MAX(id) FROM ticket))")
        unit.feed(None, None)
        if progress:
            progress(done, total)
    return keys


PARALLEL_FROM_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class _Checker:
    """What checking a row needs of a desk (picklable: no database in it)."""

    config: object
    directory: object


def _reader_process(conn, path: str, fmt: str, checker: _Checker, now: datetime, actor: Actor) -> None:
    """Runs in the reader process: file -> checked batches -> pipe."""
    try:
        rows, _ = read_rows(path, fmt)
        for batch in _converted_batches(checker, rows, now, actor, path):
            # The writer needs a row's own text only for its conversation and links.
            conn.send([(line, {k: raw[k] for k in ("entries", "links") if raw.get(k)}, values)
                       for line, raw, values in batch])
        conn.send(None)
    except DeskError as exc:
        conn.send(exc)
    except BaseException as exc:  # pragma: no cover - a bug: report it, don't hang the writer
        conn.send(DeskError(f"{path}: reading failed: {type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _batches_from_reader(desk, path, fmt, now, actor) -> Iterator[list]:
    ctx = multiprocessing.get_context("spawn")  # no inherited database connection, on any platform
    receive, send = ctx.Pipe(duplex=False)
    reader = ctx.Process(target=_reader_process, args=(send, path, fmt, _Checker(desk.config, desk.directory), now, actor),
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


def _converted_batches(desk, rows, now, actor, origin) -> Iterator[list[tuple[int, dict, dict]]]:
    """Rows checked and converted, in batches of BATCH."""
    batch = []
    for line, raw in rows:
        batch.append((line, raw, _ticket_values(desk, line, raw, now, actor, origin)))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


class _Numbering:
    """Ticket ids for an import: keys from the file are kept, the rest are numbered on."""

    def __init__(self, desk: "Desk", origin: str):
        self.origin = origin
        if not desk.is_sqlite:  # no concurrent create may draw an id we hand out here
            desk.db.execute_sql("LOCK TABLE ticket IN SHARE ROW EXCLUSIVE MODE")
        self.next = (Ticket.select(fn.MAX(Ticket.id)).scalar() or 0) + 1
        self.used: set[int] = set()

    def claim(self, values: dict, line: int) -> int:
        if "id" not in values:
            while self.next in self.used:
                self.next += 1
            values["id"] = self.next
        elif values["id"] in self.used:
            raise ImportError_(f"{self.origin}: line {line}: {ticket_key(values['id'])} appears twice in the file (or collides with a "
                               f"ticket numbered earlier in this import: put rows with keys first)")
        self.used.add(values["id"])
        return values["id"]


def _flush(unit, origin, numbering, batch, keys, deferred_merges, deferred_children) -> int:
    explicit = [v["id"] for _, _, v in batch if "id" in v]
    if explicit:  # keys from the file must be free on the desk
        wanted = set(explicit)
        in_range = Ticket.select(Ticket.id).where(Ticket.id.between(min(explicit), max(explicit))).tuples()
        taken = sorted(tid for (tid,) in in_range if tid in wanted)
        if taken:
            line = next(line for line, _, v in batch if v.get("id") in taken)
            raise ImportError_(
                f"{origin}: line {line}: {ticket_key(taken[0])} already exists on this desk; import into an empty desk, "
                f"or drop the key column to import these as new tickets"
            )
    rows = []
    for line, raw, values in batch:
        tid = numbering.claim(values, line)
        merged = values.pop("merged_into", None)
        if merged:
            deferred_merges.append((line, tid, merged))
        if raw.get("entries") or raw.get("links"):
            deferred_children.append((line, tid, raw))
        rows.append(values)
        keys.append(ticket_key(tid))
        unit.audit(tid, None, None, None, None)
    insert_dicts(Ticket, rows)
    # Entries only need their own ticket: write them now and keep memory flat.
    # Links may point further down the file: those wait for the end.
    _insert_children(unit, origin, deferred_children, entries=True)
    for item in deferred_children:
        item[2].pop("entries", None)
    deferred_children[:] = [item for item in deferred_children if item[2].get("links")]
    unit.flush()  # audit rows go out with their batch: memory stays flat on any size of import
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
_FK_MAPS = {"category": "category_ids", "service": "service_ids", "team": "team_ids", "assignee": "agent_ids"}
_OPTIONAL_TEXT = ("requester_name", "acknowledged_by", "resolution_code", "resolution_note", "external_ref")


def _ticket_values(desk, line: int, raw: dict, now: datetime, actor: Actor, origin: str) -> dict:
    if not _ALLOWED.issuperset(raw):
        unknown = sorted(set(raw) - _ALLOWED)[0]
        raise ImportError_(f"{origin}: line {line}: unknown column {unknown!r}; columns are {', '.join(FIELDS)}")
    try:
        return _convert(desk, raw, now, actor)
    except (ValidationError, NotFound) as exc:
        raise ImportError_(f"{origin}: line {line}: {exc}") from None


def _convert(desk, raw: dict, now: datetime, actor: Actor) -> dict:
    """One row of a file -> column values, checked as strictly as a new ticket."""
    get = raw.get
    v: dict = {}
    if get("key"):
        v["id"] = ticket_id(str(get("key")))
    v["title"] = validate.title(_str(get("title")))
    v["description"] = validate.body(_str(get("description")), "the description", required=False)
    for name in _OPTIONAL_TEXT:
        v[name] = validate.optional_text(get(name), name)
    v["requester_email"] = validate.email(get("requester_email"))
    status = get("status") or "new"
    if status not in STATUSES:
        raise ValidationError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    v["status"] = status
    impact = v["impact"] = validate.level(get("impact"), "impact")
    urgency = v["urgency"] = validate.level(get("urgency"), "urgency")
    v["priority"] = validate.priority(get("priority")) or (
        desk.config.priority_for(impact or "medium", urgency or "medium") if impact or urgency
        else desk.config.default_priority
    )
    directory = desk.directory
    for name, mapping in _FK_MAPS.items():
        value = get(name)
        if value:
            found = getattr(directory, mapping).get(value)
            v[name] = found if found is not None else getattr(directory, _FK[name])(str(value))  # raises NotFound
        else:
            v[name] = None
    v["created_by"] = _str(get("created_by")) or actor.login
    for name in TIMES:
        v[name] = _time(get(name), name)
    v["created_at"] = v["created_at"] or now
    v["updated_at"] = v["updated_at"] or v["created_at"]
    if get("merged_into"):
        v["merged_into"] = _key(get("merged_into"), "merged_into")
    v["reopen_count"] = _int(get("reopen_count"), "reopen_count", 0)
    v["source"] = _str(get("source")) or "import"
    v["version"] = _int(get("version"), "version", 1)
    if v["version"] < 1:
        raise ValidationError("version must be 1 or more")
    return v


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
