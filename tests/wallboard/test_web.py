"""``deskconsole wallboard --web``, end to end: the real command serves the
board with textual-serve on a loopback port, a headless Chromium loads the
page, runs its terminal (xterm.js) and connects the websocket, and the
board's figures arrive and show. Skipped, with the reason, where Chromium or
textual-serve is not installed.

What the browser received is read through the DevTools protocol: a script
added before the page loads keeps a copy of every websocket message (the
terminal output the page writes into xterm.js), and the test replays it on
a small screen model to find the figures where the board drew them.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deskconsole.core.desk import open_desk
from deskconsole.config import parse_config

pytestmark = pytest.mark.slow

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]

CAPTURE = """
window.__board = "";
(() => {
  const Real = window.WebSocket;
  const decoder = new TextDecoder("utf-8");
  window.WebSocket = function (...args) {
    const ws = new Real(...args);
    ws.addEventListener("message", (event) => {
      if (event.data instanceof ArrayBuffer) {
        window.__board += decoder.decode(new Uint8Array(event.data), {stream: true});
      } else if (event.data instanceof Blob) {
        event.data.arrayBuffer().then((b) => { window.__board += decoder.decode(new Uint8Array(b), {stream: true}); });
      }
    });
    return ws;
  };
  window.WebSocket.prototype = Real.prototype;
  Object.assign(window.WebSocket, Real);
})();
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the web board exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered on 127.0.0.1:{port} within {timeout} s")


class ScreenModel:
    """Just enough of a terminal to read back what Textual drew: cursor
    positioning (CSI row;col H), text, and everything else ignored."""

    SEQ = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[P_^X][^\x1b]*\x1b\\|[()*+#][ -~]|.)")

    def __init__(self, cols: int = 300, rows: int = 100) -> None:
        self.cols, self.rows = cols, rows
        self.cells = [[" "] * cols for _ in range(rows)]
        self.r = self.c = 0

    def feed(self, data: str) -> None:
        pos = 0
        for m in self.SEQ.finditer(data):
            self._text(data[pos:m.start()])
            seq = m.group(0)
            if seq.startswith("\x1b[") and seq[-1] in "Hf":
                row, _, col = seq[2:-1].partition(";")
                self.r = max(int(row or 1) - 1, 0)
                self.c = max(int(col or 1) - 1, 0)
            pos = m.end()
        self._text(data[pos:])

    def _text(self, text: str) -> None:
        for ch in text:
            if ch == "\r":
                self.c = 0
            elif ch == "\n":
                self.r += 1
            elif ch >= " " and self.r < self.rows and self.c < self.cols:
                self.cells[self.r][self.c] = ch
                self.c += 1

    @property
    def lines(self) -> list[str]:
        return ["".join(row).rstrip() for row in self.cells]


async def cdp_board_text(port: int, page_url: str, user_data: Path, wanted, timeout: float = 60) -> tuple[str, str]:
    """Load ``page_url`` in headless Chromium; (terminal output received, body class) once ``wanted(text)``."""
    import aiohttp

    proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={user_data}", "--remote-debugging-port=0",
                             "--remote-debugging-address=127.0.0.1", "--window-size=1600,900", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        active = user_data / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not active.exists() or not active.read_text().strip():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("Chromium did not open its DevTools port")
            await asyncio.sleep(0.1)
        devtools = int(active.read_text().split()[0])
        async with aiohttp.ClientSession() as http:
            for _ in range(50):
                async with http.get(f"http://127.0.0.1:{devtools}/json/list") as response:
                    targets = [t for t in await response.json() if t.get("type") == "page"]
                if targets:
                    break
                await asyncio.sleep(0.1)
            async with http.ws_connect(targets[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                ids = iter(range(1, 10_000))

                async def call(method: str, **params):
                    mid = next(ids)
                    await ws.send_str(json.dumps({"id": mid, "method": method, "params": params}))
                    while True:
                        msg = json.loads((await ws.receive()).data)
                        if msg.get("id") == mid:
                            if "error" in msg:
                                raise AssertionError(f"{method}: {msg['error']}")
                            return msg.get("result", {})

                await call("Page.enable")
                await call("Page.addScriptToEvaluateOnNewDocument", source=CAPTURE)
                await call("Page.navigate", url=page_url)
                text, body = "", ""
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    result = await call("Runtime.evaluate", returnByValue=True,
                                        expression="JSON.stringify([window.__board || '', document.body ? document.body.className : ''])")
                    text, body = json.loads(result["result"]["value"])
                    if wanted(text) and "-first-byte" in body:
                        break
                    await asyncio.sleep(0.25)
                return text, body
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium); .ci/run installs it")
def test_the_board_in_a_browser(tmp_path, board_text, actors):
    pytest.importorskip("textual_serve", reason="textual-serve is not installed (pip install 'deskconsole[web]')")
    from datetime import datetime, timedelta, timezone

    from deskconsole.core.records import tickets
    from deskconsole.core.clock import ManualClock

    config_path = tmp_path / "config.toml"
    config_path.write_text(board_text, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    # tickets opened half an hour ago: the P1's 15-minute first response is overdue now
    clock = ManualClock(datetime.now(timezone.utc) - timedelta(minutes=30))
    desk = open_desk(url, parse_config(board_text, config_path), clock)
    al = actors["al"]
    tickets.create(desk, al, title="Checkout returns 502", priority="P1")
    tickets.create(desk, al, title="VPN drops", priority="P2", team="network")
    tickets.create(desk, al, title="Printer jams", priority="P3")
    desk.close()

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESKCONSOLE_", "TEXTUAL"))}
    env.update(XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "cfg"),
               XDG_DATA_HOME=str(tmp_path / "data"))
    server = subprocess.Popen(
        [sys.executable, "-m", "deskconsole", "--config", str(config_path), "--db", url, "wallboard",
         "--web", f"127.0.0.1:{port}", "--rotate", "0", "--no-sweep"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True)
    try:
        wait_for_http(port, server)

        def figures_shown(text: str) -> bool:
            return all(label in text for label in ("P1 OPEN", "BREACHED", "MTTR TODAY", "INC-1", "act now"))

        user_data = tmp_path / "chromium"
        user_data.mkdir()
        text, body = asyncio.run(cdp_board_text(port, f"http://127.0.0.1:{port}/", user_data, figures_shown))
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    assert "-first-byte" in body, "the page never wrote the board's output into its terminal"
    assert figures_shown(text), text[-3000:]
    screen = ScreenModel()
    screen.feed(text)
    lines = screen.lines
    label_row = next(y for y, line in enumerate(lines) if "P1 OPEN" in line and "BREACHED" in line)
    digits = "\n".join(lines[label_row + 1:label_row + 4])
    assert "╺┓" in digits and "╺┻╸" in digits  # big "1"s under the labels: one P1 open, one breached
    assert any("INC-1" in line and "BREACH" in line for line in lines), "\n".join(lines[:40])
    assert any("Test desk · Overview" in line for line in lines)
