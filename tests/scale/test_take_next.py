"""``deskconsole take-next``: the most urgent unassigned open ticket, claimed
once however many engineers ask at the same moment — on SQLite (BEGIN
IMMEDIATE) and on PostgreSQL (FOR UPDATE OF ticket SKIP LOCKED), with real
OS processes.

Run as a script, this file is the racing worker::

    python tests/scale/test_take_next.py URL CONFIG LOGIN READY GO

It opens the desk, says it is ready (creates READY), waits for GO to exist,
then takes tickets until none is left, printing one JSON line per ticket taken.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]
WORKERS = [f"w{i}" for i in range(1, 7)]  # six engineers, six processes


def _worker(url: str, config_path: str, login: str, ready: str, go: str) -> int:
    sys.path.insert(0, str(PROJECT))
    from deskconsole.config import load_config
    from deskconsole.core.search.claim import take_next
    from deskconsole.core.desk import open_desk
    from deskconsole.core.identity import actor_for

    config = load_config(Path(config_path))
    desk = open_desk(url, config)
    actor = actor_for(desk, login)
    Path(ready).touch()
    while not os.path.exists(go):
        time.sleep(0.002)
    taken = 0
    print(json.dumps({"login": login, "start": time.time()}), flush=True)
    while True:
        started = time.monotonic()
        key = take_next(desk, actor)
        if key is None:
            break
        taken += 1
        print(json.dumps({"login": login, "key": key, "ms": round((time.monotonic() - started) * 1000, 2),
                          "at": time.time()}), flush=True)
    print(json.dumps({"login": login, "done": taken}), flush=True)
    desk.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(_worker(*sys.argv[1:6]))


# ---------------------------------------------------------------- the tests
import pytest  # noqa: E402
from desk_env import child_env, with_real_admin  # noqa: E402

from deskconsole.cli.main import main  # noqa: E402
from deskconsole.config import parse_config  # noqa: E402
from deskconsole.core.records import tickets  # noqa: E402
from deskconsole.core.search.claim import take_next  # noqa: E402
from deskconsole.core.desk import open_desk  # noqa: E402
from deskconsole.core.identity import actor_for  # noqa: E402

WORKER_AGENTS = "".join(f'\n[agents.{w}]\nname = "Worker {w[1:]}"\nrole = "agent"\nteam = "ops"\n' for w in WORKERS)


@pytest.fixture
def race_text(config_text):
    return config_text + WORKER_AGENTS


@pytest.fixture
def race_desk(backend_url, race_text, write_config):
    """The desk (system clock: the workers' clock too) and its config file."""
    race_text = with_real_admin(race_text)  # the CLI racers run as the real login, each --as its worker
    path = write_config(race_text)
    desk = open_desk(backend_url, parse_config(race_text, str(path)))
    desk.config_file = path
    yield desk
    desk.close()


def _fill(desk, actors, open_unassigned: int) -> tuple[list[str], list[str]]:
    """``open_unassigned`` tickets to take, plus tickets that must not be taken:
    some held by lee, some resolved, one cancelled. Returns (to take, not to take)."""
    al = actors["al"]
    take, keep = [], []
    for i in range(open_unassigned):
        take.append(tickets.create(desk, al, title=f"Queue ticket {i}", priority=f"P{i % 4 + 1}").key)
    for i in range(6):
        keep.append(tickets.create(desk, al, title=f"Held {i}", priority="P1", assignee="lee").key)
    for i in range(4):
        key = tickets.create(desk, al, title=f"Resolved {i}", priority="P1").key
        tickets.resolve(desk, actors["lee"], key, "fixed", "done")
        keep.append(key)
    key = tickets.create(desk, al, title="Cancelled", priority="P1").key
    tickets.cancel(desk, actors["lee"], key, "duplicate report")
    keep.append(key)
    return take, keep


def _state(desk, keys: list[str]) -> dict[str, tuple]:
    from deskconsole.core.keys import ticket_id

    ids = [ticket_id(k) for k in keys]
    marks = ", ".join(desk.db.param for _ in ids)
    rows = desk.db.execute_sql(
        f"SELECT t.id, a.login, t.status, t.version FROM ticket t LEFT JOIN agent a ON a.id = t.assignee_id"
        f" WHERE t.id IN ({marks})", ids).fetchall()
    return {f"INC-{r[0]}": tuple(r[1:]) for r in rows}


def _takes_in_audit(desk) -> list[tuple[str, str]]:
    rows = desk.db.execute_sql(
        "SELECT ticket_id, actor, new FROM audit_event WHERE action = 'take' AND field = 'assignee' ORDER BY id").fetchall()
    for ticket, actor, new in rows:
        assert actor == new, (ticket, actor, new)  # each took it for themselves
    return [(f"INC-{r[0]}", r[1]) for r in rows]


def _takes_in_feed(desk) -> list[str]:
    rows = desk.db.execute_sql("SELECT ticket FROM feed WHERE action = 'take' ORDER BY seq").fetchall()
    return [f"INC-{r[0]}" for r in rows]


def test_six_processes_race_and_every_ticket_is_taken_exactly_once(race_desk, actors, tmp_path):
    to_take, keep = _fill(race_desk, actors, 240)
    before_keep = _state(race_desk, keep)
    ready_dir, go = tmp_path / "ready", tmp_path / "go"
    ready_dir.mkdir()
    procs = {
        login: subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), race_desk.url, str(race_desk.config_file), login,
             str(ready_dir / login), str(go)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(tmp_path), cwd=tmp_path)
        for login in WORKERS
    }
    deadline = time.monotonic() + 60
    while len(list(ready_dir.iterdir())) < len(WORKERS):  # all six open the desk first, then all start at once
        assert time.monotonic() < deadline, "the workers never got ready"
        assert all(p.poll() is None for p in procs.values()), {l: p.communicate() for l, p in procs.items()}
        time.sleep(0.01)
    go.touch()
    claims: list[tuple[str, str]] = []
    done: dict[str, int] = {}
    started: dict[str, float] = {}
    last_claim = 0.0
    for login, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, (login, err)
        assert "Traceback" not in err and "locked" not in err, (login, err)
        for line in out.splitlines():
            record = json.loads(line)
            if "key" in record:
                claims.append((record["key"], record["login"]))
                last_claim = max(last_claim, record["at"])
            elif "start" in record:
                started[record["login"]] = record["start"]
            else:
                done[record["login"]] = record["done"]
    assert sorted(done) == sorted(WORKERS)  # every worker ran until it found nothing left

    keys = [key for key, _ in claims]
    twice = [k for k, n in Counter(keys).items() if n > 1]
    assert not twice, f"taken more than once: {twice}"
    assert set(keys) == set(to_take), {"missed": sorted(set(to_take) - set(keys)),
                                        "wrongly taken": sorted(set(keys) - set(to_take))}
    # They raced: several were asking while tickets were still being handed
    # out. (Usually all six take some; on SQLite one process can win the write
    # lock again and again while the others wait on it, which is fair enough.)
    racing = [login for login, at in started.items() if at < last_claim]
    assert len(racing) >= 2, f"the workers did not race: {started}, last ticket taken at {last_claim}"

    # The desk and the audit log say the same as the workers did.
    state = _state(race_desk, to_take)
    claimed_by = dict(claims)
    for key in to_take:
        login, status, version = state[key]
        assert (login, status) == (claimed_by[key], "in_progress"), key
    assert sorted(_takes_in_audit(race_desk)) == sorted(claims)
    assert sorted(_takes_in_feed(race_desk)) == sorted(keys)
    assert _state(race_desk, keep) == before_keep  # held, resolved and cancelled tickets were not touched
    assert take_next(race_desk, actor_for(race_desk, "w1")) is None


def test_six_cli_processes_race_end_to_end(race_desk, actors, tmp_path):
    """The same through the real command: six logins, each running
    ``deskconsole take-next`` again as soon as its last one finished, until it
    says nothing is left (exit 1)."""
    to_take, _ = _fill(race_desk, actors, 18)
    base = [sys.executable, "-m", "deskconsole", "--config", str(race_desk.config_file), "--db", race_desk.url]

    def take_next_as(login):
        return subprocess.Popen([*base, "--as", login, "take-next"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=child_env(tmp_path), cwd=PROJECT)

    running = {login: take_next_as(login) for login in WORKERS}
    claims: list[tuple[str, str]] = []
    finished: dict[str, str] = {}
    deadline = time.monotonic() + 240
    while running:
        assert time.monotonic() < deadline, "take-next never ran dry"
        for login, proc in list(running.items()):
            if proc.poll() is None:
                continue
            out, err = proc.communicate()
            assert "Traceback" not in err, err
            if proc.returncode == 0:
                assert err == "" and out.count("\n") == 1, (out, err)
                claims.append((out.strip(), login))
                running[login] = take_next_as(login)
            else:
                assert proc.returncode == 1 and out == "", (login, proc.returncode, out, err)
                finished[login] = err
                del running[login]
        time.sleep(0.01)
    for login, err in finished.items():
        assert err == "deskconsole: nothing left to take: no open, unassigned ticket is on the desk\n", err
    keys = [k for k, _ in claims]
    assert sorted(keys) == sorted(to_take) and len(set(keys)) == len(keys)
    assert sorted(_takes_in_audit(race_desk)) == sorted(claims)


# ---------------------------------------------------------------- the command itself
@pytest.fixture
def cli(backend_url, write_config, monkeypatch, capsys, tmp_path):
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.delenv("DESKCONSOLE_CONFIG", raising=False)
    monkeypatch.delenv("DESKCONSOLE_DB", raising=False)
    path = write_config()

    open_desk(backend_url, parse_config(path.read_text(encoding="utf-8"), str(path))).close()  # created by its admin

    def run(*argv: str, user: str = "al") -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = main(["--config", str(path), "--db", backend_url, *argv], login=user)
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    return run


def test_take_next_takes_the_most_urgent_first(cli):
    assert cli("new", "Low", "--priority", "P4", user="ada")[0] == 0  # INC-1
    cli("new", "Outage", "--priority", "P1", user="ada")  # INC-2
    cli("new", "Slow", "--priority", "P2", user="ada")  # INC-3
    cli("new", "Older outage held", "--priority", "P1", "--assignee", "lee", user="ada")  # INC-4
    cli("new", "VPN", "--priority", "P1", "--service", "vpn", user="ada")  # INC-5, team network
    assert cli("take-next") == (0, "INC-2\n", "")
    assert cli("take-next") == (0, "INC-5\n", "")
    assert cli("take-next") == (0, "INC-3\n", "")
    code, out, _ = cli("show", "INC-3", "--format", "json")
    t = json.loads(out)
    assert (t["assignee"], t["status"]) == ("al", "in_progress") and t["acknowledged_by"] == "al"


def test_take_next_with_a_query(cli):
    cli("new", "Mail down", "--priority", "P2", "--service", "mail", user="ada")  # INC-1, ops
    cli("new", "VPN down", "--priority", "P3", "--service", "vpn", user="ada")  # INC-2, network
    cli("new", "Printer", "--priority", "P1", user="ada")  # INC-3, ops
    assert cli("take-next", "team:network", user="nia") == (0, "INC-2\n", "")
    assert cli("take-next", "team:ops", "-prio:P1") == (0, "INC-1\n", "")  # a negated term is a query term
    code, out, err = cli("take-next", "team:network")
    assert (code, out) == (1, "")
    assert err == "deskconsole: nothing left to take: no open, unassigned ticket matches 'team:network'\n"
    code, out, err = cli("take-next", "prio:P9")
    assert code == 1 and out == "" and "P9" in err


def test_take_next_when_nothing_is_left_and_for_viewers(cli):
    code, out, err = cli("take-next")
    assert (code, out, err) == (1, "", "deskconsole: nothing left to take: no open, unassigned ticket is on the desk\n")
    cli("new", "Something", user="ada")
    code, out, err = cli("take-next", user="vic")
    assert code == 4 and out == "" and err.startswith("deskconsole: vic is a viewer") and "agent role" in err
    assert cli("take-next") == (0, "INC-1\n", "")
    assert cli("take-next")[0] == 1
