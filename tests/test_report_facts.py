"""The report facts and hourly sums the write path keeps: after a week of
random work on a desk they are what a rebuild makes (the ``desk`` fixture's
teardown checks that after every test), and a report read from them is the
report read from the tickets, for periods that start and end mid-hour, per
group and per day, across the end of daylight-saving time; on SQLite and
PostgreSQL."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from deskconsole.config import parse_config
from deskconsole.core.records import links, tickets
from deskconsole.core.inbound import mail_in
from deskconsole.core import report_facts
from deskconsole.core.clock import ManualClock
from deskconsole.core.desk import FACTS_SINCE, open_desk
from deskconsole.core.identity import INTAKE
from deskconsole.core.reports import hours
from deskconsole.core.reports.period import parse_period
from deskconsole.core.reports.report import build
from deskconsole.core.automation.sweep import sweep
from deskconsole.errors import DeskError
from deskconsole.models import ReportFact, ReportHour

from conftest import config_actor
from facts_check import stale_facts
from schema_undo import back_to
from test_reports import REPORT_CONFIG, rating_mail

UTC = timezone.utc
START = datetime(2026, 10, 21, 6, 17, 11, tzinfo=UTC)  # a Wednesday; Berlin's DST ends on Sunday 25
NOW = datetime(2026, 10, 28, 19, 41, 37, 250000, tzinfo=UTC)


def random_week(desk, clock: ManualClock, seed: int) -> None:
    """A week of the desk's work at random moments: tickets opened in every
    group, taken, handed on, made pending, resolved, reopened, merged, rated,
    their clocks swept."""
    rng = random.Random(seed)
    people = {login: config_actor(desk.config, login) for login in ("ada", "al", "nia", "lee")}
    keys: list[str] = []
    at = START
    while at < NOW - timedelta(hours=1):
        at += timedelta(seconds=rng.randint(60, 5400), microseconds=rng.randint(0, 999_999))
        clock.set(at)
        roll = rng.random()
        try:
            if roll < 0.3 or len(keys) < 5:
                team = rng.choice(["ops", "network", None])
                keys.append(tickets.create(
                    desk, people["ada"], title=f"trouble {len(keys)}", priority=rng.choice(["P1", "P2", "P3", "P4"]),
                    team=team, category=rng.choice(["outage", "access", None]), service=rng.choice(["mail", "vpn", None]),
                    requester_email=rng.choice([None, "bob@example.com"])).key)
                continue
            key = rng.choice(keys)
            who = people[rng.choice(["al", "nia"])]
            if roll < 0.45:
                tickets.take(desk, who, key)
            elif roll < 0.55:
                tickets.assign(desk, people["ada"], key, team=rng.choice(["ops", "network"]), agent=rng.choice(["al", "nia"]))
            elif roll < 0.62:
                tickets.set_status(desk, who, key, rng.choice(["pending", "in_progress"]))
            elif roll < 0.78:
                tickets.resolve(desk, who, key, "fixed")
            elif roll < 0.83:
                tickets.reopen(desk, people["ada"], key, "again")
            elif roll < 0.87:
                links.merge(desk, people["ada"], key, rng.choice(keys))
            elif roll < 0.91:
                mail_in.receive(desk, INTAKE, rating_mail(key, str(rng.randint(1, 5))))
            elif roll < 0.95:
                tickets.triage(desk, people["ada"], key, priority=rng.choice(["P1", "P2", "P3", "P4"]))
            else:
                sweep(desk)
        except DeskError:
            pass  # not allowed in the ticket's state: the desk said no, nothing changed
    clock.set(NOW)
    sweep(desk)


@pytest.fixture
def busy_desk(db_url):
    clock = ManualClock(START)
    desk = open_desk(db_url, parse_config(REPORT_CONFIG, "report.toml"), clock)
    random_week(desk, clock, seed=11)
    yield desk
    assert stale_facts(desk) == []
    desk.close()


def both(desk, **kw):
    kept = build(desk, "ada", now=NOW, **kw)
    fresh = build(desk, "ada", now=NOW, hourly=False, **kw)
    assert replace(kept, read_seconds=0) == replace(fresh, read_seconds=0), differences(kept, fresh)
    return kept


def differences(a, b) -> list[str]:
    out = [f"total.{f}: {getattr(a.total, f)} != {getattr(b.total, f)}" for f in a.total.__dataclass_fields__
           if getattr(a.total, f) != getattr(b.total, f)]
    for x, y in zip(a.rows, b.rows):
        out += [f"{x.label}.{f}: {getattr(x.figures, f)} != {getattr(y.figures, f)}"
                for f in x.figures.__dataclass_fields__ if getattr(x.figures, f) != getattr(y.figures, f)]
    if len(a.rows) != len(b.rows):
        out.append(f"rows: {[r.label for r in a.rows]} != {[r.label for r in b.rows]}")
    out += [f"{name} differs" for name in ("compliance", "volume", "trend", "flags") if getattr(a, name) != getattr(b, name)]
    return out


def test_a_random_week_keeps_the_facts_a_rebuild_makes(busy_desk):
    assert stale_facts(busy_desk) == []
    with busy_desk.bound():
        assert ReportFact.select().count() > 50
        before = kept_hours()
        with busy_desk.transaction():
            report_facts.rebuild(busy_desk)
        after = kept_hours()
    assert before == after and len(after) > 20


def kept_hours() -> list[tuple]:
    """report_hour's rows that count anything (a row that went back to 0 may stay)."""
    H = ReportHour
    rows = H.select(H.hour, H.priority, H.team, H.category, H.service,
                    *(getattr(H, c) for c in report_facts.COUNTERS)).tuples()
    return sorted(r for r in rows if any(r[5:]))


def test_reports_from_the_hours_are_the_reports_from_the_tickets(busy_desk):
    for since in ("7d", "3d", "30h", "2026-10-22..2026-10-27", "2026-10-25", "90d"):
        report = both(busy_desk, since=since)
        assert report.total.created > 0 and report.total.resolved > 0
        for by in ("priority", "team", "category", "service", "day", "week"):
            assert both(busy_desk, since=since, by=by).rows


def test_a_period_within_one_hour_and_one_on_the_hour(busy_desk):
    # both edges inside the same hour; then a period of whole hours only
    both(busy_desk, since="1h")
    now = datetime(2026, 10, 28, 19, 0, tzinfo=UTC)
    kept = build(busy_desk, "ada", since="2026-10-26..2026-10-27", now=now)
    fresh = build(busy_desk, "ada", since="2026-10-26..2026-10-27", now=now, hourly=False)
    assert replace(kept, read_seconds=0) == replace(fresh, read_seconds=0)


def test_days_that_start_mid_hour_are_read_from_the_tickets(db_url):
    """Kolkata's days start at 18:30 UTC: the trend and a report by day come
    from the tickets, with the same figures as the rest."""
    config = parse_config(REPORT_CONFIG.replace('timezone = "Europe/Berlin"\n', 'timezone = "Asia/Kolkata"\n', 1),
                          "report.toml")
    clock = ManualClock(START)
    desk = open_desk(db_url, config, clock)
    try:
        random_week(desk, clock, seed=5)
        period = parse_period("7d", NOW, config.zone())
        assert not hours.whole_hour_days(period)
        assert not hours.serves(desk, None, "day", period) and hours.serves(desk, None, "team", period)
        report = both(desk, since="7d")
        assert sum(p.created for p in report.trend) == report.total.created
        both(desk, since="7d", by="day")
    finally:
        desk.close()


def test_a_query_or_agents_are_read_from_the_tickets(busy_desk):
    period = parse_period("7d", NOW, UTC)
    assert not hours.serves(busy_desk, None, "agent", period)
    assert both(busy_desk, since="7d", by="agent").rows
    both(busy_desk, query="team:ops", since="7d")


def test_a_write_that_fails_leaves_the_facts_as_they_were(desk, actors):
    key = tickets.create(desk, actors["ada"], title="disk full", priority="P2").key
    with pytest.raises(DeskError):
        tickets.resolve(desk, actors["vic"], key, "fixed")  # a viewer may not
    with pytest.raises(ZeroDivisionError):
        with desk.transaction():
            tickets.take(desk, actors["al"], key)
            1 / 0
    with desk.bound():
        fact = ReportFact.get(ReportFact.ticket == int(key.split("-")[1]))
    assert fact.acked_at is None and fact.resolved_at is None
    assert stale_facts(desk) == []


def test_a_desk_from_before_the_facts_gets_them_when_it_opens(bare_db_url, config, clock):
    desk = open_desk(bare_db_url, config, clock)
    actor = config_actor(config, "ada")
    for n in range(3):
        key = tickets.create(desk, actor, title=f"old {n}", priority="P3").key
    tickets.resolve(desk, config_actor(config, "al"), key, "fixed")
    desk.close()
    back_to(bare_db_url, FACTS_SINCE - 1)  # the schema before the facts
    desk = open_desk(bare_db_url, config, clock)
    try:
        with desk.bound():
            assert ReportFact.select().count() == 3
        assert stale_facts(desk) == []
        report = build(desk, "ada", since="1d")
        assert (report.total.created, report.total.resolved) == (3, 1)
    finally:
        desk.close()
