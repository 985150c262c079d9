"""``deskconsole batch``: many commands in one process on one open desk, one
JSON result a line — on a real desk of each backend, in-process (acting as
the login a call names) and through a real child process's pipe (acting as
the real user running the tests)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TEST_CONFIG
from desk_env import LOGIN_VARS, REAL_LOGIN, child_env, with_real_admin
from deskconsole.cli import context
from deskconsole.cli.main import main
from deskconsole.config import load_config
from deskconsole.core.desk import open_desk
from deskconsole.db import connect

COUNTED = ("ticket", "entry", "audit_event", "feed")


class Batch:
    """``run(text, *options, user=)`` -> (exit code, results, stderr)."""

    def __init__(self, capsys, monkeypatch, config: Path, url: str):
        self.capsys, self.monkeypatch, self.config, self.url = capsys, monkeypatch, config, url

    def run(self, text: str, *options: str, user: str = "ada"):
        for var in LOGIN_VARS:  # the environment never decides who acts
            self.monkeypatch.setenv(var, "mallory")
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(text))
        self.capsys.readouterr()
        code = main(["--config", str(self.config), "--db", self.url, "batch", *options], login=user)
        out, err = self.capsys.readouterr()
        assert "Traceback" not in err, err
        return code, [json.loads(line) for line in out.splitlines()], err

    def counts(self) -> dict[str, int]:
        db = connect(self.url, create=False)
        try:
            return {t: db.execute_sql(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in COUNTED}
        finally:
            db.close()

    def show(self, key: str) -> dict:
        code, results, _ = self.run(f"show {key} --format json\n")
        assert code == 0, results
        return json.loads(results[0]["out"])


@pytest.fixture
def batch(tmp_path, monkeypatch, capsys, write_config, db_url):
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.delenv("DESKCONSOLE_CONFIG", raising=False)
    monkeypatch.delenv("DESKCONSOLE_DB", raising=False)
    config = write_config(with_real_admin(TEST_CONFIG))
    open_desk(db_url, load_config(config)).close()  # the desk exists: batch never creates one
    return Batch(capsys, monkeypatch, config, db_url)


def test_lines_run_in_order_with_their_output(batch):
    text = ('new "Printer on fire" --priority P2\n'
            "\n"
            "# a comment line\n"
            "   # an indented one\n"
            "new 'Second one'\n"
            "take INC-1\n"
            'note INC-1 "see #42, it is the same"\n'
            "triage INC-2 --priority P1\n"
            "ls is:open -prio:P1 --format json\n")
    code, results, err = batch.run(text)
    assert code == 0, results
    assert err == ""
    assert [r["line"] for r in results] == [1, 5, 6, 7, 8, 9]  # numbered as in the input
    assert all(r["ok"] for r in results), results
    assert [r["out"] for r in results[:5]] == [
        "INC-1\n", "INC-2\n", "INC-1 taken by ada (version 2)\n", "INC-1 noted (version 3)\n",
        "INC-2 triaged (version 2)\n",
    ]
    assert [t["key"] for t in json.loads(results[5]["out"])] == ["INC-1"]  # the negated term, as the CLI takes it
    t = batch.show("INC-1")
    assert (t["assignee"], t["priority"], t["version"]) == ("ada", "P2", 3)
    assert t["entries"][-1]["body"] == "see #42, it is the same"  # a # inside a line is text
    assert [a["actor"] for a in t["audit"]] == ["ada"] * len(t["audit"])


def test_an_error_line_says_why_and_the_others_still_run(batch):
    batch.run("new One\nnew Two\n")
    code, results, _ = batch.run("take INC-404\n"
                                 "note INC-1 late --expect-version 7\n"
                                 "status INC-2 closed\n"
                                 "ack INC-2\n"
                                 "frobnicate INC-2\n"
                                 "take\n")
    assert code == 1
    assert results[0] == {"line": 1, "ok": False, "code": 1,
                          "error": "INC-404 does not exist; 'deskconsole ls' lists tickets"}
    assert results[1]["code"] == 3 and "INC-1" in results[1]["error"]  # a conflict keeps its exit code
    assert results[2]["code"] == 1 and "cannot go from new to closed" in results[2]["error"]
    assert results[3] == {"line": 4, "ok": True, "out": "INC-2 acknowledged (version 2)\n"}
    assert results[4]["code"] == 2 and "invalid choice: 'frobnicate'" in results[4]["error"]
    assert results[5] == {"line": 6, "ok": False, "code": 2,
                          "error": "take: the following arguments are required: key"}
    assert batch.show("INC-1")["version"] == 1


def test_stop_on_error_stops_at_the_first_failed_line(batch):
    code, results, _ = batch.run("new One\ntake INC-9\nnew Two\nnew Three\n", "--stop-on-error")
    assert code == 1
    assert [(r["line"], r["ok"]) for r in results] == [(1, True), (2, False)]
    assert batch.counts()["ticket"] == 1  # the lines after it never ran
    code, results, _ = batch.run("new Two\nnew Three\n", "--stop-on-error")
    assert code == 0 and len(results) == 2


def test_atomic_success_commits_every_line(batch):
    before = batch.counts()
    code, results, err = batch.run("new One\nnew Two\ntake INC-1\nnote INC-2 hello\nshow INC-2\n", "--atomic")
    assert (code, err) == (0, "")
    assert all(r["ok"] for r in results) and len(results) == 5
    assert "hello" in results[4]["out"]  # a line reads what the lines before it wrote
    after = batch.counts()
    assert after["ticket"] == before["ticket"] + 2
    assert after["entry"] == before["entry"] + 1
    assert after["audit_event"] > before["audit_event"] and after["feed"] > before["feed"]
    assert batch.show("INC-1")["assignee"] == "ada"


def test_atomic_failure_keeps_nothing(batch):
    batch.run("new Kept\n")
    before = batch.counts()
    code, results, err = batch.run("new One\ntake INC-1\nnote INC-1 gone\nreply INC-9 nope\nnew Never\n", "--atomic")
    assert code == 1
    assert [r["ok"] for r in results] == [True, True, True, False]  # it stopped at the failed line
    assert results[3]["line"] == 4 and "INC-9 does not exist" in results[3]["error"]
    assert "line 4 failed" in err and "nothing the batch did was kept" in err and err.count("\n") == 1
    assert batch.counts() == before  # tickets, conversation, audit and feed rows alike
    t = batch.show("INC-1")
    assert (t["title"], t["assignee"], t["version"], t["entries"]) == ("Kept", None, 1, [])


def test_refused_commands_say_why(batch, tmp_path):
    lines = ["batch", "console", "wallboard", "daemon", "demo --no-console", "init --force",
             f"restore {tmp_path / 'x.db'} --yes"]
    code, results, _ = batch.run("\n".join(lines) + "\nnew Still\n")
    assert code == 1
    for line, result in zip(lines, results):
        name = line.split()[0]
        assert result["ok"] is False and result["code"] == 2, result
        assert result["error"].startswith(f"{name} cannot run in a batch: "), result
        assert "on its own" in result["error"] or "another batch" in result["error"]
    assert results[-1]["ok"] is True
    assert batch.counts()["ticket"] == 1
    assert not (tmp_path / "xdg_config_home" / "deskconsole" / "config.toml").exists()  # init wrote nothing
    code, results, _ = batch.run(f"backup {tmp_path / 'b.db'}\n", "--atomic")
    assert code == 1 and results[0]["error"].startswith("backup cannot run in a batch: ")
    assert not (tmp_path / "b.db").exists()


def test_a_line_may_not_switch_identity_or_desk(batch, tmp_path):
    other = tmp_path / "other.db"
    lines = ["new Evil --as lee", "--as lee new Evil", "new Evil --as=lee", f"new Evil --db sqlite:///{other}",
             f"new Evil --config {tmp_path / 'x.toml'}", f"new Evil --conf {tmp_path / 'x.toml'}"]
    code, results, _ = batch.run("\n".join(lines) + "\n")
    assert code == 1
    for result in results:
        assert result["code"] == 2 and "not for a line" in result["error"], result
        assert "every line acts as ada on the batch's desk" in result["error"]
    assert batch.counts()["ticket"] == 0 and not other.exists()
    # --as on the batch itself applies to every line (an admin acting for someone; audited)
    code, results, _ = batch.run("new Theirs\ntake INC-1\n", "--as", "al")
    assert code == 0, results
    t = batch.show("INC-1")
    assert (t["created_by"], t["assignee"]) == ("al", "al")
    assert {(a["actor"], a["via"]) for a in t["audit"]} == {("al", "ada")}


def test_a_viewers_batch_is_refused_line_by_line(batch):
    batch.run("new Seen\n")
    code, results, _ = batch.run("show INC-1\ntake INC-1\nnote INC-1 hi\nls --format json\n", user="vic")
    assert code == 1
    assert [(r["ok"], r.get("code")) for r in results] == [(True, None), (False, 4), (False, 4), (True, None)]
    assert results[1]["error"].startswith("vic is a viewer")
    assert batch.show("INC-1")["version"] == 1


def test_bad_lines_are_their_own_errors(batch, tmp_path):
    batch.run("new One\n")
    path = tmp_path / "cmds.txt"
    path.write_bytes(b"\xef\xbb\xbfnote INC-1 'unclosed\nnote INC-1 caf\xe9\nnote INC-1 -\n"
                     b"note INC-1 'caf\xc3\xa9 \\x1b' --expect-version 1\n")
    code, results, err = batch.run("", str(path))
    assert code == 1 and err == ""
    assert results[0] == {"line": 1, "ok": False, "code": 2,
                          "error": "cannot split the line into words: No closing quotation"}
    assert results[1]["code"] == 1 and "not valid UTF-8 on this line (its byte 15)" in results[1]["error"]
    assert results[2]["error"] == "a batch line cannot read standard input ('-'): put the text on the line, quoted"
    assert results[3] == {"line": 4, "ok": True, "out": "INC-1 noted (version 2)\n"}
    assert batch.show("INC-1")["entries"][0]["body"] == "café \\x1b"


def test_hostile_output_stays_on_its_json_line(batch):
    code, results, _ = batch.run("new 'Hostile \x1b[31mred\x07 \u202eevil'\nls\nshow INC-1\n")
    assert code == 0, results
    assert "\x1b" not in results[1]["out"] and "\\x1b[31mred" in results[1]["out"]  # escaped as the CLI does
    assert "\x1b" not in results[2]["out"]


def test_a_missing_file_or_desk_is_one_line(batch, tmp_path, capsys):
    code, results, err = batch.run("", str(tmp_path / "nope.txt"))
    assert (code, results) == (1, [])
    assert err.startswith("deskconsole: cannot read ") and "nope.txt" in err and err.count("\n") == 1
    code = main(["--config", str(batch.config), "--db", f"sqlite:///{tmp_path / 'none.db'}", "batch"], login="ada")
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and err.startswith("deskconsole: ") and err.count("\n") == 1
    assert not (tmp_path / "none.db").exists()


def test_every_line_shares_the_batch_desk(batch, monkeypatch):
    opened = []
    real = context.open_desk

    def counting(*args, **kw):
        desk = real(*args, **kw)
        opened.append(desk)
        return desk

    monkeypatch.setattr(context, "open_desk", counting)
    code, results, _ = batch.run("new One\n" + "note INC-1 again\n" * 30 + "show INC-1\n")
    assert code == 0 and len(results) == 32
    assert len(opened) == 1  # one desk, one connection, for all 32 lines


def test_a_child_process_reads_its_lines_from_a_pipe(tmp_path, write_config, db_url):
    config = write_config(with_real_admin(TEST_CONFIG))
    open_desk(db_url, load_config(config)).close()
    base = [sys.executable, "-m", "deskconsole", "--config", str(config), "--db", db_url]

    def run(*argv, stdin):
        proc = subprocess.run([*base, *argv], input=stdin, capture_output=True, env=child_env(tmp_path),
                              timeout=60, cwd=tmp_path)
        assert b"Traceback" not in proc.stderr, proc.stderr
        return proc.returncode, [json.loads(line) for line in proc.stdout.decode().splitlines()], proc.stderr

    code, results, err = run("batch", "-", stdin=(
        "new 'Piped in' -p P2\n"
        "note INC-1 -\n"  # standard input is the batch's, not the line's
        "note INC-1 'caf\u00e9'\n"
        "take INC-1 --as al\n"
        "show INC-1 --format json\n").encode())
    assert code == 1 and err == b""
    assert [r["ok"] for r in results] == [True, False, True, False, True]
    assert results[1]["error"].startswith("a batch line cannot read standard input")
    assert f"every line acts as {REAL_LOGIN}" in results[3]["error"]
    t = json.loads(results[4]["out"])
    assert (t["title"], t["created_by"], t["version"]) == ("Piped in", REAL_LOGIN, 2)
    assert [e["body"] for e in t["entries"]] == ["café"]

    code, results, _ = run("--as", "vic", "batch", "--stop-on-error", stdin=b"show INC-1\ntake INC-1\nack INC-1\n")
    assert code == 1
    assert [(r["ok"], r.get("code")) for r in results] == [(True, None), (False, 4)]


def test_an_atomic_batch_whose_reader_goes_away_keeps_nothing(tmp_path, write_config, db_url):
    """What the reader never saw was never committed: a closed pipe rolls the batch back."""
    config = write_config(with_real_admin(TEST_CONFIG))
    open_desk(db_url, load_config(config)).close()
    proc = subprocess.Popen([sys.executable, "-m", "deskconsole", "--config", str(config), "--db", db_url, "batch",
                             "--atomic"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=child_env(tmp_path), cwd=tmp_path)
    proc.stdout.close()  # before the first result is written
    _, err = proc.communicate(b"new One\nnew Two\n", timeout=60)
    assert proc.returncode == 1
    assert err.decode() == "deskconsole: the results' reader closed its end; --atomic: nothing the batch did was kept\n"
    db = connect(db_url, create=False)
    try:
        assert db.execute_sql("SELECT COUNT(*) FROM ticket").fetchone()[0] == 0
    finally:
        db.close()
