"""Clocks rebuilt from timestamps: a desk from before SLA clocks, and the demo."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from deskconsole import migrations
from deskconsole.core.demo import build, demo_config_text
from deskconsole.core.desk import open_desk
from deskconsole.config import parse_config
from deskconsole.db import connect
from deskconsole.models import SlaClock, Ticket

UTC = timezone.utc


def test_a_desk_from_before_clocks_gets_them_on_open(tmp_path, sla_config, clock):
    path = tmp_path / "v2.db"
    db = connect(f"sqlite:///{path}")
    migrations.migrate(db, target=2)
    db.close()
    con = sqlite3.connect(path)
    con.execute("INSERT INTO team (id, name, title, email, active) VALUES (1, 'ops', 'Operations', NULL, 1)")
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
    for tid, status, prio, created, acked, resolved, updated in rows:
        con.execute(
            "INSERT INTO ticket (id, title, description, status, priority, team_id, created_by, created_at,"
            " updated_at, acknowledged_at, resolved_at, reopen_count, version, source)"
            " VALUES (?, 'old', '', ?, ?, 1, 'ada', ?, ?, ?, ?, 0, 1, 'cli')",
            (tid, status, prio, created, updated, acked, resolved),
        )
    con.commit()
    con.close()

    desk = open_desk(f"sqlite:///{path}", sla_config, clock)  # now 2026-11-23 09:00 UTC
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
    again = open_desk(f"sqlite:///{path}", sla_config, clock)  # nothing is rebuilt twice
    assert SlaClock.select().count() == 10
    again.close()


def test_the_demo_desk_has_every_kind_of_clock(tmp_path, clock):
    config = parse_config(demo_config_text("ada", f"sqlite:///{tmp_path / 'demo.db'}"), tmp_path / "demo.toml")
    desk = open_desk(f"sqlite:///{tmp_path / 'demo.db'}", config, clock)
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
    from deskconsole.core import sla_history, tickets
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
