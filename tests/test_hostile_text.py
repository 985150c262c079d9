"""Text from users that the desk must refuse, keep or escape — driven as a real
``deskconsole`` process, as the real login, with real pipes on standard input.

Each desk is made by ``deskconsole init`` (so the test's own login, the
process's real user, is its admin) on a SQLite file in ``tmp_path`` or on the
PostgreSQL test database. The checks: bytes on standard input that are not
UTF-8 are refused with the offset of the first bad one and nothing is stored;
a title is one line, stripped, never empty, its control characters kept as
data and shown escaped; no error message lets a control character from the
user's own arguments reach the terminal; a query error quotes a short window
of a huge query with the caret under the bad term.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pwd
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from desk_env import child_env
from deskconsole.core.records import validate
from deskconsole.errors import ValidationError
from deskconsole.core.search.query import QueryError, parse

LOGIN = pwd.getpwuid(os.getuid()).pw_name
ESC = "\x1b[31m"
ICONV = "convert it (e.g. iconv -f latin1 -t utf-8) and try again"


class Desk:
    """``deskconsole --config CFG --db URL ARGV...`` as a child process, bytes in and out."""

    def __init__(self, tmp_path: Path, url: str):
        self.tmp_path = tmp_path
        self.url = url
        self.config = tmp_path / "config.toml"

    def run(self, *argv: str | bytes, stdin: bytes | None = None, env: dict | None = None,
            desk: bool = True) -> subprocess.CompletedProcess:
        args = ["--config", str(self.config), "--db", self.url, *argv] if desk else list(argv)
        proc = subprocess.run(
            [sys.executable, "-m", "deskconsole", *args], input=stdin if stdin is not None else b"",
            capture_output=True, env={**child_env(self.tmp_path, LOGIN), **(env or {})}, timeout=60, cwd=self.tmp_path,
        )
        assert b"Traceback" not in proc.stderr, proc.stderr.decode(errors="replace")
        return proc

    def ok(self, *argv, **kw) -> str:
        proc = self.run(*argv, **kw)
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")
        return proc.stdout.decode("utf-8")

    def fails(self, code: int, *argv, **kw) -> str:
        """The one message on stderr (decoded), after checking nothing went to stdout."""
        proc = self.run(*argv, **kw)
        assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
        assert proc.stdout == b""
        return proc.stderr.decode("utf-8")

    def show(self, key: str) -> dict:
        return json.loads(self.ok("show", key, "--format", "json"))

    def keys(self) -> list[str]:
        return [t["key"] for t in json.loads(self.ok("ls", "--format", "json", "--limit", "0"))]


def _init(tmp_path: Path, url: str) -> Desk:
    d = Desk(tmp_path, url)
    d.ok("init")  # a starter config with this login as its admin, and the desk
    assert f'[agents."{LOGIN}"]' in d.config.read_text() or f"[agents.{LOGIN}]" in d.config.read_text()
    return d


@pytest.fixture
def desk(tmp_path, db_url) -> Desk:
    """A desk on each backend."""
    return _init(tmp_path, db_url)


@pytest.fixture
def sqlite_desk(tmp_path, sqlite_url) -> Desk:
    """A SQLite desk, for what does not depend on the backend (argument and message handling)."""
    return _init(tmp_path, sqlite_url)


def _bad_utf8(offset: int, data: bytes) -> str:
    line = data.count(b"\n", 0, offset) + 1
    return f"deskconsole: standard input is not valid UTF-8 at byte {offset} (line {line}); {ICONV}\n"


# ---------------------------------------------------------------- 1. standard input
BAD_INPUT = [
    pytest.param(b"caf\xe9 au lait", 3, id="latin-1"),
    pytest.param(b"line one\nline two \xed\xa0\x80 surrogate", 18, id="encoded-lone-surrogate"),
    pytest.param("\u00e9t\u00e9 ".encode() * 2000 + b"\n\xff tail", 12001, id="deep-in-a-long-text"),
    pytest.param("ends mid-character \u221a".encode()[:-1], 19, id="truncated-sequence"),
]


@pytest.mark.parametrize("data,offset", BAD_INPUT)
def test_new_refuses_stdin_that_is_not_utf8_with_the_byte_offset_and_stores_nothing(desk, data, offset):
    err = desk.fails(1, "new", "Printer on fire", "-d", "-", stdin=data)
    assert err == _bad_utf8(offset, data)
    assert desk.keys() == []


@pytest.mark.parametrize("argv", [("reply", "INC-1", "-"), ("note", "INC-1", "-"), ("resolve", "INC-1", "fixed", "-")],
                         ids=["reply", "note", "resolve"])
def test_writes_reading_stdin_refuse_bad_utf8_and_leave_the_ticket_as_it_was(desk, argv):
    assert desk.ok("new", "Printer on fire").strip() == "INC-1"
    before = desk.show("INC-1")
    data = b"Fixed the fuser.\nCost: 30 \xa4 (Latin-9 euro sign)\n"
    assert desk.fails(1, *argv, stdin=data) == _bad_utf8(26, data)
    after = desk.show("INC-1")
    assert (after["version"], after["status"], after["entries"]) == (before["version"], before["status"], [])
    assert after["audit"] == before["audit"]


def test_stdin_is_utf8_whatever_the_locale_says(desk):
    """Under a Latin-1 locale the same UTF-8 bytes used to be stored as mojibake."""
    text = "Caf\u00e9 \u2014 \u2615 \u00fcn\u00efc\u00f8d\u00e9 \u6f22\u5b57\n"
    desk.ok("new", "Locale", "-d", "-", stdin=text.encode(), env={"PYTHONIOENCODING": "latin-1"})
    desk.ok("reply", "INC-1", "-", stdin=("\ufeff" + text).encode(), env={"PYTHONIOENCODING": "latin-1"})
    t = desk.show("INC-1")
    assert t["description"] == text
    assert t["entries"][0]["body"] == text  # the byte-order mark an editor wrote is not kept


def test_undecodable_bytes_in_arguments_are_refused_as_not_utf8(desk):
    err = desk.fails(1, "new", b"Printer \xff on fire")
    assert err.startswith("deskconsole: the title is not UTF-8 text") and err.count("\n") == 1
    desk.ok("new", "Printer on fire")
    err = desk.fails(1, "note", "INC-1", b"caf\xe9")
    assert err.startswith("deskconsole: the note is not UTF-8 text") and err.count("\n") == 1
    assert desk.keys() == ["INC-1"] and desk.show("INC-1")["entries"] == []


# ---------------------------------------------------------------- 2. titles
def test_a_title_is_stripped_and_one_left_empty_is_refused(desk):
    desk.ok("new", "  \tDisk full on db-3 \t ")
    assert desk.show("INC-1")["title"] == "Disk full on db-3"
    err = desk.fails(1, "new", " \t  ")
    assert err == "deskconsole: a ticket needs a title; give a short summary of the problem\n"
    assert desk.keys() == ["INC-1"]


@pytest.mark.parametrize("brk", ["\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
def test_a_title_with_a_line_break_of_any_kind_is_refused(brk):
    assert ("a" + brk + "b").splitlines() == ["a", "b"]  # each of them breaks a line
    with pytest.raises(ValidationError) as info:
        validate.title(f"Disk full{brk}and more")
    assert str(info.value) == (f"a title is one line, and this one has a line break (U+{ord(brk):04X} at character 10);"
                               " put the details in the description")


def test_a_title_with_a_unicode_line_separator_is_refused_by_the_cli_and_nothing_stored(desk):
    err = desk.fails(1, "new", "Disk full\u2028rm -rf")
    assert "a title is one line" in err and "U+2028" in err and err.count("\n") == 1
    assert desk.keys() == []


def test_control_characters_in_a_title_are_kept_and_printed_escaped(desk):
    title = f"Disk {ESC}full\x1b[0m\x07 \u202eevil\tend"
    desk.ok("new", title)
    assert desk.show("INC-1")["title"] == title  # the data, as given
    shown = "Disk \\x1b[31mfull\\x1b[0m\\x07 \\u202eevil\\x09end"
    listing = desk.ok("ls")
    show = desk.ok("show", "INC-1")
    for out in (listing, show):
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out and "\t" not in out
    assert shown in listing.splitlines()[1]
    assert show.splitlines()[0] == f"INC-1  {shown}"
    assert json.loads(desk.ok("ls", "--format", "json"))[0]["title"] == title  # scripts get the data as is
    assert next(csv.DictReader(io.StringIO(desk.ok("ls", "--format", "csv"))))["title"] == title


# ---------------------------------------------------------------- 3. control characters in error messages
@pytest.mark.parametrize("argv,code,fragment", [
    (("show", "INC-1", f"{ESC}x"), 2, "unrecognized arguments: \\x1b[31mx"),
    (("new", "x", f"--re{ESC}=1"), 2, "unrecognized arguments: --re\\x1b[31m=1"),
    (("import", f"/nonexistent{ESC}.csv"), 1, "/nonexistent\\x1b[31m.csv"),
    (("export", "-o", f"/nonexistent{ESC}/out.jsonl"), 1, "/nonexistent\\x1b[31m/out.jsonl"),
    (("show", f"INC-{ESC}1"), 1, "INC-\\x1b[31m1"),
    (("assign", "INC-1", "--team", f"ops{ESC}"), 1, "ops\\x1b[31m"),
    (("ls", f"team:ops{ESC}"), 1, "U+001B"),
], ids=["extra-argument", "unknown-option", "import-path", "export-path", "key", "team", "query"])
def test_error_messages_never_echo_a_raw_control_character(sqlite_desk, argv, code, fragment):
    sqlite_desk.ok("new", "Printer on fire")
    err = sqlite_desk.fails(code, *argv)
    assert "\x1b" not in err, err
    assert fragment in err
    if code == 2:  # argparse: its usage, then the error
        assert err.startswith("usage: deskconsole") and err.splitlines()[-1].startswith("deskconsole: error: ")
    else:
        assert err.startswith("deskconsole: ")
        assert err.count("\n") == (3 if argv[0] == "ls" else 1)  # one line (a query error: and the query, a caret)


def test_a_config_path_with_an_escape_is_echoed_escaped(sqlite_desk):
    err = sqlite_desk.fails(1, "--config", f"/nonexistent{ESC}.toml", "--db", sqlite_desk.url, "ls", desk=False)
    assert "\x1b" not in err and "/nonexistent\\x1b[31m.toml" in err and err.count("\n") == 1


# ---------------------------------------------------------------- 4. query errors on long queries
def _columns(text: str) -> int:
    return sum(0 if unicodedata.category(c) in ("Mn", "Me") else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in text)


def _caret_column(rendered: str, term: str) -> tuple[int, int]:
    """(column where ``term`` starts on the quoted line, column of the first caret)."""
    _, line, carets = rendered.split("\n")
    return _columns(line[: line.index(term)]), carets.index("^")


def test_a_huge_query_error_quotes_a_short_window_not_the_query(sqlite_desk):
    query = "x" * 100_000
    err = sqlite_desk.fails(1, "ls", query)
    message, line, carets = err.rstrip("\n").split("\n")
    assert message == "deskconsole: the query is 100,000 characters long; the limit is 2,000 — narrow it down"
    assert len(err) < 300
    assert line.startswith("  …") and line.endswith("…") and _columns(line) <= 2 + 62
    assert carets.lstrip().startswith("^") and len(carets) <= len(line)


@pytest.mark.parametrize("query,term", [
    ("a " * 600 + "prio:P9 " + "b " * 300, "P9"),  # in the middle: ellipses on both sides
    ("\u5b57" * 100 + " prio:P9", "P9"),  # wide characters count two columns
    ("caf\u0065\u0301 " * 150 + "status:nope", "nope"),  # combining accents count none
    ("prio:P9 " + "w " * 900, "P9"),  # at the start
])
def test_render_quotes_at_most_sixty_columns_with_the_caret_under_the_bad_term(query, term):
    with pytest.raises(QueryError) as info:
        parse(query)
    rendered = info.value.render()
    _, line, carets = rendered.split("\n")
    shown = line[2:].strip("…")
    assert _columns(shown) <= 60 and term in shown
    assert line.startswith("  …") == (not query.startswith(shown)) and line.endswith("…") == (not query.endswith(shown))
    start, caret = _caret_column(rendered, term)
    assert caret == start
    assert carets[caret:] == "^" * _columns(term)


def test_render_of_a_short_query_is_the_whole_query():
    with pytest.raises(QueryError) as info:
        parse("is:open prio:P9")
    assert info.value.render() == f"{info.value}\n  is:open prio:P9\n               ^^"
