"""``deskconsole change ...`` / ``changes ...`` through the real command line
on both backends: raising, planning, approving, rejecting, the calendar, and
its iCalendar export read back by a real parser."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest

from test_changes import CHANGES_CONFIG
from test_cli import CLI, _isolate, created

BERLIN = ZoneInfo("Europe/Berlin")
# Next year's dates: the command line runs on the real clock.
CONFIG = CHANGES_CONFIG.replace('default_team = "ops"', 'default_team = "ops"\ntimezone = "Europe/Berlin"') + """
[changes.windows.summer-freeze]
kind = "freeze"
start = 2027-07-01T00:00:00
end = 2027-07-03T00:00:00
note = "Quarter close; ask the CFO"

[changes.windows.db-nights]
kind = "maintenance"
days = ["sat", "sun"]
from = "01:00"
to = "05:00"
services = ["db-main"]
"""


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys, write_config, db_url):
    _isolate(monkeypatch, tmp_path)
    return CLI(capsys, monkeypatch, created(write_config(CONFIG), db_url), db_url)


def _new(cli, *argv, user="al") -> str:
    result = cli.ok("change", "new", *argv, user=user)
    key = result.out.strip()
    assert key.startswith("CHG-"), result
    return key


def test_a_normal_change_from_raised_to_closed(cli):
    key = _new(cli, "Upgrade the shop", "--service", "web,api", "--start", "2027-06-30 22:00", "--for", "3h",
               "--risk", "high", "--implementation", "deploy 4.2", "--backout", "deploy 4.1")
    err = cli.ok("change", "show", key).err
    assert err == ""
    shown = cli.ok("change", "show", key).out
    # the desk's zone: 22:00 Berlin (CEST) is 20:00 UTC; three hours run into the freeze at midnight Berlin
    assert "2027-06-30 22:00 - 2027-07-01 01:00 Europe/Berlin (3h)" in shown
    assert "freeze" in shown and "summer-freeze" in shown and "Quarter close" in shown
    assert "owner_lead  waiting" in shown and "Implementation plan\n  deploy 4.2" in shown
    data = cli.ok("show", key, "--format", "json").json()
    assert data["change"]["planned_start"].startswith("2027-06-30T20:00:00")
    assert data["change"]["services"] == ["api", "web"]
    # moving it keeps its length and clears the freeze
    edited = cli.ok("change", "edit", key, "--start", "2027-06-29 22:00", user="al")
    assert "saved" in edited.out and edited.err == ""
    assert "2027-06-29 22:00 - 2027-06-30 01:00" in cli.ok("change", "show", key).out
    cli.ok("change", "state", key, "assessment", user="al")
    moved = cli.ok("change", "state", key, "awaiting-approval", user="al")
    assert "awaiting approval" in moved.out and "it waits for: owner_lead" in moved.err
    assert "al raised" in cli.fails(4, "change", "approve", key, user="al").err
    first = cli.ok("change", "approve", key, "-m", "ok by ops", user="lee")
    assert "it still waits for: cab" in first.err
    cli.ok("change", "approve", key, user="cara")
    assert cli.ok("show", key, "--format", "json").json()["status"] == "scheduled"
    listed = cli.ok("change", "ls", "--format", "json").json()
    assert [(c["key"], c["status"], c["type"]) for c in listed] == [(key, "scheduled", "normal")]
    cli.ok("change", "state", key, "implementing", user="al")
    cli.ok("change", "state", key, "review", user="al")
    assert "--outcome" in cli.fails(1, "change", "state", key, "closed", user="al").err
    cli.ok("change", "state", key, "closed", "--outcome", "successful", user="al")
    assert cli.ok("change", "ls", "--format", "json").json() == []
    assert [c["key"] for c in cli.ok("change", "ls", "--all", "--format", "json").json()] == [key]
    assert "success rate 100.0% of 1 closed (1 successful" in cli.ok("report").out
    figures = cli.ok("report", "--format", "json").json()["changes"]
    assert (figures["closed"], figures["success_rate"], figures["caused_incidents"]) == (1, 1.0, 0)


def test_rejecting_needs_a_comment_and_sends_it_back(cli):
    key = _new(cli, "Rotate the certificates", "--service", "mail", "--start", "2027-05-04 10:00", "--end",
               "2027-05-04 11:00")
    cli.ok("change", "state", key, "assessment", user="al")
    cli.ok("change", "state", key, "awaiting_approval", user="al")
    assert "say why" in cli.fails(1, "change", "reject", key, user="cara").err
    out = cli.ok("change", "reject", key, "--comment", "-", stdin="No test plan.\n", user="cara").out
    assert "rejected by cara; it is draft" in out
    shown = cli.ok("change", "show", key).out
    assert "reject  cara (cab): No test plan." in shown and "Approvals (round 2)" in shown


def test_warnings_for_collisions_go_to_stderr_and_refuse_nothing(cli):
    first = _new(cli, "Vacuum the database", "--service", "db-main", "--start", "2027-05-08 02:00", "--for", "1h")
    second = cli.ok("change", "new", "Deploy the API", "--service", "api", "--start", "2027-05-08 02:30", "--for",
                    "2h", user="al")
    assert second.out.strip() == "CHG-2"
    assert f"overlaps {first}" in second.err
    late = cli.ok("change", "new", "Reindex", "--service", "db-main", "--start", "2027-05-08 04:30", "--for", "1h",
                  user="al")
    assert "db-main is changed outside its maintenance window" in late.err


def test_bad_input_gets_one_line_and_a_way_forward(cli):
    assert "is not a date and time" in cli.fails(1, "change", "new", "x", "--start", "next tuesday", user="al").err
    assert "45m, 2h or 1d" in cli.fails(1, "change", "new", "x", "--start", "+1d", "--for", "ages", user="al").err
    assert "--end or --for, not both" in cli.fails(
        1, "change", "new", "x", "--start", "+1d", "--for", "1h", "--end", "+2d", user="al").err
    assert "templates: restart-web" in cli.fails(1, "change", "new", "--template", "nope", user="al").err
    assert "no service called 'nope'" in cli.fails(1, "change", "new", "x", "--service", "nope", user="al").err
    assert "CHG-9 does not exist" in cli.fails(1, "change", "show", "CHG-9").err
    assert "is not a change" in cli.fails(1, "change", "show", cli.new("An incident")).err
    assert cli.fails(4, "change", "new", "x", user="vic").err
    assert "is not a week" in cli.fails(1, "changes", "calendar", "--week", "someday").err


def test_the_calendar_shows_the_week_in_the_desk_zone(cli):
    key = _new(cli, "Patch the web hosts", "--service", "web", "--start", "2027-06-30 23:00", "--for", "2h")
    _new(cli, "Cancelled one", "--service", "mail", "--start", "2027-06-29 10:00", "--for", "1h")
    cli.ok("change", "state", "CHG-2", "cancelled", user="al")
    text = cli.ok("changes", "calendar", "--week", "2027-W26").out
    assert text.startswith("Changes, week 2027-W26 (Mon 28 Jun - Sun 04 Jul 2027, Europe/Berlin)")
    wed = text.split("Wed 30 Jun")[1].split("Thu 01 Jul")[0]
    thu = text.split("Thu 01 Jul")[1].split("Fri 02 Jul")[0]
    assert f"23:00-..     {key}" in wed and f"..   -01:00  {key}" in thu  # across midnight, local time
    assert "FREEZE      summer-freeze (all services)" in thu
    assert "Cancelled one" not in text
    assert "Collisions" in text and f"{key}: overlaps the freeze window summer-freeze" in text
    data = cli.ok("changes", "calendar", "--week", "2027-06-30", "--format", "json").json()
    assert data["week"] == "2027-W26" and [c["key"] for c in data["changes"]] == [key]
    assert {w["name"] for w in data["windows"]} == {"summer-freeze", "db-nights"}


def test_the_ical_export_is_read_back_by_a_real_parser(cli):
    key = _new(cli, "Upgrade; with, commas \\ and a long title that must be folded across lines " + "x" * 40,
               "--service", "web", "--start", "2027-06-30 23:00", "--for", "2h",
               "--description", "Line one\nLine two — ünïcödé ✓")
    raw = cli.ok("changes", "calendar", "--week", "2027-W26", "--ical").out
    assert all(len(line.encode("utf-8")) <= 75 for line in raw.split("\r\n")), "lines are folded at 75 octets"
    cal = icalendar.Calendar.from_ical(raw)
    events = [e for e in cal.walk("VEVENT")]
    change = next(e for e in events if str(e["SUMMARY"]).startswith(key))
    assert str(change["SUMMARY"]) == f"{key} Upgrade; with, commas \\ and a long title that must be folded " \
                                     "across lines " + "x" * 40
    assert change.decoded("DTSTART") == datetime(2027, 6, 30, 21, 0, tzinfo=timezone.utc)
    assert change.decoded("DTEND") - change.decoded("DTSTART") == timedelta(hours=2)
    assert "Line two — ünïcödé ✓" in str(change["DESCRIPTION"])
    assert "overlaps the freeze window" in str(change["DESCRIPTION"])
    assert str(change["STATUS"]) == "TENTATIVE" and int(change["SEQUENCE"]) == 1
    uid = str(change["UID"])
    freeze = [e for e in events if str(e["SUMMARY"]) == "Freeze: summer-freeze"]
    assert len(freeze) == 1 and str(freeze[0]["TRANSP"]) == "TRANSPARENT"
    assert freeze[0].decoded("DTSTART") == datetime(2027, 6, 30, 22, 0, tzinfo=timezone.utc)
    # a later version of the change keeps its UID and raises its SEQUENCE
    cli.ok("change", "edit", key, "--risk", "high", user="al")
    again = icalendar.Calendar.from_ical(cli.ok("changes", "calendar", "--week", "2027-W26", "--ical").out)
    same = next(e for e in again.walk("VEVENT") if str(e["UID"]) == uid)
    assert int(same["SEQUENCE"]) == 2


def test_the_policy_shows_what_the_desk_keeps(cli):
    out = cli.ok("change", "policy").out
    assert "CAB: cara, lee" in out and "normal     owner_lead" in out and "restart-web" in out
    assert "maintenance db-nights: sat/sun 01:00-05:00 Europe/Berlin (db-main)" in out
    data = json.loads(cli.ok("change", "policy", "--format", "json").out)
    assert data["cab"] == ["cara", "lee"]


def test_incidents_link_to_a_change(cli):
    key = _new(cli, "Deploy", "--service", "web")
    listed = cli.ok("change", "ls", "--format", "json").json()  # a change with no window yet is listed too
    assert [(c["key"], c["planned_start"], c["services"]) for c in listed] == [(key, None, ["web"])]
    assert "not planned yet" in cli.ok("change", "ls").out
    a, b = cli.new("500s after deploy"), cli.new("Old bug gone")
    cli.ok("change", "link", key, a, "--caused", user="al")
    cli.ok("change", "link", key, b, "--fixed", user="al")
    shown = cli.ok("change", "show", key).out
    assert f"Incidents it caused\n  {a}" in shown and f"Incidents it fixed\n  {b}" in shown
    cli.ok("change", "link", key, a, "--caused", "--remove", user="al")
    assert "Incidents it caused" not in cli.ok("change", "show", key).out
