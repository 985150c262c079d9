"""Each SLA clock rule, on a real SQLite desk with an injected clock.

Policies (tests/sla/conftest.py): p1 = P1 on 24x7 (15m / 4h); p2 = P2 on
office hours (1h / 8h); rest = the others on office hours (4h / 16h). The
office is open 08:00-16:00 UTC on weekdays (Berlin, UTC+1 in November);
START is Monday 2026-11-23 09:00 UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from deskconsole.config import parse_config
from deskconsole.core.records import links, tickets
from deskconsole.core.sla_clocks.clocks import effective_state
from deskconsole.core.desk import open_desk
from deskconsole.core.keys import ticket_id
from deskconsole.core.automation.sweep import sweep
from deskconsole.models import AuditEvent, SlaClock, SlaCrossing, Ticket

UTC = timezone.utc


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def clocks(key: str) -> dict[str, SlaClock]:
    return {c.metric: c for c in SlaClock.select().where(SlaClock.ticket == ticket_id(key))}


def crossings(key: str, metric: str) -> list[tuple[int, datetime]]:
    rows = SlaCrossing.select().where((SlaCrossing.ticket == ticket_id(key)) & (SlaCrossing.metric == metric))
    return sorted((r.threshold, r.at) for r in rows)


def sla_audit(key: str) -> list[str]:
    rows = AuditEvent.select().where((AuditEvent.ticket == ticket_id(key)) & (AuditEvent.action == "sla"))
    return [f"{r.field}: {r.new}" for r in rows.order_by(AuditEvent.id)]


def new(desk, actor, priority: str, **kw) -> str:
    return tickets.create(desk, actor, title=f"{priority} ticket", priority=priority, **kw).key


# ---------------------------------------------------------------- starting
def test_a_new_ticket_starts_one_clock_per_metric(sla_desk, actors):
    key = new(sla_desk, actors["al"], "P1")
    c = clocks(key)
    fr, res = c["first_response"], c["resolution"]
    assert (fr.state, fr.policy, fr.target, fr.due_at, fr.warn_at, fr.warn_pct) == (
        "running", "p1", 900, at(23, 9, 15), at(23, 9, 7, 30), 50)
    assert (res.state, res.target, res.due_at, res.warn_at) == ("running", 14400, at(23, 13), at(23, 11))
    assert (res.thresholds, res.pause_on) == ("50,75,90", "pending")
    t = Ticket.get_by_id(ticket_id(key))
    assert (t.sla, t.sla_due) == ("ok", at(23, 9, 15))
    assert sla_audit(key) == [
        "first_response: started: target 15m 00s, policy p1, due 2026-11-23T09:15:00+00:00",
        "resolution: started: target 4h 00m, policy p1, due 2026-11-23T13:00:00+00:00",
    ]


def test_business_hours_deadline(sla_desk, actors):
    key = new(sla_desk, actors["al"], "P3")  # rest: 16h of office time from Monday 09:00 UTC
    # Monday 09:00-16:00 (7h) + Tuesday 08:00-16:00 (8h) + Wednesday 08:00-09:00 (1h)
    assert clocks(key)["resolution"].due_at == at(25, 9)
    assert clocks(key)["first_response"].due_at == at(23, 13)


def test_no_policy_no_clocks(desk, actors):
    key = new(desk, actors["al"], "P1")  # the plain test desk has no [sla] section
    assert clocks(key) == {}
    assert Ticket.get_by_id(ticket_id(key)).sla is None


# ---------------------------------------------------------------- first response
def test_first_response_by_public_reply(sla_desk, actors, clock):
    key = new(sla_desk, actors["al"], "P1")
    clock.advance(minutes=10)
    tickets.reply(sla_desk, actors["al"], key, "Looking into it")
    c = clocks(key)
    assert (c["first_response"].state, c["first_response"].stopped_at, c["first_response"].elapsed) == (
        "met", at(23, 9, 10), 600)
    assert c["resolution"].state == "running"
    # the sweep had not seen the 50 % mark yet: the stop records it (once)
    assert crossings(key, "first_response") == [(50, at(23, 9, 7, 30))]
    t = Ticket.get_by_id(ticket_id(key))
    assert (t.sla, t.sla_due) == ("ok", at(23, 13))


def test_an_internal_note_is_not_a_response(sla_desk, actors, clock):
    key = new(sla_desk, actors["al"], "P1")
    clock.advance(minutes=5)
    tickets.note(sla_desk, actors["al"], key, "checking the logs")
    assert clocks(key)["first_response"].state == "running"


def test_first_response_by_acknowledgement(sla_desk, actors, clock):
    key = new(sla_desk, actors["al"], "P1")
    clock.advance(minutes=5)
    tickets.acknowledge(sla_desk, actors["al"], key)
    fr = clocks(key)["first_response"]
    assert (fr.state, fr.elapsed) == ("met", 300)


def test_taking_a_ticket_acknowledges_it(sla_desk, actors, clock):
    key = new(sla_desk, actors["al"], "P1")
    clock.advance(minutes=3)
    tickets.take(sla_desk, actors["al"], key)
    assert clocks(key)["first_response"].state == "met"


def test_met_exactly_at_the_deadline_and_breached_one_second_later(sla_desk, actors, clock):
    on_time = new(sla_desk, actors["al"], "P1")
    late = new(sla_desk, actors["al"], "P1")
    clock.advance(minutes=15)
    tickets.reply(sla_desk, actors["al"], on_time, "here")
    clock.advance(seconds=1)
    tickets.reply(sla_desk, actors["al"], late, "here")
    assert clocks(on_time)["first_response"].state == "met"
    fr = clocks(late)["first_response"]
    assert (fr.state, fr.breached_at) == ("breached", at(23, 9, 15))
    assert [p for p, _ in crossings(late, "first_response")] == [50, 75, 90, 100]
    assert Ticket.get_by_id(ticket_id(late)).sla == "breached"


def test_resolving_stops_both_clocks(sla_desk, actors, clock):
    key = new(sla_desk, actors["al"], "P1")
    clock.advance(minutes=5)
    tickets.resolve(sla_desk, actors["al"], key, "fixed")
    c = clocks(key)
    assert (c["first_response"].state, c["resolution"].state) == ("met", "met")
    assert c["resolution"].elapsed == 300
    t = Ticket.get_by_id(ticket_id(key))
    assert (t.sla, t.sla_due) == ("met", None)


# ---------------------------------------------------------------- pause and resume
def test_pending_pauses_and_the_deadline_moves_out_by_the_paused_business_time(sla_desk, actors, clock):
    key = new(sla_desk, actors["al"], "P3", assignee="al")
    tickets.acknowledge(sla_desk, actors["al"], key)
    clock.advance(hours=2)  # Monday 11:00: 2h used
    tickets.set_status(sla_desk, actors["al"], key, "pending")
    res = clocks(key)["resolution"]
    assert (res.state, res.elapsed, res.paused_since, res.due_at, res.warn_at) == ("paused", 7200, at(23, 11), None, None)
    t = Ticket.get_by_id(ticket_id(key))
    assert (t.sla, t.sla_due) == ("paused", None)

    clock.advance(hours=24)  # Tuesday 11:00
    assert sweep(sla_desk).crossings == 0  # a paused clock never crosses
    tickets.set_status(sla_desk, actors["al"], key, "in_progress")
    res = clocks(key)["resolution"]
    # paused: Monday 11:00-16:00 (5h) + Tuesday 08:00-11:00 (3h) of office time
    assert (res.state, res.paused, res.elapsed) == ("running", 8 * 3600, 7200)
    # was Wednesday 09:00; moves out 8 business hours: Wed 09:00-16:00 (7h) + Thu 08:00-09:00
    assert res.due_at == at(26, 9)
    assert sla_audit(key)[-1] == "resolution: paused -> running"


def test_a_clock_paused_by_its_policy_only(sla_desk, actors, clock, sla_text, db_url):
    text = sla_text.replace('name = "p1"\npriority = "P1"', 'name = "p1"\npriority = "P1"\npause_on = []')
    desk = open_desk(db_url, parse_config(text, "test.toml"), clock)
    key = new(desk, actors["al"], "P1", assignee="al")
    tickets.set_status(desk, actors["al"], key, "pending")
    assert clocks(key)["resolution"].state == "running"  # P1 never pauses here


# ---------------------------------------------------------------- reopen
def test_reopen_resumes_resolution_without_the_time_spent_resolved(sla_desk, actors, clock):
    key = new(sla_desk, actors["al"], "P1")
    tickets.take(sla_desk, actors["al"], key)
    clock.advance(hours=1)
    tickets.resolve(sla_desk, actors["al"], key, "fixed")
    assert clocks(key)["resolution"].state == "met"
    clock.advance(hours=5)  # 15:00: far past the original 13:00 deadline
    tickets.reopen(sla_desk, actors["al"], key, "still broken")
    res = clocks(key)["resolution"]
    assert (res.state, res.elapsed, res.paused, res.due_at) == ("running", 3600, 5 * 3600, at(23, 18))
    assert res.warn_at == at(23, 16)  # 50 % = 2h used: 1h more
    assert sweep(sla_desk).crossings == 0  # a reopened ticket does not escalate at once
    assert Ticket.get_by_id(ticket_id(key)).sla == "ok"
    assert clocks(key)["first_response"].state == "met"  # first response does not restart
    assert "resolution: met -> running" in sla_audit(key)


def test_a_breach_survives_resolve_and_reopen(sla_desk, actors, clock):
    key = new(sla_desk, actors["al"], "P1", assignee="al")
    clock.advance(hours=5)
    tickets.resolve(sla_desk, actors["al"], key, "fixed")
    clock.advance(hours=1)
    tickets.reopen(sla_desk, actors["al"], key)
    res = clocks(key)["resolution"]
    assert (res.state, res.breached_at) == ("breached", at(23, 13))
    assert Ticket.get_by_id(ticket_id(key)).sla == "breached"


# ---------------------------------------------------------------- priority change
def test_priority_change_retargets_from_the_original_start(sla_desk, actors, clock):
    key = new(sla_desk, actors["al"], "P3", assignee="al")
    tickets.acknowledge(sla_desk, actors["al"], key)
    clock.advance(minutes=30)
    tickets.triage(sla_desk, actors["al"], key, priority="P1")
    res = clocks(key)["resolution"]
    # p1: 4h on 24x7, 30 min already used -> due 3h30 from now
    assert (res.policy, res.target, res.calendar, res.elapsed, res.due_at) == ("p1", 14400, "24x7", 1800, at(23, 13))
    assert "resolution: target 16h 00m (rest) -> 4h 00m (p1); 30m 00s used" in sla_audit(key)
    assert clocks(key)["first_response"].state == "met"  # stopped clocks keep their verdict


def test_priority_change_past_the_new_target_breaches_now(sla_desk, actors, clock):
    key = new(sla_desk, actors["al"], "P3")
    clock.advance(hours=2)  # 2h of office time used; P1's first response is 15 min
    tickets.triage(sla_desk, actors["al"], key, priority="P1")
    fr = clocks(key)["first_response"]
    assert effective_state(fr, clock()) == "breached"
    assert (
        "first_response: target 4h 00m (rest) -> 15m 00s (p1); 2h 00m used — already past the new target: breached now"
        in sla_audit(key)
    )
    clock.advance(seconds=1)
    report = sweep(sla_desk)
    assert report.crossings == 4 + 1  # first response 50/75/90/breach, resolution 50 % (2h of 4h)
    fr = clocks(key)["first_response"]
    # breached when its 2 office hours passed P1's 15 minutes: 09:15
    assert (fr.state, fr.breached_at) == ("breached", at(23, 9, 15))
    assert Ticket.get_by_id(ticket_id(key)).sla == "breached"


def test_lowering_priority_keeps_a_breach(sla_desk, actors, clock):
    key = new(sla_desk, actors["al"], "P1")
    clock.advance(minutes=20)
    sweep(sla_desk)
    tickets.triage(sla_desk, actors["al"], key, priority="P3")
    fr = clocks(key)["first_response"]
    assert (fr.state, fr.policy, fr.target) == ("breached", "rest", 4 * 3600)


# ---------------------------------------------------------------- policy edits
def test_editing_a_policy_never_rewrites_running_clocks(sla_desk, actors, clock, sla_text, db_url):
    old = new(sla_desk, actors["al"], "P1")
    sla_desk.close()
    edited = sla_text.replace('first_response = "15m"\nresolution = "4h"', 'first_response = "10m"\nresolution = "2h"')
    assert edited != sla_text
    desk = open_desk(db_url, parse_config(edited, "test.toml"), clock)
    fresh = new(desk, actors["al"], "P1")
    assert (clocks(old)["resolution"].target, clocks(old)["resolution"].due_at) == (14400, at(23, 13))
    assert (clocks(fresh)["resolution"].target, clocks(fresh)["resolution"].due_at) == (7200, at(23, 11))
    clock.advance(hours=2, seconds=1)
    sweep(desk)
    assert clocks(old)["resolution"].state == "running"  # its own 4h target
    assert clocks(fresh)["resolution"].state == "breached"
    desk.close()


# ---------------------------------------------------------------- cancel, merge, close
def test_cancel_and_merge_cancel_open_clocks(sla_desk, actors, clock):
    a, b, c = (new(sla_desk, actors["al"], "P1") for _ in range(3))
    clock.advance(minutes=5)
    tickets.reply(sla_desk, actors["al"], a, "hi")
    tickets.cancel(sla_desk, actors["lee"], a, "raised by mistake")
    assert {m: k.state for m, k in clocks(a).items()} == {"first_response": "met", "resolution": "cancelled"}
    links.merge(sla_desk, actors["al"], b, c)
    assert {k.state for k in clocks(b).values()} == {"cancelled"}
    assert {k.state for k in clocks(c).values()} == {"running"}
    t = Ticket.get_by_id(ticket_id(b))
    assert (t.sla, t.sla_due) == (None, None)


def test_service_change_can_bring_a_policy_into_play(sla_desk, actors, clock, sla_text, db_url):
    text = sla_text.replace('[[sla.policy]]\nname = "rest"', '[[sla.policy]]\nname = "vpn"\nservice = "vpn"\n'
                            'resolution = "2h"\n\n[[sla.policy]]\nname = "rest"')
    desk = open_desk(db_url, parse_config(text, "test.toml"), clock)
    key = new(desk, actors["al"], "P3")
    clock.advance(minutes=30)
    tickets.triage(desk, actors["al"], key, service="vpn")
    c = clocks(key)
    assert (c["resolution"].policy, c["resolution"].target, c["resolution"].elapsed) == ("vpn", 7200, 1800)
    assert c["first_response"].state == "cancelled"  # the vpn policy has no first-response target
    desk.close()


def test_clock_times_are_exact_across_a_dst_change(actors, clock, sla_text, db_url):
    """Europe/Berlin leaves summer time on 2026-10-25 (03:00 CEST -> 02:00 CET)."""
    clock.set(datetime(2026, 10, 23, 15, 0, tzinfo=UTC))  # Friday 17:00 CEST: the office just closed
    desk = open_desk(db_url, parse_config(sla_text, "test.toml"), clock)
    key = new(desk, actors["al"], "P3")
    # 16h of office time: Monday 26th 09:00-17:00 CET (08:00-16:00 UTC), Tuesday the same
    assert clocks(key)["resolution"].due_at == datetime(2026, 10, 27, 16, 0, tzinfo=UTC)
    desk.close()


def test_the_audit_tells_the_whole_story(sla_desk, actors, clock):
    key = new(sla_desk, actors["al"], "P3", assignee="al")
    clock.advance(minutes=10)
    tickets.reply(sla_desk, actors["al"], key, "on it")
    tickets.set_status(sla_desk, actors["al"], key, "pending")
    clock.advance(hours=1)
    tickets.set_status(sla_desk, actors["al"], key, "in_progress")
    tickets.resolve(sla_desk, actors["al"], key, "fixed")
    assert sla_audit(key)[2:] == [
        "first_response: running -> met",
        "resolution: running -> paused",
        "resolution: paused -> running",
        "resolution: running -> met",
    ]


def test_deadlines_are_timestamps_not_recomputed(sla_desk, actors, clock):
    """Reading a clock never changes it: the countdown is due_at - now."""
    key = new(sla_desk, actors["al"], "P1")
    before = clocks(key)["resolution"].due_at
    clock.advance(timedelta(hours=1).total_seconds())
    assert clocks(key)["resolution"].due_at == before
