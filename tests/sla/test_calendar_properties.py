"""Property tests for deskconsole.sla.Calendar.

Calendars: the README's reference calendars (when /work/shared/sla is present)
plus generated ones in zones with awkward DST rules (transitions at midnight,
30-minute shifts, no DST).  Instants are whole seconds, biased towards local
boundaries and DST switches, where the bugs live.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from deskconsole.sla import Calendar

SHARED_README = Path(__file__).resolve().parents[2].parent / "shared" / "sla" / "README.md"

PROPS = settings(
    max_examples=120, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Zones picked for their DST quirks: Santiago and Havana switch at midnight
# (local midnight is skipped, or the day's last hour repeats); Lord Howe
# shifts by 30 minutes; Kolkata has no DST.
ZONES = [
    "UTC", "Europe/Berlin", "America/New_York", "America/Santiago",
    "America/Havana", "Australia/Lord_Howe", "Asia/Kolkata",
]
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
UTC = timezone.utc
SECOND = timedelta(seconds=1)
LO, HI = datetime(2025, 1, 1, tzinfo=UTC), datetime(2028, 12, 31, tzinfo=UTC)


def _readme_calendars() -> list[Calendar]:
    if not SHARED_README.is_file():
        return []
    block = re.search(r"```toml\n(.*?)```", SHARED_README.read_text(encoding="utf-8"), re.S)
    tables = tomllib.loads(block.group(1))["calendars"]
    return [Calendar.from_config(t, name=n) for n, t in tables.items()]


README_CALENDARS = _readme_calendars()


# -- strategies -----------------------------------------------------------


@st.composite
def day_hours(draw) -> list[str]:
    """0-3 non-overlapping intervals on a 30-minute grid, sometimes touching."""
    points = sorted(draw(st.sets(st.integers(0, 48), max_size=6)))
    pairs = list(zip(points[::2], points[1::2]))
    if len(pairs) >= 2 and draw(st.booleans()):
        pairs[1] = (pairs[0][1], pairs[1][1])  # 09:00-12:00 + 12:00-13:00 style
    fmt = lambda half_hours: f"{half_hours // 2:02d}:{half_hours % 2 * 30:02d}"  # noqa: E731
    return [f"{fmt(a)}-{fmt(b)}" for a, b in pairs]


@st.composite
def generated_calendars(draw) -> Calendar:
    hours = {key: draw(day_hours()) for key in DAY_KEYS if draw(st.booleans())}
    assume(any(hours.values()))
    holidays = draw(st.lists(
        st.one_of(
            st.dates(date(2025, 1, 1), date(2028, 12, 31)).map(date.isoformat),
            st.dates(date(2000, 1, 1), date(2000, 12, 31)).map(lambda d: d.strftime("%m-%d")),
        ),
        max_size=12,
    ))
    table = {"timezone": draw(st.sampled_from(ZONES)), "hours": hours, "holidays": holidays}
    return Calendar.from_config(table, name="generated")


calendars = (
    st.one_of(st.sampled_from(README_CALENDARS), generated_calendars())
    if README_CALENDARS else generated_calendars()
)


@st.composite
def instants(draw) -> datetime:
    """Whole-second UTC instants, often on a local half hour or near a DST switch."""
    kind = draw(st.sampled_from(["any", "local_grid", "dst", "month_start"]))
    if kind == "any":
        secs = draw(st.integers(int(LO.timestamp()), int(HI.timestamp())))
        return datetime.fromtimestamp(secs, UTC)
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    day = draw(st.dates(LO.date(), HI.date() - timedelta(days=2)))
    if kind == "dst":  # the day before/of a switch in spring or autumn (both hemispheres)
        day = date(day.year, draw(st.sampled_from([3, 4, 9, 10, 11])), draw(st.integers(1, 30)))
    elif kind == "month_start":  # where the month-skipping shortcut starts
        day = day.replace(day=1)
    half_hour = draw(st.integers(0, 47))
    wall = datetime(day.year, day.month, day.day, half_hour // 2, half_hour % 2 * 30,
                    tzinfo=zone, fold=draw(st.integers(0, 1)))
    return wall.astimezone(UTC) + draw(st.sampled_from([0, 0, 0, 1, -1, 59])) * SECOND


durations = st.one_of(
    st.integers(0, 120),
    st.integers(0, 400).map(lambda m: m * 60),  # whole minutes: lands on boundaries
    st.integers(0, 30 * 86_400),
)


# -- properties ------------------------------------------------------------


@PROPS
@given(cal=calendars, start=instants(), n=durations)
def test_between_inverts_add(cal, start, n):
    due = cal.add(start, n)
    assert due >= start
    assert cal.between(start, due) == n
    if n:  # earliest: one second before the deadline a business second is missing
        assert cal.between(start, due - SECOND) == n - 1
        assert cal.is_open(due - SECOND)


@PROPS
@given(cal=calendars, points=st.lists(instants(), min_size=2, max_size=2))
def test_add_of_between_reaches_end(cal, points):
    """The deadline for the business time in [start, end) is end itself when
    business time runs right up to end, else the last close before end."""
    start, end = sorted(points)
    due = cal.add(start, cal.between(start, end))
    assert due <= end
    if cal.is_open(end - SECOND) and start < end:
        assert due == end
    else:
        assert cal.between(due, end) == 0


@PROPS
@given(cal=calendars, start=instants(), a=durations, b=durations)
def test_add_is_additive_and_monotonic_in_seconds(cal, start, a, b):
    mid = cal.add(start, a)
    assert cal.add(start, a + b) == cal.add(mid, b)
    assert cal.add(start, min(a, b)) <= cal.add(start, max(a, b))


@PROPS
@given(cal=calendars, s1=instants(), s2=instants(), n=durations)
def test_add_is_monotonic_in_start(cal, s1, s2, n):
    s1, s2 = sorted((s1, s2))
    assert cal.add(s1, n) <= cal.add(s2, n)


@PROPS
@given(cal=calendars, points=st.lists(instants(), min_size=3, max_size=3))
def test_between_is_additive(cal, points):
    a, b, c = sorted(points)
    assert cal.between(a, b) + cal.between(b, c) == cal.between(a, c)
    assert cal.between(c, a) == 0
    assert cal.between(a, c) <= (c - a).total_seconds()


@PROPS
@given(cal=calendars, t=instants())
def test_is_open_agrees_with_between(cal, t):
    assert cal.is_open(t) == (cal.between(t, t + SECOND) == 1)


@PROPS
@given(cal=calendars, t=instants())
def test_result_is_utc_and_input_zone_is_irrelevant(cal, t):
    due = cal.add(t, 3600)
    assert due.utcoffset() == timedelta(0)
    for zone in ("America/New_York", "Asia/Kolkata"):
        assert cal.add(t.astimezone(ZoneInfo(zone)), 3600) == due


# -- an independent oracle for the DST rule ----------------------------------


def _first_minute_at_or_after(zone: ZoneInfo, wall: datetime) -> datetime:
    """Brute force: scan UTC minute by minute for the first instant whose wall
    clock reads ``wall`` or later (the documented boundary rule)."""
    t = wall.replace(tzinfo=UTC) - timedelta(hours=16)  # every offset is within +-15h
    while t.astimezone(zone).replace(tzinfo=None) < wall:
        t += timedelta(minutes=1)
    return t


# (zone, local date) of DST switches, plus ordinary days.  Goose Bay 2010-11-07
# went back from 00:01 to 23:01 *the previous day*: a repeated date.
DST_DAYS = [
    ("Europe/Berlin", date(2026, 3, 29)), ("Europe/Berlin", date(2026, 10, 25)),
    ("America/New_York", date(2026, 3, 8)), ("America/New_York", date(2026, 11, 1)),
    ("America/Havana", date(2026, 3, 8)), ("America/Havana", date(2026, 11, 1)),
    ("America/Santiago", date(2026, 4, 4)), ("America/Santiago", date(2026, 9, 6)),
    ("Australia/Lord_Howe", date(2026, 4, 5)), ("Australia/Lord_Howe", date(2026, 10, 4)),
    ("America/Goose_Bay", date(2010, 11, 6)), ("America/Goose_Bay", date(2010, 11, 7)),
    ("Europe/Berlin", date(2026, 6, 10)), ("Asia/Kolkata", date(2026, 3, 29)),
]


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(zone_day=st.sampled_from(DST_DAYS), hours=day_hours())
def test_dst_boundaries_match_brute_force(zone_day, hours):
    zone_name, day = zone_day
    assume(hours)
    zone = ZoneInfo(zone_name)
    key = DAY_KEYS[day.weekday()]
    cal = Calendar.from_config({"timezone": zone_name, "hours": {key: hours}}, name="oracle")

    def boundary(hh_mm: str) -> datetime:
        h, m = map(int, hh_mm.split(":"))
        wall = datetime.combine(day, datetime.min.time()) + timedelta(hours=h, minutes=m)
        return _first_minute_at_or_after(zone, wall)

    day_start, next_day_start = boundary("00:00"), boundary("24:00")
    total = 0
    for span in hours:
        s, e = map(boundary, span.split("-"))
        if e > s:  # an interval wholly inside a DST gap is empty
            assert cal.is_open(s) and cal.is_open(e - SECOND)
            assert cal.between(s, e) == (e - s).total_seconds()
            total += int((e - s).total_seconds())
    # Each oracle interval is open and the day holds no more than their sum:
    # the calendar's business time that day is exactly the oracle's.
    assert cal.between(day_start, next_day_start) == total
    assert cal.between(day_start - timedelta(days=3), day_start) == 0
