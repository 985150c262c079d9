"""The sweep: crossings recorded once, escalations run once — also with two
processes sweeping one real SQLite file at the same time."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime, timezone

from deskconsole.core.records import tickets
from deskconsole.core.keys import ticket_id
from deskconsole.core.automation.sweep import due_clocks, pending, sweep
from deskconsole.models import AuditEvent, FeedEntry, Outbox, SlaClock, SlaCrossing, Ticket

UTC = timezone.utc


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def clock_of(key: str, metric: str) -> SlaClock:
    return SlaClock.get((SlaClock.ticket == ticket_id(key)) & (SlaClock.metric == metric))


def audit(key: str, action: str) -> list[str]:
    q = AuditEvent.select().where((AuditEvent.ticket == ticket_id(key)) & (AuditEvent.action == action))
    return [r.new for r in q.order_by(AuditEvent.id)]


def test_nothing_due_means_no_write(sla_desk, actors):
    tickets.create(sla_desk, actors["al"], title="t", priority="P1")
    feed = FeedEntry.select().count()
    report = sweep(sla_desk)
    assert (report.clocks, report.crossings, FeedEntry.select().count()) == (0, 0, feed)
    assert not pending(sla_desk.now())


def test_warnings_then_breach_each_recorded_once(sla_desk, actors, clock):
    key = tickets.create(sla_desk, actors["al"], title="t", priority="P1").key
    clock.advance(minutes=8)  # first response 50 % (7m30s)
    r = sweep(sla_desk)
    assert (r.clocks, r.crossings) == (1, 1)
    fr = clock_of(key, "first_response")
    assert (fr.crossed, fr.warn_pct, fr.warn_at, fr.state) == (50, 75, at(23, 9, 11, 15), "running")
    assert Ticket.get_by_id(ticket_id(key)).sla == "warning"
    assert sweep(sla_desk).crossings == 0

    clock.advance(minutes=10)  # 09:18: 75 %, 90 % and the breach passed since the last sweep
    r = sweep(sla_desk)
    assert r.crossings == 3
    rows = SlaCrossing.select().where(SlaCrossing.ticket == ticket_id(key)).order_by(SlaCrossing.threshold)
    assert [(c.metric, c.threshold, c.at) for c in rows] == [
        ("first_response", 50, at(23, 9, 7, 30)), ("first_response", 75, at(23, 9, 11, 15)),
        ("first_response", 90, at(23, 9, 13, 30)), ("first_response", 100, at(23, 9, 15)),
    ]
    fr = clock_of(key, "first_response")
    assert (fr.state, fr.warn_at, fr.breached_at) == ("breached", None, at(23, 9, 15))
    assert Ticket.get_by_id(ticket_id(key)).sla == "breached"
    assert sweep(sla_desk).crossings == 0
    assert audit(key, "sla")[-3:] == [
        "first response at 75% of 15m 00s (policy p1)", "first response at 90% of 15m 00s (policy p1)",
        "first response breached (target 15m 00s, policy p1)",
    ]


def test_notify_writes_the_outbox_once_and_says_so_in_the_audit(sla_desk, actors, clock):
    key = tickets.create(sla_desk, actors["al"], title="Checkout down", priority="P1").key
    tickets.take(sla_desk, actors["al"], key)
    clock.advance(hours=3, minutes=37)  # resolution 90 % = 3h36m: notify team + leads
    sweep(sla_desk)
    sweep(sla_desk)
    rows = list(Outbox.select().where((Outbox.ticket == ticket_id(key)) & Outbox.kind.is_null()))  # escalations
    assert [(r.recipients, r.subject, r.state) for r in rows] == [
        ("ops@example.com, ada@example.com", f"[{key}] P1 resolution at 90%: Checkout down", "queued"),
    ]
    assert "Used:      3h 37m of 4h 00m (23m 00s left)" in rows[0].body
    assert audit(key, "notify") == [
        "no e-mail address for lead (lee); set it in the desk's config, then 'deskconsole admin sync'",
        "to ops@example.com, ada@example.com: resolution at 90% of 4h 00m (policy p1)",
    ]
    clock.advance(minutes=30)  # breach: notify the assignee (al has no address) and ada
    sweep(sla_desk)
    assert Outbox.select().where((Outbox.ticket == ticket_id(key)) & Outbox.kind.is_null()).count() == 2
    assert audit(key, "notify")[-1] == "to ada@example.com: resolution breached (target 4h 00m, policy p1)"


def test_breach_escalation_raises_priority_and_reassigns(sla_desk, actors, clock):
    key = tickets.create(sla_desk, actors["al"], title="VPN flaps", priority="P2").key
    tickets.take(sla_desk, actors["al"], key)
    before = Ticket.get_by_id(ticket_id(key)).version
    clock.set(at(24, 9, 0, 1))  # p2: 8 office hours -> Tuesday 09:00
    report = sweep(sla_desk)
    assert report.actions == 2
    t = Ticket.get_by_id(ticket_id(key))
    assert (t.priority, sla_desk.directory.team_names[t.team_id], t.version) == ("P1", "network", before + 2)
    changes = AuditEvent.select().where((AuditEvent.ticket == t.id) & (AuditEvent.field.in_(["priority", "team"])))
    assert sorted((e.actor, e.field, e.old, e.new) for e in changes if e.actor == "sla") == [
        ("sla", "priority", "P2", "P1"), ("sla", "team", "ops", "network"),
    ]
    res = clock_of(key, "resolution")
    assert (res.state, res.policy) == ("breached", "p1")  # re-targeted; the breach stays
    assert sweep(sla_desk).actions == 0


def test_an_escalation_that_cannot_run_says_why(sla_desk, actors, clock):
    key = tickets.create(sla_desk, actors["al"], title="t", priority="P2").key
    tickets.take(sla_desk, actors["al"], key)
    tickets.assign(sla_desk, actors["lee"], key, team="network")
    clock.set(at(24, 9, 0, 1))
    sweep(sla_desk)
    assert any("reassign to network: not done" in text for text in audit(key, "escalate"))


def test_a_backlog_is_worked_off_in_batches(sla_desk, actors, clock):
    for _ in range(30):
        tickets.create(sla_desk, actors["al"], title="t", priority="P1")
    clock.advance(minutes=16)
    first = sweep(sla_desk, batch=20)
    assert (first.clocks, first.more) == (20, True)
    second = sweep(sla_desk, batch=20)
    assert (second.clocks, second.more) == (10, False)
    assert SlaCrossing.select().count() == 30 * 4


def test_the_sweep_reads_an_index_range(sla_desk, actors, query_plan):
    for _ in range(50):
        tickets.create(sla_desk, actors["al"], title="t", priority="P1")
    sla_desk.db.execute_sql("ANALYZE")
    sql, params = due_clocks(sla_desk, at(23, 10), 1001).sql()
    plan = " | ".join(query_plan(sla_desk.db, sql, params))
    assert "sla_clock_warn_at" in plan and "sla_clock_state_due_at" in plan, plan
    assert "SCAN" not in plan and "Seq Scan" not in plan, plan


RACER = textwrap.dedent("""
    import sys, time
    from datetime import datetime
    from deskconsole.config import load_config
    from deskconsole.core.clock import ManualClock
    from deskconsole.core.desk import open_desk
    from deskconsole.core.automation.sweep import sweep
    url, config, when, go = sys.argv[1:5]
    desk = open_desk(url, load_config(config), ManualClock(datetime.fromisoformat(when)), create=False)
    while time.time() < float(go):
        time.sleep(0.001)
    crossings = actions = 0
    while True:
        r = sweep(desk, batch=7)
        crossings += r.crossings
        actions += r.actions
        if not r.more and r.clocks == 0:
            break
    print(crossings, actions)
""")


def test_two_processes_sweeping_one_desk_escalate_once(sla_desk, actors, clock, write_config, sla_text, db_url):
    path = write_config(sla_text)
    keys = []
    for _ in range(40):
        key = tickets.create(sla_desk, actors["al"], title="t", priority="P1").key
        tickets.take(sla_desk, actors["al"], key)
        keys.append(key)
    sla_desk.close()
    when = at(23, 13, 0, 1).isoformat()  # every resolution clock: 50, 75, 90 and the breach
    import time

    go = str(time.time() + 1.5)
    racers = [
        subprocess.Popen([sys.executable, "-c", RACER, db_url, str(path), when, go], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [r.communicate(timeout=120) for r in racers]
    assert all(r.returncode == 0 for r in racers), [err for _, err in results]
    counts = [tuple(map(int, out.split())) for out, _ in results]
    sla_desk.db.connect(reuse_if_open=True)
    with sla_desk.bound():  # closed above: say which desk the model code reads
        assert sum(c for c, _ in counts) == 40 * 4 == SlaCrossing.select().count()
        # per ticket: notify at 90 % and notify at breach -> two outbox rows, never more
        escalations = Outbox.select().where(Outbox.kind.is_null())
        assert sum(a for _, a in counts) == 40 * 2 == escalations.count()
        per_ticket = {ticket_id(k): 0 for k in keys}
        for row in escalations:
            per_ticket[row.ticket] += 1
        assert set(per_ticket.values()) == {2}
