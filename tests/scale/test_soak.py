"""Team scale: 20 real processes hammer one desk with overlapping updates,
on SQLite and on PostgreSQL.

Thirteen consoles (the core write path: read a ticket, write it with the
version they saw, mostly on six hot tickets, so they collide all the time),
four CLI writers (``deskconsole ... --expect-version N``, a fresh interpreter
each), an intake creating tickets, and two SLA sweepers (an in-process loop
and ``deskconsole daemon``, a short interval; the SLA targets are seconds, so
clocks cross, breach and escalate while it runs). Afterwards:

- no process met an error — no "database is locked", no deadlock, nothing but
  accepted writes, conflicts and a user's refusals (no change, a transition
  the lifecycle forbids);
- every accepted change is in the audit log, with its feed row and entry;
  each version of each ticket was accepted exactly once (no two writers got
  the same version: no lost update) and none is in the desk unaccepted; every
  versioned write got the version after the one it saw;
- the final state of every ticket is the last accepted value of each field;
- every conflict was real (the ticket had moved on) and named who moved it;
- :func:`soak_worker.check_desk` passes (nothing half-written; SQLite's
  ``PRAGMA integrity_check`` is ok).

The figures (accepted updates and conflicts per second, write latency) are
printed; ``bench/scale.py`` measures them properly.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime, timezone

import pytest

from deskconsole.config import load_config
from deskconsole.core.desk import open_desk
from scale import soak_worker as sw

SECONDS = float(os.environ.get("DESKCONSOLE_SOAK_SECONDS", "12"))
START = datetime(2026, 11, 23, 9, 0, 0, tzinfo=timezone.utc)


@pytest.mark.slow
def test_twenty_processes_on_one_desk_lose_nothing(backend_url, tmp_path):
    run = sw.run_many(backend_url, tmp_path, SECONDS, sw.SOAK_MIX, seed=7)
    assert len(run.returncodes) == 20
    for code, err, log in zip(run.returncodes, run.stderr, run.logs[1:]):
        assert code == 0, f"{log.name} exited {code}: {err[-3000:]}"
    f = sw.figures(run.records, SECONDS)
    print(f"\n{backend_url.split(':')[0]}, 20 processes for {SECONDS:g} s: {f.line()}")
    desk = open_desk(backend_url, load_config(run.config_path), migrate=False, create=False)
    try:
        state = sw.load_state(desk)
        problems = sw.check_soak(desk, run.records, state) + sw.check_desk(desk, state)
    finally:
        desk.close()
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems[:25])
    if backend_url.startswith("sqlite"):
        assert state.integrity == "ok" and not state.fk_problems
    done = [r for r in run.records if r["kind"] == "done"]
    assert len(done) == 20, "a worker did not finish"
    assert f.errors == 0, sw.summarise_errors(run.records)
    assert f.accepted > 0 and f.conflicts > 0, f.line()
    assert f.cli_accepted > 0, f.per_role
    assert f.creates > 0 and f.crossings > 0, f.line()
    escalated = [x for x in state.feed if x.actor == "sla" and x.action != "sla"]
    assert escalated, "no SLA escalation wrote a ticket (P2 breach raises the priority)"


def test_a_sweep_skips_a_ticket_a_write_holds_on_postgresql(postgres_url, tmp_path):
    """The lock order of the soak's deadlock: a write holds the ticket row and
    then updates its clocks; the sweep must not lock those clocks and then
    wait for the ticket (it used to: a deadlock PostgreSQL broke by failing
    one of them). It skips the ticket and gets it next time."""
    import psycopg

    from deskconsole.core.records import tickets
    from deskconsole.core.clock import ManualClock
    from deskconsole.core.identity import actor_for
    from deskconsole.core.automation.sweep import sweep
    from deskconsole.models import SlaClock

    config = load_config(sw.write_config(tmp_path))
    clock = ManualClock(START)
    desk = open_desk(postgres_url, config, clock)
    try:
        ada = actor_for(desk, "ada")
        held = int(tickets.create(desk, ada, title="held by a write", priority="P1").key.split("-")[1])
        other = int(tickets.create(desk, ada, title="free", priority="P1").key.split("-")[1])
        clock.advance(2.5)  # past 50 % of the P1 first response (4 s): both tickets' clocks are due
        with psycopg.connect(postgres_url, autocommit=False) as writer:
            writer.execute("SELECT id FROM ticket WHERE id = %s FOR UPDATE", (held,))
            result = {}
            sweeper = threading.Thread(target=lambda: result.update(report=sweep(desk)), daemon=True)
            sweeper.start()
            sweeper.join(timeout=20)
            assert not sweeper.is_alive(), "the sweep waited for a ticket a write holds"
            writer.rollback()
        report = result["report"]
        assert report.crossings >= 1
        crossed = {c.ticket_id: c.crossed for c in SlaClock.select().where(SlaClock.metric == "first_response")}
        assert crossed[other] >= 50 and crossed[held] == 0  # the held ticket was left for later
        assert sweep(desk).crossings >= 1
        assert SlaClock.get((SlaClock.ticket == held) & (SlaClock.metric == "first_response")).crossed >= 50
    finally:
        desk.close()


def test_a_conflict_names_who_made_the_version_not_the_sweep(backend_url, tmp_path):
    """With sweepers running, the newest feed row of a ticket is often the
    sweep refreshing its SLA summary (no new version). A conflict used to
    name that — "INC-1 was changed by sla" — instead of the colleague."""
    from deskconsole.core.records import tickets
    from deskconsole.core.clock import ManualClock
    from deskconsole.errors import Conflict
    from deskconsole.core.identity import actor_for
    from deskconsole.core.automation.sweep import sweep

    config = load_config(sw.write_config(tmp_path))
    clock = ManualClock(START)
    desk = open_desk(backend_url, config, clock)
    try:
        key = tickets.create(desk, actor_for(desk, "ada"), title="VPN down", priority="P1").key
        clock.advance(1)
        tickets.note(desk, actor_for(desk, "c01"), key, "looking", expected_version=1)
        clock.advance(1.5)  # half of the 4 s first response: the sweep moves the clock and the summary
        assert sweep(desk).crossings == 1
        with pytest.raises(Conflict) as caught:
            tickets.note(desk, actor_for(desk, "c02"), key, "me too", expected_version=1)
        assert caught.value.changed_by == "c01"
        assert f"{key} was changed by c01 1 s ago (it is at version 2, you saw 1)" in str(caught.value)
    finally:
        desk.close()
