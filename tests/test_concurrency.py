"""Two real connections (two processes) racing on one ticket in one SQLite
file: optimistic concurrency turns the loser into a Conflict, and writes that
do not race on a version are serialised without "database is locked"."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from deskconsole.core.records import tickets
from deskconsole.errors import Conflict
from deskconsole.core.records.views import detail
from deskconsole.models import AuditEvent, Entry

WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    from deskconsole.config import load_config
    from deskconsole.core.desk import open_desk
    from deskconsole.errors import Conflict
    from deskconsole.core.identity import actor_for
    from deskconsole.core.records import tickets
    from deskconsole.core.records.views import detail

    url, config_path, login, key, go, mode, count = sys.argv[1:8]
    config = load_config(config_path)
    desk = open_desk(url, config)
    actor = actor_for(desk, login)
    seen = detail(desk, key).version
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.001)
    results = []
    for i in range(int(count)):
        try:
            if mode == "versioned":
                out = tickets.note(desk, actor, key, f"{login} saw v{seen}", expected_version=seen)
            else:
                out = tickets.note(desk, actor, key, f"{login} note {i}")
            results.append({"ok": out.version})
        except Conflict as exc:
            results.append({"conflict": str(exc), "by": exc.changed_by})
    print(json.dumps(results), flush=True)
    """
)


def race(tmp_path, db_url, config_path, key, mode, count=1, logins=("al", "nia")):
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, db_url, str(config_path), login, key, str(go), mode, str(count)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for login in logins
    ]
    for p in procs:  # both have read the ticket before either writes
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
    go.touch()
    results = {}
    for login, p in zip(logins, procs):
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert "database is locked" not in err
        results[login] = json.loads(out.strip().splitlines()[-1])
    return results


@pytest.fixture
def shared_desk(tmp_path, write_config, db_url, desk, actors):
    key = tickets.create(desk, actors["al"], title="Checkout 502s").key
    return write_config(), key


def test_stale_version_loses_with_a_conflict_naming_the_winner(tmp_path, db_url, desk, shared_desk):
    config_path, key = shared_desk
    results = race(tmp_path, db_url, config_path, key, "versioned")
    outcomes = [r[0] for r in results.values()]
    winners = [login for login, r in results.items() if "ok" in r[0]]
    losers = [r[0] for r in results.values() if "conflict" in r[0]]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert losers[0]["by"] == winners[0]
    assert f"{key} was changed by {winners[0]}" in losers[0]["conflict"]
    t = detail(desk, key)
    assert t.version == 2
    assert [e.author for e in t.entries] == winners  # the loser wrote nothing at all


def test_unversioned_writes_are_serialised_and_none_is_lost(tmp_path, db_url, desk, shared_desk):
    config_path, key = shared_desk
    results = race(tmp_path, db_url, config_path, key, "plain", count=25)
    assert all("ok" in r for rs in results.values() for r in rs)
    t = detail(desk, key)
    assert t.version == 1 + 50
    assert len(t.entries) == 50
    versions = sorted(r["ok"] for rs in results.values() for r in rs)
    assert versions == list(range(2, 52))  # every write saw the one before it
    assert AuditEvent.select().where(AuditEvent.action == "note").count() == 50


def test_conflict_in_process_with_a_second_connection(desk, actors, clock):
    """A thread has its own connection: a change there makes our version stale."""
    import threading

    key = tickets.create(desk, actors["al"], title="Mail queue growing").key
    seen = detail(desk, key).version
    clock.advance(3)

    def other():
        tickets.assign(desk, actors["lee"], key, agent="nia")
        desk.db.close()

    t = threading.Thread(target=other)
    t.start()
    t.join()
    clock.advance(4)
    with pytest.raises(Conflict, match=rf"{key} was changed by lee 4 s ago \(it is at version 2, you saw 1\)"):
        tickets.triage(desk, actors["al"], key, priority="P1", expected_version=seen)
    assert detail(desk, key).priority == "P3"
    assert Entry.select().count() == 0
