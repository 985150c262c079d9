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
