"""The live loop: APScheduler in-process, and `deskconsole daemon` as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from datetime import datetime, timedelta, timezone

from deskconsole import logs
from deskconsole.core.records import tickets
from deskconsole.core.clock import ManualClock
from deskconsole.core.desk import open_desk
from deskconsole.models import SlaCrossing
from deskconsole.scheduler import SlaLoop


def wait_for(condition, timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_the_loop_sweeps_and_stops_cleanly(sla_desk, actors, clock, tmp_path):
    log = logs.to_file(tmp_path / "desk.log")
    tickets.create(sla_desk, actors["al"], title="t", priority="P1")
    clock.advance(minutes=20)  # first response breached
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loop = SlaLoop(sla_desk, interval=0.1, on_sweep=seen.append)
        loop.start()
        assert wait_for(lambda: SlaCrossing.select().count() == 4)
        assert wait_for(lambda: loop.sweeps >= 3)
        loop.stop()
    assert not loop.running and loop.failures == 0
    assert sum(r.crossings for r in seen) == 4
    assert not [t for t in threading.enumerate() if "APScheduler" in t.name or t.name.startswith("ThreadPool")]
    text = log.read_text()
    assert "SLA loop started" in text and "4 crossing(s)" in text and "SLA loop stopped" in text


def test_the_loop_rejects_a_zero_interval(sla_desk):
    import pytest

    with pytest.raises(ValueError, match="more than 0 seconds"):
        SlaLoop(sla_desk, interval=0)


def _overdue_desk(db_url, sla_config, actors):
    """A P1 ticket created 20 minutes ago by the real clock: its first response is overdue."""
    desk = open_desk(db_url, sla_config, ManualClock(datetime.now(timezone.utc) - timedelta(minutes=20)))
    key = tickets.create(desk, actors["al"], title="Overdue", priority="P1").key
    desk.close()
    return key


def test_daemon_once(db_url, sla_config, sla_text, actors, write_config):
    _overdue_desk(db_url, sla_config, actors)
    path = write_config(sla_text)
    run = subprocess.run([sys.executable, "-m", "deskconsole", "--db", db_url, "--config", str(path), "daemon", "--once"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "1 clock(s) moved, 4 crossing(s), 1 escalation action(s)" in run.stdout
    assert run.stderr == ""


def test_daemon_runs_until_sigterm_and_stops_cleanly(db_url, sla_config, sla_text, actors, write_config, tmp_path):
    _overdue_desk(db_url, sla_config, actors)
    path = write_config(sla_text)
    env = {**os.environ, "DESKCONSOLE_LOG": str(tmp_path / "daemon.log")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "deskconsole", "--db", db_url, "--config", str(path), "daemon", "--interval", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        check = open_desk(db_url, sla_config)
        assert wait_for(lambda: SlaCrossing.select().count() == 4), "the daemon recorded no crossing"
        check.close()
        time.sleep(0.5)  # a few more (empty) sweeps
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "sweeping" in err and "stopped after" in err and "0 failure(s)" in err
    for bad in ("Traceback", "Warning", "Event loop is closed", "Error"):
        assert bad not in err
    log = (tmp_path / "daemon.log").read_text()
    assert "4 crossing(s)" in log and "SLA loop stopped" in log


def test_daemon_rides_out_a_postgresql_restart(pg_proxy, postgres_url, sla_config, sla_text, actors, write_config,
                                                tmp_path):
    """The server goes away under a running daemon and comes back: its sweeps
    fail meanwhile (logged, not fatal), and then it sweeps again by itself —
    a ticket that became overdue during the outage gets its crossings."""
    path = write_config(sla_text)
    open_desk(postgres_url, sla_config).close()  # the desk, made by its admin; the daemon runs as one
    env = {**os.environ, "DESKCONSOLE_LOG": str(tmp_path / "daemon.log")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "deskconsole", "--db", pg_proxy.desk_url, "--config", str(path), "daemon",
         "--interval", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    log = tmp_path / "daemon.log"
    try:
        assert wait_for(lambda: log.exists() and "SLA loop started" in log.read_text())
        time.sleep(0.5)
        pg_proxy.down()
        assert wait_for(lambda: "sweep failed" in log.read_text()), "the daemon never noticed the outage"
        _overdue_desk(postgres_url, sla_config, actors)  # (straight to the server, not through the proxy)
        time.sleep(0.5)
        assert proc.poll() is None  # still running
        pg_proxy.up()
        check = open_desk(postgres_url, sla_config)
        try:
            assert wait_for(lambda: SlaCrossing.select().count() == 4), "the daemon never swept again"
        finally:
            check.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "sweeping again since the database came back" in err and "Traceback" not in err
    assert "sweeping again after" in log.read_text()
