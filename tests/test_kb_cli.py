"""``deskconsole kb ...`` and ``reply --kb``, driven through the real command
line on both backends (in-process, as tests/test_cli.py does)."""

from __future__ import annotations

import csv
import io
import json
import os
import stat

import pytest

from test_cli import CLI, _isolate, created


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys, write_config, db_url):
    """The command line on a desk made from the test config, on each backend."""
    _isolate(monkeypatch, tmp_path)
    return CLI(capsys, monkeypatch, created(write_config(), db_url), db_url)


@pytest.fixture
def editor(tmp_path, monkeypatch):
    """$EDITOR is a script that writes ``text`` into the file it is given (and
    keeps what it was given in ``seen``); the editor may open (a terminal)."""
    script = tmp_path / "ed.py"
    seen = tmp_path / "seen.txt"
    state = {"text": ""}

    def set_text(text: str) -> None:
        state["text"] = text
        (tmp_path / "new.txt").write_text(text, encoding="utf-8")

    script.write_text(f"""#!{os.sys.executable}
import shutil, sys, os, stat
shutil.copy(sys.argv[1], {str(seen)!r})
open({str(seen)!r} + '.mode', 'w').write(oct(stat.S_IMODE(os.stat(sys.argv[1]).st_mode)))
shutil.copy({str(tmp_path / 'new.txt')!r}, sys.argv[1])
""", encoding="utf-8")
    script.chmod(0o700)
    monkeypatch.setenv("EDITOR", str(script))
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setattr("deskconsole.cli.editor.can_edit", lambda: True)
    set_text("")
    set_text.seen = seen  # type: ignore[attr-defined]
    return set_text


def test_write_publish_find_and_retire(cli):
    assert cli.ok("kb", "new", "VPN drops every hour", "--body", "Reinstall the profile.\n\nThen reboot.",
                  "--tags", "vpn,macos", "--service", "vpn", user="al").out == "KB-1 written (draft)\n"
    cli.ok("kb", "new", "Printer jams", "--body", "Open tray 2.", user="al")
    shown = cli.ok("kb", "show", "KB-1", "--format", "json").json()
    assert (shown["state"], shown["tags"], shown["service"], shown["owner"]) == ("draft", ["vpn", "macos"], "vpn", "al")
    assert cli.fails(4, "kb", "publish", "KB-1", user="al").err.startswith(
        "deskconsole: al is an agent on this desk and cannot publish, retire or revive knowledge articles")
    assert cli.ok("kb", "publish", "KB-1", user="lee").out == "KB-1 published (version 2)\n"
    found = cli.ok("kb", "search", "vpn", "reboot", "--format", "json", user="vic").json()
    assert [r["key"] for r in found] == ["KB-1"]
    assert cli.ok("kb", "search", "printer", user="vic").err.startswith("no articles match")
    assert [r["key"] for r in cli.ok("kb", "search", "printer", "--state", "all", "--format", "json").json()] == ["KB-2"]
    listed = cli.ok("kb", "ls", "--format", "csv").out
    rows = list(csv.DictReader(io.StringIO(listed)))
    assert [(r["key"], r["state"], r["used"]) for r in rows] == [("KB-1", "published", "0"), ("KB-2", "draft", "0")]
    table = cli.ok("kb", "ls").out
    assert table.splitlines()[0].split() == ["KEY", "STATE", "SERVICE", "OWNER", "USED", "CHANGED", "TITLE"]
    text = cli.ok("kb", "show", "KB-1").out
    assert "KB-1  VPN drops every hour" in text and "Used      to resolve 0 tickets" in text
    assert text.rstrip().endswith("Reinstall the profile.\n\nThen reboot.")
    assert cli.ok("kb", "retire", "KB-1", "--expect-version", "2", user="lee").out == "KB-1 retired (version 3)\n"
    cli.fails(1, "kb", "retire", "KB-1", user="lee")
    assert cli.ok("kb", "revive", "KB-1", user="lee").out.startswith("KB-1 revived as a draft")


def test_edit_versions_and_history(cli):
    cli.ok("kb", "new", "Old title", "--body", "one", user="al")
    assert cli.ok("kb", "edit", "KB-1", "--body", "two", user="nia").out == "KB-1 saved (version 2, text version 2)\n"
    assert cli.ok("kb", "edit", "KB-1", "--title", "New title", "--body", "-", stdin="three\n", user="al").out == \
        "KB-1 saved (version 3, text version 3)\n"
    assert cli.ok("kb", "edit", "KB-1", "--title", "New title", user="al").err == "KB-1: nothing to change\n"
    cli.fails(3, "kb", "edit", "KB-1", "--body", "late", "--expect-version", "1", user="al")
    old = cli.ok("kb", "show", "KB-1", "--version", "1", "--format", "json").json()
    assert (old["title"], old["body"], old["shown_version"]) == ("Old title", "one", 1)
    assert "(version 2 of 3, by nia" in cli.ok("kb", "show", "KB-1", "--version", "2").out
    cli.fails(1, "kb", "show", "KB-1", "--version", "9")
    history = cli.ok("kb", "history", "KB-1", "--format", "json").json()
    assert [(v["number"], v["author"], v["body"]) for v in history["versions"]] == [
        (1, "al", "one"), (2, "nia", "two"), (3, "al", "three\n")]
    assert ("al", "kb_edit", "title", "Old title", "New title") in [
        (c["actor"], c["action"], c["field"], c["old"], c["new"]) for c in history["changes"]]
    text = cli.ok("kb", "history", "KB-1").out
    assert "KB-1: versions" in text and "changes" in text and "Old title -> New title" in text


def test_reply_citing_an_article_counts_its_use(cli):
    cli.ok("kb", "new", "VPN drops", "--body", "# VPN\n\nReinstall the profile.\n\nMore.", user="al")
    key = cli.new("VPN down", user="al")
    cli.fails(1, "reply", key, "--kb", "KB-1", user="al")  # a draft is not cited
    cli.ok("kb", "publish", "KB-1", user="lee")
    assert cli.ok("reply", key, "Try this:", "--kb", "kb-1", user="al").out == \
        "INC-1 replied citing KB-1 (version 2)\n"
    entries = cli.show(key)["entries"]
    assert entries[-1]["body"] == "Try this:\n\nKB-1: VPN drops\nReinstall the profile."
    cli.ok("reply", key, "--kb", "KB-1", "--key-only", user="al")
    assert cli.show(key)["entries"][-1]["body"] == "KB-1"
    cli.fails(1, "reply", key, user="al")  # no text and no article
    cli.fails(4, "reply", key, "hi", "--kb", "KB-1", user="vic")
    cli.ok("resolve", key, "fixed", user="al")
    assert cli.ok("kb", "show", "KB-1", "--format", "json").json()["used"] == 1
    assert [s["key"] for s in cli.ok("kb", "suggest", key, "--format", "json").json()] == ["KB-1"]
    report = cli.ok("report", "--format", "json").json()
    assert report["knowledge"]["published"] == 1
    assert report["knowledge"]["top"] == [{"key": "KB-1", "title": "VPN drops", "used": 1}]
    assert "Knowledge" in cli.ok("report").out


def test_new_from_a_resolved_ticket(cli, editor):
    key = cli.new("Mail bounces", "--service", "mail", "-d", "Mail to partners bounces", user="al")
    cli.ok("reply", key, "Relay restarted", user="al")
    cli.ok("resolve", key, "fixed", "Restarted the relay", user="al")
    editor("## Problem\n\nEdited in the editor\n")
    assert cli.ok("kb", "new", "--from", key, "--tags", "mail", user="al").out == "KB-1 written (draft) from INC-1\n"
    given = editor.seen.read_text(encoding="utf-8")
    assert given.startswith("## Problem\n\nMail to partners bounces\n\n## Resolution\n\nRestarted the relay")
    assert "Relay restarted" in given
    assert editor.seen.with_name("seen.txt.mode").read_text() == "0o600"  # a private file
    a = cli.ok("kb", "show", "KB-1", "--format", "json").json()
    assert (a["title"], a["service"], a["body"], a["sources"]) == (
        "Mail bounces", "mail", "## Problem\n\nEdited in the editor\n", ["INC-1"])


def test_the_editor_writes_the_body_when_none_is_given(cli, editor):
    editor("# Fresh\n\nWritten in the editor\n")
    cli.ok("kb", "new", "Fresh", user="al")
    assert cli.ok("kb", "show", "KB-1", "--format", "json").json()["body"] == "# Fresh\n\nWritten in the editor\n"
    editor("Changed in the editor\n")
    cli.ok("kb", "edit", "KB-1", user="al")
    assert editor.seen.read_text(encoding="utf-8") == "# Fresh\n\nWritten in the editor\n"
    assert cli.ok("kb", "show", "KB-1", "--format", "json").json()["text_version"] == 2


def test_no_terminal_no_editor_and_clear_errors(cli, tmp_path):
    err = cli.fails(1, "kb", "new", "No body here", user="al").err
    assert "give --body TEXT, --body - (standard input) or --body-file FILE" in err
    cli.fails(1, "kb", "new", user="al")  # no title
    body = tmp_path / "body.md"
    body.write_bytes(b"caf\xe9")
    assert "not valid UTF-8" in cli.fails(1, "kb", "new", "T", "--body-file", str(body), user="al").err
    cli.fails(1, "kb", "new", "T", "--body-file", str(tmp_path / "missing.md"), user="al")
    cli.fails(4, "kb", "new", "T", "--body", "x", user="vic")
    cli.fails(1, "kb", "show", "INC-3")
    cli.fails(1, "kb", "show", "KB-77")
    cli.fails(1, "kb", "ls", "--state", "gone")
    cli.fails(1, "kb", "new", "T", "--body", "x", "--review", "someday", user="al")
    cli.fails(2, "kb")


def test_hostile_text_is_escaped_on_a_terminal_and_kept_in_json(cli):
    hostile = "VPN \x1b[31mRED\x07 [bold]x[/bold] \u202eevil"
    cli.ok("kb", "new", hostile, "--body", "body \x1b]0;title\x07 text", user="al")
    data = cli.ok("kb", "show", "KB-1", "--format", "json").json()
    assert data["title"] == hostile
    table = cli.ok("kb", "ls").out
    assert "\x1b" not in table and "\\x1b[31mRED" in table
    for words in ('"', "NEAR(", "title:x", "'; DROP TABLE article; --", "*"):
        assert cli("kb", "search", words).code == 0
    assert json.loads(cli.ok("kb", "search", "*", "--format", "json").out) == []


def test_kb_help_lists_the_subcommands(cli):
    out = cli.ok("kb", "--help", desk=False).out
    for word in ("new", "edit", "show", "ls", "search", "history", "publish", "retire", "revive", "suggest"):
        assert word in out
    assert stat.S_IMODE(0o600) == 0o600
