"""The desk on a shared host, tried as a hostile local user would.

Each test first stages the attack as it was possible before: a login
variable naming someone else, a config of one's own naming oneself admin, a
read with a config that disagrees with the desk, a read of a desk that does
not exist. Identity is the real uid; roles come from the desk's database.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TEST_CONFIG
from desk_env import REAL_LOGIN, child_env, with_real_admin
from deskconsole.config import load_config
from deskconsole.core.records import tickets
from deskconsole.core.desk import open_desk
from deskconsole.core.access.directory import apply_config
from deskconsole.errors import PermissionDenied
from deskconsole.core.identity import UnknownUser, actor_for, os_login
from deskconsole.models import Agent, AuditEvent, FeedEntry, Team, Ticket
from test_cli import CLI, _isolate, bare_cli, created  # noqa: F401 (bare_cli: a fixture)

MALLORY_CLAIMS_ADMIN = TEST_CONFIG + """
[agents.mallory]
name = "Mallory"
role = "admin"
"""


def _directory():
    return (sorted((a.login, a.role, a.active, a.team_id) for a in Agent.select()),
            sorted((t.name, t.active) for t in Team.select()))


def _desk_state(url: str, config) -> tuple:
    desk = open_desk(url, config, create=False)
    try:
        return (_directory(), AuditEvent.select().count(), FeedEntry.select().count(),
                sorted((t.id, t.version, t.status, t.assignee_id) for t in Ticket.select()))
    finally:
        desk.close()


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys, write_config, db_url):
    _isolate(monkeypatch, tmp_path)
    return CLI(capsys, monkeypatch, created(write_config(), db_url), db_url)


# ---------------------------------------------------------------- identity is the real uid
def test_the_login_is_the_real_uid_never_the_environment(monkeypatch):
    import pwd

    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(var, "alice")
    assert os_login() == pwd.getpwuid(os.getuid()).pw_name != "alice"


def test_spoofed_login_variables_act_as_nobody_else(tmp_path, db_url):
    """``LOGNAME=ada USER=ada deskconsole take INC-1`` run by another login
    acted as ada before. Now it acts as the real login, which this desk's
    directory does not know: a viewer, refused, nothing changed."""
    config_path = tmp_path / "config.toml"
    config_path.write_text(TEST_CONFIG, encoding="utf-8")
    created(config_path, db_url)
    desk = open_desk(db_url, load_config(config_path), create=False)
    key = tickets.create(desk, actor_for(desk, "ada"), title="Printer on fire").key
    desk.close()
    before = _desk_state(db_url, load_config(config_path))
    proc = subprocess.run(
        [sys.executable, "-m", "deskconsole", "--config", str(config_path), "--db", db_url, "take", key],
        env=child_env(tmp_path, "ada"), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.startswith(f"deskconsole: {REAL_LOGIN} is a viewer"), proc.stderr
    assert _desk_state(db_url, load_config(config_path)) == before


def _system_python_as(uid: int, tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    """``python -m deskconsole ARGV`` as the user ``uid``, with a Python that
    user can run (the test's own may sit in a folder only root can enter)."""
    python = shutil.which("python3.11", path="/usr/bin:/usr/local/bin")
    if os.getuid() != 0:
        pytest.skip("needs root, to run a process as another uid")
    if python is None:
        pytest.skip("no system python3.11 that another uid could run")
    import deskconsole
    import peewee

    paths = [str(Path(deskconsole.__file__).parents[1]), str(Path(peewee.__file__).parent)]
    env = {"PYTHONPATH": os.pathsep.join(paths), "HOME": "/nonexistent", "LOGNAME": "root", "USER": "root",
           "PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": "/nonexistent", "XDG_DATA_HOME": "/nonexistent"}
    probe = subprocess.run([python, "-c", "import deskconsole.cli.main"], user=uid, env=env, capture_output=True,
                           text=True, timeout=60, cwd="/")
    if probe.returncode != 0:
        pytest.skip(f"the project cannot be imported by uid {uid} here: {probe.stderr.strip().splitlines()[-1:]}")
    return subprocess.run([python, "-m", "deskconsole", *argv], user=uid, env=env, capture_output=True, text=True,
                          timeout=60, cwd="/")


def test_a_uid_without_a_login_name_is_refused(tmp_path):
    uid = 54321
    import pwd

    with pytest.raises(KeyError):
        pwd.getpwuid(uid)
    proc = _system_python_as(uid, tmp_path, "--db", "sqlite:////nonexistent/desk.db", "ls")
    assert proc.returncode == 4, proc.stderr
    assert f"your user id {uid} has no login name" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_user_is_a_clear_refusal(monkeypatch):
    monkeypatch.setattr("deskconsole.core.identity.os.getuid", lambda: 54321)
    with pytest.raises(UnknownUser, match="user id 54321 has no login name"):
        os_login()


# ---------------------------------------------------------------- roles live in the database
def test_a_config_of_ones_own_naming_oneself_admin_grants_nothing(cli, tmp_path, db_url):
    """mallory passes her own config, which names her admin, to the shared
    desk. The desk's directory does not know her: every admin and lead right
    is refused, the directory is unchanged, and one warning names the key."""
    key = cli.new("Shared ticket")
    own = tmp_path / "mallory.toml"
    own.write_text(MALLORY_CLAIMS_ADMIN, encoding="utf-8")
    before = _desk_state(db_url, load_config(cli.config))
    backup = tmp_path / "b.db"
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"title": "planted"}\n', encoding="utf-8")
    for argv in (("cancel", key, "mine now"), ("import", str(jsonl)), ("backup", str(backup)),
                 ("restore", str(backup), "--yes"), ("admin", "sync"), ("--as", "ada", "take", key),
                 ("admin", "pg-grants")):
        r = cli("--config", str(own), "--db", db_url, *argv, user="mallory", desk=False)
        assert r.code == 4, (argv, r.err)
        assert "mallory" in r.err and ("viewer" in r.err or "--as is for desk admins" in r.err), (argv, r.err)
        if argv[0] not in ("admin", "--as"):  # (sync says it itself; --as is refused before the desk is read)
            warning = r.err.splitlines()[0]
            assert warning.startswith("deskconsole: warning: your config's directory differs") and \
                "agents.mallory" in warning and "changed nothing" in warning, (argv, r.err)
    assert not backup.exists()
    assert _desk_state(db_url, load_config(cli.config)) == before


def test_a_read_with_a_foreign_config_writes_nothing(cli, tmp_path, db_url, write_config):
    """A read (ls, show, export, the wallboard's checks) with a config that
    lacks agents and adds a team used to deactivate and add them, audited as
    'system'. Now reads never write, and the desk's directory is in force."""
    key = cli.new("Shared ticket")
    foreign = write_config(TEST_CONFIG.replace('[agents.al]\nname = "Al Agent"\nrole = "agent"\nteam = "ops"\n', "")
                           + '\n[teams.payments]\nname = "Payments"\n', name="foreign.toml")
    before = _desk_state(db_url, load_config(cli.config))
    for argv in (("ls",), ("show", key), ("export",), ("ls", "assignee:al")):
        r = cli("--config", str(foreign), "--db", db_url, *argv, user="vic", desk=False)
        assert r.code == 0, (argv, r.err)
        assert "agents.al" in r.err and "teams.payments" in r.err and "only a desk admin" in r.err
    assert _desk_state(db_url, load_config(cli.config)) == before
    # al still works the desk: the foreign config took nobody's rights away
    cli.ok("take", key, user="al")


def test_a_viewers_console_and_board_with_a_foreign_config_write_nothing(cli, db_url, write_config, monkeypatch):
    """The console and the wallboard as the commands start them (their event
    loops not run here): a viewer's never run the SLA loop, an agent's
    console and board do; the foreign config's notice reaches the console's
    screen; opening them changed nothing on the desk."""
    from deskconsole.ui.app import DeskApp
    from deskconsole.ui.wallboard import WallboardApp

    started = []
    for app in (DeskApp, WallboardApp):
        monkeypatch.setattr(app, "run", lambda self, *a, **k: started.append(self))
    monkeypatch.setenv("DESKCONSOLE_FORCE_CONSOLE", "1")  # a terminal's check, not this test's subject
    cli.new("Shared ticket", "-p", "P1")
    foreign = write_config(TEST_CONFIG.replace('[agents.al]\nname = "Al Agent"\nrole = "agent"\nteam = "ops"\n', "")
                           + '\n[teams.payments]\nname = "Payments"\n', name="foreign.toml")
    before = _desk_state(db_url, load_config(cli.config))
    for who in ("vic", "al"):
        for command in ("console", "wallboard"):
            r = cli("--config", str(foreign), "--db", db_url, command, user=who, desk=False)
            assert r.code == 0, (who, command, r.err)
    vic_console, vic_board, al_console, al_board = started
    assert (vic_console.sweep_enabled, vic_board.sweep_enabled) == (False, False)
    assert (al_console.sweep_enabled, al_board.sweep_enabled) == (True, True)
    assert any("agents.al" in n and "teams.payments" in n for n in vic_console.notices)
    assert _desk_state(db_url, load_config(cli.config)) == before


def test_an_admin_applies_a_config_audited_as_their_own_login(cli, tmp_path, db_url):
    cli.new("Shared ticket")
    changed = TEST_CONFIG.replace('[agents.al]\nname = "Al Agent"\nrole = "agent"',
                                  '[agents.al]\nname = "Al Agent"\nrole = "lead"') + """
[agents.bea]
name = "Bea New"
role = "agent"
team = "ops"
"""
    cli.config.write_text(changed, encoding="utf-8")
    r = cli.ok("admin", "sync", "--dry-run")
    assert "agents.al.role" in r.out and "agents.bea" in r.out
    r = cli("new", "by bea", user="bea")  # not yet: the desk does not know bea
    assert r.code == 4 and "bea is a viewer" in r.err and "agents.bea" in r.err
    r = cli("admin", "sync", user="al")  # the change is not al's to make
    assert r.code == 4 and "al is an agent" in r.err
    r = cli.ok("admin", "sync", user="ada")
    assert "agents.al.role" in r.out and "agents.bea" in r.out
    assert cli.new("by bea", user="bea").startswith("INC-")
    desk = open_desk(db_url, load_config(cli.config), create=False)
    try:
        def changes(field):
            return [(r.actor, r.new) for r in AuditEvent.select().where(AuditEvent.action == "config",
                                                                      AuditEvent.field == field)]

        # audited as the real login that made the change, not 'system' (which seeded the new desk)
        assert changes("agent:bea") == [("ada", "added")]
        assert changes("agent:al")[-1] == ("ada", "role=lead")
        assert Agent.get(Agent.login == "al").role == "lead"
    finally:
        desk.close()
    assert cli.ok("admin", "sync", user="ada").out.strip() == "the desk's directory already matches the config"


def test_a_role_taken_away_stops_a_session_that_is_still_open(desk, config):
    """A console opened by al holds al's actor; once an admin takes al's role
    away, al's next write is refused — the role is read in the transaction."""
    al = actor_for(desk, "al")
    tickets.create(desk, al, title="while still an agent")
    desk.config = load_config_text(TEST_CONFIG.replace('[agents.al]\nname = "Al Agent"\nrole = "agent"',
                                                       '[agents.al]\nname = "Al Agent"\nrole = "viewer"'))
    apply_config(desk, actor_for(desk, "ada"))
    with pytest.raises(PermissionDenied, match="al is a viewer"):
        tickets.create(desk, al, title="after the role was taken away")
    assert Ticket.select().count() == 1


def test_directory_changes_need_a_desk_admin_by_the_database(desk, config):
    desk.config = load_config_text(MALLORY_CLAIMS_ADMIN)
    before = _directory()
    for login in ("mallory", "lee", "al"):
        with pytest.raises(PermissionDenied):
            apply_config(desk, actor_for(desk, login))
    assert _directory() == before


def test_a_viewers_daemon_is_refused_and_sweeps_nothing(cli, db_url):
    """The daemon writes (crossings, escalations): a viewer's would be a
    read with side effects. An agent's runs."""
    cli.new("Shared ticket", "-p", "P1")
    before = _desk_state(db_url, load_config(cli.config))
    r = cli("daemon", "--once", user="vic")
    assert r.code == 4 and "vic is a viewer" in r.err and "SLA loop" in r.err
    assert _desk_state(db_url, load_config(cli.config)) == before
    assert cli.ok("daemon", "--once", user="al").out.startswith("sweep at ")


def test_tickets_go_only_to_agents_of_the_desks_directory(desk, actors):
    """A config at hand naming an agent the desk does not know (or one it
    knows as a viewer now) cannot route tickets to them."""
    from deskconsole.errors import NotFound

    key = tickets.create(desk, actors["al"], title="Shared ticket").key
    desk.config = load_config_text(MALLORY_CLAIMS_ADMIN)
    with pytest.raises(NotFound, match="no agent called 'mallory'"):
        tickets.assign(desk, actors["al"], key, agent="mallory")
    with pytest.raises(NotFound, match="no agent called 'mallory'"):
        tickets.create(desk, actors["al"], title="For mallory", assignee="mallory")
    assert Ticket.get_by_id(int(key[4:])).assignee_id is None and Ticket.select().count() == 1


def test_the_engines_names_cannot_act(desk):
    for login in ("system", "sla"):
        with pytest.raises(PermissionDenied, match="engine"):
            actor_for(desk, login)


def load_config_text(text: str):
    from deskconsole.config import parse_config

    return parse_config(text, "test.toml")


# ---------------------------------------------------------------- a read never creates a desk
def test_a_read_of_a_missing_sqlite_desk_says_so_and_creates_nothing(bare_cli, tmp_path, write_config):
    where = tmp_path / "no" / "such" / "desk.db"
    bare_cli.config, bare_cli.db = write_config(), f"sqlite:///{where}"
    for argv in (("ls",), ("show", "INC-1"), ("new", "x"), ("console",), ("wallboard",), ("daemon", "--once")):
        r = bare_cli(*argv)
        assert r.code == 1 and r.out == "", (argv, r.err)
        assert f"deskconsole: no desk at {where}" in r.err and "deskconsole init" in r.err, r.err
    assert not where.exists() and not where.parent.exists()


def test_a_read_of_an_empty_postgresql_database_says_so(bare_cli, pg_database, write_config):
    pg_database.bare()
    bare_cli.config, bare_cli.db = write_config(), pg_database.url
    r = bare_cli.fails(1, "ls")
    assert "no desk at PostgreSQL database" in r.err and "deskconsole init" in r.err
    assert pg_database.conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0


# ---------------------------------------------------------------- PostgreSQL enforces the roles itself
def _pg_role(pg, name: str) -> None:
    from psycopg import sql

    exists = pg.conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
    if not exists:
        pg.conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))


def _drop_roles(pg, names) -> None:
    from psycopg import sql

    for name in names:
        if pg.conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
            pg.conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            pg.conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_pg_grants_make_the_server_refuse_a_viewers_update(tmp_path, monkeypatch, capsys, write_config, pg_database,
                                                           postgres_url):
    """A viewer who connects with psql (here: psycopg, as the viewer's own
    PostgreSQL role) cannot UPDATE a ticket once the grants are applied;
    an agent can work tickets but not change the directory or the audit log."""
    import psycopg
    from urllib.parse import urlparse, urlunparse

    _isolate(monkeypatch, tmp_path)
    cli = CLI(capsys, monkeypatch, created(write_config(), postgres_url), postgres_url)
    key = cli.new("Shared ticket")
    prefix = "dctest"
    groups = [f"{prefix}_{level}" for level in ("admin", "lead", "agent", "viewer")]
    logins = ["vic", "al"]
    try:
        for login in logins:
            _pg_role(pg_database, login)
        r = cli.ok("admin", "pg-grants", "--prefix", prefix)
        assert "CREATE ROLE \"dctest_viewer\" NOLOGIN" in r.out and "GRANT \"dctest_agent\" TO \"al\"" in r.out
        assert cli("admin", "pg-grants", "--prefix", prefix, "--apply", user="al").code == 4  # admins only
        cli.ok("admin", "pg-grants", "--prefix", prefix, "--apply")
        target = urlparse(postgres_url)

        def as_role(login):
            return psycopg.connect(urlunparse(target._replace(netloc=f"{login}@{target.hostname}:{target.port or 5432}")),
                                   autocommit=True)

        ticket_id = int(key.split("-")[1])
        with as_role("vic") as vic:
            assert vic.execute("SELECT title FROM ticket WHERE id = %s", (ticket_id,)).fetchone() == ("Shared ticket",)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                vic.execute("UPDATE ticket SET title = 'defaced' WHERE id = %s", (ticket_id,))
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                vic.execute("INSERT INTO entry (ticket_id, kind, author, author_name, at, body, source)"
                            " VALUES (%s, 'note', 'vic', 'Vic', now(), 'x', 'cli')", (ticket_id,))
        with as_role("al") as al:
            al.execute("UPDATE ticket SET version = version WHERE id = %s", (ticket_id,))  # work: allowed
            for statement in ("UPDATE agent SET role = 'admin' WHERE login = 'al'", "DELETE FROM audit_event",
                              "UPDATE audit_event SET actor = 'someone'",
                              # a token row is an identity: an agent may not mint one for an admin
                              "INSERT INTO api_token (name, login, secret_hash, created_at, created_by)"
                              " VALUES ('mine', 'ada', 'x', now(), 'al')",
                              # the change policy (who approves) is the admins'; an approval given stays
                              "UPDATE desk_setting SET value = '{\"cab\": [\"al\"]}'",
                              "DELETE FROM approval", "UPDATE approval SET approver = 'ada'"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    al.execute(statement)
        assert cli.show(key)["title"] == "Shared ticket"
        # deskconsole through vic's own connection: ada is an admin by the directory, the server still says no
        vic_url = urlunparse(target._replace(netloc=f"vic@{target.hostname}:{target.port or 5432}"))
        r = cli("--config", str(cli.config), "--db", vic_url, "note", key, "via vic's role", user="ada", desk=False)
        assert r.code == 1 and "the database refused this (permission denied" in r.err, r.err
        assert "admin pg-grants --apply" in r.err and r.err.count("\n") == 1
        r = cli("--config", str(cli.config), "--db", vic_url, "ls", "--format", "json", user="vic", desk=False)
        assert r.code == 0 and [t["key"] for t in r.json()] == [key]  # reads work through the viewer's role
        assert cli.show(key)["entries"] == []
        # the desk's audit log says who applied the grants
        desk = open_desk(postgres_url, load_config(cli.config), create=False)
        try:
            row = AuditEvent.select().where(AuditEvent.field == "pg-grants").get()
            assert row.actor == "ada" and "dctest_viewer" in row.new
        finally:
            desk.close()
    finally:
        pg_database.end_other_connections()
        _drop_roles(pg_database, logins + groups)


def test_pg_grants_on_a_sqlite_desk_says_what_protects_it(tmp_path, monkeypatch, capsys, write_config, sqlite_url):
    _isolate(monkeypatch, tmp_path)
    cli = CLI(capsys, monkeypatch, created(write_config(), sqlite_url), sqlite_url)
    r = cli.fails(1, "admin", "pg-grants")
    assert "for a desk on PostgreSQL" in r.err and "file's mode" in r.err


# ---------------------------------------------------------------- a real other login on the same desk
def test_another_login_with_its_own_admin_config_is_refused_by_the_desk(tmp_path):
    """The whole attack across a real uid boundary: the desk folder and file
    are shared (group-writable, as the README's setup has them), the attacker
    ('nobody' here) writes a config naming itself admin and tries to cancel a
    ticket. The desk's directory decides: refused, nothing changed."""
    import pwd
    import tempfile

    nobody = pwd.getpwnam("nobody")
    shared = Path(tempfile.mkdtemp(prefix="deskconsole-shared-", dir="/tmp"))
    try:
        os.chmod(shared, 0o777)
        url = f"sqlite:///{shared / 'desk.db'}"
        config = shared / "desk.toml"
        config.write_text(with_real_admin(TEST_CONFIG), encoding="utf-8")
        desk = open_desk(url, load_config(config))
        key = tickets.create(desk, actor_for(desk, REAL_LOGIN), title="Shared ticket").key
        desk.close()
        for part in shared.iterdir():
            os.chmod(part, 0o666)
        own = shared / "nobody.toml"
        own.write_text(TEST_CONFIG + '\n[agents.nobody]\nname = "Nobody"\nrole = "admin"\n', encoding="utf-8")
        os.chmod(own, 0o644)
        before = _desk_state(url, load_config(config))
        proc = _system_python_as(nobody.pw_uid, tmp_path, "--config", str(own), "--db", url, "cancel", key, "mine")
        assert proc.returncode == 4, proc.stderr
        assert "nobody is a viewer" in proc.stderr and "agents.nobody" in proc.stderr
        assert _desk_state(url, load_config(config)) == before
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_a_damaged_desk_is_restored_only_by_a_login_that_may_write_its_file(tmp_path):
    """With the directory unreadable, the file is the boundary: 'nobody', who
    can read the folder but not write the desk, is refused; the damaged file
    stays exactly as it was."""
    import pwd
    import tempfile

    nobody = pwd.getpwnam("nobody")
    shared = Path(tempfile.mkdtemp(prefix="deskconsole-damaged-", dir="/tmp"))
    try:
        os.chmod(shared, 0o755)
        config = shared / "desk.toml"
        config.write_text(TEST_CONFIG, encoding="utf-8")
        desk_file, backup = shared / "desk.db", shared / "backup.db"
        open_desk(f"sqlite:///{backup}", load_config(config)).close()
        desk_file.write_bytes(b"this is not a database " * 200)
        for path in (config, desk_file, backup):
            os.chmod(path, 0o644)
        proc = _system_python_as(nobody.pw_uid, tmp_path, "--config", str(config), "--db",
                                 f"sqlite:///{desk_file}", "restore", str(backup), "--yes")
        assert proc.returncode == 4, proc.stderr
        assert "nobody is a viewer" in proc.stderr and "restore" in proc.stderr
        assert desk_file.read_bytes() == b"this is not a database " * 200
        assert sorted(p.name for p in shared.iterdir()) == ["backup.db", "desk.db", "desk.toml"]
    finally:
        shutil.rmtree(shared, ignore_errors=True)


@pytest.mark.parametrize("url,why", [("postgresql://x[1/db", "Invalid IPv6 URL"),
                                     ("postgresql://host:99999/db", "Port out of range"),
                                     ("postgresql://host/\x1b[31mdb", None)])
def test_a_malformed_database_url_is_one_clear_line(bare_cli, write_config, url, why):
    bare_cli.config, bare_cli.db = write_config(), url
    r = bare_cli.fails(1, "ls")
    assert "Traceback" not in r.err and "\x1b" not in r.err
    assert (why in r.err and "is not a database URL" in r.err) if why else "cannot open" in r.err, r.err
