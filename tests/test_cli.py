"""The ``deskconsole`` command line, driven for real.

Most tests call :func:`deskconsole.cli.main.main` in-process (fast) against a
real desk on each backend (a SQLite file in ``tmp_path``, the PostgreSQL test
database); a few run ``python -m deskconsole`` as a subprocess to check exit
codes and stderr end to end. In-process calls act as the login each call
names (``main(argv, login=...)``, which no command line or environment can
reach); the login variables are set to someone else throughout, and never
count. Child processes act as the real user running the tests.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import TEST_CONFIG
from desk_env import LOGIN_VARS, child_env, with_real_admin
from deskconsole import migrations
from deskconsole.cli.main import main
from deskconsole.db import connect

HOSTILE_TITLE = "VPN \x1b[31mRED\x07 down \u202eevil"
HOSTILE_DESCRIPTION = "first line\n\x1b[31mred text\x1b[0m and a bell \x07\nright-to-left \u202edrow"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


def _isolate(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("DESKCONSOLE_CONFIG", raising=False)
    monkeypatch.delenv("DESKCONSOLE_DB", raising=False)


class CLI:
    """``cli("take", "INC-1", user="al")`` -> Result(code, out, err)."""

    def __init__(self, capsys, monkeypatch, config: Path | None, db: str | None):
        self.capsys = capsys
        self.monkeypatch = monkeypatch
        self.config = config
        self.db = db

    def __call__(self, *argv: str, user: str = "ada", stdin: str | None = None, desk: bool = True) -> Result:
        for var in LOGIN_VARS:  # what the environment claims never decides who acts
            self.monkeypatch.setenv(var, "mallory")
        if stdin is not None:
            self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        args = list(argv)
        if desk and self.config is not None:
            args = ["--config", str(self.config), "--db", self.db, *args]
        self.capsys.readouterr()
        try:
            code = main(args, login=user)
        except SystemExit as exc:  # argparse: usage errors, --help, --version
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = self.capsys.readouterr()
        assert "Traceback" not in err, err
        return Result(code, out, err)

    # conveniences
    def ok(self, *argv: str, **kw) -> Result:
        result = self(*argv, **kw)
        assert result.code == 0, (argv, result.err)
        return result

    def fails(self, code: int, *argv: str, query_error: bool = False, **kw) -> Result:
        result = self(*argv, **kw)
        assert result.code == code, (argv, result.code, result.out, result.err)
        assert result.err.startswith("deskconsole: ") or code == 2, result.err
        if code != 2:  # a user error is one line on stderr (a query error adds the query
            # and a caret line under the bad term), nothing on stdout
            assert result.err.strip().count("\n") == (2 if query_error else 0), result.err
            assert result.out == ""
        return result

    def new(self, title: str = "Printer on fire", *extra: str, user: str = "ada") -> str:
        key = self.ok("new", title, *extra, user=user).out.strip()
        assert key.startswith("INC-")
        return key

    def show(self, key: str, user: str = "ada") -> dict:
        return self.ok("show", key, "--format", "json", user=user).json()

    def keys(self, *query: str) -> list[str]:
        return [row["key"] for row in self.ok("ls", *query, "--format", "json", "--limit", "0").json()]


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys, write_config, db_url):
    _isolate(monkeypatch, tmp_path)
    return CLI(capsys, monkeypatch, created(write_config(), db_url), db_url)


def created(config_path: Path, url: str) -> Path:
    """The desk at ``url`` made by the admin of the config at ``config_path``
    (its first directory); returns the config's path."""
    from deskconsole.config import load_config
    from deskconsole.core.desk import open_desk

    open_desk(url, load_config(config_path)).close()
    return config_path


@pytest.fixture
def bare_cli(tmp_path, monkeypatch, capsys):
    """No --config/--db: the XDG folders (in tmp_path) decide."""
    _isolate(monkeypatch, tmp_path)
    return CLI(capsys, monkeypatch, None, None)


# ---------------------------------------------------------------- new
def test_new_prints_the_key_and_numbers_on(cli):
    assert cli.new("First") == "INC-1"
    assert cli.new("Second") == "INC-2"
    t = cli.show("INC-1")
    assert t["title"] == "First"
    assert t["status"] == "new"
    assert t["priority"] == "P3"  # the default priority
    assert t["impact"] is None and t["urgency"] is None
    assert t["team"] == "ops"  # desk.default_team
    assert t["created_by"] == "ada"
    assert t["source"] == "cli"
    assert t["version"] == 1
    # default requester: whoever opened it
    assert t["requester_name"] == "Ada Admin"
    assert t["requester_email"] == "ada@example.com"


@pytest.mark.parametrize(
    "impact,urgency,expected",
    [
        ("high", "high", "P1"), ("high", "medium", "P2"), ("high", "low", "P3"),
        ("medium", "high", "P2"), ("medium", "medium", "P3"), ("medium", "low", "P4"),
        ("low", "high", "P3"), ("low", "medium", "P4"), ("low", "low", "P4"),
    ],
)
def test_new_priority_follows_the_matrix(cli, impact, urgency, expected):
    key = cli.new("Matrix", "--impact", impact, "--urgency", urgency)
    t = cli.show(key)
    assert (t["impact"], t["urgency"], t["priority"]) == (impact, urgency, expected)


def test_new_with_one_of_impact_or_urgency_takes_medium_for_the_other(cli):
    t = cli.show(cli.new("Only impact", "--impact", "high"))
    assert (t["impact"], t["urgency"], t["priority"]) == ("high", "medium", "P2")


def test_new_with_explicit_priority(cli):
    t = cli.show(cli.new("Explicit", "--priority", "P1"))
    assert t["priority"] == "P1"
    assert t["impact"] is None
    t = cli.show(cli.new("Short form", "-p", "2"))
    assert t["priority"] == "P2"


def test_new_priority_disagreeing_with_the_matrix_is_refused(cli):
    r = cli.fails(1, "new", "Clash", "--impact", "low", "--urgency", "low", "--priority", "P1")
    assert "P4" in r.err and "matrix" in r.err
    r = cli.fails(1, "new", "Bad prio", "--priority", "P9")
    assert "P1, P2, P3, P4" in r.err
    assert cli.keys() == []  # nothing was created


def test_new_requester_forms(cli):
    t = cli.show(cli.new("Named", "-r", "Ann Lee <ann@example.com>"))
    assert (t["requester_name"], t["requester_email"]) == ("Ann Lee", "ann@example.com")
    t = cli.show(cli.new("Mail only", "--requester", "raj@example.com"))
    assert (t["requester_name"], t["requester_email"]) == (None, "raj@example.com")
    t = cli.show(cli.new("Name only", "--requester", "Sofia Rossi"))
    assert (t["requester_name"], t["requester_email"]) == ("Sofia Rossi", None)
    r = cli.fails(1, "new", "Bad mail", "-r", "Tom <not-an-address>")
    assert "not-an-address" in r.err


def test_new_service_implies_its_team(cli):
    t = cli.show(cli.new("VPN flaps", "--service", "vpn", "--category", "outage"))
    assert t["service"] == "vpn"
    assert t["team"] == "network"
    assert t["category"] == "outage"
    # an explicit team wins over the service's
    t = cli.show(cli.new("VPN for ops", "--service", "vpn", "--team", "ops"))
    assert t["team"] == "ops"


def test_new_with_assignee_is_assigned(cli):
    t = cli.show(cli.new("For Nia", "--assignee", "nia"))
    assert t["assignee"] == "nia"
    assert t["status"] == "assigned"


def test_new_unknown_names_are_user_errors(cli):
    r = cli.fails(1, "new", "x", "--team", "nope")
    assert "nope" in r.err and "network" in r.err and "ops" in r.err
    r = cli.fails(1, "new", "x", "--service", "nope")
    assert "nope" in r.err and "vpn" in r.err
    r = cli.fails(1, "new", "x", "--category", "nope")
    assert "outage" in r.err
    r = cli.fails(1, "new", "x", "--assignee", "nobody")
    assert "nobody" in r.err
    r = cli.fails(1, "new", "   ")
    assert "title" in r.err
    assert cli.keys() == []


def test_new_description_from_stdin(cli):
    r = cli.ok("new", "Piped 2", "-d", "-", stdin="line one\nline two\n")
    assert cli.show(r.out.strip())["description"] == "line one\nline two\n"


# ---------------------------------------------------------------- ls
def _three(cli) -> None:
    cli.new("Checkout down", "--priority", "P1")
    cli.new("VPN slow", "--service", "vpn", "--impact", "medium", "--urgency", "medium")
    cli.new("New keyboard", "--priority", "P4", "--assignee", "al")


def test_ls_table(cli):
    _three(cli)
    r = cli.ok("ls")
    lines = r.out.splitlines()
    assert lines[0].split() == ["KEY", "PRIO", "STATUS", "ASSIGNEE", "TEAM", "AGE", "SLA", "TITLE"]
    assert len(lines) == 4
    body = "\n".join(lines[1:])
    for key in ("INC-1", "INC-2", "INC-3"):
        assert key in body
    row3 = next(line for line in lines if line.startswith("INC-3 "))
    assert row3.split()[:5] == ["INC-3", "P4", "assigned", "al", "ops"]
    assert row3.split()[-3:] == ["-", "New", "keyboard"]  # SLA: this desk has no SLA policies
    assert row3.endswith("New keyboard")


def test_ls_json_and_csv(cli):
    _three(cli)
    rows = cli.ok("ls", "--format", "json").json()
    assert sorted(r["key"] for r in rows) == ["INC-1", "INC-2", "INC-3"]
    by_key = {r["key"]: r for r in rows}
    assert set(by_key["INC-1"]) == {
        "key", "priority", "status", "assignee", "team", "created_at", "updated_at", "version", "title", "sla", "sla_due",
    }
    assert by_key["INC-1"]["sla"] is None and by_key["INC-1"]["sla_due"] is None  # no SLA policies: no clocks
    assert by_key["INC-2"]["team"] == "network"
    assert by_key["INC-2"]["assignee"] is None
    assert by_key["INC-3"]["assignee"] == "al"
    assert by_key["INC-1"]["version"] == 1

    r = cli.ok("ls", "--format", "csv")
    table = list(csv.DictReader(io.StringIO(r.out)))
    assert sorted(row["key"] for row in table) == ["INC-1", "INC-2", "INC-3"]
    csv_by_key = {row["key"]: row for row in table}
    assert csv_by_key["INC-2"]["assignee"] == ""  # None is an empty cell
    assert csv_by_key["INC-1"]["priority"] == "P1"
    assert csv_by_key["INC-3"]["title"] == "New keyboard"
    assert list(table[0])[-2:] == ["sla", "sla_due"]
    assert csv_by_key["INC-1"]["sla"] == "" and csv_by_key["INC-1"]["sla_due"] == ""


def test_ls_limit(cli):
    _three(cli)
    assert len(cli.ok("ls", "--format", "json", "--limit", "2").json()) == 2
    assert len(cli.ok("ls", "--format", "json", "--limit", "0").json()) == 3
    r = cli.ok("ls", "--limit", "2")
    assert len(r.out.splitlines()) == 3  # header + 2
    assert "2 of 3 tickets" in r.err  # says there are more, and how to see them


def test_ls_query(cli):
    _three(cli)
    assert cli.keys("prio:P1") == ["INC-1"]
    assert cli.keys("team:network") == ["INC-2"]
    assert cli.keys("assignee:al") == ["INC-3"]
    assert sorted(cli.keys("prio:P1,P4")) == ["INC-1", "INC-3"]
    assert sorted(cli.keys("is:open -prio:P4")) == ["INC-1", "INC-2"]  # one argument
    rows = cli.ok("ls", "--format", "json", "--", "is:open", "-prio:P4").json()  # after --
    assert sorted(r["key"] for r in rows) == ["INC-1", "INC-2"]
    rows = cli.ok("ls", "is:open", "-prio:P4", "sort:-created", "--format", "json").json()  # separate words
    assert [r["key"] for r in rows] == ["INC-2", "INC-1"]
    assert cli.keys("is:unassigned", "team:ops") == ["INC-1"]


def test_ls_nothing_matches(cli):
    r = cli.ok("ls", "prio:P2")
    assert r.out.splitlines()[0].startswith("KEY")
    assert "no tickets" in r.err


def test_ls_bad_query_is_a_user_error(cli):
    _three(cli)
    r = cli.fails(1, "ls", "prio:P9", query_error=True)
    assert "P9" in r.err and r.err.endswith("  prio:P9\n       ^^\n")
    r = cli.fails(1, "ls", "frobnicate:yes", query_error=True)
    assert "frobnicate" in r.err and "fields" in r.err
    r = cli.fails(1, "ls", "--format", "json", "team:nowhere", query_error=True)
    assert "nowhere" in r.err


def test_no_command_lists_open_tickets(cli):
    _three(cli)
    r = cli.ok()
    assert r.out.splitlines()[0].startswith("KEY")
    assert "INC-1" in r.out


# ---------------------------------------------------------------- show / hostile text
def test_show_text(cli):
    key = cli.new("Mail bounces", "--service", "mail", "--impact", "high", "--urgency", "high",
                  "-r", "Ann Lee <ann@example.com>", "-d", "Since 9:00\nAll outbound mail")
    cli.ok("reply", key, "Looking into it")
    cli.ok("note", key, "Queue is at 10k")
    out = cli.ok("show", key).out
    assert out.startswith(f"{key}  Mail bounces\n")
    assert "Status       new" in out
    assert "Priority     P1  (impact high, urgency high)" in out
    assert "Requester    Ann Lee <ann@example.com>" in out
    assert "Service      mail" in out
    assert "  Since 9:00\n  All outbound mail" in out
    assert "Conversation (2)" in out
    assert "REPLY Ada Admin (ada)" in out
    assert "NOTE (internal) Ada Admin (ada)" in out
    assert "Looking into it" in out and "Queue is at 10k" in out
    assert "History" in out


def test_hostile_text_is_escaped_in_text_output_and_raw_in_json(cli):
    key = cli.new(HOSTILE_TITLE, "-d", HOSTILE_DESCRIPTION, "-r", "Eve \x1b]0;pwned\x07 <eve@example.com>")
    cli.ok("reply", key, "reply with \x1b[2J clear screen\nand \u202e reversed")

    out = cli.ok("show", key).out
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in out, repr(raw)
    assert "VPN \\x1b[31mRED\\x07 down \\u202eevil" in out
    assert "\\x1b[31mred text\\x1b[0m and a bell \\x07" in out
    assert "right-to-left \\u202edrow" in out
    assert "\\x1b[2J clear screen" in out
    assert "Eve \\x1b]0;pwned\\x07" in out
    assert "first line" in out.splitlines()[out.splitlines().index("Description") + 1]

    listing = cli.ok("ls").out
    assert "\x1b" not in listing and "\u202e" not in listing
    assert "VPN \\x1b[31mRED\\x07 down \\u202eevil" in listing

    t = cli.show(key)
    assert t["title"] == HOSTILE_TITLE
    assert t["description"] == HOSTILE_DESCRIPTION
    assert t["requester_name"] == "Eve \x1b]0;pwned\x07"
    assert t["entries"][0]["body"] == "reply with \x1b[2J clear screen\nand \u202e reversed"
    assert cli.ok("ls", "--format", "json").json()[0]["title"] == HOSTILE_TITLE
    csv_rows = list(csv.DictReader(io.StringIO(cli.ok("ls", "--format", "csv").out)))
    assert csv_rows[0]["title"] == HOSTILE_TITLE


def test_show_unknown_or_malformed_key(cli):
    cli.new()
    r = cli.fails(1, "show", "INC-999")
    assert "INC-999 does not exist" in r.err
    r = cli.fails(1, "take", "INC-999", user="al")
    assert "INC-999" in r.err
    r = cli.fails(1, "show", "FOO-1")
    assert "not a ticket key" in r.err and "INC-42" in r.err
    # keys are forgiving about case and a bare number
    assert cli.show("inc-1")["key"] == "INC-1"
    assert cli.show("1")["key"] == "INC-1"


# ---------------------------------------------------------------- write commands
def test_take(cli):
    key = cli.new()
    r = cli.ok("take", key, user="al")
    assert r.out.strip() == f"{key} taken by al (version 2)"
    t = cli.show(key)
    assert t["assignee"] == "al"
    assert t["status"] == "in_progress"
    assert t["acknowledged_by"] == "al"
    assert t["acknowledged_at"] is not None
    assert t["version"] == 2
    cli.fails(1, "take", key, user="al")  # already yours: nothing to change
    # another agent cannot take it away; a lead can
    r = cli.fails(4, "take", key, user="nia")
    assert "lead" in r.err
    cli.ok("take", key, user="lee")
    assert cli.show(key)["assignee"] == "lee"


def test_ack(cli):
    key = cli.new()
    r = cli.ok("ack", key, user="al")
    assert r.out.strip() == f"{key} acknowledged (version 2)"
    t = cli.show(key)
    assert t["acknowledged_by"] == "al"
    assert t["status"] == "new"  # acknowledging does not take it
    assert t["assignee"] is None
    r = cli.fails(1, "ack", key, user="nia")
    assert "already acknowledged by al" in r.err


def test_assign_agent_team_and_none(cli):
    key = cli.new()
    r = cli.ok("assign", key, "nia", user="al")
    assert r.out.strip() == f"{key} assigned (version 2)"
    t = cli.show(key)
    assert (t["assignee"], t["status"], t["team"]) == ("nia", "assigned", "ops")

    cli.ok("assign", key, "--team", "network", user="nia")
    assert cli.show(key)["team"] == "network"

    # an agent cannot unassign someone else's ticket; a lead can
    r = cli.fails(4, "assign", key, "none", user="al")
    assert "lead" in r.err
    cli.ok("assign", key, "none", user="lee")
    t = cli.show(key)
    assert (t["assignee"], t["status"]) == (None, "new")

    cli.ok("assign", key, "al", "--team", "ops", user="al")
    t = cli.show(key)
    assert (t["assignee"], t["team"], t["status"]) == ("al", "ops", "assigned")
    cli.ok("assign", key, "--team", "none", user="al")
    assert cli.show(key)["team"] is None

    r = cli.fails(1, "assign", key, user="al")
    assert "assign" in r.err
    r = cli.fails(1, "assign", key, "vic", user="lee")
    assert "viewer" in r.err
    r = cli.fails(1, "assign", key, "ghost", user="lee")
    assert "ghost" in r.err
    r = cli.fails(1, "assign", key, "--team", "nowhere", user="lee")
    assert "nowhere" in r.err


def test_triage(cli):
    key = cli.new()
    r = cli.ok("triage", key, "--impact", "high", "--urgency", "high", user="al")
    assert r.out.strip() == f"{key} triaged (version 2)"
    t = cli.show(key)
    assert (t["impact"], t["urgency"], t["priority"]) == ("high", "high", "P1")
    cli.ok("triage", key, "--urgency", "low", user="al")  # the other level is kept
    t = cli.show(key)
    assert (t["impact"], t["urgency"], t["priority"]) == ("high", "low", "P3")
    cli.ok("triage", key, "--category", "access", "--service", "mail", user="al")
    t = cli.show(key)
    assert (t["category"], t["service"]) == ("access", "mail")
    cli.ok("triage", key, "--category", "none", user="al")
    assert cli.show(key)["category"] is None
    cli.fails(1, "triage", key, user="al")  # nothing given
    cli.fails(1, "triage", key, "--impact", "huge", user="al")
    r = cli.fails(1, "triage", key, "--impact", "low", "--urgency", "low", "--priority", "P1", user="al")
    assert "matrix" in r.err
    r = cli.fails(1, "triage", key, "--category", "nope", user="al")
    assert "outage" in r.err
    # the audit names the field, the old and the new value
    audit = cli.show(key)["audit"]
    assert {"field": "priority", "old": "P3", "new": "P1"}.items() <= next(
        a for a in audit if a["field"] == "priority" and a["action"] == "triage").items()


def test_status_moves_and_illegal_transitions(cli):
    key = cli.new()
    r = cli.fails(1, "status", key, "pending", user="al")
    assert "cannot go from new to pending" in r.err
    assert "assigned, in_progress, resolved, cancelled" in r.err
    r = cli.fails(1, "status", key, "in_progress", user="al")
    assert "no assignee" in r.err
    r = cli.fails(1, "status", key, "sleeping", user="al")
    assert "new, assigned, in_progress, pending, resolved, closed, cancelled" in r.err
    r = cli.fails(1, "status", key, "resolved", user="al")
    assert "deskconsole resolve" in r.err
    cli.ok("take", key, user="al")
    r = cli.ok("status", key, "pending", user="al")
    assert r.out.strip() == f"{key} is now pending (version 3)"
    cli.fails(1, "status", key, "pending", user="al")  # already pending
    cli.ok("status", key, "in-progress", user="al")  # dashes are fine
    assert cli.show(key)["status"] == "in_progress"
    r = cli.fails(1, "status", key, "closed", user="al")
    assert "cannot go from in_progress to closed" in r.err
    assert "assigned, pending, resolved, cancelled" in r.err


def test_reply_and_note(cli):
    key = cli.new()
    r = cli.ok("reply", key, "We are on it", user="al")
    assert r.out.strip() == f"{key} replied (version 2)"
    cli.ok("reply", key, "-", user="al", stdin="From a pipe\nwith two lines\n")
    cli.ok("note", key, "Internal only", user="nia")
    cli.ok("note", key, "-", user="nia", stdin="noted via stdin")
    t = cli.show(key)
    entries = [(e["kind"], e["author"], e["body"]) for e in t["entries"]]
    assert entries == [
        ("reply", "al", "We are on it"),
        ("reply", "al", "From a pipe\nwith two lines\n"),
        ("note", "nia", "Internal only"),
        ("note", "nia", "noted via stdin"),
    ]
    assert t["first_response_at"] is not None
    assert t["version"] == 5
    r = cli.fails(1, "reply", key, "   ", user="al")
    assert "empty" in r.err
    cli.fails(1, "note", key, "-", user="al", stdin="")


def test_link_and_unlink(cli):
    a, b, c = cli.new("A"), cli.new("B"), cli.new("C")
    r = cli.ok("link", a, "relates-to", b, user="al")
    assert r.out.strip() == f"{a} linked (relates-to {b}) (version 2)"
    assert [(ln["kind"], ln["other"]) for ln in cli.show(a)["links"]] == [("relates_to", b)]
    assert [(ln["kind"], ln["other"]) for ln in cli.show(b)["links"]] == [("relates_to", a)]
    cli.fails(1, "link", b, "relates-to", a, user="al")  # already recorded (symmetric)

    cli.ok("link", a, "child-of", c, user="al")
    assert ("child_of", c) in [(ln["kind"], ln["other"]) for ln in cli.show(a)["links"]]
    assert [(ln["kind"], ln["other"]) for ln in cli.show(c)["links"]] == [("parent_of", a)]
    r = cli.fails(1, "link", c, "child-of", a, user="al")  # a cycle
    assert "cycle" in r.err

    r = cli.ok("link", a, "relates-to", b, "--remove", user="al")
    assert r.out.strip().startswith(f"{a} unlinked")
    assert [ln["kind"] for ln in cli.show(b)["links"]] == []
    cli.fails(1, "link", a, "relates-to", b, "--remove", user="al")  # no such link
    r = cli.fails(1, "link", a, "loves", b, user="al")
    assert "relates-to" in r.err
    cli.fails(1, "link", a, "relates-to", a, user="al")
    cli.fails(1, "link", a, "relates-to", "INC-99", user="al")


def test_merge(cli):
    target, dup = cli.new("Mail down"), cli.new("Cannot send mail")
    cli.ok("reply", dup, "Thanks, looking", user="al")
    r = cli.fails(3, "merge", dup, target, "--expect-version", "1", user="al")
    assert "was changed by al" in r.err
    r = cli.ok("merge", dup, target, user="al")
    assert r.out.strip() == f"{dup} merged into {target} (version 3)"
    d = cli.show(dup)
    assert d["status"] == "closed"
    assert d["merged_into"] == target
    assert d["resolution_code"] == "duplicate"
    assert ("duplicate_of", target) in [(ln["kind"], ln["other"]) for ln in d["links"]]
    t = cli.show(target)
    assert t["merged"] == [dup]
    assert t["status"] == "new"
    assert [e["body"] for e in t["entries"]] == ["Thanks, looking"]  # the duplicate's conversation shows here
    assert f"[from {dup}]" in cli.ok("show", target).out
    r = cli.fails(1, "merge", dup, target, user="al")  # closed now
    assert "closed" in r.err
    cli.fails(1, "merge", target, target, user="al")


def test_resolve_close_reopen(cli):
    key = cli.new()
    cli.ok("take", key, user="al")
    r = cli.fails(1, "resolve", key, "magic", user="al")
    assert "'magic' is not a resolution code" in r.err
    assert "fixed, workaround, no_fault_found, duplicate, known_error, user_error, cancelled_by_requester" in r.err
    r = cli.ok("resolve", key, "fixed", "Restarted the spooler", user="al")
    assert r.out.strip() == f"{key} resolved (version 3)"
    t = cli.show(key)
    assert (t["status"], t["resolution_code"], t["resolution_note"]) == ("resolved", "fixed", "Restarted the spooler")
    assert t["resolved_at"] is not None

    r = cli.ok("reopen", key, "Still broken", user="al")
    assert r.out.strip() == f"{key} reopened (version 4)"
    t = cli.show(key)
    assert (t["status"], t["reopen_count"], t["resolution_code"], t["resolved_at"]) == ("in_progress", 1, None, None)
    assert t["entries"][-1]["body"] == "Still broken"
    r = cli.fails(1, "reopen", key, user="al")
    assert "only resolved tickets reopen" in r.err

    cli.ok("resolve", key, "workaround", "-", user="al", stdin="Cleared the queue by hand")
    assert cli.show(key)["resolution_note"] == "Cleared the queue by hand"
    r = cli.ok("close", key, user="al")
    assert r.out.strip() == f"{key} closed (version 6)"
    t = cli.show(key)
    assert t["status"] == "closed" and t["closed_at"] is not None
    r = cli.fails(1, "reopen", key, user="al")
    assert "final" in r.err
    r = cli.fails(1, "close", key, user="al")
    r = cli.fails(1, "reply", key, "hello?", user="al")
    assert "closed" in r.err
    r = cli.fails(1, "take", key, user="al")
    assert "closed" in r.err


def test_close_needs_resolved_first(cli):
    key = cli.new()
    r = cli.fails(1, "close", key, user="al")
    assert "cannot go from new to closed" in r.err


def test_cancel_needs_a_lead(cli):
    key = cli.new()
    r = cli.fails(4, "cancel", key, "Opened by mistake", user="al")
    assert "al is" in r.err and "cannot cancel tickets" in r.err and "lead role" in r.err
    assert cli.show(key)["status"] == "new"
    r = cli.ok("cancel", key, "Opened by mistake", user="lee")
    assert r.out.strip() == f"{key} cancelled (version 2)"
    t = cli.show(key)
    assert t["status"] == "cancelled" and t["closed_at"] is not None
    assert (t["entries"][-1]["kind"], t["entries"][-1]["body"]) == ("note", "Opened by mistake")
    cli.fails(1, "cancel", key, "again", user="lee")
    cli.ok("cancel", cli.new("Another"), "Duplicate of a call", user="ada")  # admins too


# ---------------------------------------------------------------- permissions and identity
WRITES = [
    ("take", "{k}"), ("ack", "{k}"), ("assign", "{k}", "al"), ("triage", "{k}", "--priority", "P1"),
    ("status", "{k}", "assigned"), ("reply", "{k}", "hi"), ("note", "{k}", "hi"),
    ("link", "{k}", "relates-to", "INC-2"), ("merge", "{k}", "INC-2"), ("resolve", "{k}", "fixed"),
    ("close", "{k}"), ("reopen", "{k}"), ("cancel", "{k}", "why"), ("new", "A title"),
]


@pytest.mark.parametrize("login", ["vic", "mallory"])
def test_viewers_and_unknown_logins_cannot_write(cli, login):
    cli.new("One")
    cli.new("Two")
    for argv in WRITES:
        argv = [a.format(k="INC-1") for a in argv]
        r = cli.fails(4, *argv, user=login)
        assert f"{login} is a viewer" in r.err, (argv, r.err)
        assert "role" in r.err, (argv, r.err)
    t = cli.show("INC-1", user=login)  # reading is fine
    assert t["version"] == 1
    assert len(cli.keys()) == 2
    r = cli.fails(4, "take", "INC-1", user=login)
    assert "needs the agent role" in r.err


def test_import_needs_an_admin(cli, tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"title": "Imported"}) + "\n", encoding="utf-8")
    r = cli.fails(4, "import", str(path), user="lee")
    assert "admin" in r.err
    assert cli.keys() == []


def test_as_is_for_admins_only(cli):
    key = cli.new()
    r = cli.fails(4, "--as", "ada", "note", key, "sneaky", user="al")
    assert "--as is for desk admins" in r.err and "'al'" in r.err
    r = cli.fails(4, "note", key, "sneaky", "--as", "al", user="lee")  # option after the command too
    assert "--as is for desk admins" in r.err
    assert cli.show(key)["entries"] == []


def test_as_by_an_admin_is_audited(cli):
    key = cli.new()
    r = cli.ok("--as", "al", "take", key, user="ada")
    assert r.out.strip() == f"{key} taken by al (version 2)"
    cli.ok("note", key, "on behalf of al", "--as", "al", user="ada")
    t = cli.show(key)
    assert t["assignee"] == "al"
    assert t["acknowledged_by"] == "al"
    assert t["entries"][-1]["author"] == "al"
    later = [a for a in t["audit"] if a["action"] in ("take", "note")]
    assert later, t["audit"]
    assert all(a["actor"] == "al" and a["via"] == "ada" for a in later)
    assert all(a["via"] is None for a in t["audit"] if a["action"] == "create")
    assert "al (by ada)" in cli.ok("show", key).out and "(as al" not in cli.ok("show", key).out
    # --as a viewer: the admin gets the viewer's rights, not their own
    r = cli.fails(4, "--as", "vic", "note", key, "x", user="ada")
    assert "vic is a viewer" in r.err
    # --as yourself is just you
    cli.ok("--as", "ada", "note", key, "me", user="ada")
    assert cli.show(key)["audit"][-1]["via"] is None


def test_expect_version(cli):
    key = cli.new()
    cli.ok("note", key, "first", "--expect-version", "1", user="al")
    r = cli.fails(3, "note", key, "second", "--expect-version", "1", user="nia")
    assert f"{key} was changed by al" in r.err
    assert "version 2" in r.err and "you saw 1" in r.err
    for argv in (("take", key), ("ack", key), ("assign", key, "nia"), ("triage", key, "--priority", "P1"),
                 ("reply", key, "x"), ("link", key, "relates-to", cli.new("other")), ("cancel", key, "x")):
        r = cli.fails(3, *argv, "--expect-version", "1", user="lee")
        assert "was changed by al" in r.err
    t = cli.show(key)
    assert t["version"] == 2 and len(t["entries"]) == 1  # nothing was written
    cli.ok("take", key, "--expect-version", "2", user="nia")


# ---------------------------------------------------------------- usage errors
@pytest.mark.parametrize(
    "argv",
    [
        ["frobnicate"],
        ["new"],
        ["new", "t", "--impact", "extreme"],
        ["ls", "--limit", "many"],
        ["ls", "--format", "xml"],
        ["show"],
        ["take"],
        ["note", "INC-1", "x", "--expect-version", "latest"],
        ["link", "INC-1", "relates-to"],
    ],
)
def test_usage_errors_exit_2(cli, argv):
    r = cli(*argv)
    assert r.code == 2
    assert "usage:" in r.err
    assert "Traceback" not in r.err


def test_version_and_help(bare_cli):
    r = bare_cli("--version", desk=False)
    assert r.code == 0 and r.out.startswith("deskconsole ")
    r = bare_cli("--help", desk=False)
    assert r.code == 0 and "exit codes" in r.out


def test_missing_config_is_a_user_error(cli, tmp_path):
    cli.config = tmp_path / "nowhere.toml"
    r = cli.fails(1, "ls")
    assert "nowhere.toml" in r.err and "deskconsole init" in r.err


def test_env_vars_choose_config_and_db(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("DESKCONSOLE_CONFIG", str(cli.config))
    monkeypatch.setenv("DESKCONSOLE_DB", cli.db)
    r = cli("new", "From env", desk=False)
    assert r.code == 0 and r.out.strip() == "INC-1"
    assert cli.keys() == ["INC-1"]  # the same desk as --config/--db


# ---------------------------------------------------------------- init
def test_init_writes_a_config_and_creates_the_desk(bare_cli, tmp_path, bare_db_url):
    cli = bare_cli
    cfg = tmp_path / "conf" / "desk.toml"
    db_file = tmp_path / "data" / "desk.db"  # SQLite: the file and its folder are made
    cli.config, cli.db = cfg, f"sqlite:///{db_file}" if bare_db_url.startswith("sqlite") else bare_db_url
    r = cli.ok("init", user="zed")
    assert f"wrote {cfg}" in r.out and "zed is its admin" in r.out
    if bare_db_url.startswith("sqlite"):
        assert db_file.exists()
    else:
        db = connect(cli.db)
        assert migrations.current_version(db) == migrations.LATEST
        db.close()
    data = tomllib.loads(cfg.read_text(encoding="utf-8"))
    assert data["agents"]["zed"]["role"] == "admin"
    assert data["desk"]["database"] == cli.db
    # the running login can work the desk straight away, as an admin
    assert cli.new("Hello", user="zed") == "INC-1"
    assert cli.show("INC-1", user="zed")["team"] == "ops"
    cli.ok("cancel", "INC-1", "only a test", user="zed")  # a lead's right, and more

    before = cfg.read_text(encoding="utf-8")
    r = cli.fails(1, "init", user="zed")
    assert "already exists" in r.err and "--force" in r.err
    assert cfg.read_text(encoding="utf-8") == before

    cfg.write_text(before + "\n# my edit\n", encoding="utf-8")
    cli.ok("init", "--force", user="zed")
    assert (cfg.parent / "desk.toml.bak").read_text(encoding="utf-8").endswith("# my edit\n")
    assert "# my edit" not in cfg.read_text(encoding="utf-8")
    assert cli.keys() == ["INC-1"]  # the desk itself is kept


def test_init_uses_the_xdg_folders_by_default(bare_cli, tmp_path):
    r = bare_cli.ok("init", user="zed")
    cfg = tmp_path / "xdg-config" / "deskconsole" / "config.toml"
    assert cfg.exists()
    assert (tmp_path / "xdg-data" / "deskconsole" / "desk.db").exists()
    assert str(cfg) in r.out
    assert bare_cli.ok("new", "Via defaults", user="zed").out.strip() == "INC-1"
    rows = bare_cli.ok("ls", "--format", "json", user="zed").json()
    assert [row["key"] for row in rows] == ["INC-1"]
    bare_cli.fails(1, "init", user="zed")


# ---------------------------------------------------------------- demo
def _demo_count(cli, config: Path) -> int:
    r = cli.ok("--config", str(config), "ls", "--format", "json", "--limit", "0", desk=False, user="zed")
    return len(r.json())


def test_demo_builds_reuses_and_rebuilds(bare_cli, tmp_path):
    demo_cfg = tmp_path / "xdg-config" / "deskconsole" / "demo.toml"
    demo_db = tmp_path / "xdg-data" / "deskconsole" / "demo.db"
    r = bare_cli.ok("demo", "--tickets", "50", "--no-console", user="zed")
    assert r.out == ""
    assert "demo desk: 50 tickets" in r.err
    assert demo_cfg.exists() and demo_db.exists()
    assert _demo_count(bare_cli, demo_cfg) == 50
    data = tomllib.loads(demo_cfg.read_text(encoding="utf-8"))
    assert data["agents"]["zed"]["role"] == "admin"

    r = bare_cli.ok("demo", "--no-console", user="zed")  # default 300, but the desk exists
    assert "using the demo desk" in r.err and "50 tickets" in r.err
    assert _demo_count(bare_cli, demo_cfg) == 50

    r = bare_cli.ok("demo", "--fresh", "--tickets", "20", user="zed")  # with the queue shown
    assert "demo desk: 20 tickets" in r.err
    assert r.out.splitlines()[0].split()[:2] == ["KEY", "PRIO"]
    assert _demo_count(bare_cli, demo_cfg) == 20
    # the demo admin can work the demo desk
    r = bare_cli.ok("--config", str(demo_cfg), "new", "Demo ticket", desk=False, user="zed")
    changes = bare_cli.ok("--config", str(demo_cfg), "change", "ls", "--all", "--format", "json", desk=False,
                          user="zed").json()
    assert len(changes) == 26  # the demo's changes, numbered by themselves, took rows after the 20 incidents
    assert r.out.strip() == f"INC-{20 + len(changes) + 1}"

    r = bare_cli.fails(1, "demo", "--tickets", "-1", "--no-console", user="zed")
    assert "--tickets" in r.err


def test_demo_with_explicit_config_and_db(cli, tmp_path):
    """The demo builds its desk where --db says. A SQLite file is replaced by
    --fresh only when it is the demo's own; a PostgreSQL database with tickets
    in it (which may well be a team's shared desk) is refused with what to do
    instead, and nothing is written there."""
    demo_cfg = tmp_path / "mine" / "demo.toml"
    if cli.db.startswith("sqlite"):
        cli.db = f"sqlite:///{tmp_path / 'demo-here.db'}"  # where no desk is yet
    if cli.db.startswith("postgresql"):
        cli.new("Shared desk's own ticket")
        r = cli.fails(1, "--config", str(demo_cfg), "--db", cli.db, "demo", "--tickets", "10", "--no-console",
                      desk=False, user="zed")
        assert "already holds 1 ticket" in r.err and "createdb" in r.err and "PostgreSQL database" in r.err
        assert not demo_cfg.exists() and cli.keys() == ["INC-1"]
        return
    cli.config = demo_cfg
    cli.ok("demo", "--tickets", "10", "--no-console", user="zed")
    assert cli.config.exists()
    assert len(cli.keys()) == 10
    other = tmp_path / "not-the-demo.db"
    other.write_bytes(b"someone's data")
    r = cli.fails(1, "--config", str(demo_cfg), "--db", f"sqlite:///{other}", "demo", "--fresh", "--no-console",
                  desk=False, user="zed")
    assert "is not this demo's desk" in r.err and other.read_bytes() == b"someone's data"


def test_demo_goes_into_an_empty_postgresql_database_and_never_empties_one(pg_database, tmp_path, monkeypatch,
                                                                          capsys):
    pg_database.bare()  # a database just made with createdb: no desk in it yet
    _isolate(monkeypatch, tmp_path)
    cli = CLI(capsys, monkeypatch, None, None)
    demo_cfg = tmp_path / "demo.toml"
    url = pg_database.url
    r = cli.ok("--config", str(demo_cfg), "--db", url, "demo", "--tickets", "40", "--no-console", desk=False, user="zed")
    assert "demo desk: 40 tickets" in r.err
    assert _demo_count(cli, demo_cfg) == 40
    r = cli.ok("--config", str(demo_cfg), "demo", "--no-console", desk=False, user="zed")  # its own: reused
    assert "using the demo desk" in r.err and "40 tickets" in r.err
    r = cli.fails(1, "--config", str(demo_cfg), "demo", "--fresh", "--no-console", desk=False, user="zed")
    assert "already holds 40 tickets" in r.err and "never empties one" in r.err
    assert _demo_count(cli, demo_cfg) == 40
    r = cli.ok("--config", str(demo_cfg), "new", "Works like any desk", desk=False, user="zed")
    assert r.out.strip() == "INC-67"  # after the 40 incidents and the demo's 26 changes


# ---------------------------------------------------------------- end to end, as a real process
def _run(tmp_path: Path, db_url: str, *argv: str, user: str | None = None,
         stdin: str | None = None) -> subprocess.CompletedProcess:
    """``deskconsole`` as a child process of the real login (an admin of the
    test config), acting ``--as`` ``user`` when one is given."""
    env = child_env(tmp_path)
    as_user = ["--as", user] if user else []
    proc = subprocess.run(
        [sys.executable, "-m", "deskconsole", "--config", str(tmp_path / "config.toml"),
         "--db", db_url, *as_user, *argv],
        input=stdin, capture_output=True, text=True, encoding="utf-8", env=env, timeout=60, cwd=tmp_path,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_subprocess_exit_codes_end_to_end(tmp_path, write_config, db_url):
    created(write_config(with_real_admin(TEST_CONFIG)), db_url)

    def run(*argv, **kw):
        return _run(tmp_path, db_url, *argv, **kw)

    p = run("new", HOSTILE_TITLE, "-d", "-", "--priority", "P2", stdin=HOSTILE_DESCRIPTION)
    assert (p.returncode, p.stdout, p.stderr) == (0, "INC-1\n", "")

    p = run("show", "INC-1")
    assert p.returncode == 0
    assert "\x1b" not in p.stdout and "\x07" not in p.stdout and "\u202e" not in p.stdout
    assert "\\x1b[31mRED\\x07" in p.stdout

    p = run("take", "INC-1", user="vic")
    assert p.returncode == 4
    assert p.stdout == ""
    assert p.stderr.startswith("deskconsole: vic is a viewer") and "agent role" in p.stderr
    assert p.stderr.count("\n") == 1

    p = run("note", "INC-1", "done", "--expect-version", "1", user="al")
    assert p.returncode == 0
    p = run("note", "INC-1", "late", "--expect-version", "1", user="nia")
    assert p.returncode == 3
    assert "INC-1 was changed by al" in p.stderr and p.stderr.count("\n") == 1

    p = run("status", "INC-1", "closed", user="al")
    assert p.returncode == 1 and "cannot go from new to closed" in p.stderr

    p = run("show", "INC-404")
    assert p.returncode == 1 and p.stderr == "deskconsole: INC-404 does not exist; 'deskconsole ls' lists tickets\n"

    p = run("ls", "prio:P9")
    assert p.returncode == 1 and "P9" in p.stderr and p.stderr.count("\n") == 3  # message, query, caret

    p = run("frobnicate")
    assert p.returncode == 2 and "usage:" in p.stderr

    p = run("show", "INC-1", "--format", "json")
    t = json.loads(p.stdout)
    assert t["title"] == HOSTILE_TITLE and t["description"] == HOSTILE_DESCRIPTION
    assert t["version"] == 2


# ---------------------------------------------------------------- found while testing: robustness
def test_imported_free_text_fields_are_escaped_in_show(cli, tmp_path):
    """Every field a file can carry is data: none may reach the terminal raw."""
    row = {
        "title": "Imported \x1b[31mtitle", "status": "resolved", "description": "d \x1b[2J",
        "created_at": "2026-11-01T09:00:00+00:00",
        "created_by": "\x1b[34mcreator", "source": "\x1b[32msrc", "external_ref": "\x1b[36mref",
        "acknowledged_by": "\x1b[31mack", "acknowledged_at": "2026-11-01T10:00:00+00:00",
        "resolution_code": "\x1b[33mcode", "resolution_note": "\x1b[33mnote", "resolved_at": "2026-11-01T11:00:00+00:00",
        "requester_name": "\u202eReq", "requester_email": "req@example.com",
        "entries": [{"kind": "note", "author": "\x1b[35mauthor", "author_name": "\x1b[35mName", "body": "\x07body",
                     "source": "\x1b[1mmail"}],
    }
    path = tmp_path / "hostile.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    cli.ok("import", str(path))
    out = cli.ok("show", "INC-1").out
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in out, [line for line in out.splitlines() if raw in line]
    for shown in ("\\x1b[34mcreator", "\\x1b[32msrc", "\\x1b[31mack", "\\x1b[33mcode", "\\x1b[35mauthor"):
        assert shown in out, shown
    t = cli.show("INC-1")
    assert (t["acknowledged_by"], t["source"], t["entries"][0]["author"]) == ("\x1b[31mack", "\x1b[32msrc", "\x1b[35mauthor")


def test_export_to_an_unwritable_path_is_a_user_error(cli, tmp_path):
    cli.new()
    r = cli.fails(1, "export", "-o", str(tmp_path / "no" / "such" / "folder" / "out.jsonl"))
    assert "out.jsonl" in r.err


def test_text_that_is_not_utf8_is_refused_cleanly(cli):
    """Bytes that are not UTF-8 (a Latin-1 terminal, a binary pipe) arrive as
    lone surrogates; they must be a user error, not a crash in the database."""
    cli.new()
    r = cli("new", "Caf\udce9 down")  # what Python makes of b"Caf\xe9" in argv
    assert r.code == 1, r
    r = cli("note", "INC-1", "-", stdin="bad \udcff\udcfe bytes")
    assert r.code == 1, r
    assert cli.keys() == ["INC-1"] and cli.show("INC-1")["entries"] == []


def _real_desk(cli, tmp_path, monkeypatch):
    """A production desk chosen through the environment, as a user's shell profile would."""
    config, db = tmp_path / "prod.toml", cli.db
    monkeypatch.setenv("DESKCONSOLE_CONFIG", str(config))
    monkeypatch.setenv("DESKCONSOLE_DB", db)
    assert cli("init", user="ada", desk=False).code == 0  # the desk exists: its directory stays in force
    assert cli("new", "Real production incident", user="ada", desk=False).out.strip() == "INC-1"
    return config, config.read_text(encoding="utf-8")


def _real_desk_is_intact(cli, config, text):
    assert config.read_text(encoding="utf-8") == text, "the real config was replaced by the demo's"
    r = cli("ls", "--format", "json", "--limit", "0", user="ada", desk=False)
    assert r.code == 0, r.err
    assert [(t["key"], t["title"]) for t in r.json()] == [("INC-1", "Real production incident")]


def test_demo_never_wipes_the_desk_named_in_the_environment(cli, tmp_path, monkeypatch):
    config, text = _real_desk(cli, tmp_path, monkeypatch)
    monkeypatch.delenv("DESKCONSOLE_CONFIG")  # only DESKCONSOLE_DB is exported
    r = cli("demo", "--tickets", "5", "--no-console", user="zed", desk=False)
    assert r.code == 0, r.err  # it built its own demo desk instead
    monkeypatch.setenv("DESKCONSOLE_CONFIG", str(config))
    _real_desk_is_intact(cli, config, text)


def test_demo_fresh_never_wipes_the_desk_named_in_the_environment(cli, tmp_path, monkeypatch):
    config, text = _real_desk(cli, tmp_path, monkeypatch)
    r = cli("demo", "--fresh", "--tickets", "5", "--no-console", user="zed", desk=False)
    assert r.code == 0, r.err  # it built its own demo desk instead
    _real_desk_is_intact(cli, config, text)


def test_commands_close_the_connections_they_opened(postgres_url, tmp_path, monkeypatch, capsys, write_config):
    """Each command closes its desk when it is done: a process that runs many
    (a script calling main(), the daemon's intake) leaves no connection behind.
    (Counted on PostgreSQL, where a connection is a server session.)"""
    import psycopg

    _isolate(monkeypatch, tmp_path)
    cli = CLI(capsys, monkeypatch, created(write_config(), postgres_url), postgres_url)

    def sessions() -> int:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            return admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                 " AND pid <> pg_backend_pid()").fetchone()[0]

    key = cli.new("Printer on fire")
    before = sessions()
    for _ in range(5):
        cli.show(key)
        cli.ok("note", key, "toner everywhere")
    assert sessions() == before
