"""The demo desk looks like a shift in progress at the desk's clock.

Built through the core (``demo.build``) on a ManualClock desk, on both
backends: the open tickets are mostly from the last hours and days, a few new
ones have first-response deadlines minutes after the build (so warnings and
breaches fire while one watches), some wait (pending, their clocks paused),
and behind them lie 90 days of finished tickets, none of it in the future.
The command's own "built in" line gives the build's real time.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from desk_env import REAL_LOGIN, child_env

from deskconsole.cli.progress import took
from deskconsole.config import parse_config
from deskconsole.core.archive import demo
from deskconsole.core.clock import ManualClock
from deskconsole.core.desk import open_desk
from deskconsole.models import SlaClock, Ticket

UTC = timezone.utc
MIDWEEK = datetime(2026, 11, 25, 14, 20, tzinfo=UTC)  # a Wednesday afternoon: the office calendar is open
MONDAY_OPENING = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the office calendar opens this instant
OPEN = ("new", "assigned", "in_progress", "pending")
TIMES = ("created_at", "updated_at", "acknowledged_at", "first_response_at", "resolved_at", "closed_at")


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value if value.tzinfo else value.replace(tzinfo=UTC)


def _built(url: str, tmp_path, when: datetime, count: int, seed: int = 7):
    """Build a ``count``-ticket demo desk at ``when``; its tickets and clocks
    as plain dicts, read back from the database."""
    config = parse_config(demo.demo_config_text("ada", url), tmp_path / "demo.toml")
    desk = open_desk(url, config, ManualClock(when))
    try:
        assert len(demo.build(desk, count, seed=seed)) == count
        tickets = [{**t, **{k: _utc(t[k]) for k in TIMES}}  # the incidents (the demo's changes: below)
                   for t in Ticket.select().where(Ticket.number.is_null()).dicts()]
        clocks = [{**c, **{k: _utc(c[k]) for k in ("due_at", "warn_at", "breached_at", "paused_since")}}
                  for c in SlaClock.select().dicts()]
    finally:
        desk.close()
    return tickets, clocks


def _due_soon(clocks: list[dict], now: datetime, minutes: int = 10) -> list[dict]:
    """Running clocks whose next warning or deadline comes in the next ``minutes``."""
    end = now + timedelta(minutes=minutes)
    return [c for c in clocks if c["state"] == "running"
            and any(t is not None and now <= t <= end for t in (c["warn_at"], c["due_at"]))]


def test_the_demo_is_a_shift_in_progress(db_url, tmp_path):
    now = MIDWEEK
    tickets, clocks = _built(db_url, tmp_path, now, 600)
    by_id = {t["id"]: t for t in tickets}
    open_ = [t for t in tickets if t["status"] in OPEN]
    age = lambda t: now - t["created_at"]  # noqa: E731

    # Open tickets: mostly from the last three days, many from the last 8 hours, a thin tail to two weeks.
    assert 0.2 * len(tickets) < len(open_) < 0.5 * len(tickets)
    assert sum(age(t) <= timedelta(days=3) for t in open_) >= 0.7 * len(open_)
    assert sum(age(t) <= timedelta(hours=8) for t in open_) >= 0.3 * len(open_)
    assert max(map(age, open_)) <= timedelta(days=15)
    # ... what is older than three days and still open waits on someone, its clocks paused
    assert all(t["status"] == "pending" for t in open_ if age(t) > timedelta(days=3))

    # Warnings and breaches come within minutes of the build; no open ticket breached long ago.
    soon = _due_soon(clocks, now)
    assert len(soon) >= 3, soon
    first_due = [c for c in soon if c["metric"] == "first_response" and now < c["due_at"] <= now + timedelta(minutes=10)]
    assert len(first_due) >= 3
    assert {by_id[c["ticket"]]["priority"] for c in first_due} >= {"P1", "P2"}  # office hours: the P2s fire too
    open_ids = {t["id"] for t in open_}
    breached = [c for c in clocks if c["ticket"] in open_ids and c["breached_at"] is not None]
    assert breached and min(c["breached_at"] for c in breached) >= now - timedelta(days=3)
    assert {t["sla"] for t in open_} >= {"ok", "warning", "breached", "paused"}

    # Some tickets wait (pending) with paused clocks, none of them breached.
    pending = [t for t in open_ if t["status"] == "pending"]
    assert len(pending) >= 10 and all(t["sla"] == "paused" for t in pending)
    assert sum(c["state"] == "paused" for c in clocks) >= len(pending)

    # 90 days of finished tickets behind them, each with a resolution code; nothing in the future.
    done = [t for t in tickets if t["status"] in ("resolved", "closed")]
    assert all(t["resolution_code"] and t["resolved_at"] for t in done)
    assert all(t["closed_at"] for t in done if t["status"] == "closed")
    assert timedelta(days=80) <= max(map(age, done)) <= timedelta(days=90)
    for days in range(0, 90, 30):  # every month of the 90 days has its share
        assert sum(timedelta(days=days) <= age(t) < timedelta(days=days + 30) for t in done) >= 0.1 * len(done)
    assert all(now - t["resolved_at"] <= timedelta(days=3) for t in done if t["status"] == "resolved")  # then closed
    assert all(t[k] is None or t[k] <= now for t in tickets for k in TIMES)
    assert all(t[k] is None or t[k] >= t["created_at"] for t in tickets for k in TIMES)
    # ... with resolution times that grow as the priority falls, some beyond their target
    hours = {p: statistics.median((t["resolved_at"] - t["created_at"]) / timedelta(hours=1)
                                  for t in done if t["priority"] == p) for p in ("P1", "P2", "P3", "P4")}
    assert 0.2 < hours["P1"] < 4 and hours["P1"] < hours["P2"] < hours["P3"] < hours["P4"] < 24 * 7, hours
    finished = [c for c in clocks if by_id[c["ticket"]]["status"] in ("resolved", "closed")]
    late = sum(c["state"] == "breached" for c in finished) / len(finished)
    assert 0.02 < late < 0.25, late

    # Ticket numbers follow creation time, as on a real desk.
    ordered = sorted(tickets, key=lambda t: t["id"])
    assert [t["created_at"] for t in ordered] == sorted(t["created_at"] for t in ordered)


def test_top_priority_deadlines_fire_live_even_when_the_office_is_closed(tmp_path):
    """At 09:00 on a Monday the office calendar has just opened (a P2 has used
    no business time yet): the P1s, round the clock, still fall due in minutes."""
    now = MONDAY_OPENING
    tickets, clocks = _built(f"sqlite:///{tmp_path / 'demo.db'}", tmp_path, now, 300)
    by_id = {t["id"]: t for t in tickets}
    due = [c for c in clocks if c["metric"] == "first_response" and c["state"] == "running"
           and now + timedelta(minutes=1) <= c["due_at"] <= now + timedelta(minutes=10)]
    assert len(due) >= 2
    assert all(by_id[c["ticket"]]["priority"] == "P1" and by_id[c["ticket"]]["status"] == "new" for c in due)
    assert {c["ticket"] for c in due} <= set(range(301 - demo.live_count(300), 301))  # the newest tickets


def test_a_bigger_demo_has_more_live_tickets_and_the_same_shape(tmp_path):
    small = _due_soon(_built(f"sqlite:///{tmp_path / 'small.db'}", tmp_path, MIDWEEK, 300)[1], MIDWEEK)
    tickets, clocks = _built(f"sqlite:///{tmp_path / 'big.db'}", tmp_path, MIDWEEK, 6000, seed=11)
    big = _due_soon(clocks, MIDWEEK)
    assert len(big) > 2 * len(small) >= 6
    open_ = [t for t in tickets if t["status"] in OPEN]
    recent = sum(MIDWEEK - t["created_at"] <= timedelta(days=3) for t in open_) / len(open_)
    assert recent >= 0.8 and 0.25 < len(open_) / len(tickets) < 0.4


def test_the_rows_are_the_same_for_a_seed_and_relative_to_the_clock_when_asked(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    clock = ManualClock(MIDWEEK)
    desk = open_desk(url, parse_config(demo.demo_config_text("ada", url)), clock)
    try:
        rows = demo.generate(desk, 200, seed=3)  # the clock is read here, not at the first row
        clock.advance(hours=5)
        first = list(rows)
        clock.set(MIDWEEK)
        assert list(demo.generate(desk, 200, seed=3)) == first
        assert list(demo.generate(desk, 200, seed=4)) != first
        later = list(demo.generate(desk, 200, seed=3, now=MIDWEEK + timedelta(days=1)))
        shift = lambda row: datetime.fromisoformat(row[1]["created_at"]) + timedelta(days=1)  # noqa: E731
        assert [shift(r) for r in first] == [datetime.fromisoformat(r[1]["created_at"]) for r in later]
    finally:
        desk.close()


@pytest.mark.parametrize("seconds, shown", [(0.0412, "41 ms"), (0.0004, "under 1 ms"), (0.9996, "1.0 s"),
                                            (9.74, "9.7 s"), (197.0, "197.0 s")])
def test_build_times_read_as_people_read_them(seconds, shown):
    assert took(seconds) == shown


def test_the_command_says_how_long_the_build_really_took(tmp_path):
    config, db = tmp_path / "demo.toml", tmp_path / "demo.db"
    proc = subprocess.run(
        [sys.executable, "-m", "deskconsole", "demo", "--tickets", "300", "--no-console", "--config", str(config),
         "--db", f"sqlite:///{db}"],
        capture_output=True, text=True, encoding="utf-8", env=child_env(tmp_path, REAL_LOGIN), timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    line = next(line for line in proc.stderr.splitlines() if line.startswith("demo desk: 300 tickets"))
    m = re.fullmatch(rf"demo desk: 300 tickets at sqlite:///{re.escape(str(db))} in (?:(\d+) ms|(\d+\.\d) s)", line)
    assert m, line
    seconds = int(m.group(1)) / 1000 if m.group(1) else float(m.group(2))
    assert 0.001 <= seconds < 60, line  # a real time: not "0.0 s", not more than the run


def test_the_demo_gives_the_reports_something_to_show(db_url, tmp_path):
    """Reopens, hand-offs, ratings and post-incident reviews are in the demo's
    history, so its report has figures other than 0 and 100%."""
    from deskconsole.core.reports.report import build

    config = parse_config(demo.demo_config_text("ada", db_url), tmp_path / "demo.toml")
    desk = open_desk(db_url, config, ManualClock(MIDWEEK))
    try:
        demo.build(desk, 600)
        f = build(desk, "ada", "").total
        assert 0 < f.reopen_rate < 0.15 and 0.7 < f.first_contact_rate < 1
        assert f.reassignments > 0
        assert f.rated > 0 and 3.5 < f.csat < 5 and 0.1 < f.response_rate < 0.5
        due, overdue, done = build(desk, "ada", "").reviews
        assert due + overdue > 0 and done > 0
        from deskconsole.core.records import reviews

        listed = reviews.listing(desk, state="done")
        assert listed and all(r.impact and r.root_cause and r.priority in ("P1", "P2") for r in listed)
        assert all(r.done_at <= MIDWEEK for r in listed)
    finally:
        desk.close()


def test_the_demo_has_a_month_of_changes_around_now(db_url, tmp_path):
    """Changes raised, approved, carried out (some failed, with the incidents
    they caused linked), some waiting, a standard one and one that collides;
    the policy's windows and templates come with the demo's config."""
    from deskconsole.core.records import change_calendar
    from deskconsole.core.reports.change_figures import change_figures

    now = MIDWEEK
    config = parse_config(demo.demo_config_text("ada", db_url, now), tmp_path / "demo.toml")
    desk = open_desk(db_url, config, ManualClock(now))
    try:
        keys = demo.build(desk, 300)
        assert len(demo.build_changes(desk, keys)) == 26
        policy = desk.directory.change_policy
        assert policy.cab == ("amira", "dana") and "restart-ingress" in policy.templates
        freeze = next(w for w in policy.windows if w.kind == "freeze")
        assert freeze.start.startswith(str((now + timedelta(days=10)).date()))
        rows = change_calendar.between(desk, now - timedelta(days=30), now + timedelta(days=30), cancelled=True)
        states = {e.status for e in rows}
        assert {"closed", "scheduled"} <= states and states & {"draft", "awaiting_approval"}
        assert {e.type for e in rows} == {"standard", "normal", "emergency"}
        assert any(e.collisions for e in rows)
        assert all(e.start <= now for e in rows if e.status == "closed")
        figures = change_figures(desk, now - timedelta(days=30), now + timedelta(seconds=1))
        assert figures.closed >= 5 and figures.caused_incidents >= 1
    finally:
        desk.close()
