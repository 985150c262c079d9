"""Calendar configuration, validation messages and hand-checked semantics.

Hand-checked DST facts used below (2026):
  Europe/Berlin     Mar 29 02:00 CET -> 03:00 CEST at 01:00Z; Oct 25 03:00 CEST -> 02:00 CET at 01:00Z
  America/New_York  Mar  8 02:00 EST -> 03:00 EDT at 07:00Z; Nov  1 02:00 EDT -> 01:00 EST at 06:00Z
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from deskconsole.sla import Calendar, CalendarError

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
H = 3600

WEEKDAYS_9_17 = {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
LUNCH = {d: ["09:00-12:00", "13:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def cal(hours, timezone="UTC", holidays=(), name="x") -> Calendar:
    return Calendar.from_config(
        {"timezone": timezone, "hours": hours, "holidays": list(holidays)}, name=name
    )


# -- validation ---------------------------------------------------------------


def config_error(table, name="x") -> str:
    with pytest.raises(CalendarError) as info:
        Calendar.from_config(table, name=name)
    return str(info.value)


def test_calendar_error_is_a_value_error():
    assert issubclass(CalendarError, ValueError)


def test_reversed_interval_message_is_exact():
    table = {"timezone": "Europe/Berlin", "hours": {"mon": ["17:00-09:00"]}}
    assert config_error(table, name="berlin_office") == (
        "calendars.berlin_office.hours.mon: '17:00-09:00' ends before it starts; "
        "expected 'HH:MM-HH:MM' with start < end"
    )


@pytest.mark.parametrize(
    "table, key, expected",
    [
        # unknown day key
        ({"timezone": "UTC", "hours": {"monday": ["09:00-17:00"]}},
         "calendars.x.hours.monday", "expected one of mon, tue, wed, thu, fri, sat, sun"),
        # malformed intervals
        ({"timezone": "UTC", "hours": {"mon": ["9-17"]}}, "calendars.x.hours.mon", "HH:MM-HH:MM"),
        ({"timezone": "UTC", "hours": {"mon": ["09:00 - 17:00"]}}, "calendars.x.hours.mon", "HH:MM-HH:MM"),
        ({"timezone": "UTC", "hours": {"mon": ["9:00-17:00"]}}, "calendars.x.hours.mon", "HH:MM-HH:MM"),
        ({"timezone": "UTC", "hours": {"mon": ["09:60-10:00"]}}, "calendars.x.hours.mon", "invalid time"),
        ({"timezone": "UTC", "hours": {"mon": ["23:00-24:30"]}}, "calendars.x.hours.mon", "invalid time"),
        ({"timezone": "UTC", "hours": {"mon": ["24:00-24:00"]}}, "calendars.x.hours.mon", "HH:MM-HH:MM"),
        ({"timezone": "UTC", "hours": {"mon": [900]}}, "calendars.x.hours.mon", "not a string"),
        # start >= end
        ({"timezone": "UTC", "hours": {"tue": ["10:00-10:00"]}}, "calendars.x.hours.tue", "start < end"),
        # overlapping intervals, in either order
        ({"timezone": "UTC", "hours": {"wed": ["09:00-12:00", "11:00-13:00"]}},
         "calendars.x.hours.wed", "overlap"),
        ({"timezone": "UTC", "hours": {"wed": ["11:00-13:00", "09:00-12:00"]}},
         "calendars.x.hours.wed", "overlap"),
        ({"timezone": "UTC", "hours": {"wed": ["09:00-12:00", "09:00-12:00"]}},
         "calendars.x.hours.wed", "overlap"),
        # time zones
        ({"timezone": "Mars/Olympus_Mons", "hours": WEEKDAYS_9_17}, "calendars.x.timezone", "IANA"),
        ({"timezone": "", "hours": WEEKDAYS_9_17}, "calendars.x.timezone", "IANA"),
        ({"timezone": "Europe", "hours": WEEKDAYS_9_17}, "calendars.x.timezone", "IANA"),
        ({"timezone": "../etc/passwd", "hours": WEEKDAYS_9_17}, "calendars.x.timezone", "IANA"),
        ({"timezone": "utc", "hours": WEEKDAYS_9_17}, "calendars.x.timezone", "IANA"),
        ({"timezone": 1, "hours": WEEKDAYS_9_17}, "calendars.x.timezone", "IANA"),
        # holidays
        ({"timezone": "UTC", "hours": WEEKDAYS_9_17, "holidays": ["2025-13-01"]},
         "calendars.x.holidays[0]", "'YYYY-MM-DD' (one date) or 'MM-DD' (every year)"),
        ({"timezone": "UTC", "hours": WEEKDAYS_9_17, "holidays": ["01-01", "02-30"]},
         "calendars.x.holidays[1]", "not a valid date"),
        ({"timezone": "UTC", "hours": WEEKDAYS_9_17, "holidays": ["12/25"]},
         "calendars.x.holidays[0]", "YYYY-MM-DD"),
        ({"timezone": "UTC", "hours": WEEKDAYS_9_17, "holidays": ["2025-1-1"]},
         "calendars.x.holidays[0]", "YYYY-MM-DD"),
        ({"timezone": "UTC", "hours": WEEKDAYS_9_17, "holidays": [20251225]},
         "calendars.x.holidays[0]", "not a string"),
        ({"timezone": "UTC", "hours": WEEKDAYS_9_17, "holidays": "12-25"},
         "calendars.x.holidays", "expected a list"),
        # unknown or missing top-level keys
        ({"timezone": "UTC", "hours": WEEKDAYS_9_17, "holiday": ["12-25"]},
         "calendars.x.holiday", "unknown key; expected only timezone, hours, holidays"),
        ({"hours": WEEKDAYS_9_17}, "calendars.x.timezone", "missing"),
        ({"timezone": "UTC"}, "calendars.x.hours", "missing"),
        # wrong types
        ({"timezone": "UTC", "hours": ["09:00-17:00"]}, "calendars.x.hours", "expected a table"),
        ({"timezone": "UTC", "hours": {"mon": "09:00-17:00"}}, "calendars.x.hours.mon", "expected a list"),
        # no open hours at all: add() could never finish
        ({"timezone": "UTC", "hours": {}}, "calendars.x.hours", "no open hours"),
        ({"timezone": "UTC", "hours": {"mon": [], "sat": []}}, "calendars.x.hours", "no open hours"),
    ],
)
def test_invalid_config_names_the_key(table, key, expected):
    message = config_error(table)
    assert message.startswith(key + ":"), message
    assert expected in message


def test_table_must_be_a_table():
    assert config_error(["timezone"]).startswith("calendars.x: expected a table")


def test_without_a_name_errors_say_calendar():
    with pytest.raises(CalendarError, match=r"^calendar\.timezone: "):
        Calendar.from_config({"timezone": "Nowhere/Land", "hours": WEEKDAYS_9_17})


def test_holidays_covering_every_day_are_rejected():
    every_day = [(date(2000, 1, 1) + timedelta(days=i)).strftime("%m-%d") for i in range(366)]
    message = config_error({"timezone": "UTC", "hours": WEEKDAYS_9_17, "holidays": every_day})
    assert message.startswith("calendars.x.holidays:") and "never be open" in message


def test_valid_edge_configs_are_accepted():
    # "24:00" end, an empty day, "02-29" yearly and an unquoted TOML date literal.
    c = cal({"mon": ["00:00-24:00"], "tue": []}, holidays=["02-29", date(2026, 5, 4)])
    assert c.name == "x" and c.timezone == "UTC"
    assert not c.is_open(utc(2016, 2, 29, 12))  # a Monday, leap day
    assert c.is_open(utc(2016, 3, 7, 12))  # the next Monday
    assert not c.is_open(utc(2026, 5, 4, 12))  # the TOML date (a Monday)
    assert not c.is_open(utc(2026, 5, 12, 12))  # Tuesday: empty list = closed


# -- arguments ------------------------------------------------------------------


def test_naive_datetimes_are_rejected():
    c = cal(WEEKDAYS_9_17)
    naive = datetime(2026, 5, 4, 10)
    for call in (lambda: c.add(naive, 1), lambda: c.between(naive, utc(2026, 5, 5)),
                 lambda: c.between(utc(2026, 5, 3), naive), lambda: c.is_open(naive)):
        with pytest.raises(TypeError, match="timezone-aware"):
            call()
    with pytest.raises(TypeError, match="timezone-aware"):
        c.add(date(2026, 5, 4), 1)


def test_seconds_must_be_a_non_negative_int():
    c = cal(WEEKDAYS_9_17)
    with pytest.raises(ValueError, match=">= 0"):
        c.add(utc(2026, 5, 4), -1)
    for bad in (1.5, 1.0, True, "60"):
        with pytest.raises(TypeError, match="seconds must be an int"):
            c.add(utc(2026, 5, 4), bad)


def test_result_is_utc_whatever_the_input_zone():
    c = cal(WEEKDAYS_9_17)
    start = datetime(2026, 5, 4, 11, 0, tzinfo=BERLIN)  # 09:00Z
    due = c.add(start, 60)
    assert due == utc(2026, 5, 4, 9, 1) and due.tzinfo == UTC


def test_sub_second_precision_is_kept_by_add_and_floored_by_between():
    c = cal(WEEKDAYS_9_17)
    start = utc(2026, 5, 4, 8, 59, 59, 250_000)  # counts from the 09:00 opening
    assert c.add(start, 1) == utc(2026, 5, 4, 9, 0, 1)
    inside = utc(2026, 5, 4, 9, 0, 0, 500_000)
    assert c.add(inside, 1) == utc(2026, 5, 4, 9, 0, 1, 500_000)
    assert c.between(inside, utc(2026, 5, 4, 9, 0, 2)) == 1  # 1.5 s -> 1


# -- core semantics ----------------------------------------------------------------


def test_deadline_exactly_on_closing_instant():
    c = cal(WEEKDAYS_9_17)
    monday = utc(2026, 5, 4)
    assert c.add(monday + timedelta(hours=16), H) == monday + timedelta(hours=17)
    assert c.add(monday + timedelta(hours=16), H + 1) == utc(2026, 5, 5, 9, 0, 1)
    assert c.add(utc(2026, 5, 8, 17), 1) == utc(2026, 5, 11, 9, 0, 1)  # Friday -> Monday
    assert not c.is_open(monday + timedelta(hours=17))
    assert c.is_open(monday + timedelta(hours=17) - timedelta(seconds=1))


def test_zero_seconds_is_the_start_itself():
    c = cal(WEEKDAYS_9_17)
    for start in (utc(2026, 5, 4, 10), utc(2026, 5, 4, 17), utc(2026, 5, 9, 12)):  # open, close, Saturday
        assert c.add(start, 0) == start


def test_start_outside_hours_counts_from_next_opening():
    c = cal(WEEKDAYS_9_17)
    assert c.add(utc(2026, 5, 9, 12), 60) == utc(2026, 5, 11, 9, 1)  # Saturday -> Monday
    assert c.add(utc(2026, 5, 4, 3), 8 * H) == utc(2026, 5, 4, 17)


def test_lunch_break_boundaries():
    c = cal(LUNCH, timezone="Europe/Berlin")
    day = datetime(2026, 5, 4, tzinfo=BERLIN)  # Monday, CEST (UTC+2)
    at = lambda h, m=0, s=0: day + timedelta(hours=h, minutes=m, seconds=s)  # noqa: E731
    assert c.add(at(11, 59), 60) == at(12)  # lands on the start of lunch: that instant
    assert c.add(at(11, 59), 61) == at(13, 0, 1)
    assert c.add(at(12, 30), 1) == at(13, 0, 1)  # during lunch: counts from 13:00
    assert c.add(at(12), 0) == at(12)
    assert c.is_open(at(11, 59, 59)) and not c.is_open(at(12)) and not c.is_open(at(12, 59, 59))
    assert c.is_open(at(13))
    assert c.between(at(11), at(14)) == 2 * H
    assert c.between(at(0), at(24)) == 7 * H


def test_touching_intervals_and_24_00_join_up():
    c = cal({"mon": ["09:00-12:00", "12:00-13:00", "22:00-24:00"], "tue": ["00:00-02:00"]})
    assert c.add(utc(2026, 5, 4, 9), 3 * H) == utc(2026, 5, 4, 12)
    assert c.is_open(utc(2026, 5, 4, 12))
    assert c.add(utc(2026, 5, 4, 23), 2 * H) == utc(2026, 5, 5, 1)
    assert c.between(utc(2026, 5, 4), utc(2026, 5, 6)) == 8 * H


def test_yearly_and_fixed_holidays():
    c = cal(WEEKDAYS_9_17, holidays=["07-14", "2026-05-14"])
    assert not c.is_open(utc(2026, 5, 14, 10))  # the fixed date (a Thursday)
    assert c.is_open(utc(2027, 5, 14, 10))  # same date next year (a Friday): open
    assert not c.is_open(utc(2026, 7, 14, 10))  # yearly: Tuesday 2026
    assert not c.is_open(utc(2027, 7, 14, 10))  # yearly: Wednesday 2027
    assert not c.is_open(utc(2031, 7, 14, 10))  # yearly: Monday 2031
    assert c.add(utc(2026, 5, 13, 16), 2 * H) == utc(2026, 5, 15, 10)  # skips the holiday


def test_holiday_removes_the_local_day_not_the_utc_day():
    c = cal(
        {"fri": ["08:00-20:00"], "sat": ["10:00-14:00"], "mon": ["08:00-20:00"]},
        timezone="America/New_York", holidays=["07-04"],
    )
    friday_7pm = datetime(2026, 7, 3, 19, tzinfo=NEW_YORK)  # 23:00Z; 2026-07-04 is a Saturday
    assert c.add(friday_7pm, H) == datetime(2026, 7, 3, 20, tzinfo=NEW_YORK)  # 00:00Z on the 4th
    assert c.add(friday_7pm, H + 1) == datetime(2026, 7, 6, 8, 0, 1, tzinfo=NEW_YORK)


def test_always_is_open_all_the_time():
    c = Calendar.always()
    assert (c.name, c.timezone) == ("24x7", "UTC")
    assert Calendar.always(name="round_the_clock").name == "round_the_clock"
    for start in (utc(2026, 3, 29, 0, 30), utc(2026, 10, 25, 0, 30), utc(2028, 2, 28, 23)):
        assert c.is_open(start)
        assert c.add(start, 7 * 86_400 + 5) == start + timedelta(days=7, seconds=5)
        assert c.between(start, start + timedelta(days=400)) == 400 * 86_400


def test_deadline_filling_a_whole_month_is_its_last_close():
    c = cal(WEEKDAYS_9_17)
    may = c.between(utc(2026, 5, 1), utc(2026, 6, 1))
    assert may == 21 * 8 * H
    april_30_close = utc(2026, 4, 30, 17)  # the walk enters May on the 1st: a whole month
    assert c.add(april_30_close, may) == utc(2026, 5, 29, 17)  # Friday; the 30th-31st is a weekend
    assert c.add(april_30_close, may + 1) == utc(2026, 6, 1, 9, 0, 1)


def test_long_spans():
    c = cal(WEEKDAYS_9_17)
    start = utc(2026, 1, 5, 9)  # a Monday, 09:00
    ten_years = c.between(start, utc(2036, 1, 7, 9))  # Monday 2036-01-07
    assert ten_years == (522 * 5) * 8 * H  # 522 weeks later, no holidays
    assert c.add(start, ten_years) == utc(2036, 1, 4, 17)  # previous Friday's close
    assert c.add(utc(2000, 1, 1), 8 * H) == utc(2000, 1, 3, 17)


# -- DST ---------------------------------------------------------------------------


def test_berlin_office_day_stays_local_across_dst():
    c = cal(LUNCH, timezone="Europe/Berlin")
    # Friday before spring forward, 16:00 CET (15:00Z) + 2h -> Monday 10:00 CEST (08:00Z)
    assert c.add(utc(2026, 3, 27, 15), 2 * H) == utc(2026, 3, 30, 8)
    # Friday before fall back, 16:00 CEST (14:00Z) + 2h -> Monday 10:00 CET (09:00Z)
    assert c.add(utc(2026, 10, 23, 14), 2 * H) == utc(2026, 10, 26, 9)
    assert c.between(utc(2026, 3, 23), utc(2026, 4, 6)) == 10 * 7 * H


@pytest.mark.parametrize(
    "zone, day, hours",
    [
        ("Europe/Berlin", date(2026, 3, 22), 24), ("Europe/Berlin", date(2026, 3, 29), 23),
        ("Europe/Berlin", date(2026, 10, 25), 25),
        ("America/New_York", date(2026, 3, 8), 23), ("America/New_York", date(2026, 11, 1), 25),
    ],
)
def test_whole_day_counts_real_seconds(zone, day, hours):
    c = cal({"sun": ["00:00-24:00"]}, timezone=zone)
    tz = ZoneInfo(zone)
    midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
    next_midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)
    assert c.between(midnight - timedelta(days=1), next_midnight + timedelta(days=1)) == hours * H
    assert c.add(midnight, hours * H) == next_midnight  # ends exactly at the close
    assert c.add(midnight, hours * H - 1) == next_midnight - timedelta(seconds=1)


def test_berlin_nonexistent_opening_opens_when_clock_jumps():
    c = cal({"sun": ["02:30-04:00"]}, timezone="Europe/Berlin")
    # 2026-03-29: 02:30 never happens; the clock jumps 02:00 CET -> 03:00 CEST at 01:00Z.
    assert not c.is_open(utc(2026, 3, 29, 0, 59, 59))
    assert c.is_open(utc(2026, 3, 29, 1))
    assert c.add(utc(2026, 3, 29), 1) == utc(2026, 3, 29, 1, 0, 1)
    assert c.between(utc(2026, 3, 28), utc(2026, 3, 30)) == H  # 03:00-04:00 CEST
    # An interval wholly inside the gap is empty that day, normal on other Sundays.
    gap = cal({"sun": ["02:00-03:00"]}, timezone="Europe/Berlin")
    assert gap.between(utc(2026, 3, 28), utc(2026, 3, 30)) == 0
    assert gap.between(utc(2026, 3, 21), utc(2026, 3, 23)) == H
    assert gap.add(utc(2026, 3, 28), 1) == utc(2026, 4, 5, 0, 0, 1)  # 02:00 CEST next Sunday


def test_berlin_ambiguous_opening_uses_first_occurrence():
    c = cal({"sun": ["02:30-04:00"]}, timezone="Europe/Berlin")
    # 2026-10-25: 02:30 happens twice; open from the first (CEST, 00:30Z) to 04:00 CET (03:00Z).
    assert not c.is_open(utc(2026, 10, 25, 0, 29, 59))
    assert c.is_open(utc(2026, 10, 25, 0, 30))
    assert c.add(utc(2026, 10, 25), 1) == utc(2026, 10, 25, 0, 30, 1)
    assert c.between(utc(2026, 10, 24), utc(2026, 10, 26)) == 2 * H + 30 * 60


def test_new_york_gap_and_fold():
    c = cal({"sun": ["01:30-03:00"]}, timezone="America/New_York")
    # Spring: 01:30 EST (06:30Z) to 03:00 EDT (07:00Z, the jump itself): 30 minutes.
    assert c.between(utc(2026, 3, 7), utc(2026, 3, 9)) == 30 * 60
    assert c.add(utc(2026, 3, 8), 30 * 60) == utc(2026, 3, 8, 7)
    # Autumn: first 01:30 (EDT, 05:30Z) to 03:00 EST (08:00Z).
    assert c.between(utc(2026, 10, 31), utc(2026, 11, 2)) == 2 * H + 30 * 60
    assert c.add(utc(2026, 11, 1), 1) == utc(2026, 11, 1, 5, 30, 1)
    gap = cal({"sun": ["02:30-04:00"]}, timezone="America/New_York")
    assert gap.add(utc(2026, 3, 8), 1) == utc(2026, 3, 8, 7, 0, 1)  # opens at the jump


def test_clocks_going_back_into_the_previous_date():
    """America/Goose_Bay, 2010-11-07 00:01 -> 2010-11-06 23:01: Saturday's wall
    times 23:01-23:59 come round again after Sunday began.  Saturday ends at
    the first Sunday midnight (03:00Z); the repeat belongs to Sunday."""
    sat = cal({"sat": ["00:00-24:00"]}, timezone="America/Goose_Bay")
    sun = cal({"sun": ["00:00-24:00"]}, timezone="America/Goose_Bay")
    window = (utc(2010, 11, 5), utc(2010, 11, 10))
    assert sat.between(*window) == 24 * H  # 03:00Z Nov 6 .. 03:00Z Nov 7
    assert sun.between(*window) == 25 * H  # 03:00Z Nov 7 .. 04:00Z Nov 8
    repeat = utc(2010, 11, 7, 3, 30)  # the wall clock reads Saturday 23:31 -04:00
    assert not sat.is_open(repeat) and sun.is_open(repeat)
    # Saturday 09:00 -03:00 (12:00Z): 15 h left that day, 9 h more next Saturday (-04:00).
    assert sat.add(utc(2010, 11, 6, 12), 24 * H) == utc(2010, 11, 13, 13)


def test_new_york_extended_across_fall_back():
    hours = {d: ["08:00-20:00"] for d in ("mon", "tue", "wed", "thu", "fri")} | {"sat": ["10:00-14:00"]}
    c = cal(hours, timezone="America/New_York")
    # Fri 2026-10-30 19:00 EDT: 1h Friday + 4h Saturday (EDT) + 1h Monday (EST) -> 09:00 EST = 14:00Z
    assert c.add(datetime(2026, 10, 30, 19, tzinfo=NEW_YORK), 6 * H) == utc(2026, 11, 2, 14)


# -- packaging -------------------------------------------------------------------


def test_import_is_pure_stdlib():
    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys, deskconsole.sla; "
        "bad = [m for m in ('textual', 'peewee') if m in sys.modules]; "
        "assert not bad, bad; "
        "assert {'Calendar', 'CalendarError'} <= set(deskconsole.sla.__all__)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)
