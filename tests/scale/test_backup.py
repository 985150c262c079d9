"""``deskconsole backup`` and ``deskconsole restore`` on SQLite and PostgreSQL.

Real databases, real files, real ``pg_dump``/``pg_restore``/``psql``, and a
real second process writing to the desk while it is backed up.

Run as a script, this file is that writer::

    python tests/scale/test_backup.py URL CONFIG READY STOP

It creates a ticket and adds a note to an earlier one, over and over, until
STOP exists, and prints how many writes it committed.
"""

from __future__ import annotations

import os
import random
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]


def _writer(url: str, config_path: str, ready: str, stop: str) -> int:
    sys.path.insert(0, str(PROJECT))
    from deskconsole.config import load_config
    from deskconsole.core.records import tickets
    from deskconsole.core.desk import open_desk
    from deskconsole.core.identity import actor_for

    config = load_config(Path(config_path))
    desk = open_desk(url, config)
    al = actor_for(desk, "al")
    rng = random.Random(7)
    writes = 0
    Path(ready).touch()
    while not os.path.exists(stop):
        key = tickets.create(desk, al, title=f"Written during the backup {writes}", priority=f"P{rng.randint(1, 4)}").key
        tickets.note(desk, al, f"INC-{rng.randint(1, int(key[4:]))}", f"note {writes}")
        writes += 2
    print(writes, flush=True)
    desk.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(_writer(*sys.argv[1:5]))


# ---------------------------------------------------------------- the tests
import pytest  # noqa: E402
from desk_env import child_env  # noqa: E402

from deskconsole import migrations  # noqa: E402
from deskconsole.cli import backup as cli_backup  # noqa: E402
from deskconsole.core.archive import backup as core_backup  # noqa: E402
from deskconsole.core.records import links, tickets  # noqa: E402
from deskconsole.core.desk import open_desk  # noqa: E402
from deskconsole.core.outbound.feed import FeedReader  # noqa: E402
from deskconsole.core.identity import actor_for  # noqa: E402
from deskconsole.db import connect, parse_url  # noqa: E402
from deskconsole.models import MODELS  # noqa: E402

TABLES = [m._meta.table_name for m in MODELS]
WROTE = re.compile(r"^wrote (?P<path>.+): (?P<size>[\d.,]+ (?:bytes|KB|MB|GB)), (?P<tickets>[\d,]+) tickets?, "
                   r"schema (?P<schema>\d+), in \d+\.\d s$")
RESTORED = re.compile(r"^restored (?P<path>.+): (?P<size>[\d.,]+ (?:bytes|KB|MB|GB)), (?P<tickets>[\d,]+) tickets?, "
                      r"schema (?P<schema>\d+)(?P<migrated>, brought forward from schema \d+ to \d+)?, in \d+\.\d s$")


# ---------------------------------------------------------------- helpers
@pytest.fixture
def live(backend_url, desk_config):
    """The desk under test (system clock: subprocesses share it)."""
    desk = open_desk(backend_url, desk_config[0])
    yield desk
    desk.close()


@pytest.fixture
def run(default_url, desk_config, tmp_path):
    """``run("restore", path, "--yes")``: the real command in its own process."""
    backend_url = default_url

    def call(*argv: str, user: str = "ada") -> subprocess.CompletedProcess:
        """As the real login (an admin of the test config) acting --as ``user``."""
        proc = subprocess.run(
            [sys.executable, "-m", "deskconsole", "--config", str(desk_config[1]), "--db", backend_url,
             "--as", user, *argv],
            capture_output=True, text=True, env=child_env(tmp_path), cwd=tmp_path, timeout=120)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    return call


def _populate(desk, n: int) -> None:
    """Tickets with the desk's usual furniture: notes, replies, links, clocks, a resolved one."""
    al, lee = actor_for(desk, "al"), actor_for(desk, "lee")
    keys = [tickets.create(desk, al, title=f"Ticket {i}", description=f"body {i}", priority=f"P{i % 4 + 1}",
                           service=("vpn", "mail", None)[i % 3]).key for i in range(n)]
    for i, key in enumerate(keys):
        if i % 2:
            tickets.note(desk, al, key, f"looked at {key}")
        if i % 5 == 0:
            tickets.take(desk, lee, key)
            tickets.reply(desk, lee, key, "on it")
    if n >= 3:
        links.link(desk, al, keys[1], "relates-to", keys[2])
        tickets.resolve(desk, lee, keys[0], "fixed", "restarted it")


def _q(db, sql: str, params=()) -> list[tuple]:
    """Rows from a peewee database, a sqlite3 connection or a psycopg connection."""
    run = getattr(db, "execute_sql", None) or db.execute
    return [tuple(r) for r in run(sql, params).fetchall()]


def _snapshot(db) -> dict[str, list[tuple]]:
    """Every row of every desk table, in key order."""
    return {t: _q(db, f"SELECT * FROM {t} ORDER BY 1") for t in TABLES}


def _violations(db) -> list:
    """What one write transaction writes, checked across the whole desk: a
    half-written (inconsistent) copy breaks at least one of these."""
    bad: list = []
    bad += [("version", r) for r in _q(db, "SELECT t.id, t.version FROM ticket t WHERE t.version <> "
                                          "(SELECT MAX(f.version) FROM feed f WHERE f.ticket = t.id)")]
    bad += [("notes", r) for r in _q(db, """
        SELECT t.id FROM ticket t WHERE
          (SELECT COUNT(*) FROM entry e WHERE e.ticket_id = t.id AND e.kind = 'note')
            <> (SELECT COUNT(*) FROM feed f WHERE f.ticket = t.id AND f.action = 'note')
          OR (SELECT COUNT(*) FROM audit_event a WHERE a.ticket_id = t.id AND a.action = 'note')
            <> (SELECT COUNT(*) FROM feed f WHERE f.ticket = t.id AND f.action = 'note')""")]
    bad += [("clocks", r) for r in _q(db, "SELECT t.id FROM ticket t WHERE NOT EXISTS "
                                        "(SELECT 1 FROM sla_clock c WHERE c.ticket_id = t.id)")]
    created = _q(db, "SELECT COUNT(*) FROM feed WHERE action = 'create'")[0][0]
    count = _q(db, "SELECT COUNT(*) FROM ticket")[0][0]
    if created != count:
        bad.append(("creates", created, count))
    return bad


def _feed(db) -> list[tuple]:
    return _q(db, "SELECT seq, actor, action, ticket, version FROM feed ORDER BY seq")


def _raw(url: str):
    """A connection of its own to the desk's database (not the models')."""
    info = parse_url(url)
    if info.backend == "sqlite":
        return sqlite3.connect(info.path, timeout=15)
    import psycopg

    return psycopg.connect(dbname=info.dbname, autocommit=True, **(info.params or {}))


def _newest_seq(url: str) -> int:
    conn = _raw(url)
    try:
        return _q(conn, "SELECT MAX(seq) FROM feed")[0][0] or 0
    finally:
        conn.close()


def _start_writer(url: str, config_path: Path, tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    ready, stop = tmp_path / "writer-ready", tmp_path / "writer-stop"
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), url, str(config_path), str(ready), str(stop)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(tmp_path))
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return proc, stop


def _stop_writer(proc: subprocess.Popen, stop: Path) -> int:
    stop.touch()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err, err
    return int(out)


def _wait_for_writes(url: str, past: int, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while (seq := _newest_seq(url)) <= past:
        assert time.monotonic() < deadline, "the writer wrote nothing"
        time.sleep(0.005)
    return seq


def _sqlite_file(url: str) -> Path:
    return Path(parse_url(url).path)


def _open_backup(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


# ---------------------------------------------------------------- backup while writing
def test_backup_while_another_process_keeps_writing(live, backend_url, desk_config, tmp_path, monkeypatch, run):
    """The copy is the desk at one moment: consistent, whole, passing its
    integrity check — while a second process commits all the way through it."""
    _populate(live, 120)
    monkeypatch.setattr(core_backup, "PAGES_PER_STEP", 8)  # many steps, with the writer committing between them
    writer, stop = _start_writer(backend_url, desk_config[1], tmp_path)
    try:
        first = _wait_for_writes(backend_url, _newest_seq(backend_url))
        seen: list[tuple[int, int]] = []

        def progress(done: int, total: int) -> None:
            assert not seen or done > seen[-1][0], f"the backup started again from the beginning: {seen[-3:]}"
            if len(seen) < 3:  # between the first steps, wait until the writer has committed again
                _wait_for_writes(backend_url, _newest_seq(backend_url))
            seen.append((done, total))

        target = tmp_path / "during.backup"
        result = core_backup.backup(live, actor_for(live, "ada"), target, progress=progress)
        after = _newest_seq(backend_url)
        assert seen and seen[-1][0] == seen[-1][1]
        if live.is_sqlite:
            assert len(seen) > 3, seen  # it really copied in steps
        # The real command, too, while the writer still writes.
        proc = run("backup", str(tmp_path / "cli.backup"))
        assert proc.returncode == 0, proc.stderr
        m = WROTE.match(proc.stdout.strip())
        assert m and m["path"] == str(tmp_path / "cli.backup"), proc.stdout
    finally:
        writes = _stop_writer(writer, stop)
    assert writes > 0
    live_feed = _feed(live.db)
    assert _violations(live.db) == []  # the checks hold on the live desk: so they are fair checks

    copies = {"core": (target, result.tickets), "cli": (tmp_path / "cli.backup", int(m["tickets"].replace(",", "")))}
    for name, (path, printed_tickets) in copies.items():
        if live.is_sqlite:
            conn = _open_backup(path)
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file, no -wal needed
            rows, bad = _feed(conn), _violations(conn)
            count = conn.execute("SELECT COUNT(*) FROM ticket").fetchone()[0]
            conn.close()
        else:  # read the archive back the only way there is: restore it (after the writer stopped)
            code = subprocess.run(["pg_restore", "--list", str(path)], capture_output=True).returncode
            assert code == 0
            core_backup.restore(live, actor_for(live, "ada"), path)
            rows = [r for r in _feed(live.db) if r[2] != "restore"]
            bad, count = _violations(live.db), _q(live.db, "SELECT COUNT(*) FROM ticket")[0][0]
        assert bad == [], (name, bad[:5])
        assert count == printed_tickets, name  # the count printed is the copy's own
        # The copy is the desk as of one commit: exactly the live feed up to some point.
        top = rows[-1][0]
        assert rows == [r for r in live_feed if r[0] <= top], name
        if name == "core":
            assert first <= top < after, (first, top, after)  # writes went on during the copy and are not in it


# ---------------------------------------------------------------- round trip
def test_backup_changes_restore_round_trip(live, backend_url, cli, run, tmp_path):
    """After a restore the desk equals the backup (plus the restore's own audit
    and feed rows); a connection opened before the restore reads the restored
    desk, and a feed reader opened before hears of it."""
    _populate(live, 30)
    path = tmp_path / "desk.backup"
    code, out, err = cli("backup", str(path))
    assert code == 0, err
    m = WROTE.match(out.strip())
    assert m and (m["path"], m["tickets"], m["schema"]) == (str(path), "30", str(migrations.LATEST)), out
    assert path.stat().st_size > 0
    at_backup = _snapshot(live.db)

    # More work after the backup: new tickets, takes, notes, a link, a resolution.
    for i in range(5):
        assert cli("new", f"After the backup {i}", "--priority", "P2", user="al")[0] == 0
    for argv in (("take", "INC-31"), ("note", "INC-2", "later note"), ("resolve", "INC-4", "fixed", "done"),
                 ("link", "INC-31", "relates-to", "INC-3")):
        assert cli(*argv, user="al")[0] == 0, argv
    feed_before = _newest_seq(backend_url)
    before_conn = _raw(backend_url)  # someone's connection, open across the restore
    assert _q(before_conn, "SELECT COUNT(*) FROM ticket")[0][0] == 35
    reader_db = connect(backend_url)
    reader = FeedReader(reader_db)  # a live view's feed, opened before the restore
    assert reader.poll() is None

    proc = run("restore", str(path), "--yes")
    assert proc.returncode == 0, proc.stderr
    r = RESTORED.match(proc.stdout.strip())
    assert r and (r["path"], r["tickets"], r["migrated"]) == (str(path), "30", None), proc.stdout

    after = _snapshot(live.db)  # through the desk's own connection, opened before the restore
    for table in TABLES:
        if table in ("audit_event", "feed"):
            assert after[table][:len(at_backup[table])] == at_backup[table], table
        else:
            assert after[table] == at_backup[table], table
    extra_audit = after["audit_event"][len(at_backup["audit_event"]):]
    extra_feed = after["feed"][len(at_backup["feed"]):]
    assert [(row[3], row[1], row[5]) for row in extra_audit] == [("ada", None, "restore")]  # actor, ticket, action
    assert len(extra_feed) == 1 and extra_feed[0][0] > feed_before and extra_feed[0][3] == "restore"

    assert _q(before_conn, "SELECT COUNT(*) FROM ticket")[0][0] == 30
    assert _q(before_conn, "SELECT title FROM ticket WHERE id = 2")[0][0] == "Ticket 1"
    before_conn.close()
    changes = reader.poll()
    assert changes is not None and ("ada", "restore", None) in changes.actions
    reader_db.close()

    # The restored desk carries on: ids continue from the backup, SLA clocks run.
    code, out, _ = cli("new", "After the restore", "--priority", "P1", user="al")
    assert (code, out) == (0, "INC-31\n")
    assert _violations(live.db) == []


async def test_a_console_open_during_a_restore_shows_the_restored_desk(backend_url, desk_config, tmp_path, settle):
    from deskconsole.ui.app import DeskApp
    import asyncio

    config, config_path = desk_config
    desk = open_desk(backend_url, config)
    ada, al = actor_for(desk, "ada"), actor_for(desk, "al")
    try:
        for i in range(3):
            tickets.create(desk, al, title=f"Kept {i}", priority="P2")
        path = tmp_path / "three.backup"
        core_backup.backup(desk, ada, path)
        for i in range(4):
            tickets.create(desk, al, title=f"Lost {i}", priority="P1")
        app = DeskApp(desk, al, sweep=False, feed_poll=0.1)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            assert app.queue.total == 7
            command = [sys.executable, "-m", "deskconsole", "--config", str(config_path), "--db", backend_url,
                       "restore", str(path), "--yes"]
            proc = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True,
                                           env=child_env(tmp_path), timeout=120)
            assert proc.returncode == 0, proc.stderr
            deadline = time.monotonic() + 15
            while app.queue.total != 3:
                assert time.monotonic() < deadline, f"the console still shows {app.queue.total} tickets"
                await asyncio.sleep(0.05)
            await settle(app, pilot)
            text = "\n".join(app.queue.render_line(y).text for y in range(app.queue.size.height))
            assert "Kept 0" in text and "Lost" not in text
    finally:
        desk.close()


# ---------------------------------------------------------------- refusals
def test_restore_without_yes_says_what_it_would_replace(live, backend_url, cli, tmp_path):
    _populate(live, 4)
    path = tmp_path / "desk.backup"
    assert cli("backup", str(path))[0] == 0
    cli("new", "Made after the backup", user="al")
    before = _snapshot(live.db)
    code, out, err = cli("restore", str(path))
    assert code == 1
    assert "restore would replace everything on the desk" in err and parse_url(backend_url).describe() in err
    assert "5 tickets now" in err and str(path) in err and "run again with --yes" in err
    if live.is_sqlite:
        assert "4 tickets" in err
    assert _snapshot(live.db) == before


def test_backup_does_not_overwrite_without_force(live, cli, tmp_path):
    _populate(live, 3)
    target = tmp_path / "kept.backup"
    target.write_text("an older backup the admin wants to keep")
    code, out, err = cli("backup", str(target))
    assert code == 1 and "already exists" in err and "--force" in err
    assert target.read_text() == "an older backup the admin wants to keep"
    assert not list(tmp_path.glob(".kept.backup*"))  # no temporary file left behind
    code, out, err = cli("backup", str(target), "--force")
    assert code == 0 and WROTE.match(out.strip())
    assert core_backup.inspect_backup(target).schema == migrations.LATEST

    code, _, err = cli("backup", str(tmp_path))
    assert code == 1 and "is a folder" in err
    code, _, err = cli("backup", str(tmp_path / "no" / "such" / "x.backup"))
    assert code == 1 and "does not exist" in err


def test_restore_refuses_what_is_not_a_backup(live, cli, tmp_path):
    _populate(live, 3)
    before = _snapshot(live.db)
    text = tmp_path / "notes.txt"
    text.write_text("not a backup at all\n")
    empty = tmp_path / "empty.backup"
    empty.write_bytes(b"")
    other = tmp_path / "other-app.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE recipes (name TEXT)")
    conn.commit()
    conn.close()
    cases = {
        text: "is not a deskconsole backup",
        empty: "is empty, not a deskconsole backup",
        other: "is a SQLite file but not a deskconsole desk" if live.is_sqlite else "is a SQLite file and this desk is PostgreSQL",
        tmp_path / "missing.backup": "no such file",
        tmp_path: "is not a file",
    }
    for path, message in cases.items():
        code, out, err = cli("restore", str(path), "--yes")
        assert code == 1 and message in err, (path, err)
    assert _snapshot(live.db) == before


def test_restore_refuses_truncated_and_corrupt_backups(live, cli, tmp_path):
    _populate(live, 60)
    good = tmp_path / "good.backup"
    assert cli("backup", str(good))[0] == 0
    data = good.read_bytes()
    truncated = tmp_path / "truncated.backup"
    truncated.write_bytes(data[: len(data) // 2])
    corrupt = tmp_path / "corrupt.backup"
    middle = len(data) // 2
    junk = random.Random(3).randbytes(min(16 * 4096, len(data) // 4))
    corrupt.write_bytes(data[:middle] + junk + data[middle + len(junk):])
    assert corrupt.stat().st_size == len(data)
    cli("new", "Made after the backup", user="al")
    before = _snapshot(live.db)
    code, _, err = cli("restore", str(truncated), "--yes")
    assert code == 1 and ("is truncated" if live.is_sqlite else "damaged") in err and "nothing was changed" in err, err
    code, _, err = cli("restore", str(corrupt), "--yes")
    assert code == 1 and "damaged" in err and "nothing was changed" in err, err
    assert _snapshot(live.db) == before
    assert cli("restore", str(good), "--yes")[0] == 0  # the good one still restores


def test_restore_refuses_a_backup_from_a_newer_schema(live, backend_url, cli, tmp_path):
    _populate(live, 3)
    newer = tmp_path / "newer.backup"
    stamp = "2030-01-01 00:00:00"
    if live.is_sqlite:
        assert cli("backup", str(newer))[0] == 0
        conn = sqlite3.connect(newer)
        conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (migrations.LATEST + 1, stamp))
        conn.commit()
        conn.close()
    else:  # a desk a newer deskconsole wrote: one more schema version, dumped
        live.db.execute_sql("INSERT INTO schema_version (version, applied_at) VALUES (%s, %s)",
                            (migrations.LATEST + 1, stamp))
        subprocess.run(["pg_dump", "--format=custom", f"--file={newer}", f"--dbname={backend_url}"], check=True)
        live.db.execute_sql("DELETE FROM schema_version WHERE version = %s", (migrations.LATEST + 1,))
    before = _snapshot(live.db)
    code, _, err = cli("restore", str(newer), "--yes")
    assert code == 1
    assert f"has schema version {migrations.LATEST + 1}, newer than this deskconsole understands" in err
    assert "nothing was changed" in err
    assert _snapshot(live.db) == before


@pytest.mark.parametrize("login", ["al", "lee", "vic"])
def test_backup_and_restore_are_for_admins(live, cli, tmp_path, login):
    _populate(live, 2)
    path = tmp_path / "desk.backup"
    code, _, err = cli("backup", str(path), user=login)
    assert code == 4 and "cannot back up the desk" in err and "admin role" in err
    assert not path.exists()
    assert cli("backup", str(path))[0] == 0
    before = _snapshot(live.db)
    for argv in (("restore", str(path)), ("restore", str(path), "--yes")):
        code, _, err = cli(*argv, user=login)
        assert code == 4 and "cannot restore the desk from a backup" in err
    assert _snapshot(live.db) == before


def _old_backup(backend_url: str, request, tmp_path: Path) -> Path:
    """A desk as deskconsole schema 2 wrote it (before SLA clocks), backed up."""
    if backend_url.startswith("sqlite"):
        path = tmp_path / "old.backup"
        url = f"sqlite:///{path}"
    else:
        pg = request.getfixturevalue("pg_database")
        pg.bare()
        url = backend_url
    db = connect(url)
    migrations.migrate(db, target=2)
    db.execute_sql("INSERT INTO team (name, title, email, active) VALUES ('ops', 'Operations', NULL, TRUE)")
    db.execute_sql(
        "INSERT INTO ticket (id, title, description, status, priority, team_id, created_by, created_at, updated_at,"
        " reopen_count, version) VALUES (7, 'Legacy outage', 'from v2', 'new', 'P1',"
        " (SELECT id FROM team WHERE name = 'ops'), 'ada',"
        " '2026-01-02 03:04:05.000000', '2026-01-02 03:04:05.000000', 0, 3)")
    if not backend_url.startswith("sqlite"):
        db.execute_sql("SELECT setval(pg_get_serial_sequence('ticket', 'id'), 7)")
    db.close()
    if backend_url.startswith("sqlite"):
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.close()
        return path
    path = tmp_path / "old.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={path}", f"--dbname={backend_url}"], check=True)
    request.getfixturevalue("pg_database").empty()  # the test database is a current desk again
    return path


def test_restore_brings_an_older_backup_forward(backend_url, desk_config, cli, request, tmp_path):
    old = _old_backup(backend_url, request, tmp_path)
    desk = open_desk(backend_url, desk_config[0])
    try:
        _populate(desk, 3)
        code, out, err = cli("restore", str(old), "--yes")
        assert code == 0, err
        r = RESTORED.match(out.strip())
        assert r and r["tickets"] == "1" and r["schema"] == "2", out
        assert r["migrated"] == f", brought forward from schema 2 to {migrations.LATEST}"
        assert migrations.current_version(desk.db) == migrations.LATEST
        code, out, _ = cli("show", "INC-7", "--format", "json")
        assert code == 0 and '"Legacy outage"' in out
        clocks = _q(desk.db, "SELECT metric FROM sla_clock WHERE ticket_id = 7 ORDER BY metric")
        assert clocks, "the old ticket got its SLA clocks"
        assert cli("new", "First after the restore", user="al")[1] == "INC-8\n"
        # the backup had no admin in its directory: the restoring admin's config gave it one (and its agents)
        assert _q(desk.db, "SELECT COUNT(*) FROM agent")[0][0] >= 5
    finally:
        desk.close()


def test_backup_and_restore_refuse_the_live_sqlite_file(sqlite_url, desk_config, cli, tmp_path):
    desk = open_desk(sqlite_url, desk_config[0])
    _populate(desk, 2)
    live_file = _sqlite_file(sqlite_url)
    before = _snapshot(desk.db)
    for argv in (("backup", str(live_file), "--force"), ("backup", f"{live_file}-wal", "--force"),
                 ("restore", str(live_file), "--yes")):
        code, _, err = cli(*argv, url=sqlite_url)
        assert code == 1 and "is the live desk's own file" in err, (argv, err)
    assert _snapshot(desk.db) == before
    desk.close()


def test_a_backup_restores_only_onto_its_own_kind_of_desk(sqlite_url, postgres_url, desk_config, cli, tmp_path):
    lite, pg = open_desk(sqlite_url, desk_config[0]), open_desk(postgres_url, desk_config[0])
    try:
        lite_backup, pg_backup = tmp_path / "lite.backup", tmp_path / "pg.backup"
        assert cli("backup", str(lite_backup), url=sqlite_url)[0] == 0
        assert cli("backup", str(pg_backup), url=postgres_url)[0] == 0
        code, _, err = cli("restore", str(pg_backup), "--yes", url=sqlite_url)
        assert code == 1 and "is a pg_dump archive and this desk is SQLite" in err
        code, _, err = cli("restore", str(lite_backup), "--yes", url=postgres_url)
        assert code == 1 and "is a SQLite file and this desk is PostgreSQL" in err
    finally:
        lite.close()
        pg.close()


# ---------------------------------------------------------------- PostgreSQL specifics
def test_postgres_restore_gives_up_on_a_held_lock_and_changes_nothing(postgres_url, desk_config, cli, tmp_path,
                                                                    monkeypatch):
    desk = open_desk(postgres_url, desk_config[0])
    try:
        _populate(desk, 5)
        path = tmp_path / "desk.backup"
        assert cli("backup", str(path), url=postgres_url)[0] == 0
        cli("new", "Made after the backup", user="al", url=postgres_url)
        before = _snapshot(desk.db)
        monkeypatch.setattr(core_backup, "LOCK_TIMEOUT", "1s")
        import psycopg

        holder = psycopg.connect(postgres_url)  # a session in the middle of a long transaction
        holder.execute("SELECT COUNT(*) FROM ticket").fetchone()
        started = time.monotonic()
        code, _, err = cli("restore", str(path), "--yes", url=postgres_url)
        assert code == 1 and "lock timeout" in err and "long transaction" in err and "the desk is as it was" in err
        assert time.monotonic() - started < 20
        holder.rollback()
        holder.close()
        assert _snapshot(desk.db) == before
        code, out, err = cli("restore", str(path), "--yes", url=postgres_url)
        assert code == 0 and RESTORED.match(out.strip())["tickets"] == "5"
    finally:
        desk.close()


def test_postgres_without_client_tools_gives_the_exact_commands(postgres_url, desk_config, cli, tmp_path,
                                                               monkeypatch):
    desk = open_desk(postgres_url, desk_config[0])
    try:
        _populate(desk, 4)
        real_path = os.environ["PATH"]
        empty = tmp_path / "bin"
        empty.mkdir()
        monkeypatch.setenv("PATH", str(empty))
        path = tmp_path / "by-hand.backup"
        code, _, err = cli("backup", str(path), url=postgres_url)
        assert code == 1 and "pg_dump is not on PATH" in err and not path.exists()
        backup_command = err.strip().split("back up with: ", 1)[1]
        monkeypatch.setenv("PATH", real_path)
        subprocess.run(backup_command, shell=True, check=True, cwd=tmp_path)  # exactly as printed
        assert core_backup.inspect_backup(path).schema == migrations.LATEST

        cli("new", "Made after the backup", user="al", url=postgres_url)
        monkeypatch.setenv("PATH", str(empty))
        code, _, err = cli("restore", str(path), "--yes", url=postgres_url)
        assert code == 1 and "not on PATH" in err
        restore_command = err.strip().split("restore with: ", 1)[1].split(", then run any deskconsole command")[0]
        assert _q(desk.db, "SELECT COUNT(*) FROM ticket")[0][0] == 5  # nothing changed
        monkeypatch.setenv("PATH", real_path)
        desk.close()
        subprocess.run(restore_command, shell=True, check=True, cwd=tmp_path, capture_output=True)
        code, out, _ = cli("ls", "--format", "csv", url=postgres_url)
        assert code == 0 and "Made after the backup" not in out and out.count("\n") == 5  # header + 4
    finally:
        desk.close()


# ---------------------------------------------------------------- progress
def test_backup_and_restore_show_progress_on_a_large_desk(live, cli, tmp_path, monkeypatch):
    _populate(live, 80)
    monkeypatch.setattr(cli_backup, "SHOW_PROGRESS_AFTER", 0.0)  # as if the desk were large
    monkeypatch.setattr(core_backup, "PAGES_PER_STEP", 4)
    path = tmp_path / "desk.backup"
    code, out, err = cli("backup", str(path))
    assert code == 0 and WROTE.match(out.strip()), out
    unit = "pages" if live.is_sqlite else "tables"
    lines = err.splitlines()
    assert lines and all(line.startswith(f"backing up ({unit}): ") for line in lines), err
    done, total = lines[-1].split(": ")[1].replace(",", "").split("/")
    assert done == total and int(total) > 1
    code, out, err = cli("restore", str(path), "--yes")
    assert code == 0 and RESTORED.match(out.strip()), out
    assert err.splitlines() and err.splitlines()[-1].startswith(f"restoring ({unit}): "), err
