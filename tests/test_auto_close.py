"""Resolved tickets close by themselves after [desk] auto_close_days
business days — counted on a calendar across a weekend and a DST change —
through the ordinary close, audited as system; a reopened ticket stays open."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from deskconsole.config import ConfigError, parse_config
from deskconsole.core.records import tickets
from deskconsole.core.automation.auto_close import cutoff
from deskconsole.core.clock import ManualClock
from deskconsole.core.desk import open_desk
from deskconsole.core.automation.sweep import sweep
from deskconsole.models import AuditEvent, Ticket

from conftest import TEST_CONFIG, config_actor

CALENDAR = """
[calendars.berlin]
timezone = "Europe/Berlin"
hours = { mon = ["09:00-17:00"], tue = ["09:00-17:00"], wed = ["09:00-17:00"], thu = ["09:00-17:00"], fri = ["09:00-17:00"] }
"""


def config(days=2):
    text = TEST_CONFIG.replace('default_team = "ops"', f'default_team = "ops"\nauto_close_days = {days}\n'
                                                        'auto_close_calendar = "berlin"') + CALENDAR
    return parse_config(text, "close.toml")


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def test_working_days_are_counted_on_the_calendar():
    cal = config().sla.calendar("berlin")
    # Monday 2026-10-26 12:00 UTC (CET, after the DST change of Sunday 25th): two working days back
    # are Thursday 22nd and Friday 23rd (the weekend does not count) -> Thursday 00:00 Berlin (CEST, UTC+2)
    assert cutoff(cal, utc(2026, 10, 26, 12), 2) == utc(2026, 10, 21, 22)
    assert cutoff(cal, utc(2026, 10, 28, 12), 1) == utc(2026, 10, 26, 23)  # Tuesday 00:00 CET = 23:00 UTC Monday


def test_resolved_tickets_close_after_the_working_days(db_url):
    clock = ManualClock(utc(2026, 10, 23, 8))  # Friday 10:00 Berlin
    desk = open_desk(db_url, config(), clock)
    try:
        ada = config_actor(desk.config, "ada")
        for title in ("one", "two"):
            key = tickets.create(desk, ada, title=title).key
            tickets.take(desk, ada, key)
            tickets.resolve(desk, ada, key, "fixed")
        clock.set(utc(2026, 10, 26, 23, 30))  # Tuesday 00:30: Monday is one working day since
        assert sweep(desk).closed == []
        tickets.reopen(desk, ada, "INC-2", "not fixed")
        clock.set(utc(2026, 10, 27, 23, 30))  # Wednesday 00:30: Monday and Tuesday since Friday
        report = sweep(desk)
        assert report.closed == ["INC-1"] and "1 resolved ticket(s) closed" in str(report)
        assert Ticket.get_by_id(1).status == "closed" and Ticket.get_by_id(2).status == "in_progress"
        closing = AuditEvent.select().where((AuditEvent.ticket == 1) & (AuditEvent.action == "close")).get()
        assert closing.actor == "system"
        assert sweep(desk).closed == []
    finally:
        desk.close()


def test_auto_close_config_is_checked():
    with pytest.raises(ConfigError, match="desk.auto_close_days"):
        parse_config(TEST_CONFIG.replace('default_team = "ops"', 'default_team = "ops"\nauto_close_days = -1'), "x")
    with pytest.raises(ConfigError, match="desk.auto_close_calendar"):
        parse_config(TEST_CONFIG.replace('default_team = "ops"', 'default_team = "ops"\nauto_close_calendar = "mars"'),
                     "x")
