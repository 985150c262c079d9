"""A desk with SLA policies: P1 on 24x7, P2 and the rest on office hours in Berlin."""

from __future__ import annotations

import pytest
from desk_env import with_real_admin

from deskconsole.config import parse_config
from deskconsole.core.desk import open_desk

# 2026-11-23 is a Monday; Berlin is UTC+1 then, so the office (09:00-17:00
# Berlin) is open 08:00-16:00 UTC and the tests' START (09:00 UTC) is inside.
SLA_TOML = """
[calendars.office]
timezone = "Europe/Berlin"
hours = { mon = ["09:00-17:00"], tue = ["09:00-17:00"], wed = ["09:00-17:00"], thu = ["09:00-17:00"], fri = ["09:00-17:00"] }
holidays = ["12-25"]

[sla]
warn = [50, 75, 90]

[[sla.policy]]
name = "p1"
priority = "P1"
first_response = "15m"
resolution = "4h"

[[sla.policy.escalate]]
at = 90
metric = "resolution"
notify = ["team", "leads"]

[[sla.policy.escalate]]
at = "breach"
notify = ["assignee", "ada"]

[[sla.policy]]
name = "p2"
priority = "P2"
calendar = "office"
first_response = "1h"
resolution = "8h"

[[sla.policy.escalate]]
at = "breach"
metric = "resolution"
raise_priority = "P1"
reassign_team = "network"

[[sla.policy]]
name = "rest"
calendar = "office"
first_response = "4h"
resolution = "16h"
"""


@pytest.fixture
def sla_text(config_text):
    """The test config with SLA policies; the real login (a daemon child process's) is an admin too."""
    return with_real_admin(config_text + SLA_TOML)


@pytest.fixture
def sla_config(sla_text):
    return parse_config(sla_text, "test.toml")


@pytest.fixture
def sla_desk(db_url, sla_config, clock):
    desk = open_desk(db_url, sla_config, clock)
    yield desk
    desk.close()
