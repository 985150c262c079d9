"""Trend flags: a planted spike is flagged with the tickets behind it; noise is not."""

from __future__ import annotations

import random
from statistics import median
from datetime import datetime, timedelta, timezone

import pytest

from deskconsole.core.records import links, tickets
from deskconsole.core.clock import ManualClock
from deskconsole.core.desk import open_desk
from deskconsole.core.reports.report import build

from conftest import config_actor

UTC = timezone.utc
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def trend_desk(db_url, config):
    clock = ManualClock(NOW - timedelta(days=40))
    desk = open_desk(db_url, config, clock)
    desk.clock_ = clock
    yield desk
    desk.close()


def plant(desk, per_day: list[int], **fields) -> list[str]:
    """per_day[k] tickets created k days back from NOW (0: the last 24 hours)."""
    ada = config_actor(desk.config, "ada")
    keys = []
    for back in range(len(per_day) - 1, -1, -1):
        for i in range(per_day[back]):
            desk.clock_.set(NOW - timedelta(days=back, hours=21 - i * 20 / per_day[back]))
            keys.append(tickets.create(desk, ada, title=f"{back} days back #{i}", **fields).key)
    return keys


def flags(desk, query=""):
    return {(f.dimension, f.name, f.window): f for f in build(desk, "ada", query, now=NOW).flags}


def test_a_spike_in_the_last_day_is_flagged_with_its_tickets(trend_desk):
    rng = random.Random(7)
    plant(trend_desk, [0] + [rng.choice((1, 2, 2, 3)) for _ in range(34)], category="outage")
    spike = plant(trend_desk, [12], category="outage")
    got = flags(trend_desk)
    f = got[("category", "outage", "day")]
    assert f.count == 12 and f.baseline == 2.0 and f.ratio == 6.0
    assert set(f.tickets) == set(spike) and f.tickets[0] == spike[-1]  # the newest first
    assert f.query == "category:outage created:>-1d -is:merged"
    assert ("category", "outage", "week") not in got  # the day says it already


def test_noise_and_small_numbers_are_not_flagged(trend_desk):
    rng = random.Random(11)
    noisy = [rng.randint(0, 4) for _ in range(35)]
    noisy[0] = int(3 * median(noisy[1:29]))  # a busy day, but not over 3x its own median
    assert noisy[0] >= 5
    plant(trend_desk, noisy, category="access")
    plant(trend_desk, [4], service="mail")  # new, but fewer than 5
    assert flags(trend_desk) == {}


def test_a_week_well_above_its_baseline_is_flagged(trend_desk):
    plant(trend_desk, [4] * 7 + [1] * 28, service="vpn")
    got = flags(trend_desk)
    f = got[("service", "vpn", "week")]
    assert (f.count, f.baseline) == (28, 7.0)
    assert ("service", "vpn", "day") not in got  # 4 in the last day: over 3x 1, but fewer than 5
    assert len(f.tickets) == 20


def test_merged_duplicates_do_not_make_a_spike(trend_desk):
    ada = config_actor(trend_desk.config, "ada")
    plant(trend_desk, [0] + [1] * 34, category="outage")
    keys = plant(trend_desk, [6], category="outage")
    for dup in keys[1:]:
        links.merge(trend_desk, ada, dup, keys[0])
    assert flags(trend_desk) == {}


def test_flags_keep_to_the_reports_query(trend_desk):
    plant(trend_desk, [0] + [1] * 34, category="outage", team="ops")
    plant(trend_desk, [9], category="outage", team="network")
    assert ("category", "outage", "day") in flags(trend_desk)
    assert flags(trend_desk, "team:ops") == {}
    assert flags(trend_desk, "team:network")[("category", "outage", "day")].query == (
        "team:network category:outage created:>-1d -is:merged")
