"""End to end in a real terminal: the ``deskconsole`` command in tmux at
80x24, driven with ``send-keys`` and read back with ``capture-pane``.

This is the one test that sees what a user on an SSH session sees: the real
entry point (``python -m deskconsole``), the real terminal driver (Textual
writes to the terminal through stderr, so the command's stderr is never
redirected), the identity from the OS login, and the real exit.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from desk_env import REAL_LOGIN, with_real_admin
from deskconsole.config import parse_config
from deskconsole.core.records import tickets
from deskconsole.core.desk import open_desk
from deskconsole.core.identity import actor_for

pytestmark = pytest.mark.slow

TMUX = shutil.which("tmux")
ADMIN = REAL_LOGIN  # the console runs as the real login, made an admin of the test config
TITLES = ["Checkout returns 502", "VPN drops every ten minutes", "Printer on floor 3 jams", "Mailbox quota warnings"]


class Tmux:
    """A private tmux server (its own socket name), one 80x24 window."""

    def __init__(self, env: dict[str, str]) -> None:
        self.socket = f"deskconsole-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.socket_path: str | None = None
        self.env = env

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([TMUX, "-L", self.socket, *args], env=self.env, capture_output=True, text=True,
                              timeout=30, check=check)

    def start(self, command: str) -> None:
        self("-f", os.devnull, "new-session", "-d", "-x", "80", "-y", "24", "-s", "desk", command)
        self.socket_path = self("display-message", "-p", "#{socket_path}").stdout.strip() or None

    def screen(self, *, escapes: bool = False) -> str:
        """The pane's text (with ``escapes``: and its attributes as SGR sequences)."""
        return self("capture-pane", "-p", *(["-e"] if escapes else []), "-t", "desk").stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        self("send-keys", "-t", "desk", *(["-l"] if literal else []), *keys)

    def wait_for(self, predicate, what: str, timeout: float = 15.0) -> str:
        """Poll the screen until ``predicate(screen)``; fail with the last screen."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.1)
        pytest.fail(f"waited {timeout:.0f} s for {what}; the terminal shows:\n{screen}", pytrace=False)

    def kill(self) -> None:
        self("kill-server", check=False)
        if self.socket_path:  # tmux leaves its socket file behind
            with contextlib.suppress(OSError):
                os.unlink(self.socket_path)


def total(screen: str) -> int | None:
    match = re.search(r"· ([\d,]+) tickets ·", screen)
    return int(match.group(1).replace(",", "")) if match else None


def detail_key(screen: str) -> str | None:
    """The key in the detail pane's title line (``│ INC-3  Checkout ...``)."""
    match = re.search(r"│ (INC-\d+)  \S", screen)
    return match.group(1) if match else None


QUEUE_ROW = re.compile(r"│[ ●](INC-\d+) +P[1-4] ")  # a queue row, not the detail title


def queue_keys(screen: str) -> list[str]:
    return [m.group(1) for line in screen.splitlines() if (m := QUEUE_ROW.match(line))]


def turns_reverse_on(line: str) -> bool:
    """Whether an SGR sequence in ``line`` switches reverse video on (7),
    skipping the arguments of 38/48/58 colours (``38;5;7`` is a colour)."""
    for match in re.finditer(r"\x1b\[([\d;]*)m", line):
        params = [int(p) if p else 0 for p in match.group(1).split(";")]
        i = 0
        while i < len(params):
            if params[i] in (38, 48, 58):
                i += 3 if i + 1 < len(params) and params[i + 1] == 5 else 5
                continue
            if params[i] == 7:
                return True
            i += 1
    return False


def reversed_keys(tmux: Tmux) -> list[str]:
    """The queue rows the real terminal shows in reverse video (the cursor)."""
    plain = re.compile(r"\x1b\[[\d;]*m")
    return [m.group(1) for line in tmux.screen(escapes=True).splitlines()
            if (m := QUEUE_ROW.match(plain.sub("", line))) and turns_reverse_on(line)]


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed (this test runs the console in a real terminal)")
def test_console_in_a_real_terminal(tmp_path, write_config, ui_text, db_url):
    # a desk with a few tickets, built before the console starts
    ui_text = with_real_admin(ui_text)
    path = write_config(ui_text)
    config = parse_config(ui_text, path)
    desk = open_desk(db_url, config)  # the system clock: the console runs on it too
    ada = actor_for(desk, ADMIN)
    try:
        for title, prio in zip(TITLES, ("P1", "P2", "P3", "P3")):
            tickets.create(desk, ada, title=title, priority=prio)
    finally:
        desk.close()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TMUX", "PYTHON", "NO_COLOR", "TEXTUAL", "DESKCONSOLE"))}
    env["TERM"] = "xterm-256color"  # for tmux itself; the pane gets its own below
    tmux = Tmux(env)
    settings = {
        "USER": "mallory", "LOGNAME": "mallory", "TERM": "xterm-256color",  # never who acts
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"), "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "XDG_STATE_HOME": str(tmp_path / "xdg-state"), "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
        "DESKCONSOLE_LOG": str(tmp_path / "console.log"),
    }
    console = [sys.executable, "-m", "deskconsole", "--db", db_url, "--config", str(path)]
    # stderr stays on the terminal: that is where Textual draws
    command = (f"cd {shlex.quote(str(tmp_path))} && env -u TMUX -u NO_COLOR "
               + " ".join(f"{k}={shlex.quote(v)}" for k, v in settings.items()) + " "
               + " ".join(shlex.quote(a) for a in console)
               + "; echo EXITED $?; sleep 120")
    try:
        tmux.start(command)

        # the queue shows, with the most urgent ticket (the P1) first; at 80x24 it has the
        # screen to itself (the detail and the timers are a keystroke away)
        screen = tmux.wait_for(lambda s: "Checkout returns 502" in s and len(queue_keys(s)) == 4
                               and "/ Filter" in s, "the queue and the footer")  # the rows may come first
        assert f"{ADMIN} (admin)" in screen and total(screen) == 4
        assert "KEY" in screen and "SLA" in screen and "/ Filter" in screen, screen
        lines = screen.splitlines()
        assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
        order = queue_keys(screen)
        assert order == ["INC-1", "INC-2", "INC-3", "INC-4"], screen  # the P1 first (soonest deadline)
        assert reversed_keys(tmux) == ["INC-1"]  # the cursor row, in reverse video
        header = next(y for y, line in enumerate(lines) if line.startswith("│KEY "))
        bottom = next(y for y in range(header, len(lines)) if lines[y].startswith("╰"))
        assert bottom - header - 1 >= 14 and detail_key(screen) is None, screen  # room for 14+ tickets

        # enter: the detail (and the SLA timers) of the ticket under the cursor, in the queue's place
        tmux.keys("Enter")
        screen = tmux.wait_for(lambda s: detail_key(s) == "INC-1" and "SLA INC-1" in s, "the detail to open")
        assert queue_keys(screen) == []

        # j: the cursor moves and the detail pane follows it
        tmux.keys("j")
        screen = tmux.wait_for(lambda s: detail_key(s) == "INC-2", "the detail pane to follow j")
        assert "VPN drops every ten minutes" in screen and "SLA INC-2" in screen

        # esc: the queue again, the cursor on the ticket j moved to
        tmux.keys("Escape")
        screen = tmux.wait_for(lambda s: queue_keys(s) == order, "the queue to come back")
        assert detail_key(screen) is None
        assert reversed_keys(tmux) == ["INC-2"]

        # /: the filter bar; a query changes the total live
        tmux.keys("/")
        tmux.wait_for(lambda s: any(line.strip() == "is:open" for line in s.splitlines()),
                      "the filter bar, holding the current filter")
        tmux.keys("C-u")  # clear what the bar holds (the current filter)
        tmux.wait_for(lambda s: "query, e.g." in s, "the filter bar to be empty (its placeholder shown)")
        tmux.keys("prio:P1", literal=True)
        tmux.wait_for(lambda s: any(line.strip() == "prio:P1" for line in s.splitlines()), "the bar to hold prio:P1")
        # (the total comes first, the rows a moment later: wait for the rows)
        screen = tmux.wait_for(lambda s: total(s) == 1 and queue_keys(s) == ["INC-1"],
                               "the total and the queue to follow the filter")
        assert "Checkout returns 502" in screen and "VPN drops" not in screen
        tmux.keys("Enter")
        screen = tmux.wait_for(lambda s: "filter: prio:P1" in s, "the filter to be kept")
        tmux.keys("Enter")  # and the detail follows the filter
        tmux.wait_for(lambda s: detail_key(s) == "INC-1", "the detail of the one ticket left")
        tmux.keys("Escape")
        tmux.wait_for(lambda s: queue_keys(s) == ["INC-1"], "the queue to come back")

        # ?: the help screen; esc closes it
        tmux.keys("?")
        # (a help screen is painted over a few frames: wait for all of it, not its title)
        screen = tmux.wait_for(lambda s: "deskconsole keys" in s and "esc/q/? close" in s, "the help screen")
        assert re.search(r"│ / +Filter", screen) and re.search(r"\bt +Take", screen), screen
        assert re.search(r"│ ⏎ +Open detail", screen), screen  # the key that opens the detail at this size
        assert "esc/q/? close" in screen
        tmux.keys("Escape")
        tmux.wait_for(lambda s: "deskconsole keys" not in s and total(s) == 1, "the help screen to close")

        # q: the console exits cleanly and gives the terminal back
        tmux.keys("q")
        screen = tmux.wait_for(lambda s: "EXITED" in s, "the console to exit")
        assert "EXITED 0" in screen, screen
        assert "Traceback" not in screen
    finally:
        tmux.kill()
