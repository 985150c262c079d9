"""Import and export: CSV and JSON Lines round trips through the real CLI,
all-or-nothing imports with the file and line of the first bad row. The
source desk is a SQLite file built once; the desks imported into are on each
backend in turn."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest

from deskconsole.cli.main import main
from deskconsole.config import load_config, parse_config
from deskconsole.core.archive import demo, transfer
from deskconsole.core.records import links, tickets
from deskconsole.core.clock import ManualClock
from deskconsole.core.desk import open_desk
from deskconsole.core.identity import actor_for
from deskconsole.models import AuditEvent, Entry, FeedEntry, Link, ReportFact, Ticket
from facts_check import stale_facts

START = datetime(2026, 11, 23, 9, 0, 0, tzinfo=timezone.utc)
DEMO_TICKETS = 200

HOSTILE = [
    # (title, description, requester name, reply)
    ('Quotes "double", \'single\', and, commas', 'line 1\nline 2, with "quotes"\r\nline 3\n\n',
     'O\'Brien, "Pat"', 'Reply with "quotes", commas,\nand newlines'),
    ("ANSI \x1b[31mred\x1b[0m and bell \x07", "\x1b[2J\x1b[H cleared?\ttab\x7fdel", "Eve \x1b]0;title\x07",
     "\x1b[0m reset"),
    ("RTL \u202eoverride\u202c and isolates \u2066x\u2069", "\u05e9\u05dc\u05d5\u05dd \u202e abc", "\u202eEvil",
     "mixed \u202e direction"),
    ("Unicode: Ümlaut ß 漢字 🚀 e\u0301", "emoji 🙂 and zero\u200bwidth and NBSP\u00a0here", "Kai Müller",
     "ok 👍"),
    ("Spaces  inside   title", "   leading and trailing spaces   ", "007", "  "),
    ("A,B;C\tD|E", "=1+1\n@SUM(A1)\n-2\n+3", None, "single line"),
]


LOGIN = "ada"  # who the in-process commands act as (main(..., login=)); _login changes it for one test


def _login(monkeypatch, login: str) -> None:
    monkeypatch.setattr(sys.modules[__name__], "LOGIN", login)


@dataclass
class Setup:
    tmp: Path
    config_path: Path
    config: object
    source_url: str
    keys: dict
    target: str = "sqlite"  # the backend under test: db_url
    targets: dict = field(default_factory=dict)

    def url(self, name: str) -> str:
        """A fresh desk to import into, one per name: on the backend under
        test, except that on PostgreSQL (one database per run) a second name
        in one test gets a SQLite file."""
        if name not in self.targets:
            on_sqlite = self.target.startswith("sqlite") or self.targets
            self.targets[name] = f"sqlite:///{self.tmp / name}.db" if on_sqlite else self.target
            self.open(self.targets[name]).close()  # the desk exists, made by its admin: imports fill it
        return self.targets[name]

    def open(self, url: str):
        return open_desk(url, self.config, ManualClock(START))


def run(capsys, config_path: Path, url: str, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = main(["--config", str(config_path), "--db", url, *argv], login=LOGIN)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return code, out, err


def rows_of(setup: Setup, url: str, *, with_conversation: bool) -> list[dict]:
    desk = setup.open(url)
    try:
        return list(transfer.export_rows(desk, Ticket.select(), with_conversation=with_conversation))
    finally:
        desk.close()


def count(setup: Setup, url: str) -> tuple[int, int, int]:
    desk = setup.open(url)
    try:
        return Ticket.select().count(), Entry.select().count(), Link.select().count()
    finally:
        desk.close()


def _build_source(tmp: Path) -> Setup:
    url = f"sqlite:///{tmp / 'source'}.db"
    text = demo.demo_config_text("ada", url)
    config_path = tmp / "demo.toml"
    config_path.write_text(text, encoding="utf-8")
    config = parse_config(text, config_path)
    clock = ManualClock(START)
    desk = open_desk(url, config, clock)
    try:
        built = demo.build(desk, DEMO_TICKETS)
        assert len(built) == DEMO_TICKETS
        ada, ben, amira = (actor_for(desk, login) for login in ("ada", "ben", "amira"))
        keys = {}
        for i, (title, description, requester, reply) in enumerate(HOSTILE):
            clock.advance(minutes=7, microseconds=123457 * (i + 1))
            key = tickets.create(
                desk, ada, title=title, description=description, requester_name=requester,
                requester_email=f"user{i}@example.com" if i % 2 else None,
                impact=("high", "medium", "low")[i % 3], urgency=("low", "high", None)[i % 3],
                service=("vpn", "email", "checkout", None, "sso", None)[i],
                category=("network", None, "outage", "software", None, None)[i],
                external_ref=f'ext,"{i}"\x1b[0m' if i % 2 else None, source=("mail", "cli", "alert")[i % 3],
            ).key
            keys[i] = key
            clock.advance(seconds=31)
            if reply.strip():
                tickets.reply(desk, ben, key, reply)
            tickets.note(desk, amira, key, f"internal, \"note\" {i}\n\x1b[1mbold\x1b[0m")
        clock.advance(minutes=3)
        tickets.take(desk, ben, keys[0])
        tickets.resolve(desk, ben, keys[0], "fixed", 'Rebooted, "twice"\nthen checked')
        tickets.reopen(desk, ben, keys[0], "came back")
        tickets.resolve(desk, ben, keys[0], "workaround", "\x1b[33mwarn\x1b[0m")
        tickets.close(desk, ben, keys[0])
        tickets.assign(desk, amira, keys[1], agent="ben")
        tickets.set_status(desk, ben, keys[1], "pending")
        tickets.cancel(desk, amira, keys[4], "Cancelled: \u202e not needed")
        clock.advance(seconds=5)
        # links both ways, a parent, a cause, and links into the demo tickets
        links.link(desk, ben, keys[1], "relates-to", keys[2])
        links.link(desk, ben, keys[2], "parent-of", keys[3])
        links.link(desk, ben, keys[3], "caused-by", "INC-7")
        links.link(desk, ben, "INC-12", "child-of", keys[2])
        # merges: a chain (INC-20 into INC-21, then INC-21 into a hostile ticket)
        open_demo = [t.id for t in Ticket.select(Ticket.id).where(Ticket.status.in_(("new", "in_progress"))).order_by(Ticket.id)]
        a, b = open_demo[0], open_demo[1]
        links.merge(desk, amira, a, b)
        links.merge(desk, amira, b, keys[5])
        keys["merged"] = (a, b)
    finally:
        desk.close()
    return Setup(tmp, config_path, config, url, keys)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The source desk, built once: 200 demo tickets plus hostile ones."""
    return _build_source(tmp_path_factory.mktemp("transfer"))


def _setup(built, tmp_path, monkeypatch, target: str) -> Setup:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv("DESKCONSOLE_CONFIG", raising=False)
    monkeypatch.delenv("DESKCONSOLE_DB", raising=False)
    _login(monkeypatch, "ada")
    return Setup(tmp_path, built.config_path, built.config, built.source_url, built.keys, target)


@pytest.fixture
def setup(built, tmp_path, monkeypatch, db_url):
    """The source desk, and fresh desks to import into on each backend."""
    return _setup(built, tmp_path, monkeypatch, db_url)


@pytest.fixture
def source(built, tmp_path, monkeypatch):
    """The source desk alone, for tests that only read it (it is a SQLite file)."""
    return _setup(built, tmp_path, monkeypatch, "sqlite")


# ---------------------------------------------------------------- the source desk is what we think it is
def test_source_desk_has_everything_worth_round_tripping(source):
    setup = source
    rows = rows_of(setup, setup.source_url, with_conversation=True)
    assert len(rows) == DEMO_TICKETS + len(HOSTILE)
    statuses = {r["status"] for r in rows}
    assert statuses == {"new", "assigned", "in_progress", "pending", "resolved", "closed", "cancelled"}
    assert sum(1 for r in rows if r["merged_into"]) == 2
    assert any(r["links"] for r in rows) and any(r["entries"] for r in rows)
    by_key = {r["key"]: r for r in rows}
    first = by_key[setup.keys[0]]
    assert first["reopen_count"] == 1 and first["status"] == "closed" and first["version"] > 5
    a, b = setup.keys["merged"]
    assert by_key[f"INC-{a}"]["merged_into"] == by_key[f"INC-{b}"]["merged_into"] == setup.keys[5]
    assert by_key[setup.keys[1]]["title"] == HOSTILE[1][0]


# ---------------------------------------------------------------- round trips
def test_jsonl_round_trip_is_exact(setup, capsys):
    out = setup.tmp / "tickets.jsonl"
    code, stdout, err = run(capsys, setup.config_path, setup.source_url, "export", "-o", str(out))
    assert code == 0, err
    assert stdout == ""
    assert f"exported {DEMO_TICKETS + len(HOSTILE)} tickets to {out}" in err
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == DEMO_TICKETS + len(HOSTILE)
    text = out.read_text(encoding="utf-8")
    assert "\\u001b[31mred\\u001b[0m" in text and "\u202e" in text  # data is carried as is (JSON-escaped controls)

    target = setup.url("copy")
    code, stdout, err = run(capsys, setup.config_path, target, "import", str(out))
    assert code == 0, err
    assert f"imported {DEMO_TICKETS + len(HOSTILE)} tickets (INC-1 .. INC-{DEMO_TICKETS + len(HOSTILE)})" in err

    before = rows_of(setup, setup.source_url, with_conversation=True)
    after = rows_of(setup, target, with_conversation=True)
    assert len(after) == len(before)
    for a, b in zip(before, after):
        assert a == b, a["key"]
    assert count(setup, target) == count(setup, setup.source_url)

    # exporting the copy gives the very same file
    again = setup.tmp / "again.jsonl"
    code, _, err = run(capsys, setup.config_path, target, "export", "--format", "jsonl", "-o", str(again))
    assert code == 0, err
    assert again.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")


def test_csv_round_trip_is_exact(setup, capsys):
    out = setup.tmp / "tickets.csv"
    code, _, err = run(capsys, setup.config_path, setup.source_url, "export", "-o", str(out))
    assert code == 0, err
    with open(out, encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == DEMO_TICKETS + len(HOSTILE)
    assert list(table[0]) == list(transfer.FIELDS)

    target = setup.url("copy")
    code, _, err = run(capsys, setup.config_path, target, "import", str(out))
    assert code == 0, err

    before = rows_of(setup, setup.source_url, with_conversation=False)
    after = rows_of(setup, target, with_conversation=False)
    assert len(after) == len(before)
    for a, b in zip(before, after):
        assert a == b, a["key"]
    # CSV carries no conversations or links
    assert count(setup, target)[1:] == (0, 0)


def test_export_to_stdout_and_with_a_query(source, capsys):
    setup = source
    code, out, err = run(capsys, setup.config_path, setup.source_url, "export", "status:cancelled", "--format", "csv")
    assert code == 0, err
    table = list(csv.DictReader(io.StringIO(out)))
    assert table and {row["status"] for row in table} == {"cancelled"}
    assert setup.keys[4] in {row["key"] for row in table}

    code, out, err = run(capsys, setup.config_path, setup.source_url, "export", f"key:{setup.keys[1]}")
    assert code == 0, err
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["title"] == HOSTILE[1][0]
    assert row["description"] == HOSTILE[1][1]
    assert [ln["kind"] for ln in row["links"]] == ["relates_to"]

    code, _, err = run(capsys, setup.config_path, setup.source_url, "export", "prio:P9")
    assert code == 1 and "P9" in err


def test_export_is_allowed_to_viewers(source, capsys, monkeypatch):
    setup = source
    _login(monkeypatch, "ivo")  # a viewer in the demo config
    code, out, err = run(capsys, setup.config_path, setup.source_url, "export", "--format", "csv", "key:INC-1")
    assert code == 0, err
    assert len(list(csv.DictReader(io.StringIO(out)))) == 1


# ---------------------------------------------------------------- all or nothing
GOOD = {"title": "Fine", "status": "new", "team": "ops"}


def _jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


BAD_LINES = {
    "bad status": ({"title": "x", "status": "sleeping"}, ["status 'sleeping'", "new, assigned"]),
    "bad date": ({"title": "x", "created_at": "last tuesday"}, ["created_at", "last tuesday", "ISO"]),
    "unknown team": ({"title": "x", "team": "nowhere"}, ["nowhere", "ops"]),
    "unknown assignee": ({"title": "x", "assignee": "ghost"}, ["ghost"]),
    "unknown column": ({"title": "x", "colour": "red"}, ["unknown column 'colour'", "title"]),
    "invalid json": ('{"title": "x", ', ["not valid JSON"]),
    "not an object": ('["title", "x"]', ["expected a JSON object"]),
    "no title": ({"title": "  "}, ["title"]),
    "bad priority": ({"title": "x", "priority": "P0"}, ["P0"]),
    "bad key": ({"title": "x", "key": "ABC-1"}, ["ABC-1"]),
    "bad merged_into": ({"title": "x", "merged_into": "nope"}, ["merged_into", "nope"]),
    "bad version": ({"title": "x", "version": "two"}, ["version", "two"]),
    "bad entry": ({"title": "x", "entries": [{"kind": "tweet", "body": "hi"}]}, ["entries[0]", "reply"]),
    "bad link target": ({"title": "x", "links": [{"kind": "relates_to", "target": "INC-99999"}]},
                        ["links[0]", "INC-99999"]),
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_a_bad_line_imports_nothing(setup, capsys, case):
    bad, fragments = BAD_LINES[case]
    target = setup.url("target")
    _jsonl(setup.tmp / "seed.jsonl", [GOOD])
    assert run(capsys, setup.config_path, target, "import", str(setup.tmp / "seed.jsonl"))[0] == 0
    before = count(setup, target)

    path = _jsonl(setup.tmp / "bad.jsonl", [GOOD, GOOD, {"title": "Third", "key": "INC-50"}, bad, GOOD])
    code, out, err = run(capsys, setup.config_path, target, "import", str(path))
    assert code == 1, err
    message = err.strip().splitlines()[-1]
    assert message.startswith(f"deskconsole: {path}: line 4"), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert count(setup, target) == before  # nothing imported


def test_duplicate_key_in_the_file(setup, capsys):
    target = setup.url("target")
    path = _jsonl(setup.tmp / "dup.jsonl", [{"title": "a", "key": "INC-7"}, GOOD, {"title": "b", "key": "INC-7"}])
    code, _, err = run(capsys, setup.config_path, target, "import", str(path))
    assert code == 1
    assert f"{path}: line 3: INC-7 appears twice" in err
    assert count(setup, target)[0] == 0


def test_key_already_on_the_desk(setup, capsys):
    target = setup.url("target")
    _jsonl(setup.tmp / "seed.jsonl", [GOOD, GOOD])
    assert run(capsys, setup.config_path, target, "import", str(setup.tmp / "seed.jsonl"))[0] == 0
    path = _jsonl(setup.tmp / "clash.jsonl", [{"title": "a", "key": "INC-5"}, {"title": "b", "key": "INC-2"}])
    code, _, err = run(capsys, setup.config_path, target, "import", str(path))
    assert code == 1
    assert f"{path}: line 2: INC-2 already exists on this desk" in err
    assert count(setup, target)[0] == 2


def test_bad_line_after_the_first_batch_still_imports_nothing(setup, capsys):
    """Rows are written in batches; a bad row after two of them rolls them all back."""
    target = setup.url("target")
    good = 2 * transfer.BATCH + 200
    rows = [{"title": f"Row {n}", "entries": [{"kind": "note", "body": f"n{n}"}]} for n in range(good)]
    rows.append({"title": "bad", "created_at": "2026-13-45"})
    path = _jsonl(setup.tmp / "big.jsonl", rows)
    code, _, err = run(capsys, setup.config_path, target, "import", str(path))
    assert code == 1
    assert f"{path}: line {good + 1}: created_at" in err
    assert count(setup, target) == (0, 0, 0)


@pytest.mark.parametrize(
    "header,line,fragments",
    [
        ("title,status", "x,sleeping", ["status 'sleeping'"]),
        ("title,created_at", "x,yesterday", ["created_at 'yesterday'"]),
        ("title,team", "x,nowhere", ["nowhere"]),
        ("title,colour", "x,red", ["unknown column 'colour'"]),
        ("title,impact", "x,extreme", ["impact 'extreme'"]),
    ],
)
def test_a_bad_csv_line_imports_nothing(setup, capsys, header, line, fragments):
    target = setup.url("target")
    name, value = header.split(",")[1], line.split(",")[1]
    fine = {"status": "new", "created_at": "2026-11-01T10:00:00+00:00", "team": "ops", "colour": "", "impact": "low"}[name]
    path = setup.tmp / "bad.csv"
    # line 1 header, 2 good, 3-4 one good row over two lines, 5 good, 6 bad, 7 good
    path.write_text(f'title,description,{name}\nok,,{fine}\nok,"two\nlines",{fine}\nok,,{fine}\nx,,{value}\nok,,{fine}\n',
                    encoding="utf-8")
    if name == "colour":  # every row has the unknown column: the first one fails
        expected_line = 2
    else:
        expected_line = 6
    code, _, err = run(capsys, setup.config_path, target, "import", str(path))
    assert code == 1
    message = err.strip().splitlines()[-1]
    assert message.startswith(f"deskconsole: {path}: line {expected_line}"), (message, value)
    for fragment in fragments:
        assert fragment in message, message
    assert count(setup, target)[0] == 0


def test_csv_without_a_title_column(setup, capsys):
    path = setup.tmp / "notitle.csv"
    path.write_text("name,status\nx,new\n", encoding="utf-8")
    code, _, err = run(capsys, setup.config_path, setup.url("target"), "import", str(path))
    assert code == 1 and f"{path}: line 1: the CSV header has no 'title' column" in err


def test_missing_or_unreadable_file(setup, capsys):
    path = setup.tmp / "absent.jsonl"
    code, _, err = run(capsys, setup.config_path, setup.url("target"), "import", str(path))
    assert code == 1 and str(path) in err
    latin = setup.tmp / "latin.jsonl"
    latin.write_bytes('{"title": "Caf\xe9"}\n'.encode("latin-1"))
    code, _, err = run(capsys, setup.config_path, setup.url("target"), "import", str(latin))
    assert code == 1 and "UTF-8" in err and str(latin) in err
    assert count(setup, setup.url("target"))[0] == 0


# ---------------------------------------------------------------- who may import
@pytest.mark.parametrize("login", ["amira", "ben", "ivo", "stranger"])
def test_import_needs_an_admin(setup, capsys, monkeypatch, login):
    path = _jsonl(setup.tmp / "one.jsonl", [GOOD])
    _login(monkeypatch, login)
    code, out, err = run(capsys, setup.config_path, setup.url("target"), "import", str(path))
    assert code == 4
    assert "import tickets" in err and "admin role" in err
    assert err.count("\n") == 1
    _login(monkeypatch, "ada")
    assert count(setup, setup.url("target"))[0] == 0


def test_import_as_a_real_process(setup):
    """The real command, as the real login: an admin of this desk's directory;
    ``--as ben`` (an agent) is refused, whatever the login variables claim."""
    from desk_env import child_env, with_real_admin

    path = _jsonl(setup.tmp / "one.jsonl", [GOOD, {"title": "bad", "status": "zzz"}])
    config = setup.tmp / "proc.toml"
    config.write_text(with_real_admin(setup.config_path.read_text(encoding="utf-8")), encoding="utf-8")
    url = f"sqlite:///{setup.tmp / 'proc.db'}"
    open_desk(url, load_config(config)).close()
    base = [sys.executable, "-m", "deskconsole", "--config", str(config), "--db", url]
    env = child_env(setup.tmp, "ada")  # (the variables claim an admin: they never count)
    proc = subprocess.run([*base, "--as", "ben", "import", str(path)], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 4 and "ben is an agent" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run([*base, "import", str(path)], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{path}: line 2: status 'zzz'" in proc.stderr


# ---------------------------------------------------------------- numbering
def test_import_without_keys_appends_after_existing_tickets(setup, capsys):
    target = setup.url("target")
    seed = _jsonl(setup.tmp / "seed.jsonl", [{"title": "Kept", "key": "INC-40"}, {"title": "Low", "key": "INC-3"}])
    code, _, err = run(capsys, setup.config_path, target, "import", str(seed))
    assert code == 0, err

    path = _jsonl(setup.tmp / "new.jsonl", [{"title": "One"}, {"title": "Two"}, {"title": "Three", "team": "network"}])
    code, _, err = run(capsys, setup.config_path, target, "import", str(path))
    assert code == 0, err
    assert "imported 3 tickets (INC-41 .. INC-43)" in err
    rows = {r["key"]: r for r in rows_of(setup, target, with_conversation=False)}
    assert sorted(rows, key=lambda k: int(k[4:])) == ["INC-3", "INC-40", "INC-41", "INC-42", "INC-43"]
    assert (rows["INC-41"]["title"], rows["INC-43"]["team"]) == ("One", "network")
    assert rows["INC-41"]["status"] == "new" and rows["INC-41"]["version"] == 1
    assert rows["INC-41"]["created_by"] == "ada" and rows["INC-41"]["source"] == "import"
    assert rows["INC-41"]["priority"] == "P3"  # the desk's default priority

    # keyed rows first, then unkeyed ones numbered on past the file's keys
    mixed = _jsonl(setup.tmp / "mixed.jsonl", [{"title": "K", "key": "INC-100"}, {"title": "U"}])
    code, _, err = run(capsys, setup.config_path, target, "import", str(mixed))
    assert code == 0, err
    assert "imported 2 tickets (INC-100 .. INC-44)" in err

    # and a ticket created afterwards continues after the highest number
    code, out, err = run(capsys, setup.config_path, target, "new", "After the import")
    assert code == 0, err
    assert out.strip() == "INC-101"


def test_import_is_audited_and_fed(setup, capsys):
    """One audit event and one feed row for the whole import, not one per ticket."""
    target = setup.url("target")
    path = _jsonl(setup.tmp / "a.jsonl", [GOOD, GOOD])
    assert run(capsys, setup.config_path, target, "import", str(path))[0] == 0
    desk = setup.open(target)
    try:
        (event,) = AuditEvent.select().where(AuditEvent.action == "import")
        assert (event.ticket_id, event.actor, event.via) == (None, "ada", None)
        assert event.new == f"2 tickets from {path} (INC-1 .. INC-2)"
        assert not AuditEvent.select().where(AuditEvent.ticket.is_null(False)).exists()
        (feed,) = FeedEntry.select().where(FeedEntry.action == "import")
        assert (feed.actor, feed.ticket) == ("ada", None)
    finally:
        desk.close()


# ---------------------------------------------------------------- CSV: empty optional cells
def test_csv_empty_optional_cells_round_trip_as_none(setup, capsys):
    blank = {name: "" for name in transfer.FIELDS}
    sparse = dict(blank, key="INC-1", title="Sparse", created_at="2026-11-01T10:00:00+00:00")
    full = dict(blank, key="INC-2", title="Full", description="", requester_name="Ann", requester_email="ann@example.com",
                status="resolved", impact="high", urgency="low", priority="P3", category="outage", service="vpn",
                team="network", assignee="chen", created_by="intake", created_at="2026-11-01T10:00:00+00:00",
                updated_at="2026-11-01T12:00:00.000001+00:00", acknowledged_at="2026-11-01T10:05:00Z",
                acknowledged_by="chen", first_response_at="2026-11-01T10:05:00+00:00",
                resolved_at="2026-11-01T13:00:00+02:00", resolution_code="fixed", resolution_note="done",
                reopen_count="2", source="mail", external_ref="X-1", version="9", merged_into="")
    path = setup.tmp / "hand.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(transfer.FIELDS))
        writer.writeheader()
        writer.writerow(sparse)
        writer.writerow(full)
    first = setup.url("first")
    code, _, err = run(capsys, setup.config_path, first, "import", str(path))
    assert code == 0, err
    rows = {r["key"]: r for r in rows_of(setup, first, with_conversation=False)}
    s = rows["INC-1"]
    for name in ("requester_name", "requester_email", "impact", "urgency", "category", "service", "team", "assignee",
                 "acknowledged_at", "acknowledged_by", "first_response_at", "resolved_at", "closed_at",
                 "resolution_code", "resolution_note", "merged_into", "external_ref"):
        assert s[name] is None, name
    assert s["description"] == ""
    assert (s["status"], s["priority"], s["version"], s["reopen_count"]) == ("new", "P3", 1, 0)
    assert s["updated_at"] == s["created_at"] == "2026-11-01T10:00:00+00:00"
    f = rows["INC-2"]
    assert f["resolved_at"] == "2026-11-01T11:00:00+00:00"  # stored in UTC
    assert f["acknowledged_at"] == "2026-11-01T10:05:00+00:00"
    assert f["updated_at"] == "2026-11-01T12:00:00.000001+00:00"
    assert (f["reopen_count"], f["version"], f["assignee"], f["service"]) == (2, 9, "chen", "vpn")

    # export as CSV and import again: the same rows, None stays None
    out = setup.tmp / "out.csv"
    assert run(capsys, setup.config_path, first, "export", "-o", str(out))[0] == 0
    second = setup.url("second")
    code, _, err = run(capsys, setup.config_path, second, "import", str(out))
    assert code == 0, err
    assert rows_of(setup, second, with_conversation=False) == rows_of(setup, first, with_conversation=False)


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_large_files_are_read_by_a_second_process_with_the_same_results(tmp_path, monkeypatch, start):
    """The parallel reader (used for big files) imports exactly what the
    in-process path does, and its errors still name the line and write nothing.
    It is forked on Linux and spawned elsewhere, or next to other threads."""
    import threading

    from deskconsole.config import parse_config
    from deskconsole.core.archive import demo, transfer
    from deskconsole.core.desk import open_desk
    from deskconsole.core.identity import SYSTEM
    from deskconsole.models import Ticket

    monkeypatch.setattr(transfer, "PARALLEL_FROM_BYTES", 0)
    if start == "spawn":
        monkeypatch.setattr(threading, "active_count", lambda: 2)
    config = parse_config(demo.demo_config_text("ada", "sqlite:///unused.db"))
    source = open_desk(f"sqlite:///{tmp_path / 'src.db'}", config)
    demo.build(source, 1200)
    path = tmp_path / "all.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        transfer.write_jsonl(transfer.export_rows(source, Ticket.select(), with_conversation=True), out)
    expected = list(transfer.export_rows(source, Ticket.select(), with_conversation=True))
    source.close()

    copy = open_desk(f"sqlite:///{tmp_path / 'copy.db'}", config)
    keys = transfer.import_file(copy, SYSTEM, str(path))
    assert len(keys) == 1200
    assert list(transfer.export_rows(copy, Ticket.select(), with_conversation=True)) == expected
    copy.close()

    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1100] = lines[1100].replace('"status": "', '"status": "bogus-')
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    empty = open_desk(f"sqlite:///{tmp_path / 'empty.db'}", config)
    with pytest.raises(transfer.ImportError_, match=rf"{bad}: line 1101: status 'bogus-"):
        transfer.import_file(empty, SYSTEM, str(bad))
    assert Ticket.select().count() == 0
    empty.close()


# ---------------------------------------------------------------- the bulk path stores what the models store
@pytest.mark.parametrize("parallel", [False, True])
def test_imported_timestamps_are_stored_as_the_model_stores_them(setup, monkeypatch, parallel):
    """Canonical UTC text takes a short cut into the database; every form must
    end up as the very text the model writes (which range queries rely on)."""
    from deskconsole.core.identity import SYSTEM

    if parallel:
        monkeypatch.setattr(transfer, "PARALLEL_FROM_BYTES", 0)
    forms = ["2026-11-01T10:00:00.123456+00:00", "2026-11-01T10:00:00+00:00", "2026-11-01T12:00:00.5+02:00",
             "2026-11-01T10:00:00", "2026-11-01T10:00:00Z", "2026-11-01 10:00:00.000001+00:00", "1970-01-01T00:00:00.000000+00:00"]
    path = _jsonl(setup.tmp / "times.jsonl", [{"title": f"t{i}", "created_at": f, "closed_at": f} for i, f in enumerate(forms)])
    desk = setup.open(setup.url("times"))
    try:
        transfer.import_file(desk, SYSTEM, str(path))
        stored = desk.db.execute_sql("SELECT created_at, closed_at FROM ticket ORDER BY id").fetchall()
        for form, (created, closed) in zip(forms, stored):
            expected = Ticket.created_at.db_value(datetime.fromisoformat(form))
            assert created == closed == expected, form
    finally:
        desk.close()


@pytest.mark.parametrize("parallel", [False, True])
def test_progress_without_a_row_count_is_estimated_from_the_bytes_read(setup, monkeypatch, parallel):
    """Nobody has to read the file twice to draw a progress bar."""
    from deskconsole.core.identity import SYSTEM

    if parallel:
        monkeypatch.setattr(transfer, "PARALLEL_FROM_BYTES", 0)
    rows = 8 * transfer.BATCH + 10
    path = _jsonl(setup.tmp / "many.jsonl", [{"title": f"Row {n}", "description": "x" * (n % 200)} for n in range(rows)])
    calls = []
    desk = setup.open(setup.url("progress"))
    try:
        transfer.import_file(desk, SYSTEM, str(path), progress=lambda done, total: calls.append((done, total)))
    finally:
        desk.close()
    assert calls[-1] == (rows, rows)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    estimates = [total for done, total in calls if done < rows]  # the reader reads a little ahead: roughly right
    assert estimates and all(total and rows * 0.7 <= total <= rows * 1.3 for total in estimates), estimates


@pytest.mark.parametrize("parallel", [False, True])
def test_the_import_command_shows_progress_without_counting_the_rows_first(setup, capsys, monkeypatch, parallel):
    """``deskconsole import`` reads the file once: on a pipe it still prints a
    line every tenth of the way, from the estimate by bytes, never the same
    tenth twice, and ends with the real count."""
    if parallel:
        monkeypatch.setattr(transfer, "PARALLEL_FROM_BYTES", 0)
    rows = 20 * transfer.BATCH
    path = setup.tmp / f"progress-{parallel}.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["title", "description"])
        writer.writerows([f"Row {n}", "x" * (n % 200)] for n in range(rows))
    counted, reader = [], csv.reader
    monkeypatch.setattr(csv, "reader", lambda *a, **k: counted.append(1) or reader(*a, **k))
    code, _, err = run(capsys, setup.config_path, setup.url(f"cli-progress-{parallel}"), "import", str(path))
    assert code == 0, err
    assert len(counted) <= 1  # the file is read once (by the reader process when parallel: not counted here)
    steps = [line for line in err.splitlines() if line.startswith(f"importing {path}: ")]
    assert len(steps) >= 5, err
    shown = [int(line.rsplit(" ", 1)[1].split("/")[0].replace(",", "")) for line in steps]
    assert shown == sorted(shown) and shown[-1] == rows, steps
    assert f"imported {rows:,} tickets" in err


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_the_first_bad_line_is_named_even_when_a_later_one_cannot_be_read(setup, capsys, fmt):
    """Rows are read in batches: a line further down that is not even valid
    JSON (or CSV) must not hide the bad row above it."""
    if fmt == "jsonl":
        text = '{"title": "a"}\n{"title": "b", "status": "zzz"}\n{"title": "c"}\n{"title": \n'
    else:
        text = "title,status\na,new\nb,zzz\nc,new,extra\n"
    path = setup.tmp / f"two.{fmt}"
    path.write_text(text, encoding="utf-8")
    code, _, err = run(capsys, setup.config_path, setup.url("target"), "import", str(path))
    assert code == 1
    line = 2 if fmt == "jsonl" else 3
    assert f"{path}: line {line}: status 'zzz'" in err.strip().splitlines()[-1]
    assert count(setup, setup.url("target"))[0] == 0


def test_imported_tickets_run_on_the_desks_service_levels(setup, capsys):
    """An imported ticket gets its SLA clocks from its timestamps, in the import's
    transaction: an old open P1 is breached, a resolved one is met or breached by
    its own times, and the queue's sla: filter and ordering see them at once."""
    from deskconsole.models import SlaClock

    created = START.replace(hour=8)  # the CLI runs on the system clock: days ago
    rows = [
        {"key": "INC-1", "title": "Old P1, never acknowledged", "priority": "P1", "status": "new",
         "created_at": created.isoformat()},
        {"key": "INC-2", "title": "Quickly resolved P1", "priority": "P1", "status": "resolved",
         "resolution_code": "fixed", "created_at": created.isoformat(),
         "acknowledged_at": created.replace(minute=5).isoformat(),
         "resolved_at": created.replace(minute=30).isoformat()},
    ]
    path = _jsonl(setup.tmp / "sla.jsonl", rows)
    target = setup.url("sla")
    assert run(capsys, setup.config_path, target, "import", str(path))[0] == 0
    desk = setup.open(target)
    try:
        states = {(c.ticket_id, c.metric): c.state for c in SlaClock.select()}
        assert states == {(1, "first_response"): "breached", (1, "resolution"): "breached",
                          (2, "first_response"): "met", (2, "resolution"): "met"}
    finally:
        desk.close()
    code, out, _ = run(capsys, setup.config_path, target, "ls", "sla:breached", "--format", "json")
    assert code == 0 and [t["key"] for t in json.loads(out)] == ["INC-1"]


# ---------------------------------------------------------------- imported clocks are the desk's clocks
IMPORT_SLA = """
[calendars.office]
timezone = "Europe/Berlin"
hours = { mon = ["09:00-12:00", "13:00-17:00"], tue = ["09:00-17:00"], wed = ["09:00-17:00"], thu = ["09:00-17:00"], fri = ["09:00-15:30"] }
holidays = ["12-25", "2026-11-25"]

[calendars.kolkata]
timezone = "Asia/Kolkata"
hours = { mon = ["09:30-18:00"], tue = ["09:30-18:00"], wed = ["09:30-18:00"], thu = ["09:30-18:00"], fri = ["09:30-18:00"], sat = ["10:00-14:00"] }

[sla]
warn = [50, 75, 90]

[[sla.policy]]
name = "P1 major"
priority = "P1"
first_response = "15m"
resolution = "4h"

[[sla.policy.escalate]]
at = 80
metric = "resolution"
notify = ["team"]

[[sla.policy]]
name = "network vpn"
team = "network"
service = "vpn"
calendar = "office"
first_response = "1h"
resolution = { target = "8h", calendar = "24x7" }
pause_on = ["pending", "assigned"]

[[sla.policy]]
name = "outages"
category = "outage"
calendar = "kolkata"
resolution = "6h"
warn = []
pause_on = []

[[sla.policy]]
name = "P2 P3 office"
priority = ["P2", "P3"]
calendar = "office"
first_response = "2h"
resolution = "16h"
warn = [25, 50]
"""
# Friday 2026-11-27, 15:10 in Berlin: the office closes at 15:30; Wednesday was a holiday.
CLOCK_NOW = datetime(2026, 11, 27, 14, 10, 5, 250000, tzinfo=timezone.utc)


def _varied_tickets(count: int, seed: int = 5) -> list[dict]:
    """Tickets in every status and on every policy (and on none), with times on
    business boundaries, exactly a target apart, equal to each other, in other
    zones' notation, after now; some merged, the last few without a key."""
    import random
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    rng = random.Random(seed)
    berlin, kolkata = ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Kolkata")
    boundaries = [datetime(2026, 11, day, hh, mm, tzinfo=berlin) for day in range(16, 28)
                  for hh, mm in ((9, 0), (12, 0), (13, 0), (15, 30), (17, 0))]
    boundaries += [datetime(2026, 11, day, 9, 30, tzinfo=kolkata) for day in range(20, 28)]
    steps = [0, 1, 15 * 60, 3600, 2 * 3600, 4 * 3600, 6 * 3600, 8 * 3600, 16 * 3600, 86400, 3 * 86400]

    def created_at():
        kind = rng.random()
        if kind < 0.3:
            return rng.choice(boundaries)
        if kind < 0.55:  # a target, or part of one, before now: due now, warned, breached a moment ago
            return CLOCK_NOW - timedelta(seconds=rng.choice(steps + [450, 675, 810, 1800, 2700, 3 * 3600, 5 * 3600]))
        if kind < 0.6:
            return CLOCK_NOW + timedelta(minutes=rng.randint(1, 300))  # after now
        return CLOCK_NOW - timedelta(seconds=rng.randint(0, 14 * 86400), microseconds=rng.randint(0, 999_999))

    def written(at: datetime) -> str:
        form = rng.random()
        if form < 0.6:
            return at.astimezone(timezone.utc).isoformat()
        if form < 0.8:
            return at.astimezone(rng.choice((berlin, kolkata))).isoformat()
        return at.astimezone(timezone.utc).replace(tzinfo=None).isoformat()  # no zone: UTC

    rows = []
    for n in range(1, count + 1):
        created = created_at()
        status = rng.choice(("new", "assigned", "in_progress", "pending", "resolved", "closed", "cancelled"))
        row = {"key": f"INC-{n}", "title": f"Ticket {n}", "status": status, "created_at": written(created),
               "team": rng.choice((None, "ops", "network")), "service": rng.choice((None, "vpn", "mail")),
               "category": rng.choice((None, "outage", "access"))}
        if rng.random() < 0.8:
            row["priority"] = rng.choice(("P1", "P2", "P3", "P4"))
        else:  # from impact and urgency, or the desk's default
            row["impact"], row["urgency"] = rng.choice((("high", "high"), ("low", "medium"), (None, None)))

        def later():  # up to a few days after creation, but not more than a day after now (import refuses that)
            at = created + timedelta(seconds=rng.choice(steps) if rng.random() < 0.5 else rng.randint(0, 5 * 86400))
            return min(at, CLOCK_NOW + timedelta(hours=23))

        if rng.random() < 0.9:
            row["updated_at"] = written(later())
        for field in ("acknowledged_at", "first_response_at"):
            if rng.random() < 0.4:
                row[field] = written(later())
        if status in ("resolved", "closed") and rng.random() < 0.9 or rng.random() < 0.1:  # closed unresolved too
            row["resolved_at"] = written(later())
        if status in ("resolved", "closed"):
            row["resolution_code"] = "fixed"
        if n > 10 and rng.random() < 0.04:
            row["merged_into"] = f"INC-{rng.randint(1, n - 1)}"
        rows.append(row)
    for row in rows[-15:]:
        del row["key"]
    return rows


def _clock_columns():
    from deskconsole.models import SlaClock

    return [SlaClock.ticket, SlaClock.metric, SlaClock.policy, SlaClock.calendar, SlaClock.target, SlaClock.thresholds,
            SlaClock.pause_on, SlaClock.state, SlaClock.started_at, SlaClock.counted_to, SlaClock.elapsed,
            SlaClock.paused, SlaClock.paused_since, SlaClock.due_at, SlaClock.warn_at, SlaClock.warn_pct,
            SlaClock.crossed, SlaClock.breached_at, SlaClock.stopped_at]


def _clocks_and_summaries() -> tuple[list, list]:
    from deskconsole.models import SlaClock

    clocks = list(SlaClock.select(*_clock_columns()).order_by(SlaClock.ticket, SlaClock.metric).tuples())
    return clocks, list(Ticket.select(Ticket.id, Ticket.sla, Ticket.sla_due).order_by(Ticket.id).tuples())


@pytest.mark.parametrize("way", ["in process", "reader process", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def test_imported_clocks_are_the_clocks_the_desk_rebuilds(request, tmp_path, monkeypatch, config_text, way):
    """An import computes its tickets' clocks from the rows it reads (in the
    reader process, for a big file): every clock row, and each ticket's sla and
    sla_due, must be what the desk's own rebuild from the stored tickets
    (sla_history.missing) makes of them, on SQLite and on PostgreSQL."""
    from deskconsole.core.sla_clocks import sla_history
    from deskconsole.core.identity import SYSTEM
    from deskconsole.core.txn import unit_of_work
    from deskconsole.models import SlaClock

    url = request.getfixturevalue("postgres_url") if way == "postgresql" else f"sqlite:///{tmp_path / 'desk.db'}"
    if way == "reader process":
        monkeypatch.setattr(transfer, "PARALLEL_FROM_BYTES", 0)
    config = parse_config(config_text + IMPORT_SLA, "test.toml")
    path = _jsonl(tmp_path / "varied.jsonl", _varied_tickets(900))
    desk = open_desk(url, config, ManualClock(CLOCK_NOW))
    try:
        assert len(transfer.import_file(desk, SYSTEM, str(path))) == 900
        imported, summaries = _clocks_and_summaries()
        with unit_of_work(desk, SYSTEM, "sla"):
            SlaClock.delete().execute()
            Ticket.update(sla=None, sla_due=None).execute()
            assert sla_history.missing(desk) == len({row[0] for row in imported})
        rebuilt, rebuilt_summaries = _clocks_and_summaries()
    finally:
        desk.close()
    assert imported == rebuilt
    assert summaries == rebuilt_summaries
    # ... and the file was varied enough to mean something
    assert {c[7] for c in imported} == {"running", "paused", "met", "breached", "cancelled"}
    assert {s for _, s, _ in summaries} == {"breached", "warning", "ok", "paused", "met", None}
    assert {c[2] for c in imported} == {"P1 major", "network vpn", "outages", "P2 P3 office"}
    assert len({c[0] for c in imported}) < 900  # some tickets match no policy
    assert any(c[13] == CLOCK_NOW for c in imported)  # a deadline exactly now: due, not yet breached


def test_imported_clocks_are_the_live_clocks_of_the_same_new_tickets(tmp_path, config_text):
    """A ticket created on one desk and imported into another at the same
    instant gets the very clocks the live engine started for it."""
    from deskconsole.core.identity import SYSTEM

    config = parse_config(config_text + IMPORT_SLA, "test.toml")
    source = open_desk(f"sqlite:///{tmp_path / 'live.db'}", config, ManualClock(CLOCK_NOW))
    ada = actor_for(source, "ada")
    try:
        for priority in ("P1", "P2", "P3", "P4"):
            for team, service, category in (("ops", None, None), ("network", "vpn", None), ("ops", "mail", "outage")):
                tickets.create(source, ada, title=f"{priority} {team}", priority=priority, team=team, service=service,
                               category=category)
        live, live_summaries = _clocks_and_summaries()
        path = tmp_path / "live.jsonl"
        with open(path, "w", encoding="utf-8") as out:
            transfer.write_jsonl(transfer.export_rows(source, Ticket.select(), with_conversation=False), out)
    finally:
        source.close()
    copy = open_desk(f"sqlite:///{tmp_path / 'copy.db'}", config, ManualClock(CLOCK_NOW))
    try:
        transfer.import_file(copy, SYSTEM, str(path))
        imported, imported_summaries = _clocks_and_summaries()
    finally:
        copy.close()
    assert len(live) == 19 and {c[7] for c in live} == {"running"}  # "outages": no first response; P4 ops: no policy
    assert imported == live
    assert imported_summaries == live_summaries


def test_a_big_import_into_an_empty_desk_builds_its_indexes_at_the_end(tmp_path, monkeypatch, config_text):
    """Into a desk without tickets, a big import drops the plain indexes of the
    tables it fills and builds them once at the end, in its own transaction:
    afterwards (and after a failed import) the schema is exactly as before,
    the planner has statistics for them, and the connection's page cache is
    its own again. A desk with tickets keeps its indexes throughout."""
    from deskconsole.core.identity import SYSTEM

    monkeypatch.setattr(transfer, "PARALLEL_FROM_BYTES", 0)  # every file is a big one
    set_aside = []
    real = transfer._indexes_set_aside
    monkeypatch.setattr(transfer, "_indexes_set_aside",
                        lambda desk, tables: set_aside.append((tuple(tables), real(desk, tables))) or set_aside[-1][1])
    config = parse_config(config_text + IMPORT_SLA, "test.toml")
    rows = _varied_tickets(600)
    good = _jsonl(tmp_path / "good.jsonl", rows)
    bad = _jsonl(tmp_path / "bad.jsonl", [*rows[:500], {"title": "x", "status": "sleeping"}])
    desk = open_desk(f"sqlite:///{tmp_path / 'desk.db'}", config, ManualClock(CLOCK_NOW))

    def schema():
        return desk.db.execute_sql("SELECT type, name, tbl_name, sql FROM sqlite_master"
                                   " WHERE name NOT LIKE 'sqlite_stat%' ORDER BY name").fetchall()

    def cache_size():
        return desk.db.execute_sql("PRAGMA cache_size").fetchone()[0]

    try:
        before, cache = schema(), cache_size()
        with pytest.raises(transfer.ImportError_, match="line 501"):
            transfer.import_file(desk, SYSTEM, str(bad))
        assert schema() == before and Ticket.select().count() == 0 and cache_size() == cache
        assert len(transfer.import_file(desk, SYSTEM, str(good))) == 600
        assert schema() == before and cache_size() == cache
        # 11 on ticket, 2 on sla_clock; the unique ones stay, and the partial ones (merged_into, external_ref);
        # then the report facts' 9, built after the facts are made in one pass
        assert [(tables, len(statements)) for tables, statements in set_aside] == [
            (transfer._FILLED, 13), (("report_fact",), 9)] * 2
        analysed = {name for (name,) in desk.db.execute_sql("SELECT idx FROM sqlite_stat1")}
        assert {"ticket_sla_due", "ticket_team_id_status_priority_created_at", "report_fact_mtta_acked_at"} <= analysed
        assert stale_facts(desk) == [] and ReportFact.select().count() == 600
        transfer.import_file(desk, SYSTEM, str(_jsonl(tmp_path / "more.jsonl", [{"title": "One more"}])))
        assert len(set_aside) == 4 and schema() == before  # a desk with tickets keeps its indexes
        assert stale_facts(desk) == [] and ReportFact.select().count() == 601
    finally:
        desk.close()
