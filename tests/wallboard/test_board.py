"""The board's figures, straight from the core: what each one counts, what
"today" is, the pages, the viewer identity, and that the reads are index
reads (so a refresh stays cheap on a desk of a million tickets)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from deskconsole.config import parse_config
from deskconsole.core.reports import board
from deskconsole.core.records import tickets
from deskconsole.errors import PermissionDenied
from deskconsole.core.search.query import QueryError
from deskconsole.models import Ticket


def test_overview_figures_on_the_fixed_desk(built, clock):
    f = board.figures(built, "", "vic", clock())
    # open: INC-1 P3, INC-2 P2, INC-3 P1, INC-4 P4, INC-5 P3 (INC-6 and INC-7 are resolved)
    assert f.open_by_priority == {"P1": 1, "P2": 1, "P3": 2, "P4": 1} and f.open_total == 5
    assert f.breached == 1 and f.breached_by_priority["P1"] == 1  # INC-3: first response was due 09:20
    assert f.at_risk == 2  # INC-1 and INC-2 crossed a warning (the sweep at 09:35 recorded it)
    assert f.on_track == 1  # INC-4; INC-5 is paused (pending), so it has no running SLA
    assert f.unassigned == 3  # INC-1, INC-2, INC-3
    assert f.oldest_unacked is not None and (f.oldest_unacked.key, f.oldest_unacked.priority) == ("INC-2", "P2")
    # acknowledged today: INC-4 (taken at once: 0 s); resolved today: INC-6 (0 s) and INC-7 (15 min)
    assert (f.acked_today, f.mtta_seconds) == (1, 0)
    assert f.resolved_today == 2 and f.mttr_seconds == (0 + 15 * 60) // 2
    assert f.day_start == datetime(2026, 11, 23, tzinfo=timezone.utc)


def test_mtta_is_the_mean_from_created_to_acknowledged_of_todays_acks(board_desk, actors, clock):
    al = actors["al"]
    for title in ("one", "two"):
        tickets.create(board_desk, al, title=title, priority="P3")
    clock.advance(minutes=10)
    tickets.acknowledge(board_desk, al, "INC-1")  # 10 min
    clock.advance(minutes=20)
    tickets.acknowledge(board_desk, al, "INC-2")  # 30 min
    f = board.figures(board_desk, "", "vic", clock())
    assert (f.acked_today, f.mtta_seconds) == (2, 20 * 60)
    assert (f.resolved_today, f.mttr_seconds) == (0, None)


def test_today_is_the_desks_utc_day_unless_a_timezone_is_set(board_desk, board_text, actors, clock, db_url):
    al = actors["al"]
    clock.set(datetime(2026, 11, 22, 23, 30, tzinfo=timezone.utc))  # yesterday, UTC
    tickets.create(board_desk, al, title="late", priority="P3")
    tickets.resolve(board_desk, al, "INC-1", "fixed")
    clock.set(datetime(2026, 11, 23, 0, 30, tzinfo=timezone.utc))
    assert board.figures(board_desk, "", "vic", clock()).resolved_today == 0  # not today in UTC
    # In Berlin (UTC+1) both 00:30 and 01:30 local are 23 November: it counts.
    berlin = parse_config(board_text.replace('name = "Test desk"', 'name = "Test desk"\ntimezone = "Europe/Berlin"'))
    assert berlin.timezone == "Europe/Berlin"
    board_desk.config = berlin
    f = board.figures(board_desk, "", "vic", clock())
    assert f.resolved_today == 1
    assert f.day_start == datetime(2026, 11, 22, 23, 0, tzinfo=timezone.utc)


def test_team_and_query_narrow_every_figure(built, clock):
    net = board.figures(built, "team:network", "vic", clock())
    assert net.open_by_priority == {"P1": 0, "P2": 1, "P3": 0, "P4": 0}
    assert (net.breached, net.at_risk, net.unassigned) == (0, 1, 1)
    assert net.resolved_today == 0 and net.mttr_seconds is None
    p1 = board.figures(built, "prio:P1", "vic", clock())
    assert p1.open_total == 1 and p1.breached == 1 and p1.oldest_unacked.key == "INC-3"


def test_lists_of_each_page(built, clock):
    now = clock()
    assert [t.key for t in board.urgent(built, "", "vic", now)] == ["INC-3", "INC-1", "INC-2", "INC-4"]
    assert [t.key for t in board.breaches(built, "", "vic", now)] == ["INC-3"]
    resolved = board.recently_resolved(built, "", "vic", now)
    assert [r.key for r in resolved] == ["INC-7", "INC-6"]
    assert resolved[0].seconds_to_resolve == 15 * 60 and resolved[0].resolution_code == "workaround"
    assert [t.key for t in board.urgent(built, "team:network", "vic", now)] == ["INC-2"]


def test_a_deadline_that_passes_counts_as_a_breach_before_any_sweep(built, clock):
    clock.advance(minutes=30)  # 10:05: INC-1's and INC-2's first responses (due 10:00, 10:02) have passed
    f = board.figures(built, "", "vic", clock())
    assert f.breached == 3 and f.at_risk == 0
    assert [t.key for t in board.breaches(built, "", "vic", clock())] == ["INC-3", "INC-1", "INC-2"]


def test_a_long_list_fills_from_a_growing_window_of_deadlines(board_desk, actors, clock):
    al, nia = actors["al"], actors["nia"]
    for i in range(40):
        tickets.create(board_desk, al, title=f"ops {i}", priority="P3")
    for i in range(3):
        tickets.create(board_desk, nia, title=f"net {i}", priority="P3", team="network")
    # the network team's three deadlines are the latest of all: a small first window holds none of them
    rows = board._by_deadline(board_desk, "team:network is:open", "vic", clock(), limit=3)
    assert [r.title for r in rows] == ["net 0", "net 1", "net 2"]
    assert len(board.urgent(board_desk, "", "vic", clock(), limit=100)) == 43


def test_pages_rotation(board_config):
    ids = [p.id for p in board.pages(board_config)]
    assert ids == ["overview", "team:ops", "team:network", "breaches", "resolved"]
    one = board.pages(board_config, team="network", query="prio:P1,P2")
    assert [p.id for p in one] == ["overview", "breaches", "resolved"]
    assert all(p.scope == "team:network prio:P1,P2" and p.query == "prio:P1,P2" for p in one)
    assert one[0].title == "Network: overview"


def test_a_bad_scope_is_refused_with_the_term_marked(board_desk):
    with pytest.raises(QueryError, match="stauts"):
        board.check_scope(board_desk, "stauts:new", "vic")


def test_the_board_runs_as_a_viewer_whoever_starts_it(board_desk):
    for login in ("ada", "lee", "al", "vic", "someone-else"):
        actor = board.board_actor(board_desk, login)
        assert actor.role == "viewer" and actor.login == login and actor.via is None


WRITES = [
    ("create", lambda d, a: tickets.create(d, a, title="x", priority="P3")),
    ("triage", lambda d, a: tickets.triage(d, a, "INC-1", priority="P1")),
    ("assign", lambda d, a: tickets.assign(d, a, "INC-1", agent="al")),
    ("take", lambda d, a: tickets.take(d, a, "INC-1")),
    ("ack", lambda d, a: tickets.acknowledge(d, a, "INC-1")),
    ("status", lambda d, a: tickets.set_status(d, a, "INC-1", "in_progress")),
    ("reply", lambda d, a: tickets.reply(d, a, "INC-1", "hello")),
    ("note", lambda d, a: tickets.note(d, a, "INC-1", "hello")),
    ("resolve", lambda d, a: tickets.resolve(d, a, "INC-1", "fixed")),
    ("close", lambda d, a: tickets.close(d, a, "INC-6")),
    ("reopen", lambda d, a: tickets.reopen(d, a, "INC-6")),
    ("cancel", lambda d, a: tickets.cancel(d, a, "INC-1", "no")),
]


@pytest.mark.parametrize("name,write", WRITES, ids=[w[0] for w in WRITES])
def test_every_core_write_refuses_the_board_actor(built, name, write):
    actor = board.board_actor(built, "ada")  # an admin, on the board
    before = Ticket.select().count(), [t.version for t in Ticket.select(Ticket.version).order_by(Ticket.id)]
    with pytest.raises(PermissionDenied, match="viewer"):
        write(built, actor)
    assert (Ticket.select().count(), [t.version for t in Ticket.select(Ticket.version).order_by(Ticket.id)]) == before


def test_the_figures_are_index_reads(built, clock, query_plan):
    """No figure scans the ticket table: every query of a refresh searches an
    index (SQLite's plans in its own words; PostgreSQL's with table scans
    priced out, so a "Seq Scan" means no index could answer)."""
    queries = []
    real = built.db.execute_sql

    def spy(sql, params=None, *args, **kwargs):
        if sql.lstrip().upper().startswith("SELECT") and "ticket" in sql:
            queries.append((sql, params))
        return real(sql, params, *args, **kwargs)

    built.db.execute_sql = spy
    try:
        for page in board.pages(built.config):
            board.snapshot(built, page, "vic", clock())
    finally:
        del built.db.execute_sql
    seen = [" | ".join(query_plan(built.db, sql, params)) for sql, params in queries]
    assert seen
    # the one scan allowed: the partial index of the records that are not incidents (the board counts
    # incidents: "id NOT IN" that index's few ids, read once per query)
    kinds = "SCAN t1 USING COVERING INDEX ticket_kind_number"
    for plan in seen:
        rest = plan.replace(kinds, "")
        assert "SCAN t1" not in rest and "SCAN ticket" not in rest and "Seq Scan" not in rest, plan
    if not built.is_sqlite:
        return  # which index PostgreSQL's planner picks for a handful of rows is its own cost call
    joined = "\n".join(seen)
    for index in ("ticket_status_priority_sla_sla_due_assignee_id", "ticket_acknowledged_at_created_at",
                  "ticket_resolved_at_created_at", "ticket_sla_due"):
        assert index in joined, (index, joined)
