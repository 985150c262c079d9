"""Crash safety: writers killed with SIGKILL at random moments, over and over,
never leave a ticket half-written — on SQLite and on PostgreSQL.

Four writer processes (two consoles writing with no pause between read and
write, an intake, an SLA sweeper every 0.1 s) work one desk. Each round one
of them, chosen at random, is killed with ``kill -9`` at a random moment and
replaced; then, while the others go on writing, one snapshot of the desk must
pass :func:`soak_worker.check_desk` — the definition of "not half-written"
(per ticket: one feed row per version 1..N and the ticket row written with
the newest, audit rows exactly for the feed's transactions, every audited
change starting from the value the one before left, conversation entries
with their audit rows, both SLA clocks consistent with the ticket and with
their crossings) — and on SQLite ``PRAGMA integrity_check`` says ok. Every
write a killed process logged as accepted (it logs after the commit returns)
must be in the desk with its audit rows: committed means kept.
"""

from __future__ import annotations

import os
import random
import select
import signal
import time
from pathlib import Path

import pytest

from deskconsole.config import load_config
from deskconsole.core.desk import open_desk
from scale import soak_worker as sw

pytestmark = pytest.mark.slow

ROUNDS = int(os.environ.get("DESKCONSOLE_CRASH_ROUNDS", "35"))
WRITERS = (  # role, login, extra arguments
    ("console", "c01", ("--think", "0", "--cold", "0.3")),
    ("console", "c02", ("--think", "0", "--cold", "0.3")),
    ("intake", "mailbot", ("--think", "0.05")),
    ("sweeper", "sla", ("--interval", "0.1")),
)


class Writer:
    def __init__(self, slot: int, n: int, url: str, config: Path, hot: list[int], workdir: Path, seed: int):
        role, login, extra = WRITERS[slot]
        self.role = role
        self.log = workdir / f"{slot}-{n:03d}-{role}.jsonl"
        self.proc = sw.start(role, url, config, 3600, seed, self.log, login=login, hot=hot, go=None, extra=extra)
        self.ready = False

    def poll_ready(self) -> bool:
        if not self.ready and select.select([self.proc.stdout], [], [], 0)[0]:
            self.ready = self.proc.stdout.readline().strip() == "ready"
        return self.ready

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


def test_writers_killed_at_random_never_leave_a_ticket_half_written(backend_url, tmp_path):
    rng = random.Random(20261202)
    config = sw.write_config(tmp_path)
    setup_log = tmp_path / "setup.jsonl"
    hot = sw.setup_desk(backend_url, config, hot=4, background=10, log_path=setup_log)
    desk = open_desk(backend_url, load_config(config), migrate=False, create=False)
    writers = [Writer(i, 0, backend_url, config, hot, tmp_path, rng.randrange(10**6)) for i in range(len(WRITERS))]
    logs = [setup_log] + [w.log for w in writers]
    killed: dict[str, int] = {}  # role -> kills
    started = time.monotonic()
    checking = 0.0
    try:
        for round_ in range(ROUNDS):
            time.sleep(rng.uniform(0.05, 0.5))  # a random moment in the victims' work
            deadline = time.monotonic() + 30
            while not any([w.poll_ready() for w in writers]):  # (replacements start while the rounds go on)
                assert time.monotonic() < deadline, "no writer started"
                time.sleep(0.01)
            for w in writers:
                assert w.proc.poll() is None, f"{w.role} died: {Path(str(w.log) + '.stderr').read_text()}"
            slot = rng.choice([i for i, w in enumerate(writers) if w.ready])
            victim = writers[slot]
            victim.kill()
            killed[victim.role] = killed.get(victim.role, 0) + 1
            writers[slot] = Writer(slot, round_ + 1, backend_url, config, hot, tmp_path, rng.randrange(10**6))
            logs.append(writers[slot].log)
            t = time.monotonic()
            records = sw.read_logs(logs)  # logged before the snapshot: committed before it
            state = sw.load_state(desk)  # one moment of the desk; the others are still writing
            problems = sw.check_desk(desk, state)
            problems += sw.check_soak(desk, records, state, complete=False)
            checking += time.monotonic() - t
            assert not problems, f"after kill {round_ + 1} ({victim.role}):\n" + "\n".join(problems[:20])
    finally:
        for w in writers:
            if w.proc.poll() is None:
                w.kill()
    state = sw.load_state(desk)
    records = sw.read_logs(logs)
    problems = sw.check_desk(desk, state) + sw.check_soak(desk, records, state, complete=False)
    assert not problems, "after the last kill:\n" + "\n".join(problems[:20])
    if desk.is_sqlite:
        assert state.integrity == "ok"
    f = sw.figures(records, time.monotonic() - started)
    busy = _share_in_writes(records)
    desk.close()
    print(f"\n{backend_url.split(':')[0]}: {ROUNDS} kills {killed}; {f.accepted} accepted writes, "
          f"{f.conflicts} conflicts, {f.crossings} SLA crossings, {len(state.tickets)} tickets, "
          f"{len(state.audit)} audit rows; the consoles spent {busy:.0%} of their time inside a write call; "
          f"{time.monotonic() - started:.0f} s, {checking:.0f} s of it checking")
    assert f.accepted > 0 and f.crossings > 0
    assert set(killed) == {"console", "intake", "sweeper"}, killed
    # and the desk opens and takes writes as usual (SQLite: WAL recovery after the last kill)
    from deskconsole.core.records import tickets
    from deskconsole.core.identity import actor_for

    desk = open_desk(backend_url, load_config(config))
    try:
        seen = tickets.load_ticket(desk, hot[0]).version
        assert tickets.note(desk, actor_for(desk, "c03"), hot[0], "after", expected_version=seen).version == seen + 1
        assert sw.check_desk(desk) == []
    finally:
        desk.close()


def _share_in_writes(records) -> float:
    """The share of the consoles' lives spent inside write calls (waiting for
    the lock included): about the share of their kills that hit a transaction."""
    spans: dict[int, list[float]] = {}
    inside = 0.0
    for r in records:
        if r.get("role") == "console" and r["kind"] in ("ok", "conflict", "refused"):
            span = spans.setdefault(r["pid"], [r["t0"], r["t0"]])
            span[1] = max(span[1], r["t0"] + r["ms"] / 1000)
            inside += r["ms"] / 1000
    total = sum(b - a for a, b in spans.values())
    return inside / total if total else 0.0


# ---------------------------------------------------------------- the checks themselves
def test_the_checks_find_every_kind_of_half_written_ticket(tmp_path):
    """The crash and soak tests are only as good as their checks: each
    partial transaction (or lost update) here must be reported."""
    from datetime import datetime, timezone

    from deskconsole.core.records import tickets
    from deskconsole.core.clock import ManualClock
    from deskconsole.core.identity import actor_for
    from deskconsole.core.automation.sweep import sweep

    config = load_config(sw.write_config(tmp_path))
    clock = ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc))
    desk = open_desk(f"sqlite:///{tmp_path / 'desk.db'}", config, clock)
    log_path = tmp_path / "log.jsonl"
    log = sw.Log(str(log_path), "console", "c01")
    c01 = actor_for(desk, "c01")
    for title in ("one", "two"):
        out = tickets.create(desk, actor_for(desk, "ada"), title=title, priority="P2")
        sw.Log(str(log_path), "setup", "ada")("ok", op="create", action="create", ticket=int(out.key[4:]),
                                               expected=None, version=1, changes={"title": title}, entry=None)
    steps = [("take", {}), ("reply", {"text": "on it"}), ("note", {"text": "looking"}),
             ("triage", {"priority": "P3"}), ("set_status", {"status": "pending"})]
    for op, kw in steps:
        clock.advance(1)
        sw.write(desk, log, c01, op, 1, tickets.load_ticket(desk, 1).version, kw, getattr(tickets, op))
    clock.advance(15)  # ticket 2's clocks (P2: 6 s, 10 s) cross every threshold and breach
    assert sweep(desk).crossings >= 8
    records = sw.read_logs([log_path])
    assert [r["kind"] for r in records].count("ok") == 7
    assert sw.check_desk(desk) == [] and sw.check_soak(desk, records) == []

    db = desk.db
    t1 = tickets.load_ticket(desk, 1)
    last_at = db.execute_sql("SELECT at FROM feed WHERE ticket = 1 AND version = ?", (t1.version,)).fetchone()[0]

    def corrupted(*statements) -> str:
        with db.atomic() as txn:
            for sql in statements:
                db.execute_sql(sql)
            found = sw.check_desk(desk)
            txn.rollback()
        assert sw.check_desk(desk) == []
        return "\n".join(found)

    at = "'2026-11-23 09:00:30.000000'"
    cases = {
        "the ticket row without its feed row": (["UPDATE ticket SET version = version + 1 WHERE id = 1"],
                                                "its write feed rows carry versions"),
        "a feed row without the ticket row": ([f"INSERT INTO feed (at, actor, action, ticket, version) VALUES "
                                               f"({at}, 'c01', 'note', 1, {t1.version + 1})"], "feed rows carry"),
        "the ticket row from another transaction": ([f"UPDATE ticket SET updated_at = {at} WHERE id = 1"],
                                                    "updated_at"),
        "audit rows without their change": ([f"INSERT INTO audit_event (ticket_id, at, actor, action, field, old, new) "
                                             f"VALUES (1, {at}, 'c01', 'triage', 'priority', 'P3', 'P1')"],
                                            "have no feed row"),
        "a change without its audit rows": ([f"DELETE FROM audit_event WHERE ticket_id = 1 AND at = '{last_at}'"],
                                            "has no audit rows"),
        "a field changed without audit (a lost update)": (["UPDATE ticket SET priority = 'P4' WHERE id = 1"],
                                                          "but the audit log leaves it at"),
        "an audited change that did not start from the value before": (
            ["UPDATE audit_event SET old = 'P1' WHERE ticket_id = 1 AND field = 'priority' AND action = 'triage'"],
            "a lost update"),
        "an entry without its audit row": ([f"INSERT INTO entry (ticket_id, kind, author, author_name, at, body, source) "
                                            f"VALUES (1, 'note', 'c01', 'x', {at}, 'ghost', 'cli')"], "has no audit row"),
        "an audited entry that is not there": (["DELETE FROM entry WHERE body = 'looking'"], "which does not exist"),
        "a ticket without its clocks": (["DELETE FROM outbox", "DELETE FROM sla_crossing WHERE ticket = 2",
                                         "DELETE FROM sla_clock WHERE ticket_id = 2"], "has clocks []"),
        "a clock that lost its breach": (["UPDATE sla_clock SET breached_at = NULL, state = 'running' "
                                          "WHERE ticket_id = 2 AND metric = 'resolution'"], "a breach lost"),
        "a clock that lost a crossing": (["UPDATE sla_clock SET crossed = 50 WHERE ticket_id = 2"],
                                         "crossings [50, 75, 90, 100] were recorded"),
        "a crossing without its audit row": (["DELETE FROM audit_event WHERE ticket_id = 2 AND action = 'sla' "
                                              "AND new LIKE 'resolution at 50%'"], "in the audit log"),
        "a clock that did not follow the ticket": (["UPDATE sla_clock SET counted_to = started_at, paused_since = NULL, "
                                                    "state = 'running' WHERE ticket_id = 1 AND metric = 'resolution'"],
                                                   "counting on a pending ticket"),
        "a stale SLA deadline": (["UPDATE ticket SET sla_due = NULL WHERE id = 2"], "sla_due"),
    }
    for what, (statements, expected) in cases.items():
        assert expected in corrupted(*statements), what

    # and the logs against the desk
    ok = next(r for r in records if r["kind"] == "ok" and r["op"] == "triage")
    lost = {**ok, "version": 99}
    assert "has no feed row — lost" in "\n".join(sw.check_soak(desk, records + [lost]))
    twice = {**ok, "actor": "c02"}
    assert "accepted 2 times" in "\n".join(sw.check_soak(desk, records + [twice]))
    assert "nobody accepted it" in "\n".join(sw.check_soak(desk, [r for r in records if r is not ok]))
    wrong = {**ok, "changes": {"priority": "P1"}}
    assert "audit says 'P3'" in "\n".join(sw.check_soak(desk, [wrong if r is ok else r for r in records]))
    conflict = {"kind": "conflict", "role": "console", "actor": "c02", "ticket": 1, "expected": 2,
                "current": t1.version, "by": "c09"}
    assert "conflict names c09" in "\n".join(sw.check_soak(desk, records + [conflict]))
    err = {"kind": "error", "role": "console", "actor": "c02", "op": "note", "ticket": 1, "error": "OperationalError",
           "msg": "database is locked"}
    assert "database is locked" in "\n".join(sw.check_soak(desk, records + [err]))
    desk.close()
