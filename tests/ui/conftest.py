"""A console on a real SQLite desk with SLA policies, driven by Textual's pilot."""

from __future__ import annotations

import pytest

from deskconsole.config import parse_config
from deskconsole.core.desk import open_desk

SLA = """
[[sla.policy]]
name = "p1"
priority = "P1"
first_response = "15m"
resolution = "4h"

[[sla.policy]]
name = "rest"
first_response = "1h"
resolution = "8h"
"""


@pytest.fixture
def ui_text(config_text):
    return config_text + SLA


@pytest.fixture
def ui_desk(db_url, ui_text, clock):
    desk = open_desk(db_url, parse_config(ui_text, "test.toml"), clock)
    yield desk
    desk.close()


async def _settle(app, pilot, rounds: int = 3, timeout: float = 15.0) -> None:
    """Let the console finish what a key started: its database workers done
    and the screen refreshed. An action waiting for its own modal screen (a
    picker, a text entry, a confirm) counts as settled — it waits for keys."""
    import asyncio

    from textual.worker import WorkerState

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    for _ in range(rounds):
        while True:
            await pilot.pause()
            busy = [w for w in app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)]
            waiting_for_keys = len(app.screen_stack) > 1 and all(w.group == "action" for w in busy)
            if not busy or waiting_for_keys:
                break
            if loop.time() > deadline:
                raise AssertionError(f"the console never settled; still busy: {busy}")
            await asyncio.sleep(0.01)
    await pilot.pause()


@pytest.fixture
def settle():
    return _settle
