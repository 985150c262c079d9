"""Hostile and damaged import files: each one is refused with one short,
terminal-safe line naming the file, the line and the field, and nothing of
the file is stored; or, where the input is fine after all (a byte order
mark, a description longer than the csv module's default cell), it imports.

Every test builds the bad input first (and, where Python itself chokes on
it, shows that it does), then imports it through the core import function
into a real desk on each backend.
"""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pytest

from deskconsole.config import parse_config
from deskconsole.core.records import tickets
from deskconsole.core.archive import transfer
from deskconsole.core.clock import ManualClock
from deskconsole.core.desk import open_desk
from deskconsole.core.identity import Actor
from deskconsole.models import Entry, Link, SlaClock, Ticket

from conftest import START, TEST_CONFIG

ADA = Actor(login="ada", name="Ada Admin", role="admin", team="ops")
GOOD = {"title": "Fine", "status": "new", "team": "ops"}
CODES = ", ".join(parse_config(TEST_CONFIG, "test.toml").resolution_codes)


def _jsonl(path: Path, rows: list) -> Path:
    """One line per row: a dict as JSON, a str as it is."""
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def _stored() -> tuple[int, int, int, int]:
    return Ticket.select().count(), Entry.select().count(), Link.select().count(), SlaClock.select().count()


def _refused(desk, path: Path, line: int, *fragments: str) -> str:
    """Import ``path``: it must fail at ``line`` with ``fragments`` in one short,
    safe line, and leave the desk as it was."""
    before = _stored()
    with pytest.raises(transfer.ImportError_) as info:
        transfer.import_file(desk, ADA, str(path))
    message = str(info.value)
    assert message.startswith(f"{path}: line {line}: "), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert "\n" not in message and "\r" not in message and "\x1b" not in message and "\u202e" not in message, message
    assert len(message) <= 700, len(message)
    assert "Traceback" not in message
    assert _stored() == before  # all or nothing
    return message


# ---------------------------------------------------------------- 1. nesting
DEEP_ARRAY = "[" * 100_000
DEEP_OBJECT = '{"title": "x", "description": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}"
# Deeper than any ticket row, but shallow enough for json to read it: the limit is ours.
MODERATE = json.dumps({"title": "x", "entries": [{"kind": "note", "body": "b", "at": None,
                                                  "source": json.loads("[" * 200 + "]" * 200)}]})


@pytest.mark.parametrize("parallel", [False, True], ids=["in process", "reader process"])
@pytest.mark.parametrize("bad", [DEEP_ARRAY, DEEP_OBJECT, MODERATE], ids=["array", "object", "200 levels"])
def test_deeply_nested_json_is_refused_with_its_line(desk, tmp_path, monkeypatch, bad, parallel):
    if bad is MODERATE:
        assert json.loads(bad)  # json reads it; the desk refuses it
    else:
        with pytest.raises(RecursionError):  # what an import did with it: a traceback
            json.loads(bad)
    if parallel:
        monkeypatch.setattr(transfer, "PARALLEL_FROM_BYTES", 0)
    path = _jsonl(tmp_path / "deep.jsonl", [GOOD, GOOD, bad, GOOD])
    _refused(desk, path, 3, "nested too deeply", f"more than {transfer.NESTING_MAX} levels")


def test_an_export_nests_well_within_the_limit(desk, tmp_path):
    """Rows with conversations and links (the deepest an export writes) import."""
    rows = [{"key": "INC-1", "title": "a", "entries": [{"kind": "note", "body": "[[[{{{", "at": START.isoformat()}] * 40},
            {"key": "INC-2", "title": "b", "links": [{"kind": kind, "target": "INC-1"} for kind in ("relates_to", "caused_by")]}]
    path = _jsonl(tmp_path / "export.jsonl", rows)
    assert transfer.import_file(desk, ADA, str(path)) == ["INC-1", "INC-2"]
    assert Entry.select().count() == 40 and Link.select().count() == 2


def test_a_link_listed_twice_is_refused_not_a_database_error(desk, tmp_path):
    twice = [{"kind": "relates_to", "target": "INC-1"}] * 2
    path = _jsonl(tmp_path / "twice.jsonl", [{"key": "INC-1", "title": "a"}, {"key": "INC-2", "title": "b", "links": twice}])
    _refused(desk, path, 2, "links[1]: relates_to INC-1 is listed twice")


# ---------------------------------------------------------------- 2. numbers too long
def test_a_number_too_long_for_json_names_its_line_and_field(desk, tmp_path):
    huge = "9" * 5000
    bad = '{"title": "x", "version": ' + huge + "}"
    with pytest.raises(ValueError, match="digits"):  # not a JSONDecodeError: it used to escape as a traceback
        json.loads(bad)
    path = _jsonl(tmp_path / "long.jsonl", [GOOD, bad])
    message = _refused(desk, path, 2, "field 'version'", "5,000 digits", "too long", "2,147,483,647")
    assert huge[:100] not in message


@pytest.mark.parametrize("field,value,fragments", [
    ("version", "9" * 5000, ["version '999", "(5,000 characters)", "out of range", "from 1 to 2,147,483,647"]),
    ("version", "9" * 4000, ["version '999", "out of range"]),  # readable, but no column holds it
    ("version", "0", ["version '0' is out of range"]),
    ("reopen_count", "-1", ["reopen_count '-1' is out of range", "from 0"]),
    ("key", "INC-999999999999", ["key: INC-999999999999 is beyond the highest ticket number"]),
])
def test_whole_numbers_out_of_range_in_csv(desk, tmp_path, field, value, fragments):
    path = tmp_path / "numbers.csv"
    path.write_text(f"title,{field}\nfine,\nbad,{value}\n", encoding="utf-8")
    message = _refused(desk, path, 3, *fragments)
    assert "9" * 100 not in message  # a short window of the value, not all of it


@pytest.mark.parametrize("value,fragments", [
    (4000 * "7", ["version 777", "(4,000 digits)", "out of range"]),
    (True, ["version true is not a whole number"]),
    (1.5, ["version 1.5 is not a whole number"]),
    (float("inf"), ["version inf is not a whole number"]),  # json writes Infinity; int() of it overflowed
])
def test_whole_numbers_of_the_wrong_kind_in_json(desk, tmp_path, value, fragments):
    line = json.dumps({"title": "x", "version": value}) if not isinstance(value, str) else (
        '{"title": "x", "version": ' + value + "}")
    path = _jsonl(tmp_path / "kinds.jsonl", [GOOD, line])
    _refused(desk, path, 2, *fragments)


# ---------------------------------------------------------------- 3. big CSV cells
def test_a_300_kb_description_round_trips_through_csv(db_url, tmp_path):
    config = parse_config(TEST_CONFIG, "test.toml")
    description = ("A log line that goes on, \"quoted\", and on\n" * 8000)[:300_000]
    source = open_desk(f"sqlite:///{tmp_path / 'source.db'}", config, ManualClock(START))
    try:
        tickets.create(source, ADA, title="Huge log attached", description=description)
        path = tmp_path / "big.csv"
        with open(path, "w", encoding="utf-8", newline="") as out:
            transfer.write_csv(transfer.export_rows(source, Ticket.select(), with_conversation=False), out)
        exported = list(transfer.export_rows(source, Ticket.select(), with_conversation=False))
    finally:
        source.close()
    previous = csv.field_size_limit(128 * 1024)  # the csv module's default, which refused this export
    try:
        with open(path, encoding="utf-8", newline="") as handle, pytest.raises(csv.Error, match="field larger"):
            list(csv.reader(handle))
        target = open_desk(db_url, config, ManualClock(START))
        try:
            assert transfer.import_file(target, ADA, str(path)) == ["INC-1"]
            assert list(transfer.export_rows(target, Ticket.select(), with_conversation=False)) == exported
            assert Ticket.get_by_id(1).description == description
        finally:
            target.close()
    finally:
        csv.field_size_limit(max(previous, csv.field_size_limit()))


def test_a_csv_cell_beyond_any_field_is_refused_with_its_line(desk, tmp_path):
    path = tmp_path / "huge.csv"
    cell = "x" * (transfer.CSV_CELL_MAX + 10)
    path.write_text(f'title,description\nfine,small\nbig,"{cell}"\n', encoding="utf-8")
    message = _refused(desk, path, 3, "a cell is longer than 4,194,304 characters", "description")
    assert "x" * 50 not in message


# ---------------------------------------------------------------- 4. byte order mark
BOM = "\ufeff"


def test_a_csv_file_with_a_byte_order_mark_imports(desk, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text(BOM + "title,status,team\nFrom a spreadsheet,new,ops\n", encoding="utf-8")
    with open(path, encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle))[0] == BOM + "title"  # what the import saw: no 'title' column
    assert transfer.import_file(desk, ADA, str(path)) == ["INC-1"]
    ticket = Ticket.get_by_id(1)
    assert (ticket.title, ticket.status) == ("From a spreadsheet", "new")


def test_a_jsonl_file_with_a_byte_order_mark_imports(desk, tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_text(BOM + json.dumps({"title": "First"}) + "\n" + json.dumps({"title": "Second"}) + "\n",
                    encoding="utf-8")
    with pytest.raises(json.JSONDecodeError, match="BOM"):
        json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert transfer.import_file(desk, ADA, str(path)) == ["INC-1", "INC-2"]
    assert Ticket.get_by_id(1).title == "First"


def test_a_byte_order_mark_inside_the_file_is_still_an_error(desk, tmp_path):
    path = _jsonl(tmp_path / "joined.jsonl", [GOOD, BOM + json.dumps(GOOD)])
    _refused(desk, path, 2, "not valid JSON", "BOM")


# ---------------------------------------------------------------- 5. dates
NOW = START  # the desk's clock (the desk fixture's ManualClock)
CREATED = "2026-11-01T10:00:00+00:00"
BEFORE = "2026-11-01T09:59:59+00:00"

DATES = {
    "year 1": ({"created_at": "0001-01-01T00:00:00+00:00"},
               ["created_at 0001-01-01T00:00:00+00:00 is before 1970-01-01", "check the year"]),
    "before the epoch": ({"created_at": "1969-12-31T23:59:59+00:00"}, ["created_at 1969-12-31T23:59:59+00:00"]),
    "year 9999": ({"created_at": "9999-12-31T23:59:59+00:00"},
                  ["created_at 9999-12-31T23:59:59+00:00 is more than a day after the desk's clock",
                   "2026-11-23T09:00:00+00:00", "time zone"]),
    "resolved in 9999": ({"created_at": CREATED, "status": "resolved", "resolution_code": "fixed",
                          "resolved_at": "9999-01-01T00:00:00"}, ["resolved_at 9999-01-01T00:00:00+00:00"]),
    "a day and a minute ahead": ({"created_at": (NOW + timedelta(days=1, minutes=1)).isoformat()},
                                 ["is more than a day after"]),
    "updated before created": ({"created_at": CREATED, "updated_at": BEFORE},
                               [f"updated_at {BEFORE} is before created_at {CREATED}", "changed after it is created"]),
    "acknowledged before created": ({"created_at": CREATED, "acknowledged_at": BEFORE}, ["acknowledged_at", "before created_at"]),
    "answered before created": ({"created_at": CREATED, "first_response_at": BEFORE}, ["first_response_at", "before created_at"]),
    "resolved before created": ({"created_at": CREATED, "status": "resolved", "resolution_code": "fixed",
                                 "resolved_at": "2026-11-01T11:00:00+02:00"},  # 09:00 UTC
                                ["resolved_at 2026-11-01T09:00:00+00:00 is before created_at"]),
    "closed before created": ({"created_at": CREATED, "status": "cancelled", "closed_at": BEFORE},
                              ["closed_at", "before created_at"]),
    "resolved without created_at": ({"status": "resolved", "resolution_code": "fixed", "resolved_at": CREATED},
                                    ["resolved_at", "created_at (not given, so the time of the import"]),
    "an entry in year 1": ({"entries": [{"kind": "note", "body": "b", "at": "0001-01-01T00:00:00+00:00"}]},
                           ["entries[0].at 0001-01-01T00:00:00+00:00 is outside 1970-01-01"]),
    "a link in 9999": ({"key": "INC-9", "links": [{"kind": "relates_to", "target": "INC-1",
                                                   "created_at": "9999-01-01T00:00:00+00:00"}]},
                       ["links[0].created_at 9999-01-01T00:00:00+00:00 is outside"]),
}


@pytest.mark.parametrize("case", sorted(DATES))
def test_implausible_and_impossible_dates_are_refused(desk, tmp_path, case):
    fields, fragments = DATES[case]
    path = _jsonl(tmp_path / "dates.jsonl", [dict(GOOD, key="INC-1"), GOOD, dict({"title": "bad"}, **fields), GOOD])
    _refused(desk, path, 3, *fragments)


@pytest.mark.parametrize("parallel", [False, True], ids=["in process", "reader process"])
def test_dates_in_csv_name_their_line(desk, tmp_path, monkeypatch, parallel):
    if parallel:
        monkeypatch.setattr(transfer, "PARALLEL_FROM_BYTES", 0)
    path = tmp_path / "dates.csv"
    path.write_text(f'title,description,created_at,updated_at\nok,"two\nlines",{CREATED},{CREATED}\n'
                    f"bad,,{CREATED},0001-01-01T00:00:00\nok,,,\n", encoding="utf-8")
    _refused(desk, path, 4, "updated_at 0001-01-01T00:00:00+00:00 is before 1970-01-01")


def test_dates_at_the_edges_of_the_range_import(desk, tmp_path):
    edge = (NOW + timedelta(hours=23)).isoformat()
    rows = [{"title": "epoch", "created_at": "1970-01-01T00:00:00Z"},
            {"title": "ahead", "created_at": edge, "updated_at": edge},
            {"title": "all equal", "status": "closed", "resolution_code": "fixed", "created_at": CREATED,
             "updated_at": CREATED, "acknowledged_at": CREATED, "first_response_at": CREATED, "resolved_at": CREATED,
             "closed_at": CREATED}]
    path = _jsonl(tmp_path / "edges.jsonl", rows)
    assert len(transfer.import_file(desk, ADA, str(path))) == 3
    assert Ticket.get_by_id(1).created_at.year == 1970


# ---------------------------------------------------------------- 6. resolution codes
@pytest.mark.parametrize("status", ["resolved", "closed"])
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_resolved_or_closed_row_needs_a_resolution_code(desk, tmp_path, status, fmt):
    if fmt == "jsonl":
        path = _jsonl(tmp_path / "codes.jsonl", [{"title": "ok", "status": status, "resolution_code": "fixed"},
                                                 {"title": "bad", "status": status}])
    else:
        path = tmp_path / "codes.csv"
        path.write_text(f"title,status,resolution_code\nok,{status},fixed\nbad,{status},\n", encoding="utf-8")
    line = 2 if fmt == "jsonl" else 3
    _refused(desk, path, line, f"resolution_code is missing: a {status} ticket needs one", f"use one of {CODES}")


def test_open_and_cancelled_rows_need_no_resolution_code(desk, tmp_path):
    path = _jsonl(tmp_path / "open.jsonl", [{"title": s, "status": s} for s in ("new", "pending", "cancelled")])
    assert len(transfer.import_file(desk, ADA, str(path))) == 3


# ---------------------------------------------------------------- messages and value kinds
ESC_VALUE = "\x1b]0;owned\x07\x1b[2J" + "A" * 1_000_000


@pytest.mark.parametrize("field", ["status", "impact", "priority", "team", "assignee", "category", "requester_email",
                                   "created_at", "key", "merged_into"])
def test_a_huge_hostile_value_is_quoted_short_and_escaped(desk, tmp_path, field):
    path = _jsonl(tmp_path / "hostile.jsonl", [GOOD, {"title": "x", field: ESC_VALUE}])
    message = _refused(desk, path, 2, field if field not in ("team", "assignee", "category") else "called",
                       "'\\x1b]0;owned\\x07\\x1b[2JAAAA", "(1,000,014 characters)")  # escaped, never acting
    assert "A" * 41 not in message and len(message) < 300


def test_an_unknown_column_with_escapes_and_bidi_overrides_is_escaped(desk, tmp_path):
    path = _jsonl(tmp_path / "column.jsonl", [GOOD, {"title": "x", "\x1b[31mcolour\u202e": "red"}])
    _refused(desk, path, 2, "unknown column", "\\x1b[31mcolour\\u202e")


@pytest.mark.parametrize("row,fragments", [
    ({"title": {"a": 1}}, ["title: expected text, not a JSON object"]),
    ({"title": "x", "status": ["new"]}, ["status: expected text, not a JSON array"]),
    ({"title": "x", "impact": True}, ["impact: expected text, not true"]),
    ({"title": "x", "entries": "a note"}, ["entries: expected a list of objects"]),
    ({"title": "x", "source": "s" * 17}, ["source 'sssssssssssssssss' is longer than 16 characters"]),
    ({"title": "x", "status": "resolved", "resolution_code": "c" * 33}, ["resolution_code", "longer than 32"]),
])
def test_values_of_the_wrong_kind_or_width_name_their_field(desk, tmp_path, row, fragments):
    path = _jsonl(tmp_path / "kinds.jsonl", [GOOD, row])
    _refused(desk, path, 2, *fragments)


def test_a_number_where_text_goes_is_its_text(desk, tmp_path):
    path = _jsonl(tmp_path / "numbers.jsonl", [{"title": 404, "external_ref": 12345, "requester_name": 7.5}])
    assert transfer.import_file(desk, ADA, str(path)) == ["INC-1"]
    ticket = Ticket.get_by_id(1)
    assert (ticket.title, ticket.external_ref, ticket.requester_name) == ("404", "12345", "7.5")


@pytest.mark.parametrize("brk", ["\u2028", "\u0085", "\x0c", "\r"], ids=["U+2028", "NEL", "form feed", "CR"])
def test_an_imported_title_is_one_line_as_a_typed_one_is(desk, tmp_path, brk):
    """Import checks titles as 'new' does: a line break of any kind is refused
    (the many-rows fast path used to look for \\n and \\r only)."""
    path = _jsonl(tmp_path / "titles.jsonl", [GOOD] * 300 + [{"title": f"two{brk}lines"}])
    _refused(desk, path, 301, "a title is one line", f"U+{ord(brk):04X}")
