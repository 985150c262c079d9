"""End to end in a real terminal: ``deskconsole wallboard`` in tmux at 80x24,
with and without colour: the figures show, the keys turn and pause the
pages, ``?`` opens help, ``q`` quits. Skipped, with the reason, without tmux."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from deskconsole.config import parse_config
from deskconsole.core.records import tickets
from deskconsole.core.desk import open_desk

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("tmux") is None,
                                                   reason="tmux is not installed (apt-get install tmux)")]


class Tmux:
    def __init__(self, env: dict[str, str]) -> None:
        self.socket = f"wb-{uuid.uuid4().hex[:8]}"
        self.env = env

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", self.socket, *args], env=self.env, capture_output=True, text=True,
                              timeout=20)

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "board").stdout

    def wait_for(self, predicate, what: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.screen()
            if predicate(text):
                return text
            time.sleep(0.1)
        raise AssertionError(f"{what} never showed; the screen was:\n{self.screen()}")


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "no-colour"])
def test_the_board_in_tmux(tmp_path, db_url, board_text, actors, no_color):
    config = tmp_path / "config.toml"
    config.write_text(board_text, encoding="utf-8")
    url = db_url
    desk = open_desk(url, parse_config(board_text, config))
    tickets.create(desk, actors["al"], title="Checkout returns 502", priority="P1")
    tickets.create(desk, actors["nia"], title="VPN drops", priority="P2", team="network")
    desk.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESKCONSOLE_", "TEXTUAL", "TMUX"))}
    env.update(TERM="xterm-256color", XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "c"),
               XDG_DATA_HOME=str(tmp_path / "d"))
    env.pop("NO_COLOR", None)
    if no_color:
        env["NO_COLOR"] = "1"
    command = shlex.join([sys.executable, "-m", "deskconsole", "--config", str(config), "--db", url, "wallboard",
                          "--rotate", "0", "--no-sweep"])
    tmux = Tmux(env)
    tmux("new-session", "-d", "-s", "board", "-x", "80", "-y", "24", f"{command}; echo BOARD-EXIT $?; sleep 30")
    try:
        text = tmux.wait_for(lambda t: "MTTR TODAY" in t and "INC-1" in t and "q Quit" in t, "the figures")
        assert "Test desk · Overview (1/5)" in text and "P1 OPEN" in text and "data as of" in text
        tmux("send-keys", "-t", "board", "n")
        tmux.wait_for(lambda t: "Operations (2/5)" in t, "the second page")
        tmux("send-keys", "-t", "board", "?")
        tmux.wait_for(lambda t: "Wallboard keys" in t, "the help")
        tmux("send-keys", "-t", "board", "Escape")
        tmux.wait_for(lambda t: "Wallboard keys" not in t, "the help closing")
        tmux("send-keys", "-t", "board", "q")
        tmux.wait_for(lambda t: "BOARD-EXIT 0" in t, "the board quitting")
    finally:
        tmux("kill-server")
