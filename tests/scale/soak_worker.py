"""Many writers on one desk: the worker processes of the soak test, the crash
test and ``bench/scale.py``, and the checks that run on the desk afterwards.

One process plays one role::

    python tests/scale/soak_worker.py ROLE URL CONFIG SECONDS SEED OUT.jsonl --login LOGIN --hot 1,2,3 [--go FILE]

``console``  a console's core path: read a ticket (its version), think for a
             few milliseconds, then write with ``expected_version`` — so two
             consoles on one hot ticket really conflict
``cli``      the same through the real ``deskconsole`` command (a fresh
             interpreter per write, ``--expect-version``)
``intake``   creates tickets, as mail or a webhook would
``sweeper``  the SLA loop (APScheduler, a short interval) in this process
``daemon``   the SLA loop as ``deskconsole daemon`` (a child process)

Every process writes one JSON object a line to OUT.jsonl, flushed as it
goes: each ACCEPTED change (ticket, action, resulting version, the fields it
changed as the audit log shows them, latency), each conflict (what the loser
saw, what the ticket is at, who changed it), each refusal a user could meet
(no change, a transition the lifecycle forbids) and each error — anything
else, "database is locked" above all. The tests fail on any error.

:func:`check_desk` is the definition of "not half-written": what one write
transaction writes (the ticket row, its feed row, its audit rows, an entry,
SLA clocks and crossings), checked for every ticket in one snapshot.
:func:`check_soak` adds what the logs say: every accepted change is in the
audit log, versions form a gapless sequence claimed once each, the final state
is the last accepted value of every field, and every conflict was surfaced.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]
if str(PROJECT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(PROJECT))

# ---------------------------------------------------------------- the desk
# Short SLA targets on the 24x7 calendar, so clocks cross thresholds and
# breach while the soak runs and the sweepers have real work: crossings,
# notifications, and (P2 breach) a versioned write of their own.
CONSOLE_LOGINS = [f"c{i:02d}" for i in range(1, 25)]
CLI_LOGINS = [f"k{i}" for i in range(1, 9)]
HOLDERS = ("al", "nia", "c01", "c02", "c03")  # whom consoles assign tickets to
CLI_TICKETS = 8  # the quiet tickets after the hot ones are the CLI writers' (consoles leave them be)


def cli_tickets(hot: list[int]) -> list[int]:
    """An interpreter start takes seconds on a busy machine, longer than any
    ticket the consoles touch stays unchanged: the CLI writers mostly work
    these, where they meet only each other (and win some)."""
    return list(range(max(hot) + 1, max(hot) + 1 + CLI_TICKETS))


def soak_config() -> str:
    import pwd

    agents = "\n".join(
        f'[agents.{login}]\nname = "Writer {login}"\nrole = "lead"\nteam = "{"ops" if i % 2 else "network"}"\n'
        f'email = "{login}@example.com"\n'
        for i, login in enumerate(CONSOLE_LOGINS + CLI_LOGINS)
    )
    # The CLI writers and the daemon run as the real login, an admin, each writer --as its own login.
    agents += f'\n[agents.{pwd.getpwuid(os.getuid()).pw_name}]\nname = "Soak runner"\nrole = "admin"\n'

    return f"""
[desk]
name = "Soak desk"
default_team = "ops"

[teams.ops]
name = "Operations"
email = "ops@example.com"

[teams.network]
name = "Network"

[agents.ada]
name = "Ada Admin"
role = "admin"
team = "ops"
email = "ada@example.com"

[agents.mailbot]
name = "Mail intake"
role = "agent"
team = "ops"

[agents.al]
name = "Al Agent"
role = "agent"
team = "ops"

[agents.nia]
name = "Nia Network"
role = "agent"
team = "network"

{agents}
[categories]
outage = "Outage"
access = "Access request"

[services.vpn]
name = "Corporate VPN"
team = "network"

[services.mail]
name = "E-mail"
team = "ops"

[sla]
warn = [50, 75, 90]
pause_on = ["pending"]

[[sla.policy]]
name = "p1"
priority = "P1"
first_response = "4s"
resolution = "20s"

[[sla.policy.escalate]]
at = "breach"
notify = ["leads"]

[[sla.policy]]
name = "p2"
priority = "P2"
first_response = "6s"
resolution = "10s"

[[sla.policy.escalate]]
at = "breach"
metric = "resolution"
raise_priority = "P1"

[[sla.policy]]
name = "rest"
first_response = "12s"
resolution = "40s"

[[sla.policy.escalate]]
at = 90
notify = ["assignee"]
"""


# ---------------------------------------------------------------- logging
class Log:
    """One JSON object a line, each written with one ``write`` call: a kill -9
    leaves whole lines behind (at most the last one cut short)."""

    def __init__(self, path: str, role: str, login: str):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.base = {"role": role, "actor": login, "pid": os.getpid()}
        self.counts: Counter = Counter()

    def __call__(self, kind: str, **data) -> None:
        self.counts[kind] += 1
        os.write(self.fd, (json.dumps({"kind": kind, **self.base, **data}, default=str) + "\n").encode())


def read_logs(paths) -> list[dict]:
    records = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:  # the last line of a process killed mid-write
                pass
    return records


# ---------------------------------------------------------------- helpers
def _open(url: str, config_path: str):
    from deskconsole.config import load_config
    from deskconsole.core.desk import open_desk

    config = load_config(Path(config_path))
    return open_desk(url, config, migrate=False, create=False), config


def audit_text(desk, name: str, value):
    """A ticket field's value as the audit log writes it."""
    from deskconsole.core.records.change import shown
    from deskconsole.core.txn import _text

    return _text(shown(desk.directory, name, value))


def _classify(exc: BaseException) -> str:
    from deskconsole.errors import Conflict, DeskError

    if isinstance(exc, Conflict):
        return "conflict"
    if isinstance(exc, DeskError):
        return "refused"
    return "error"


def _wait_for_go(go: str | None) -> None:
    print("ready", flush=True)
    if go:
        while not os.path.exists(go):
            time.sleep(0.002)


ACTION = {"set_status": "status", "acknowledge": "ack"}  # function name -> the unit's action


# ---------------------------------------------------------------- console
def pick_console_op(rng: random.Random, t, codes) -> tuple[str, dict]:
    """What a person at a console might do next to ``t`` (as they see it)."""
    status = t.status
    if status in ("closed", "cancelled"):
        return "note", {"text": f"after the fact {rng.random():.6f}"}
    if status == "resolved":
        return rng.choice([
            ("reopen", {"reason": rng.choice([None, "came back"])}),
            ("set_status", {"status": "in_progress"}),
            ("note", {"text": f"checked {rng.random():.6f}"}),
        ])
    choices = [
        (4, "note", {"text": f"looking {rng.random():.6f}"}),
        (2, "reply", {"text": f"we are on it {rng.random():.6f}"}),
        (3, "triage", {"priority": rng.choice(["P1", "P2", "P3", "P4"])}),
        (1, "triage", {"impact": rng.choice(["high", "medium", "low"]), "urgency": rng.choice(["high", "medium", "low"])}),
        (2, "assign", {"agent": rng.choice(HOLDERS)}),
        (1, "assign", {"team": rng.choice(["ops", "network"])}),
        (2, "take", {}),
        (1, "acknowledge", {}),
    ]
    if t.assignee_id is not None:
        if status == "pending":
            choices.append((3, "set_status", {"status": "in_progress"}))
        else:
            choices.append((3, "set_status", {"status": "pending"}))
        if status == "in_progress":
            choices.append((1, "set_status", {"status": "assigned"}))
    choices.append((2, "resolve", {"code": rng.choice(codes), "note": rng.choice([None, "restarted it"])}))
    weights = [w for w, *_ in choices]
    _, op, kw = rng.choices(choices, weights=weights)[0]
    return op, kw


def pick_cold_op(rng: random.Random, t, codes) -> tuple[str, dict]:
    """Rarer things, done to the long tail of tickets: close, cancel."""
    if t.status == "resolved":
        return "close", {}
    if t.status in ("new", "assigned", "in_progress", "pending") and rng.random() < 0.3:
        return "cancel", {"reason": "duplicate of a mail thread"}
    return pick_console_op(rng, t, codes)


def run_console(args, log: Log) -> None:
    from deskconsole.core.records import tickets
    from deskconsole.core.identity import actor_for
    from deskconsole.models import Ticket

    desk, config = _open(args.url, args.config)
    actor = actor_for(desk, args.login)
    rng = random.Random(args.seed)
    hot = [int(x) for x in args.hot.split(",")]
    theirs = set(hot) | set(cli_tickets(hot))
    codes = list(config.resolution_codes)
    think = args.think
    _wait_for_go(args.go)
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        if rng.random() < args.cold:
            newest = Ticket.select(Ticket.id).order_by(Ticket.id.desc()).scalar() or hot[-1]
            tid = rng.randint(1, newest)
            if tid in theirs:  # the hot tickets stay open (closing and cancelling is for the others)
                continue  # and the CLI's are the CLI's
            chooser = pick_cold_op
        else:
            tid = rng.choice(hot)
            chooser = pick_console_op
        t = Ticket.select().where(Ticket.id == tid).first()  # what the console shows
        if t is None:
            continue
        op, kw = chooser(rng, t, codes)
        if think:
            time.sleep(rng.uniform(0, think))
        write(desk, log, actor, op, tid, t.version, kw, getattr(tickets, op))
    desk.close()


def write(desk, log: Log, actor, op: str, tid: int, expected: int | None, kw: dict, fn) -> None:
    """One write through the core; log what came of it."""
    started = time.perf_counter()
    wall = time.time()
    try:
        outcome = fn(desk, actor, tid, expected_version=expected, **kw)
    except BaseException as exc:  # noqa: BLE001 - everything is classified and logged
        ms = (time.perf_counter() - started) * 1000
        kind = _classify(exc)
        if kind == "conflict":
            log("conflict", op=op, action=ACTION.get(op, op), ticket=tid, expected=expected,
                current=exc.current_version, by=exc.changed_by, msg=str(exc), t0=wall, ms=ms)
        elif kind == "refused":
            log("refused", op=op, ticket=tid, error=type(exc).__name__, msg=str(exc), t0=wall, ms=ms)
        else:
            log("error", op=op, ticket=tid, error=type(exc).__name__, msg=str(exc),
                tb=traceback.format_exc(), ms=ms)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            _reset(desk)
        return
    ms = (time.perf_counter() - started) * 1000
    changes = {name: audit_text(desk, name, new) for name, _old, new in outcome.changes}
    text = kw.get("text") or kw.get("reason")
    log("ok", op=op, action=ACTION.get(op, op), ticket=tid, expected=expected, version=outcome.version,
        changes=changes, entry=text if op in ("note", "reply", "cancel") or (op == "reopen" and text) else None,
        t0=wall, ms=ms)


def _reset(desk) -> None:
    """After an unexpected error, start again on a fresh connection."""
    try:
        desk.db.close()
    except Exception:
        pass


# ---------------------------------------------------------------- cli
CLI_DONE = re.compile(r"^(INC-\d+) .*\(version (\d+)\)\s*$", re.M)
CLI_CONFLICT = re.compile(r"was changed by (\S+).*it is at version (\d+), you saw (\d+)")


def cli_command() -> list[str]:
    return [sys.executable, "-m", "deskconsole"]


def run_cli(args, log: Log) -> None:
    from deskconsole.models import Ticket

    desk, config = _open(args.url, args.config)
    rng = random.Random(args.seed)
    hot = [int(x) for x in args.hot.split(",")]
    env = dict(os.environ)
    env.pop("DESKCONSOLE_DB", None)
    base = [*cli_command(), "--db", args.url, "--config", args.config, "--as", args.login]  # the real login: an admin
    _wait_for_go(args.go)
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        tid = rng.choice(hot) if rng.random() < 0.15 else rng.choice(cli_tickets(hot))
        t = Ticket.select(Ticket.version, Ticket.status, Ticket.assignee).where(Ticket.id == tid).first()
        key = f"INC-{tid}"
        op, argv, want = _cli_op(rng, t, key, tid in hot)
        argv = [*argv, "--expect-version", str(t.version)]
        started = time.perf_counter()
        wall = time.time()
        proc = subprocess.run([*base, *argv], env=env, capture_output=True, text=True, timeout=120)
        ms = (time.perf_counter() - started) * 1000
        err = proc.stderr
        if "Traceback" in err or "locked" in err or proc.returncode not in (0, 1, 3):
            log("error", op=op, ticket=tid, error=f"exit {proc.returncode}", msg=err[-4000:], argv=argv, ms=ms)
        elif proc.returncode == 0:
            m = CLI_DONE.search(proc.stdout)
            if not m:
                log("error", op=op, ticket=tid, error="unparsed output", msg=proc.stdout, argv=argv, ms=ms)
                continue
            log("ok", op=op, action=op, ticket=tid, expected=t.version, version=int(m.group(2)),
                changes=want, entry=argv[2] if op in ("note", "reply") else None, t0=wall, ms=ms, cli=True)
        elif proc.returncode == 3:
            m = CLI_CONFLICT.search(err)
            if not m:
                log("error", op=op, ticket=tid, error="unparsed conflict", msg=err, argv=argv, ms=ms)
                continue
            log("conflict", op=op, action=op, ticket=tid, expected=t.version, current=int(m.group(2)),
                by=m.group(1), msg=err.strip(), ms=ms, cli=True)
        else:
            log("refused", op=op, ticket=tid, error="exit 1", msg=err.strip(), ms=ms, cli=True)
    desk.close()


def _cli_op(rng, t, key, hot: bool):
    """(action, argv, the field changes it must make as the audit shows them).
    Notes (which always change something) are most of the quiet tickets' share."""
    roll = rng.random()
    if t.status in ("resolved", "closed", "cancelled") or roll < (0.3 if hot else 0.6):
        text = f"from the shell {rng.random():.6f}"
        return "note", ["note", key, text], {}
    if roll < 0.75:
        prio = rng.choice(["P1", "P2", "P3", "P4"])
        return "triage", ["triage", key, "--priority", prio], {"priority": prio}
    if roll < 0.85 and t.assignee_id is not None:
        status = "in_progress" if t.status == "pending" else "pending"
        return "status", ["status", key, status], {"status": status}
    agent = rng.choice(HOLDERS)
    return "assign", ["assign", key, agent], {"assignee": agent}


# ---------------------------------------------------------------- intake
def run_intake(args, log: Log) -> None:
    from deskconsole.core.records import tickets
    from deskconsole.core.identity import actor_for

    desk, config = _open(args.url, args.config)
    actor = actor_for(desk, args.login)
    rng = random.Random(args.seed)
    _wait_for_go(args.go)
    end = time.monotonic() + args.seconds
    n = 0
    while time.monotonic() < end:
        n += 1
        kw = dict(
            title=f"Mail {os.getpid()}-{n}: {rng.choice(['VPN drops', 'Cannot send mail', 'Printer', 'Slow wifi'])}",
            description="Sent from my phone",
            requester_email=f"user{rng.randint(1, 500)}@example.com",
            impact=rng.choice(["high", "medium", "low"]), urgency=rng.choice(["high", "medium", "low"]),
            service=rng.choice([None, "vpn", "mail"]), source="mail",
        )
        started = time.perf_counter()
        wall = time.time()
        try:
            outcome = tickets.create(desk, actor, **kw)
        except BaseException as exc:  # noqa: BLE001
            log("error" if _classify(exc) == "error" else "refused", op="create", error=type(exc).__name__,
                msg=str(exc), tb=traceback.format_exc())
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            _reset(desk)
            continue
        ms = (time.perf_counter() - started) * 1000
        tid = int(outcome.key.split("-")[1])
        log("ok", op="create", action="create", ticket=tid, expected=None, version=outcome.version,
            changes={"title": kw["title"]}, entry=None, t0=wall, ms=ms)
        if args.think:
            time.sleep(rng.uniform(0, args.think))
    desk.close()


# ---------------------------------------------------------------- sweepers
class _Errors(logging.Handler):
    def __init__(self, log: Log):
        super().__init__(logging.ERROR)
        self.log = log

    def emit(self, record):
        tb = "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else None
        self.log("error", op="sweep", error=record.name, msg=record.getMessage(), tb=tb)


def run_sweeper(args, log: Log) -> None:
    from deskconsole.scheduler import SlaLoop

    desk, _ = _open(args.url, args.config)
    for name in ("deskconsole", "apscheduler"):
        logging.getLogger(name).addHandler(_Errors(log))

    def on_sweep(report):
        if report.clocks or report.crossings:
            log("sweep", clocks=report.clocks, crossings=report.crossings, actions=report.actions,
                ms=report.seconds * 1000)

    loop = SlaLoop(desk, interval=args.interval, on_sweep=on_sweep)
    desk.close()  # each sweep opens and closes its own connection
    _wait_for_go(args.go)
    loop.start()
    time.sleep(args.seconds)
    loop.stop()
    log("loop", sweeps=loop.sweeps, failures=loop.failures)
    if loop.failures:
        log("error", op="sweep", error="failures", msg=f"{loop.failures} sweep(s) failed")


def run_daemon(args, log: Log) -> None:
    """The second sweeper: the real ``deskconsole daemon`` in a child process."""
    logfile = args.out + ".daemon.log"
    env = {**os.environ, "DESKCONSOLE_LOG": logfile}
    _wait_for_go(args.go)
    end = time.monotonic() + args.seconds
    proc = subprocess.Popen(
        [*cli_command(), "--db", args.url, "--config", args.config, "daemon", "--interval", str(args.interval)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # Its first line says the loop runs (and SIGTERM will stop it cleanly); on
    # a loaded machine the start can take seconds.
    first = proc.stderr.readline()
    if "sweeping" not in first:
        log("error", op="daemon", error="did not start", msg=first + proc.stderr.read()[-4000:])
    time.sleep(max(0.0, end - time.monotonic()))
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    text = Path(logfile).read_text(encoding="utf-8") if Path(logfile).exists() else ""
    for line in text.splitlines():
        if " ERROR " in line or "Traceback" in line:
            log("error", op="daemon", error="log", msg=line)
        m = re.search(r"sweep: (\d+) clock\(s\) moved, (\d+) crossing\(s\), (\d+) escalation", line)
        if m:
            log("sweep", clocks=int(m.group(1)), crossings=int(m.group(2)), actions=int(m.group(3)))
    if proc.returncode != 0 or "Traceback" in err:
        log("error", op="daemon", error=f"exit {proc.returncode}", msg=(first + err + text)[-4000:])
    m = re.search(r"stopped after (\d+) sweep", err)
    log("loop", sweeps=int(m.group(1)) if m else None, failures=None)


ROLES = {"console": run_console, "cli": run_cli, "intake": run_intake, "sweeper": run_sweeper, "daemon": run_daemon}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("role", choices=sorted(ROLES))
    p.add_argument("url")
    p.add_argument("config")
    p.add_argument("seconds", type=float)
    p.add_argument("seed", type=int)
    p.add_argument("out")
    p.add_argument("--login", default="ada")
    p.add_argument("--hot", default="1")
    p.add_argument("--go", help="wait for this file to exist before starting the clock")
    p.add_argument("--think", type=float, default=0.005, help="seconds a console thinks between read and write (max)")
    p.add_argument("--cold", type=float, default=0.1, help="share of console writes to any ticket, not the hot set")
    p.add_argument("--interval", type=float, default=0.25, help="sweep interval (sweeper, daemon)")
    args = p.parse_args(argv)
    log = Log(args.out, args.role, args.login)
    try:
        ROLES[args.role](args, log)
    except BaseException as exc:  # noqa: BLE001
        log("error", op=args.role, error=type(exc).__name__, msg=str(exc), tb=traceback.format_exc())
        raise
    log("done", counts=dict(log.counts))
    return 0


# ================================================================ running many
@dataclass
class Mix:
    consoles: int = 13
    clis: int = 4
    intakes: int = 1
    sweepers: int = 1  # in-process SLA loops
    daemons: int = 1  # `deskconsole daemon`

    @property
    def processes(self) -> int:
        return self.consoles + self.clis + self.intakes + self.sweepers + self.daemons


SOAK_MIX = Mix()  # 20 processes


@dataclass
class Run:
    url: str
    config_path: Path
    hot: list[int]
    seconds: float
    logs: list[Path]
    returncodes: list[int]
    stderr: list[str]
    wall: float  # seconds from "go" to the last writer done
    records: list[dict] = field(default_factory=list)


def write_config(workdir: Path) -> Path:
    path = workdir / "soak.toml"
    path.write_text(soak_config(), encoding="utf-8")
    return path


def setup_desk(url: str, config_path: Path, hot: int = 6, background: int = 20, log_path: Path | None = None) -> list[int]:
    """A fresh desk with ``hot`` tickets everybody fights over and some others."""
    from deskconsole.config import load_config
    from deskconsole.core.records import tickets
    from deskconsole.core.desk import open_desk
    from deskconsole.core.identity import actor_for

    config = load_config(config_path)
    desk = open_desk(url, config)
    log = Log(str(log_path), "setup", "ada") if log_path else None
    ada = actor_for(desk, "ada")
    ids = []
    try:
        for i in range(hot + background):
            title = f"{'Hot' if i < hot else 'Quiet'} ticket {i + 1}"
            out = tickets.create(desk, ada, title=title, priority=["P1", "P2", "P3", "P4"][i % 4])
            tid = int(out.key.split("-")[1])
            ids.append(tid)
            if log:
                log("ok", op="create", action="create", ticket=tid, expected=None, version=1,
                    changes={"title": title}, entry=None, t0=time.time(), ms=0)
    finally:
        desk.close()
    return ids[:hot]


def start(role: str, url: str, config_path: Path, seconds: float, seed: int, out: Path, *, login: str,
          hot: list[int], go: Path | None, extra: tuple[str, ...] = ()) -> subprocess.Popen:
    """One worker; its standard error goes to OUT.stderr (a pipe nobody reads
    could fill up and stall a writer holding the write lock)."""
    argv = [sys.executable, str(HERE / "soak_worker.py"), role, url, str(config_path), str(seconds), str(seed),
            str(out), "--login", login, "--hot", ",".join(map(str, hot)), *extra]
    if go:
        argv += ["--go", str(go)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT), os.environ.get("PYTHONPATH", "")])}
    with open(f"{out}.stderr", "w") as err:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=str(PROJECT))


def run_many(url: str, workdir: Path, seconds: float, mix: Mix = SOAK_MIX, seed: int = 1, hot: int = 6,
             extra: tuple[str, ...] = ()) -> Run:
    """Set up a fresh desk at ``url`` and hammer it with ``mix`` for ``seconds``."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = write_config(workdir)
    setup_log = workdir / "setup.jsonl"
    hot_ids = setup_desk(url, config_path, hot=hot, log_path=setup_log)
    go = workdir / "go"
    plan = (
        [("console", CONSOLE_LOGINS[i]) for i in range(mix.consoles)]
        + [("cli", CLI_LOGINS[i]) for i in range(mix.clis)]
        + [("intake", "mailbot")] * mix.intakes
        + [("sweeper", "sla")] * mix.sweepers
        + [("daemon", "sla")] * mix.daemons
    )
    procs, logs = [], [setup_log]
    for i, (role, login) in enumerate(plan):
        out = workdir / f"{i:02d}-{role}-{login}.jsonl"
        logs.append(out)
        more = extra + (("--think", "0.02") if role == "intake" else ())
        procs.append(start(role, url, config_path, seconds, seed * 1000 + i, out, login=login, hot=hot_ids,
                           go=go, extra=more))
    for p in procs:  # every process has opened the desk before the clock starts
        line = p.stdout.readline().strip()
        if line != "ready":
            for q in procs:
                q.kill()
            raise RuntimeError(f"a worker did not start: {line!r} {Path(p.args[7] + '.stderr').read_text()}")
    began = time.monotonic()
    go.touch()
    codes, errs = [], []
    for p in procs:
        p.communicate(timeout=seconds + 300)
        codes.append(p.returncode)
        errs.append(Path(p.args[7] + ".stderr").read_text())
    run = Run(url, config_path, hot_ids, seconds, logs, codes, errs, time.monotonic() - began)
    run.records = read_logs(logs)
    return run


# ================================================================ the checks
TICKET_FIELDS = (
    "status", "priority", "impact", "urgency", "team", "assignee", "category", "service", "acknowledged_at",
    "acknowledged_by", "first_response_at", "resolved_at", "resolution_code", "resolution_note", "closed_at",
    "reopen_count", "merged_into",
)
CROSSING_TEXT = re.compile(r"^(first response|resolution) (at \d+% of |breached \(target )")
STOPPED = ("met", "breached", "cancelled")


def _snapshot(db):
    """A read transaction that sees one moment of the desk (writers go on)."""
    from deskconsole.db import is_sqlite

    if is_sqlite(db):
        return db.atomic(lock_type="DEFERRED")
    return db.atomic(isolation_level="REPEATABLE READ")


@dataclass
class DeskState:
    tickets: dict
    feed: list
    audit: list
    entries: list
    clocks: list
    crossings: list
    outbox: list
    integrity: str | None
    fk_problems: list


def load_state(desk) -> DeskState:
    from deskconsole.models import AuditEvent, Entry, FeedEntry, Outbox, SlaClock, SlaCrossing, Ticket

    db = desk.db
    with _snapshot(db):
        # the first read fixes the snapshot (SQLite: a deferred read transaction)
        tickets = {t.id: t for t in Ticket.select().order_by(Ticket.id)}
        feed = list(FeedEntry.select().order_by(FeedEntry.seq))
        audit = list(AuditEvent.select().where(AuditEvent.ticket.is_null(False)).order_by(AuditEvent.id))
        entries = list(Entry.select().order_by(Entry.id))
        clocks = list(SlaClock.select().order_by(SlaClock.id))
        crossings = list(SlaCrossing.select().order_by(SlaCrossing.id))
        outbox = list(Outbox.select().order_by(Outbox.id))
    integrity, fk = None, []
    if desk.is_sqlite:
        integrity = "; ".join(r[0] for r in db.execute_sql("PRAGMA integrity_check").fetchall())
        fk = [tuple(r) for r in db.execute_sql("PRAGMA foreign_key_check").fetchall()]
    return DeskState(tickets, feed, audit, entries, clocks, crossings, outbox, integrity, fk)


def check_desk(desk, state: DeskState | None = None) -> list[str]:
    """Every way a ticket could be half-written, checked on one snapshot.

    One ticket write transaction writes: the ticket row (its fields, version
    + 1, updated_at, the SLA summary), one feed row (ticket, new version, the
    transaction's time and actor), an audit row per field changed (and per
    reply/note, per SLA clock event), an entry for a reply or note, the
    ticket's SLA clocks (two, started by the create) and any crossing the
    clocks passed. The SLA sweep writes clocks, crossings, their audit rows,
    notifications, the ticket's SLA summary and a feed row — no version.
    So, for every ticket, all of these must hold at any moment:
    """
    s = state or load_state(desk)
    problems: list[str] = []

    def bad(msg: str) -> None:
        if len(problems) < 200:
            problems.append(msg)

    if s.integrity is not None and s.integrity != "ok":
        bad(f"PRAGMA integrity_check: {s.integrity}")
    if s.fk_problems:
        bad(f"PRAGMA foreign_key_check: {s.fk_problems[:5]}")

    feed_by_ticket = defaultdict(list)
    for f in s.feed:
        if f.ticket is not None:
            feed_by_ticket[f.ticket].append(f)
    audit_by_ticket = defaultdict(list)
    for a in s.audit:
        audit_by_ticket[a.ticket_id].append(a)
    clocks_by_ticket = defaultdict(list)
    for c in s.clocks:
        clocks_by_ticket[c.ticket_id].append(c)
    crossings_by_clock = defaultdict(list)
    for x in s.crossings:
        crossings_by_clock[x.clock_id].append(x)
    entries_by_id = {e.id: e for e in s.entries}
    clocks_by_id = {c.id: c for c in s.clocks}
    crossing_ids = {x.id for x in s.crossings}

    for tid, t in s.tickets.items():
        key = f"INC-{tid}"
        feed = feed_by_ticket.get(tid, [])
        writes = [f for f in feed if f.action != "sla"]  # the sweep's summary refreshes carry no version
        # 1. the version sequence: one feed row per version, 1..version, no gap, no repeat
        versions = sorted(f.version for f in writes)
        if versions != list(range(1, t.version + 1)):
            bad(f"{key}: at version {t.version} but its write feed rows carry versions "
                f"{_ranges(versions)}")
        # 2. the ticket row and its newest feed row are one transaction
        newest = [f for f in writes if f.version == t.version]
        if newest and newest[0].at != t.updated_at:
            bad(f"{key}: updated_at {t.updated_at} but version {t.version} was written at {newest[0].at}")
        # 3. audit rows <-> feed rows, by (time, actor): nothing audited without its change, no write unaudited
        groups = defaultdict(list)
        for a in audit_by_ticket.get(tid, []):
            groups[(a.at, a.actor)].append(a)
        fed = {(f.at, f.actor) for f in feed}
        for (at, actor), rows in groups.items():
            if (at, actor) not in fed:
                bad(f"{key}: audit rows by {actor} at {at} ({rows[0].action} {rows[0].field}) have no feed row")
        for f in writes:
            if (f.at, f.actor) not in groups:
                bad(f"{key}: version {f.version} ({f.action} by {f.actor}) has no audit rows")
        # 4. replay the audit log: every change starts from the value the one before left
        state = {name: None for name in TICKET_FIELDS}
        state["reopen_count"] = "0"
        for a in audit_by_ticket.get(tid, []):
            if a.field not in TICKET_FIELDS or a.action in ("sla", "notify", "escalate"):
                continue
            if a.old != state[a.field]:
                bad(f"{key}: audit #{a.id} ({a.action} by {a.actor}) changes {a.field} from {a.old!r}, "
                    f"but it was {state[a.field]!r} — a lost update")
            state[a.field] = a.new
        for name in TICKET_FIELDS:
            value = audit_text(desk, name, getattr(t, f"{name}_id" if name in _FK else name))
            if value != state[name]:
                bad(f"{key}: {name} is {value!r} but the audit log leaves it at {state[name]!r}")
        # 5. SLA clocks: both, started with the ticket, consistent with it and with each other
        tclocks = clocks_by_ticket.get(tid, [])
        metrics = sorted(c.metric for c in tclocks)
        if metrics != ["first_response", "resolution"]:
            bad(f"{key}: has clocks {metrics}, expected first_response and resolution")
        due = [c.due_at for c in tclocks if c.counted_to is not None and c.due_at is not None]
        if (min(due) if due else None) != t.sla_due:
            bad(f"{key}: sla_due {t.sla_due} but its counting clocks are due {sorted(due)}")
        for c in tclocks:
            problems.extend(f"{key} {c.metric}: {p}" for p in _clock_problems(c, t, crossings_by_clock.get(c.id, [])))
        # 6. every crossing has its audit row, once
        crossings = sum(len(crossings_by_clock.get(c.id, [])) for c in tclocks)
        audited = sum(1 for a in audit_by_ticket.get(tid, []) if a.action == "sla" and a.new
                      and CROSSING_TEXT.match(a.new))
        if crossings != audited:
            bad(f"{key}: {crossings} SLA crossing(s) recorded but {audited} in the audit log")
    # 7. conversation entries <-> their audit rows
    audited_entries = {}
    for a in s.audit:
        if a.field == "entry" and a.new and a.new.startswith("#"):
            eid = int(a.new[1:].split(":", 1)[0])
            audited_entries[eid] = a
    for e in s.entries:
        a = audited_entries.get(e.id)
        if a is None:
            bad(f"INC-{e.ticket_id}: entry #{e.id} ({e.kind} by {e.author}) has no audit row")
        elif (a.ticket_id, a.at, a.actor) != (e.ticket_id, e.at, e.author) or a.new != f"#{e.id}: {e.body}"[:len(a.new)]:
            bad(f"INC-{e.ticket_id}: entry #{e.id} and its audit row #{a.id} disagree")
    for eid, a in audited_entries.items():
        if eid not in entries_by_id:
            bad(f"INC-{a.ticket_id}: audit #{a.id} names entry #{eid}, which does not exist")
    # 8. crossings and notifications point at what exists
    for x in s.crossings:
        c = clocks_by_id.get(x.clock_id)
        if c is None or c.ticket_id != x.ticket:
            bad(f"crossing #{x.id} (INC-{x.ticket} {x.threshold}%) does not match its clock")
    for o in s.outbox:
        if o.crossing is not None and o.crossing not in crossing_ids:
            bad(f"notification #{o.id} names crossing #{o.crossing}, which does not exist")
    return problems


_FK = ("team", "assignee", "category", "service", "merged_into")


def _clock_problems(c, t, crossings) -> list[str]:
    out = []
    if c.state == "running" and (c.counted_to is None or c.due_at is None or c.stopped_at or c.paused_since):
        out.append(f"running but counted_to={c.counted_to} due_at={c.due_at} stopped_at={c.stopped_at}")
    if c.state == "paused" and (c.counted_to is not None or c.paused_since is None):
        out.append(f"paused but counted_to={c.counted_to} paused_since={c.paused_since}")
    if c.state in ("met", "cancelled") and (c.stopped_at is None or c.counted_to is not None):
        out.append(f"{c.state} but stopped_at={c.stopped_at} counted_to={c.counted_to}")
    if c.state not in ("running", "paused", "met", "breached", "cancelled"):
        out.append(f"unknown state {c.state!r}")
    thresholds = sorted(x.threshold for x in crossings)
    if len(set(thresholds)) != len(thresholds):
        out.append(f"a threshold recorded twice: {thresholds}")
    if (c.breached_at is not None) != (100 in thresholds):
        out.append(f"breached_at={c.breached_at} but crossings {thresholds} — a breach lost or invented")
    if (c.breached_at is not None) != (c.state == "breached"):
        out.append(f"state {c.state} with breached_at={c.breached_at}")
    if c.crossed != (max(thresholds) if thresholds else 0):
        out.append(f"crossed={c.crossed} but crossings {thresholds} were recorded")
    if c.warn_at is not None and c.counted_to is None:
        out.append(f"warn_at {c.warn_at} while not counting")
    status = t.status
    if c.metric == "resolution":
        if status in ("resolved", "closed", "cancelled") and c.stopped_at is None:
            out.append(f"still {c.state} on a {status} ticket")
        if status in ("new", "assigned", "in_progress") and c.counted_to is None:
            out.append(f"{c.state}, not counting, on an {status} ticket")
        if status == "pending" and c.counted_to is not None:
            out.append("counting on a pending ticket")
    else:
        if (t.first_response_at or t.acknowledged_at or status in ("resolved", "closed", "cancelled")) and c.stopped_at is None:
            out.append(f"still {c.state} after the first response")
        if status == "pending" and c.counted_to is not None:
            out.append("counting on a pending ticket")
    return out


def _ranges(versions: list[int]) -> str:
    if len(versions) > 12:
        dup = [v for v, n in Counter(versions).items() if n > 1]
        missing = sorted(set(range(1, max(versions) + 1)) - set(versions))
        return f"{len(versions)} rows, max {max(versions)}, repeated {dup[:10]}, missing {missing[:10]}"
    return str(versions)


# ---------------------------------------------------------------- the logs against the desk
@dataclass
class Figures:
    seconds: float
    accepted: int
    conflicts: int
    refused: int
    errors: int
    creates: int
    sweeps_with_work: int
    crossings: int
    cli_accepted: int
    latency_ms: list[float]
    per_role: dict

    @property
    def accepted_per_s(self) -> float:
        return self.accepted / self.seconds

    @property
    def conflicts_per_s(self) -> float:
        return self.conflicts / self.seconds

    def pct(self, q: float) -> float:
        data = sorted(self.latency_ms)
        if not data:
            return float("nan")
        return data[min(len(data) - 1, int(q * len(data)))]

    def line(self) -> str:
        return (f"{self.accepted} accepted ({self.accepted_per_s:.1f}/s, {self.creates} creates, {self.cli_accepted} by CLI), "
                f"{self.conflicts} conflicts ({self.conflicts_per_s:.1f}/s), {self.refused} refused, "
                f"{self.errors} errors, {self.crossings} SLA crossings in {self.sweeps_with_work} sweeps; "
                f"core write p50 {self.pct(0.5):.1f} ms, p95 {self.pct(0.95):.1f} ms")


def figures(records: list[dict], seconds: float) -> Figures:
    by = Counter(r["kind"] for r in records if r.get("role") != "setup")
    per_role = defaultdict(Counter)
    for r in records:
        if r.get("role") != "setup":
            per_role[r["role"]][r["kind"]] += 1
    oks = [r for r in records if r["kind"] == "ok" and r.get("role") != "setup"]
    sweeps = [r for r in records if r["kind"] == "sweep"]
    return Figures(
        seconds=seconds, accepted=len(oks), conflicts=by["conflict"], refused=by["refused"], errors=by["error"],
        creates=sum(1 for r in oks if r["op"] == "create"), sweeps_with_work=len(sweeps),
        crossings=sum(r.get("crossings", 0) for r in sweeps), cli_accepted=sum(1 for r in oks if r.get("cli")),
        latency_ms=[r["ms"] for r in oks if not r.get("cli")],
        per_role={k: dict(v) for k, v in per_role.items()},
    )


def check_soak(desk, records: list[dict], state: DeskState | None = None, *, complete: bool = True) -> list[str]:
    """What the workers' logs say against what the desk holds.

    ``complete``: every worker lived to the end, so its log holds every write
    it made. A worker killed with -9 may have committed a write it never got
    to log: then only "everything logged is in the desk" can be asked, not
    "everything in the desk was logged" or "the last logged value is final".
    """
    s = state or load_state(desk)
    problems = []

    def bad(msg: str) -> None:
        if len(problems) < 200:
            problems.append(msg)

    for r in records:
        if r["kind"] == "error":
            bad(f"{r['role']} {r['actor']}: {r.get('op')} INC-{r.get('ticket')}: {r['error']}: {r['msg']}\n{r.get('tb') or ''}")
    feed_rows = {}
    for f in s.feed:
        if f.ticket is not None and f.action != "sla":
            feed_rows.setdefault((f.ticket, f.version), []).append(f)
    audit_groups = defaultdict(list)
    for a in s.audit:
        audit_groups[(a.ticket_id, a.at, a.actor)].append(a)
    entries = defaultdict(list)
    for e in s.entries:
        entries[(e.ticket_id, e.at, e.author)].append(e)

    # versions: each claimed by exactly one accepted write (or by the SLA engine's escalations)
    claims = defaultdict(list)
    for r in records:
        if r["kind"] == "ok":
            claims[(r["ticket"], r["version"])].append(r)
    for (tid, v), rs in claims.items():
        if len(rs) > 1:
            bad(f"INC-{tid} version {v} accepted {len(rs)} times: " + ", ".join(f"{r['actor']} {r['op']}" for r in rs))
    for (tid, v), rows in feed_rows.items():
        if complete and (tid, v) not in claims and not all(f.actor == "sla" for f in rows):
            bad(f"INC-{tid} version {v} ({rows[0].action} by {rows[0].actor}) is in the desk but nobody accepted it")

    # every accepted change: its version follows the one it expected, its feed row, its audit rows
    last = {}  # (ticket, field) -> (version, audited value)
    for r in records:
        if r["kind"] != "ok":
            continue
        tid, v = r["ticket"], r["version"]
        if r["expected"] is not None and v != r["expected"] + 1:
            bad(f"INC-{tid}: {r['actor']} expected version {r['expected']} and got {v} — a write went past a change")
        rows = feed_rows.get((tid, v))
        if not rows:
            bad(f"INC-{tid}: {r['actor']}'s accepted {r['op']} (version {v}) has no feed row — lost")
            continue
        f = rows[0]
        if (f.actor, f.action) != (r["actor"], r["action"]):
            bad(f"INC-{tid} version {v}: accepted as {r['action']} by {r['actor']}, written as {f.action} by {f.actor}")
            continue
        group = audit_groups.get((tid, f.at, f.actor), [])
        audited = {a.field: a.new for a in group if a.field in TICKET_FIELDS and a.action not in ("sla", "notify", "escalate")}
        if r["op"] == "create":
            if not any(a.action == "create" and a.field is None and a.new == r["changes"]["title"] for a in group):
                bad(f"INC-{tid}: created by {r['actor']} but the audit log has no create event")
            continue
        for name, value in r["changes"].items():
            if audited.get(name, "<absent>") != value:
                bad(f"INC-{tid} version {v}: {r['actor']} set {name}={value!r}; audit says {audited.get(name, '<absent>')!r}")
        if not r.get("cli") and set(audited) != set(r["changes"]):
            bad(f"INC-{tid} version {v}: {r['actor']} changed {sorted(r['changes'])}, audit has {sorted(audited)}")
        for name, value in audited.items():
            last[(tid, name)] = max(last.get((tid, name), (0, None)), (v, value))
        if r.get("entry"):
            es = entries.get((tid, f.at, f.actor), [])
            if [e.body for e in es] != [r["entry"]]:
                bad(f"INC-{tid} version {v}: {r['actor']}'s {r['op']} {r['entry']!r}: entries {[e.body for e in es]}")
    # the SLA engine's own versioned writes (escalations) count as changes too
    for (tid, v), rows in feed_rows.items():
        if (tid, v) in claims:
            continue
        for f in rows:
            for a in audit_groups.get((tid, f.at, f.actor), []):
                if a.field in TICKET_FIELDS and a.action not in ("sla", "notify", "escalate"):
                    last[(tid, a.field)] = max(last.get((tid, a.field), (0, None)), (v, a.new))
    # the final state is the last accepted value of every field
    for (tid, name), (v, value) in (last.items() if complete else ()):
        t = s.tickets[tid]
        now = audit_text(desk, name, getattr(t, f"{name}_id" if name in _FK else name))
        if now != value:
            bad(f"INC-{tid}: {name} is {now!r}; the last accepted change (version {v}) set {value!r}")

    # every conflict was a real one, surfaced with who changed the ticket
    writer_of = {}
    for (tid, v), rows in feed_rows.items():
        writer_of[(tid, v)] = rows[0].actor
    for r in records:
        if r["kind"] != "conflict":
            continue
        tid = r["ticket"]
        if not r["current"] > r["expected"]:
            bad(f"INC-{tid}: conflict for {r['actor']} at version {r['current']}, who saw {r['expected']}")
        elif r["by"] != writer_of.get((tid, r["current"])):
            bad(f"INC-{tid}: {r['actor']}'s conflict names {r['by']} but version {r['current']} was written by "
                f"{writer_of.get((tid, r['current']))}")
    return problems


def summarise_errors(records: list[dict], limit: int = 5) -> str:
    errs = [r for r in records if r["kind"] == "error"]
    kinds = Counter(f"{r['error']}: {r['msg'].splitlines()[0] if r['msg'] else ''}" for r in errs)
    return "; ".join(f"{n}x {k}" for k, n in kinds.most_common(limit))


if __name__ == "__main__":
    raise SystemExit(main())
