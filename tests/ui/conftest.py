"""A console on a real SQLite desk with SLA policies, driven by Textual's pilot."""

from __future__ import annotations

import pytest

from desk_env import with_real_admin
from deskconsole.config import parse_config
from deskconsole.core.desk import open_desk


@pytest.fixture
def ui_text(two_policies_text):
    """The test config with SLA policies; the real login (a child process's) is an admin too."""
    return with_real_admin(two_policies_text)


@pytest.fixture
def ui_desk(db_url, ui_text, clock):
    desk = open_desk(db_url, parse_config(ui_text, "test.toml"), clock)
    yield desk
    desk.close()
