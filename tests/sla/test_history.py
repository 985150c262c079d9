"""Clocks rebuilt from timestamps: a desk from before SLA clocks, and the demo (on both backends)."""

from __future__ import annotations

from datetime import datetime, timezone

from deskconsole import migrations
from deskconsole.core.archive.demo import build, demo_config_text
from deskconsole.core.desk import open_desk
from deskconsole.config import parse_config
from deskconsole.db import connect
from deskconsole.models import SlaClock, Ticket

UTC = timezone.utc


def test_a_desk_from_before_clocks_gets_them_on_open(bare_db_url, sla_config, clock):
    db = connect(bare_db_url)
    migrations.migrate(db, target=2)
    # a version-2 desk, filled the way version 2 wrote tickets, with plain SQL
    db.execute_sql("INSERT INTO team (name, title, email, active) VALUES ('ops', 'Operations', NULL, TRUE)")
    rows = [  # id, status, priority, created, acknowledged, resolved, updated
        (1, "new", "P1", "2026-11-23 08:00:00.000000", None, None, "2026-11-23 08:00:00.000000"),
        (2, "in_progress", "P1", "2026-11-23 08:50:00.000000", "2026-11-23 08:55:00.000000", None,
         "2026-11-23 08:55:00.000000"),
        (3, "resolved", "P1", "2026-11-22 08:00:00.000000", "2026-11-22 08:10:00.000000",
         "2026-11-22 09:00:00.000000", "2026-11-22 09:00:00.000000"),
        (4, "pending", "P1", "2026-11-23 07:00:00.000000", "2026-11-23 07:01:00.000000", None,
         "2026-11-23 08:00:00.000000"),
        (5, "cancelled", "P1", "2026-11-20 08:00:00.000000", None, None, "2026-11-20 08:05:00.000000"),
    ]
    p = db.param
    for tid, status, prio, created, acked, resolved, updated in rows:
        db.execute_sql(
            "INSERT INTO ticket (id, title, description, status, priority, team_id, created_by, created_at,"
            " updated_at, acknowledged_at, resolved_at, reopen_count, version, source)"
            f" VALUES ({p}, 'old', '', {p}, {p}, (SELECT id FROM team WHERE name = 'ops'), 'ada', {p}, {p}, {p}, {p},"
            " 0, 1, 'cli')",
            (tid, status, prio, created, updated, acked, resolved),
        )
    db.close()

    desk = open_desk(bare_db_url, sla_config, clock)  # now 2026-11-23 09:00 UTC
    state = {(c.ticket_id, c.metric): (c.state, c.elapsed) for c in SlaClock.select()}
    assert state == {
        (1, "first_response"): ("breached", 3600), (1, "resolution"): ("running", 3600),
        (2, "first_response"): ("met", 300), (2, "resolution"): ("running", 600),
        (3, "first_response"): ("met", 600), (3, "resolution"): ("met", 3600),
        (4, "first_response"): ("met", 60), (4, "resolution"): ("paused", 3600),
        (5, "first_response"): ("cancelled", 300), (5, "resolution"): ("cancelled", 300),
    }
    one = SlaClock.get((SlaClock.ticket == 1) & (SlaClock.metric == "resolution"))
    assert (one.crossed, one.due_at, one.warn_at) == (0, datetime(2026, 11, 23, 12, tzinfo=UTC),
                                                       datetime(2026, 11, 23, 10, tzinfo=UTC))
    assert {t.id: t.sla for t in Ticket.select()} == {1: "breached", 2: "ok", 3: "met", 4: "paused", 5: None}
    desk.close()
    again = open_desk(bare_db_url, sla_config, clock)  # nothing is rebuilt twice
    assert SlaClock.select().count() == 10
    again.close()


def test_the_demo_desk_has_every_kind_of_clock(db_url, tmp_path, clock):
    config = parse_config(demo_config_text("ada", db_url), tmp_path / "demo.toml")
    desk = open_desk(db_url, config, clock)
    build(desk, 1500)
    open_states = {t.sla for t in Ticket.select(Ticket.sla).where(Ticket.status.in_(["new", "assigned", "in_progress", "pending"]))}
    assert {"ok", "warning", "breached", "paused"} <= open_states
    assert {c.state for c in SlaClock.select(SlaClock.state)} == {"running", "paused", "met", "breached", "cancelled"}
    desk.close()


def test_a_target_used_up_exactly_at_closing_time_is_breached_once_that_time_has_passed(sla_desk, actors, clock):
    """A P2 opened on a Sunday uses up its 8 office hours exactly at Monday's
    closing time (16:00 UTC). Rebuilt on Tuesday before opening, its clock has
    exactly the target in business time, but the deadline is behind it: breached
    at Monday 16:00, not 'due now' (which would escalate it as news)."""
    from deskconsole.core.sla_clocks import sla_history
    from deskconsole.core.records import tickets
    from deskconsole.core.txn import unit_of_work

    clock.set(datetime(2026, 11, 22, 12, tzinfo=UTC))
    key = tickets.create(sla_desk, actors["al"], title="Opened on a Sunday", priority="P2").key
    clock.set(datetime(2026, 11, 24, 6, tzinfo=UTC))
    SlaClock.delete().execute()
    with unit_of_work(sla_desk, actors["ada"], "sla"):
        assert sla_history.missing(sla_desk) == 1
    clocks = {c.metric: c for c in SlaClock.select()}
    resolution, first = clocks["resolution"], clocks["first_response"]
    assert (resolution.elapsed, resolution.state) == (8 * 3600, "breached")
    assert resolution.breached_at == resolution.due_at == datetime(2026, 11, 23, 16, tzinfo=UTC)
    assert (first.state, first.breached_at) == ("breached", datetime(2026, 11, 23, 9, tzinfo=UTC))
    assert Ticket.get_by_id(int(key.split("-")[1])).sla == "breached"


# ---------------------------------------------------------------- clocks computed from import rows
# deskconsole.core.sla_clocks.import_clocks gives imported tickets their clocks from the
# rows being imported, on its own business-time arithmetic; both must agree
# with sla_history (and the calendar) exactly, on every column.
import functools
from datetime import date, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deskconsole.core.sla_clocks import import_clocks, sla_history
from deskconsole.core.sla_clocks.clocks import summary
from deskconsole.sla import Calendar

PROPS = settings(max_examples=150, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
US = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Zones with awkward days: DST at midnight (Santiago, Havana), 30-minute DST
# (Lord Howe), a half-hour offset that puts local midnight mid-hour in UTC
# (Kolkata, Kathmandu), clocks going back across midnight (Goose Bay 2010).
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "America/Santiago", "America/Havana", "Australia/Lord_Howe",
         "Asia/Kolkata", "Asia/Kathmandu", "America/Goose_Bay"]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _us(value: datetime) -> int:
    return (value - EPOCH) // timedelta(microseconds=1)


def _instant(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


@st.composite
def _hours(draw) -> list[str]:
    """0-3 intervals on a 30-minute grid, sometimes touching (a lunch break, 24:00)."""
    points = sorted(draw(st.sets(st.integers(0, 48), max_size=6)))
    pairs = list(zip(points[::2], points[1::2]))
    if len(pairs) >= 2 and draw(st.booleans()):
        pairs[1] = (pairs[0][1], pairs[1][1])
    fmt = lambda h: f"{h // 2:02d}:{h % 2 * 30:02d}"  # noqa: E731
    return [f"{fmt(a)}-{fmt(b)}" for a, b in pairs]


@st.composite
def _calendars(draw) -> Calendar:
    hours = {day: draw(_hours()) for day in DAYS if draw(st.booleans())}
    if not any(hours.values()):
        hours["wed"] = ["09:00-17:00"]
    holidays = draw(st.lists(st.dates(date(2009, 1, 1), date(2028, 12, 31)).map(date.isoformat), max_size=8))
    holidays += draw(st.lists(st.sampled_from(["01-01", "12-25", "12-26", "03-08", "11-01"]), max_size=3))
    return Calendar.from_config({"timezone": draw(st.sampled_from(ZONES)), "hours": hours, "holidays": holidays},
                                name="generated")


@st.composite
def _instants(draw, near: date, zone: str | None = None) -> datetime:
    """Instants to the microsecond, often on a local half hour (mostly in ``zone``)
    or a DST switch day, some far away."""
    kind = draw(st.sampled_from(["local", "local", "dst", "any", "far"]))
    if kind == "any":
        return _instant(_us(datetime(near.year, near.month, near.day, tzinfo=UTC)) + draw(st.integers(-40, 40)) * 86400 * US
                        + draw(st.integers(0, 86400 * US)))
    if kind == "far":
        return datetime(draw(st.integers(2009, 2028)), 1, 1, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 365 * 86400)))
    day = near + timedelta(days=draw(st.integers(-20, 20)))
    if kind == "dst":
        day = date(day.year, draw(st.sampled_from([3, 4, 9, 10, 11])), draw(st.integers(1, 30)))
    half_hour = draw(st.integers(0, 47))
    if zone is None or draw(st.integers(0, 3)) == 0:
        zone = draw(st.sampled_from(ZONES))
    wall = datetime(day.year, day.month, day.day, half_hour // 2, half_hour % 2 * 30,
                    tzinfo=ZoneInfo(zone), fold=draw(st.integers(0, 1)))
    return wall.astimezone(UTC) + timedelta(microseconds=draw(st.sampled_from([0, 0, 0, 1, -1, 59 * US, 500_000])))


@PROPS
@given(cal=_calendars(), near=st.dates(date(2010, 1, 1), date(2028, 6, 1)), data=st.data())
def test_import_business_time_is_the_calendars_to_the_microsecond(cal, near, data):
    """Running totals per day (import_clocks) answer between() and add() as the calendar's walk does,
    for many instants asked in any order (before and after the first day asked)."""
    between = lambda a, b: (total(_us(b)) - total(_us(a))) // US if b > a else 0  # noqa: E731
    total, add = import_clocks._arithmetic(cal, None)
    points = data.draw(st.lists(_instants(near, cal.timezone), min_size=2, max_size=12))
    for a, b in zip(points, points[1:]):
        assert between(a, b) == cal.between(a, b), (a, b)
        seconds = data.draw(st.one_of(st.integers(0, 120), st.integers(0, 600).map(lambda m: m * 60),
                                      st.just(cal.between(a, b)), st.integers(0, 90 * 86400)))
        assert _instant(add(_us(a), seconds)) == cal.add(a, seconds), (a, seconds)


SLA_TOML = """
[calendars.office]
timezone = "Europe/Berlin"
hours = { mon = ["09:00-12:00", "12:00-13:00", "14:00-17:00"], tue = ["09:00-17:00"], wed = ["09:00-17:00"], thu = ["09:00-17:00"], fri = ["09:00-15:30"] }
holidays = ["12-25", "2026-11-25"]

[calendars.kolkata]
timezone = "Asia/Kolkata"
hours = { mon = ["09:30-18:00"], tue = ["09:30-18:00"], wed = ["09:30-18:00"], thu = ["09:30-18:00"], fri = ["09:30-18:00"], sat = ["10:00-14:00"] }

[sla]
warn = [50, 75, 90]
pause_on = ["pending"]

[[sla.policy]]
name = "p1"
priority = "P1"
first_response = "15m"
resolution = "4h"

[[sla.policy.escalate]]
at = 80
metric = "resolution"
notify = ["team"]

[[sla.policy]]
name = "network vpn"
team = "network"
service = "vpn"
calendar = "office"
first_response = "1h"
resolution = { target = "8h", calendar = "24x7" }
pause_on = ["pending", "assigned"]

[[sla.policy]]
name = "outages"
category = "outage"
calendar = "kolkata"
resolution = "6h"
warn = []
pause_on = []

[[sla.policy]]
name = "p2 p3"
priority = ["P2", "P3"]
calendar = "office"
first_response = "2h"
resolution = "16h"
warn = [25, 50]
"""
STATUSES = ("new", "assigned", "in_progress", "pending", "resolved", "closed", "cancelled")
TEAMS, SERVICES, CATEGORIES = {1: "ops", 2: "network"}, {1: "vpn", 2: "mail"}, {1: "outage", 2: "access"}


@functools.lru_cache(maxsize=2)
def _sla_of(config_text: str):
    return parse_config(config_text + SLA_TOML, "test.toml").sla


STEPS = [0, 1, 15 * 60, 3600, 2 * 3600, 4 * 3600, 6 * 3600, 8 * 3600, 16 * 3600, 86400, 3 * 86400]


@st.composite
def _tickets(draw, now: datetime) -> dict:
    """A ticket's facts, its times as instants (some on business boundaries, some equal, some after now)."""
    if draw(st.booleans()):  # a target's length, or part of one, before now: due now, warned, ...
        created = now - timedelta(seconds=draw(st.sampled_from(STEPS + [450, 675, 810, 1800, 2700, 7200 + 1, 10800])))
    else:
        created = draw(_instants(now.date(), draw(st.sampled_from(["Europe/Berlin", "Asia/Kolkata", "UTC"]))))

    def later() -> datetime:  # a target's length after creation (boundaries), or any time
        seconds = draw(st.one_of(st.sampled_from(STEPS), st.integers(0, 10 * 86400)))
        return created + timedelta(seconds=seconds, microseconds=draw(st.sampled_from([0, 0, 1, 999_999])))

    def maybe() -> datetime | None:
        return later() if draw(st.booleans()) else None

    return dict(
        status=draw(st.sampled_from(STATUSES)), priority=draw(st.sampled_from(["P1", "P2", "P3", "P4"])),
        team=draw(st.sampled_from([None, 1, 2])), service=draw(st.sampled_from([None, 1, 2])),
        category=draw(st.sampled_from([None, 1, 2])), created=created, updated=later(),
        acked=maybe(), responded=maybe(), resolved=maybe(), merged=draw(st.sampled_from([None, None, None, 7])),
    )


def _stored(value):
    return None if value is None else value.astimezone(UTC).isoformat(" ", "microseconds")[:26]


@PROPS
@given(data=st.data(), now=st.sampled_from([datetime(2026, 11, 23, 9, tzinfo=UTC), datetime(2026, 11, 27, 15, 30, tzinfo=UTC),
                                             datetime(2026, 11, 29, 0, 0, 0, 1, tzinfo=UTC), datetime(2027, 3, 28, 1, tzinfo=UTC)]))
def test_import_clocks_are_the_clocks_sla_history_rebuilds(config_text, data, now):
    """Every column of every clock, and the ticket's sla / sla_due, for tickets
    in every status, on every policy (24x7, office hours with a lunch break and
    holidays in Berlin, a half-hour zone, a policy with no warnings or pauses,
    tickets no policy matches), with times on boundaries and equal to each other."""
    from deskconsole.core.archive import transfer

    sla = _sla_of(config_text)
    directory = SimpleNamespace(team_names=TEAMS, service_names=SERVICES, category_names=CATEGORIES)
    tickets = data.draw(st.lists(_tickets(now), min_size=1, max_size=20))
    columns = transfer._COLUMNS
    rows = []
    for t in tickets:
        values = [None] * len(columns)
        for name, key in (("status", "status"), ("priority", "priority"), ("team", "team"), ("service", "service"),
                          ("category", "category")):
            values[columns.index(name)] = t[key]
        for name, key in (("created_at", "created"), ("updated_at", "updated"), ("acknowledged_at", "acked"),
                          ("first_response_at", "responded"), ("resolved_at", "resolved")):
            values[columns.index(name)] = _stored(t[key])
        rows.append(values)
    planned = import_clocks.ImportClocks(sla, directory, now, True, columns).plan(rows, [t["merged"] for t in tickets])
    for n, (t, values, clocks) in enumerate(zip(tickets, rows, planned), 1):
        made = sla_history.clocks_for(sla, directory, (n, t["status"], t["priority"], t["team"], t["service"], t["category"],
                                                       t["created"], t["updated"], t["acked"], t["responded"],
                                                       t["resolved"], t["merged"]), now)
        if made is None:
            assert clocks is None and values[columns.index("sla")] is None and values[columns.index("sla_due")] is None
            continue
        expected = [[n if name == "ticket" else _stored(v) if isinstance(v := getattr(c, "ticket_id" if name == "ticket" else name), datetime) else v
                     for name in sla_history.COLUMNS] for c in made]
        assert [[n, *clock[1:]] for clock in clocks] == expected, t
        state, due = summary(made, now)
        assert (values[columns.index("sla")], values[columns.index("sla_due")]) == (state, _stored(due)), t


def test_import_business_time_across_a_local_midnight_inside_an_hour():
    """In Kolkata (UTC+5:30) local midnight is 18:30 UTC: one UTC hour holds
    the end of one day and the start of the next, whichever is asked first."""
    cal = Calendar.from_config({"timezone": "Asia/Kolkata", "hours": {"sun": ["23:00-24:00"], "mon": ["00:00-01:00"]}})
    sunday_late, monday_early = datetime(2026, 11, 22, 18, 15, tzinfo=UTC), datetime(2026, 11, 22, 18, 45, tzinfo=UTC)
    for first, second in ((sunday_late, monday_early), (monday_early, sunday_late)):
        total, add = import_clocks._arithmetic(cal, None)
        for a, b in ((first, second), (second, first), (first, first + timedelta(hours=1))):
            assert ((total(_us(b)) - total(_us(a))) // US if b > a else 0) == cal.between(a, b)
            assert _instant(add(_us(a), 600)) == cal.add(a, 600)
