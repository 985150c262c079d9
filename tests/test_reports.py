"""Every report figure against hand-computed expectations, on SQLite and PostgreSQL.

The data set spans a weekend and the end of daylight-saving time in Berlin
(Sunday 2026-10-25, 03:00 CEST -> 02:00 CET): the office is open 09:00-17:00
Berlin on weekdays, i.e. 07:00-15:00 UTC up to Friday 23 and 08:00-16:00 UTC
from Monday 26. P1 runs on 24x7 (15m / 4h), P2 and P3 on office hours
(1h / 8h), P4 on office hours with long targets (3d / 10d). The desk's
days are Berlin days. The report runs on Tuesday 27 October at 18:00 UTC
over 2026-10-23..2026-10-27.

    A P3 ops     created Fri 14:00 (1 office hour left), acked Mon 08:15
                 (wall 238,500 s; business 1h + 15m = 4,500 s: first
                 response breached Fri 15:00), resolved Mon 09:00 (wall
                 241,200 s; business 2h = 7,200 s, met); requester bob, no rating
    B P3 ops     created Mon 08:30, taken 08:40 (600 s), pending 09:00-11:00,
                 resolved 12:00, reopened 13:00, resolved 14:00 (wall 19,800 s;
                 business 30m + 1h + 1h = 9,000 s, met)
    C P1 network created Sat 10:00, taken by nia 10:10 (600 s), handed to
                 ops/al, back to network/nia, to ops/al again (3 hand-offs:
                 ping-pong), resolved 15:00 (18,000 s; breached Sat 14:00)
    D P2 ops     created Mon 09:00, acked 11:00 (7,200 s; first response
                 breached 10:00), still open; resolution breached Tue 09:00
                 (recorded by the sweep)
    E P3 ops     created Mon 08:45, merged into B at 09:30 (clocks cancelled)
    F P4 ops     created Tue 09:00, taken 09:10 (600 s), resolved 10:00
                 (3,600 s); the requester rates it 4 by mail
    G P4 network created 2026-09-01, open (backlog over 30 days)
    H P3 ops     created Tue 16:30, open (first response due Wednesday)
    I P4 ops     created Sat 22:30 UTC = Sunday 00:30 CEST, open
    J P4 ops     created Mon 22:30 UTC = Monday 23:30 CET, open

Tickets opened by ada have her as requester: every resolved ticket's
requester was asked for a rating (A bob, B and C ada, F ann).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from email.message import EmailMessage

import pytest

from deskconsole.cli.main import main
from deskconsole.config import parse_config
from deskconsole.core.records import links, tickets
from deskconsole.core.inbound import mail_in
from deskconsole.core.clock import ManualClock
from deskconsole.core.desk import open_desk
from deskconsole.errors import ValidationError
from deskconsole.core.identity import INTAKE
from deskconsole.core.reports.report import build
from deskconsole.core.reports.kpis import Durations
from deskconsole.core.automation.sweep import sweep

from conftest import TEST_CONFIG, config_actor

UTC = timezone.utc
REPORT_CONFIG = TEST_CONFIG.replace('default_team = "ops"', 'default_team = "ops"\ntimezone = "Europe/Berlin"') + """
[calendars.office]
timezone = "Europe/Berlin"
hours = { mon = ["09:00-17:00"], tue = ["09:00-17:00"], wed = ["09:00-17:00"], thu = ["09:00-17:00"], fri = ["09:00-17:00"] }

[[sla.policy]]
name = "p1"
priority = "P1"
first_response = "15m"
resolution = "4h"

[[sla.policy]]
name = "office"
priority = ["P2", "P3"]
calendar = "office"
first_response = "1h"
resolution = "8h"

[[sla.policy]]
name = "low"
priority = "P4"
calendar = "office"
first_response = "72h"
resolution = "240h"

[mail]
from = "Service Desk <desk@example.com>"
"""
NOW = datetime(2026, 10, 27, 18, 0, tzinfo=UTC)
PERIOD = "2026-10-23..2026-10-27"


def at(day: int, hour: int, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def rating_mail(key: str, score: str) -> bytes:
    m = EmailMessage()
    m["From"] = "Ann Lee <ann@example.com>"
    m["To"] = "desk@example.com"
    m["Subject"] = f"Re: [{key}] Resolved"
    m["Message-ID"] = f"<rating-{key}@mail.example.com>"
    m.set_content(f"{score}\n\n> the desk wrote")
    return bytes(m)


def build_data_set(desk, clock: ManualClock) -> dict[str, str]:
    a = {login: config_actor(desk.config, login) for login in ("ada", "al", "nia")}
    keys: dict[str, str] = {}

    def new(name, when, priority, **kw):
        clock.set(when)
        keys[name] = tickets.create(desk, a["ada"], title=f"ticket {name}", priority=priority, **kw).key
        return keys[name]

    def do(when, fn, *args, **kw):
        clock.set(when)
        return fn(desk, *args, **kw)

    new("G", at(1, 10, month=9), "P4", team="network", category="access")
    new("A", at(23, 14), "P3", team="ops", category="outage", service="mail", requester_email="bob@example.com")
    new("C", at(24, 10), "P1", team="network", category="outage", service="vpn")
    do(at(24, 10, 10), tickets.take, a["nia"], keys["C"])
    do(at(24, 10, 30), tickets.assign, a["ada"], keys["C"], team="ops", agent="al")
    do(at(24, 11), tickets.assign, a["ada"], keys["C"], team="network", agent="nia")
    do(at(24, 11, 30), tickets.assign, a["ada"], keys["C"], team="ops", agent="al")
    do(at(24, 15), tickets.resolve, a["al"], keys["C"], "fixed")
    new("I", at(24, 22, 30), "P4", team="ops")
    do(at(26, 8, 15), tickets.take, a["al"], keys["A"])
    new("B", at(26, 8, 30), "P3", team="ops", category="outage", service="mail")
    do(at(26, 8, 40), tickets.take, a["al"], keys["B"])
    new("E", at(26, 8, 45), "P3", team="ops", category="outage")
    do(at(26, 9), tickets.resolve, a["al"], keys["A"], "fixed")
    do(at(26, 9), tickets.set_status, a["al"], keys["B"], "pending")
    new("D", at(26, 9), "P2", team="ops", category="access", service="vpn")
    do(at(26, 9, 30), links.merge, a["ada"], keys["E"], keys["B"])
    do(at(26, 11), tickets.set_status, a["al"], keys["B"], "in_progress")
    do(at(26, 11), tickets.take, a["al"], keys["D"])
    do(at(26, 12), tickets.resolve, a["al"], keys["B"], "fixed")
    do(at(26, 13), tickets.reopen, a["ada"], keys["B"], "still broken")
    do(at(26, 14), tickets.resolve, a["al"], keys["B"], "fixed")
    new("J", at(26, 22, 30), "P4", team="ops")
    new("F", at(27, 9), "P4", team="ops", category="access", service="mail", requester_email="ann@example.com")
    do(at(27, 9, 10), tickets.take, a["al"], keys["F"])
    do(at(27, 10), tickets.resolve, a["al"], keys["F"], "fixed")
    clock.set(at(27, 10, 30))
    assert mail_in.receive(desk, INTAKE, rating_mail(keys["F"], "4")).outcome == "rated"
    new("H", at(27, 16, 30), "P3", team="ops")
    clock.set(NOW)
    sweep(desk)  # records D's resolution breach (Tue 09:00); G's are September's
    return keys


@pytest.fixture
def report_desk(db_url):
    clock = ManualClock(at(1, 9, month=9))
    desk = open_desk(db_url, parse_config(REPORT_CONFIG, "report.toml"), clock)
    desk.keys = build_data_set(desk, clock)
    yield desk
    desk.close()


def report(desk, query="", by=None, since=PERIOD):
    """The report from the hourly sums (a query: from the tickets), checked
    against the same report read from the tickets."""
    kept = build(desk, "ada", query, since=since, by=by, now=NOW)
    fresh = build(desk, "ada", query, since=since, by=by, now=NOW, hourly=False)
    assert replace(kept, read_seconds=0) == replace(fresh, read_seconds=0)
    return kept


def test_the_headline_figures(report_desk):
    f = report(report_desk).total
    assert (f.created, f.resolved) == (9, 4)  # A B C D E F H I J; A B C F (E is merged)
    assert f.mtta == Durations(5, 49500.0, 600.0, 238500.0)
    assert f.mtta_business == Durations(5, 2700.0, 600.0, 7200.0)
    assert f.mttr == Durations(4, 70650.0, 18900.0, 241200.0)
    assert f.mttr_business == Durations(4, 9450.0, 8100.0, 18000.0)
    assert (f.response_met, f.response_breached, f.resolution_met, f.resolution_breached) == (3, 2, 3, 2)
    assert (f.compliance("first_response"), f.compliance("resolution"), f.breaches) == (0.6, 0.6, 4)
    assert (f.reopened, f.reopen_rate) == (1, 0.25)
    assert (f.first_contact, f.first_contact_rate) == (2, 0.5)  # A and F: B reopened, C handed on
    assert (f.reassignments, f.ping_pong) == (3, 1)
    assert (f.rated, f.rateable, f.csat, f.response_rate) == (1, 4, 4.0, 0.25)  # B, C: ada asked
    assert f.backlog == (2, 2, 0, 0, 1)  # <1d: H J; 1-3d: D I; >30d: G


def test_groups_by_priority_team_and_agent(report_desk):
    rows = {r.label: r.figures for r in report(report_desk, by="priority").rows}
    assert sorted(rows) == ["P1", "P2", "P3", "P4"]
    assert (rows["P1"].created, rows["P1"].resolved, rows["P1"].mttr.median, rows["P1"].resolution_breached) == (1, 1, 18000.0, 1)
    assert (rows["P2"].response_breached, rows["P2"].resolution_breached, rows["P2"].backlog) == (1, 1, (0, 1, 0, 0, 0))
    assert (rows["P3"].created, rows["P3"].resolved, rows["P3"].mttr.median) == (4, 2, (241200 + 19800) / 2)
    assert rows["P3"].mttr.p90 == 241200.0
    assert (rows["P4"].created, rows["P4"].rated, rows["P4"].backlog) == (3, 1, (1, 1, 0, 0, 1))
    teams = {r.label: r.figures for r in report(report_desk, by="team").rows}
    assert (teams["ops"].created, teams["ops"].resolved, teams["network"].created) == (9, 4, 0)  # C is ops now
    assert teams["network"].backlog == (0, 0, 0, 0, 1)
    agents = {r.label: r.figures for r in report(report_desk, by="agent").rows}
    assert (agents["al"].resolved, agents["al"].mtta.count) == (4, 5)
    assert agents["(none)"].backlog == (2, 1, 0, 0, 1)  # H J I G open unassigned; D is al's


def test_days_are_the_desks_days_across_the_clock_change(report_desk):
    rows = report(report_desk, by="day").rows
    assert [r.label for r in rows] == ["2026-10-23", "2026-10-24", "2026-10-25", "2026-10-26", "2026-10-27"]
    # I (Sat 22:30 UTC) is Sunday in CEST; J (Mon 22:30 UTC) is still Monday in CET
    assert [r.figures.created for r in rows] == [1, 1, 1, 4, 2]
    assert [r.figures.resolved for r in rows] == [0, 1, 0, 2, 1]
    assert [r.figures.breaches for r in rows] == [1, 1, 0, 1, 1]  # A Fri 17:00 CEST, C Sat, D Mon, D Tue
    week = report(report_desk, by="week").rows
    assert [(r.label, r.figures.created) for r in week] == [("2026-W43 (2026-10-19)", 3), ("2026-W44 (2026-10-26)", 6)]


def test_the_full_report_breaks_compliance_down_and_counts_volumes(report_desk):
    r = report(report_desk)
    comp = dict(r.compliance)
    prio = {x.label: x.figures for x in comp["priority"]}
    assert (prio["P1"].response_met, prio["P1"].resolution_breached, prio["P3"].response_breached) == (1, 1, 1)
    service = {x.label: (x.figures.response_met, x.figures.response_breached) for x in comp["service"]}
    assert service == {"mail": (2, 1), "vpn": (1, 1)}  # F B / A; C / D
    volume = {dim: {c.label: c.count for c in counts} for dim, counts in r.volume}
    assert volume["category"] == {"outage": 4, "access": 2, "(none)": 3}
    assert r.trend_unit == "day"
    assert [(t.label, t.created, t.resolved, t.breaches) for t in r.trend] == [
        ("2026-10-23", 1, 0, 1), ("2026-10-24", 1, 1, 1), ("2026-10-25", 1, 0, 0),
        ("2026-10-26", 4, 2, 1), ("2026-10-27", 2, 1, 1)]


def test_each_figure_lists_the_tickets_behind_it(report_desk):
    r = report(report_desk)
    k = report_desk.keys

    def keys_of(query):
        from deskconsole.core.search.query import select_tickets
        from deskconsole.core.keys import ticket_key

        rows = select_tickets(report_desk, query, actor_login="ada", now=NOW)  # the desk's days
        return sorted(ticket_key(t.id) for t in rows)

    assert keys_of(r.behind("created")) == sorted(k[x] for x in "ABCDEFHIJ")
    assert keys_of(r.behind("mttr")) == sorted(k[x] for x in "ABCF")
    assert keys_of(r.behind("mtta")) == sorted(k[x] for x in "ABCDF")
    assert keys_of(r.behind("reopened")) == [k["B"]]
    assert keys_of(r.behind("breaches")) == sorted(k[x] for x in "ACD")
    assert keys_of(r.behind("backlog:0")) == sorted(k[x] for x in "HJ")
    assert keys_of(r.behind("backlog:4")) == [k["G"]]
    days = report(report_desk, by="day")
    sunday = days.rows[2]
    assert keys_of(days.behind("created", sunday.term)) == [k["I"]]
    prio = report(report_desk, by="priority")
    assert keys_of(prio.behind("mttr", prio.rows[2].term)) == sorted(k[x] for x in "AB")  # P3


def test_a_query_narrows_every_figure(report_desk):
    f = report(report_desk, "service:mail").total
    assert (f.created, f.resolved, f.mttr.count, f.response_met, f.response_breached) == (3, 3, 3, 2, 1)


def test_bad_periods_and_dimensions_say_what_to_write(report_desk):
    for since, words in [("30x", "not a period"), ("2026-13-01", "not a date"), ("0d", "covers no time"),
                         ("2026-11-02..2026-11-01", "ends before"), ("2027-01-01", "in the future"),
                         ("99999d", "longer than")]:
        with pytest.raises(ValidationError, match=words):
            report(report_desk, since=since)
    with pytest.raises(ValidationError, match="use one of team, priority"):
        report(report_desk, by="colour")
    with pytest.raises(ValidationError, match="no order"):
        report(report_desk, "sort:created")


def test_an_empty_desk_reports_zeros_and_dashes(db_url, config, clock):
    desk = open_desk(db_url, config, clock)
    try:
        r = build(desk, "ada", "")
        f = r.total
        assert (f.created, f.resolved, f.mtta, f.compliance("resolution"), f.csat) == (0, 0, Durations(), None, None)
        assert r.flags == () and len(r.trend) == 31
    finally:
        desk.close()


def test_the_command_line_prints_the_same_figures(report_desk, db_url, capsys, tmp_path):
    cfg = tmp_path / "report.toml"
    cfg.write_text(REPORT_CONFIG, encoding="utf-8")
    argv = ["--db", db_url, "--config", str(cfg), "report", "--since", PERIOD]
    assert main([*argv, "--format", "json"], login="ada") == 0
    got = json.loads(capsys.readouterr().out)
    assert got["total"]["mttr"] == {"count": 4, "mean": 70650.0, "median": 18900.0, "p90": 241200.0}
    assert got["total"]["mtta_business"] == {"count": 5, "mean": 2700.0, "median": 600.0, "p90": 7200.0}
    assert got["total"]["sla"]["first_response"] == {"met": 3, "breached": 2, "compliance": 0.6}
    assert got["total"]["csat"] == {"average": 4.0, "ratings": 1, "rateable": 4, "response_rate": 0.25}
    assert got["total"]["behind"]["mttr"] == f"resolved:{PERIOD} -is:merged"
    assert [p["created"] for p in got["trend"]["points"]] == [1, 1, 1, 4, 2]

    assert main([*argv, "--by", "prio", "--format", "csv"], login="ada") == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split(",")
    rows = {line.split(",")[0]: dict(zip(header, line.split(","))) for line in lines[1:]}
    assert list(rows) == ["P1", "P2", "P3", "P4", "all"]
    assert (rows["P3"]["mttr_median"], rows["all"]["resolved"], rows["P1"]["sla_resolution_breached"]) == (
        "130500.0", "4", "1")

    assert main([*argv, "service:mail"], login="ada") == 0
    out = capsys.readouterr().out
    assert "Report: service:mail · 2026-10-23 .. 2026-10-27" in out
    assert "MTTR                      mean 1d 00h  median 5h 30m  p90 2d 19h  (3)" in out
    assert "SLA first response        66.7%  (2 met, 1 breached)" in out
    assert "CSAT                      4.00 / 5  (1 rated, 33.3% of 3 with an address)" in out


def test_command_line_errors_are_one_clear_line(report_desk, db_url, capsys, tmp_path):
    cfg = tmp_path / "report.toml"
    cfg.write_text(REPORT_CONFIG, encoding="utf-8")
    assert main(["--db", db_url, "--config", str(cfg), "report", "--since", "lots"], login="ada") == 1
    err = capsys.readouterr().err
    assert err.startswith("deskconsole: --since 'lots' is not a period; use e.g. 30d") and err.count("\n") == 1
    assert main(["--db", db_url, "--config", str(cfg), "report", "team:nobody"], login="ada") == 1
    assert "no team called 'nobody'" in capsys.readouterr().err
