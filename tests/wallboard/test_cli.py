"""``deskconsole wallboard`` on the command line: what it refuses, and how it
says what to do instead (never a traceback)."""

from __future__ import annotations

import pytest

from deskconsole.cli.main import main
from deskconsole.cli.wallboard import is_loopback, parse_web
from deskconsole.config import parse_config
from deskconsole.core.desk import open_desk


@pytest.fixture
def run(tmp_path, db_url, write_config, board_text, monkeypatch, capsys):
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.delenv("DESKCONSOLE_CONFIG", raising=False)
    monkeypatch.delenv("DESKCONSOLE_DB", raising=False)
    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    monkeypatch.delenv("DESKCONSOLE_FORCE_CONSOLE", raising=False)
    config = write_config(board_text)
    db = db_url
    open_desk(db, parse_config(board_text, str(config))).close()  # the desk exists; the board only reads it

    def call(*argv):
        capsys.readouterr()
        try:
            code = main(["--config", str(config), "--db", db, "wallboard", *argv])
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return code, err

    return call


def test_needs_a_terminal_and_says_how_to_use_a_browser_instead(run):
    code, err = run()
    assert code == 2 and "needs a terminal" in err and "--web HOST:PORT" in err


def test_an_unknown_team_names_the_teams(run):
    code, err = run("--team", "nope")
    assert code == 1 and "'nope' is not a team" in err and "network, ops" in err


def test_a_bad_query_marks_the_term(run):
    code, err = run("--query", "stauts:new")
    assert code == 1 and "stauts" in err and "status" in err


def test_rotation_too_fast_to_read_is_refused(run):
    code, err = run("--rotate", "1")
    assert code == 2 and "at least 3 seconds" in err and "0 for no rotation" in err


def test_web_stays_on_loopback_unless_told(run):
    code, err = run("--web", "0.0.0.0:8099")
    assert code == 2 and "--web-public" in err and "127.0.0.1" in err
    code, err = run("--web", "somewhere")
    assert code == 2 and "expected HOST:PORT or PORT" in err


def test_web_addresses():
    assert parse_web("8080") == ("127.0.0.1", 8080)
    assert parse_web(":8080") == ("127.0.0.1", 8080)
    assert parse_web("127.0.0.1:9000") == ("127.0.0.1", 9000)
    assert parse_web("[::1]:9000") == ("::1", 9000)
    with pytest.raises(ValueError):
        parse_web("127.0.0.1:99999")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.3.4.5")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20") and not is_loopback("tv.example.com")
