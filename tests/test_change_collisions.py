"""What a change's window runs into: freeze and blackout windows, the
maintenance windows its services must keep to, and other changes on the same
service or one connected to it — in the windows' own time zones, across DST."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from deskconsole.change_policy import ChangePolicy, normalise
from deskconsole.config import parse_config
from deskconsole.core.identity import Actor
from deskconsole.core.records import change_requests as changes
from deskconsole.core.records.change_collisions import collisions, related
from deskconsole.core.records.views import detail

from test_changes import CHANGES_CONFIG

UTC = timezone.utc

WINDOWS = CHANGES_CONFIG + """
[changes.windows.year-end]
kind = "freeze"
start = 2026-12-19T00:00:00
end = 2027-01-04T08:00:00
timezone = "Europe/Berlin"
note = "Year-end trading"

[changes.windows.vpn-audit]
kind = "blackout"
start = 2026-11-26T09:00:00
end = 2026-11-26T17:00:00
timezone = "America/New_York"
services = ["vpn"]

[changes.windows.db-nights]
kind = "maintenance"
days = ["sat", "sun"]
from = "01:00"
to = "05:00"
timezone = "Europe/Berlin"
services = ["db-main"]

[changes.windows.friday-late]
kind = "blackout"
days = ["fri"]
from = "22:00"
to = "02:00"
timezone = "Europe/Berlin"
services = ["mail"]
"""


@pytest.fixture
def config():
    return parse_config(WINDOWS, "windows.toml")


@pytest.fixture
def al(config):
    return Actor(login="al", name="Al Agent", role="agent", team="ops")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _kinds(desk, start, end, services, **kw):
    return [(c.kind, c.what) for c in collisions(desk, _at(start), _at(end), services, **kw)]


def test_a_freeze_starts_at_local_midnight_in_its_own_zone(desk):
    # 2026-12-19 00:00 in Berlin (CET, +1) is 2026-12-18 23:00 UTC
    assert _kinds(desk, "2026-12-18T21:00", "2026-12-18T23:00", ["web"]) == []  # ends as the freeze starts
    assert _kinds(desk, "2026-12-18T21:00", "2026-12-18T23:01", ["web"]) == [("freeze", "year-end")]
    found = collisions(desk, _at("2026-12-24T10:00"), _at("2026-12-24T11:00"), ["mail"])
    assert [c.kind for c in found] == ["freeze"] and "Year-end trading" in found[0].message
    assert found[0].start == _at("2026-12-18T23:00") and found[0].end == _at("2027-01-04T07:00")
    assert _kinds(desk, "2027-01-04T07:00", "2027-01-04T08:00", ["web"]) == []  # 08:00 Berlin: it is over


def test_a_blackout_covers_only_its_services_in_its_zone(desk):
    # 09:00-17:00 New York (EST, -5) is 14:00-22:00 UTC
    assert _kinds(desk, "2026-11-26T13:00", "2026-11-26T14:00", ["vpn"]) == []
    assert _kinds(desk, "2026-11-26T21:59", "2026-11-26T23:00", ["vpn"]) == [("blackout", "vpn-audit")]
    assert _kinds(desk, "2026-11-26T15:00", "2026-11-26T16:00", ["mail"]) == []  # not a vpn change


def test_a_weekly_window_that_runs_past_midnight(desk):
    # Fridays 22:00 to Saturday 02:00 Berlin: 2026-11-27 21:00 UTC to 2026-11-28 01:00 UTC
    assert _kinds(desk, "2026-11-28T00:30", "2026-11-28T00:45", ["mail"]) == [("blackout", "friday-late")]
    assert _kinds(desk, "2026-11-28T01:00", "2026-11-28T02:00", ["mail"]) == []
    assert _kinds(desk, "2026-11-27T20:00", "2026-11-27T21:00", ["mail"]) == []
    assert _kinds(desk, "2026-11-26T22:00", "2026-11-26T23:00", ["mail"]) == []  # a Thursday


def test_a_service_with_maintenance_windows_is_changed_inside_one(desk):
    # Saturdays and Sundays 01:00-05:00 Berlin = 00:00-04:00 UTC in winter
    assert _kinds(desk, "2026-11-28T00:00", "2026-11-28T04:00", ["db-main"]) == []
    outside = collisions(desk, _at("2026-11-28T03:30"), _at("2026-11-28T04:30"), ["db-main"])
    assert [c.kind for c in outside] == ["maintenance"]
    assert "db-main is changed outside its maintenance window" in outside[0].message
    assert _kinds(desk, "2026-11-25T00:00", "2026-11-25T01:00", ["db-main"]) == [("maintenance", "db-nights")]
    assert _kinds(desk, "2026-11-25T00:00", "2026-11-25T01:00", ["web"]) == []  # web has no such windows


def test_maintenance_windows_keep_their_wall_clock_hours_across_dst(desk):
    # 2027-03-28: Berlin springs forward at 02:00, so 01:00-05:00 local is 00:00-03:00 UTC (three hours)
    assert _kinds(desk, "2027-03-28T02:00", "2027-03-28T03:00", ["db-main"]) == []
    assert _kinds(desk, "2027-03-28T03:00", "2027-03-28T04:00", ["db-main"]) == [("maintenance", "db-nights")]
    # the Saturday before, still winter time: 00:00-04:00 UTC
    assert _kinds(desk, "2027-03-27T03:00", "2027-03-27T04:00", ["db-main"]) == []
    # the next Saturday, summer time: 23:00 (Friday) to 03:00 UTC
    assert _kinds(desk, "2027-04-02T23:00", "2027-04-03T03:00", ["db-main"]) == []
    assert _kinds(desk, "2027-04-03T03:00", "2027-04-03T03:30", ["db-main"]) == [("maintenance", "db-nights")]
    # 2027-10-31: Berlin falls back at 03:00, so 01:00-05:00 local is 23:00 (30th) to 04:00 UTC (five hours)
    assert _kinds(desk, "2027-10-30T23:00", "2027-10-31T04:00", ["db-main"]) == []
    assert _kinds(desk, "2027-10-31T04:00", "2027-10-31T04:30", ["db-main"]) == [("maintenance", "db-nights")]


def test_back_to_back_maintenance_nights_do_not_join_across_the_day(desk):
    # Saturday night's window ends at 04:00 UTC and Sunday night's starts at 00:00 UTC the next day
    assert _kinds(desk, "2026-11-28T03:00", "2026-11-29T01:00", ["db-main"]) == [("maintenance", "db-nights")]


def test_a_window_in_a_skipped_local_hour_reads_with_the_offset_before(desk):
    policy = ChangePolicy.load(normalise({"windows": {"gap": {
        "kind": "freeze", "start": "2027-03-28T02:30", "end": "2027-03-28T04:00", "timezone": "Europe/Berlin"}}},
        services={}, agents={}, teams={}, zone=None))
    (span,) = policy.windows[0].spans(_at("2027-03-27T00:00"), _at("2027-03-29T00:00"))
    # 02:30 does not exist that night; read as +01:00 it is 01:30 UTC (03:30 summer time); 04:00 CEST is 02:00 UTC
    assert span == (_at("2027-03-28T01:30"), _at("2027-03-28T02:00"))


def test_other_changes_collide_on_the_same_or_a_connected_service(desk, al):
    def planned(services, start, hours=2, title="Work"):
        s = _at(start)
        return changes.create(desk, al, title=title, services=services, start=s, end=s + timedelta(hours=hours)).key

    db = planned(["db-main"], "2026-11-28T00:00", title="Upgrade PostgreSQL")
    web = planned(["web"], "2026-11-28T01:00", title="Deploy the shop")
    assert related(desk, ["web"]) == {"web", "api", "db-main"}
    assert related(desk, ["db-main"]) == {"db-main", "api", "web", "reports"}
    assert related(desk, ["reports"]) == {"reports", "db-main"}  # not web: they only share the database
    shown = detail(desk, web).change.collisions
    assert [(c.kind, c.what) for c in shown] == [("overlap", db)]
    assert "connected to this change's" in shown[0].message and "Upgrade PostgreSQL" in shown[0].message
    assert [(c.kind, c.what) for c in detail(desk, db).change.collisions] == [("overlap", web)]
    # the same service, directly
    mail = planned(["mail"], "2026-11-25T10:00")
    assert _kinds(desk, "2026-11-25T11:00", "2026-11-25T12:00", ["mail"]) == [("overlap", mail)]
    assert _kinds(desk, "2026-11-25T12:00", "2026-11-25T13:00", ["mail"]) == []  # it ends as this starts
    assert _kinds(desk, "2026-11-25T11:00", "2026-11-25T12:00", ["mail"], exclude=int(0)) == [("overlap", mail)]
    # sideways is no collision; a cancelled change is none either
    assert _kinds(desk, "2026-11-28T01:00", "2026-11-28T02:00", ["reports"]) == [("overlap", db)]
    changes.set_state(desk, al, db, "cancelled")
    assert _kinds(desk, "2026-11-28T01:00", "2026-11-28T02:00", ["reports"]) == []
    assert detail(desk, web).change.collisions == []


def test_a_closed_change_shows_no_collisions_and_a_window_less_one_none(desk, al):
    key = changes.create(desk, al, title="Someday", services=["db-main"]).key
    assert detail(desk, key).change.collisions == []
