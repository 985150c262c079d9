"""Config mistakes: every error names the file, the dotted key and what was
expected, and the CLI turns it into one line on stderr with exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deskconsole.cli.main import main
from deskconsole.config import ConfigError, load_config, parse_config
from deskconsole.core.archive.demo import demo_config_text
from deskconsole.starter import starter_config

PATH = "/etc/deskconsole/config.toml"
MATRIX_OK = """
[priority.matrix]
high = { high = "P1", medium = "P2", low = "P3" }
medium = { high = "P2", medium = "P3", low = "P4" }
low = { high = "P3", medium = "P4", low = "P4" }
"""


def config_error(text: str, path=PATH) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(text, path)
    exc = info.value
    message = str(exc)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message, message
    assert "Traceback" not in message
    return exc


def expect(text: str, key: str, *fragments: str) -> str:
    exc = config_error(text)
    message = str(exc)
    assert exc.key == key, message
    assert message.startswith(f"{PATH}: {key}: "), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


# ---------------------------------------------------------------- valid configs stay valid
def test_shipped_configs_parse(write_config):
    config = load_config(write_config())  # the tests' own config
    assert config.agents["vic"].role == "viewer"
    assert config.services["vpn"].team == "network"
    assert config.priority_for("high", "medium") == "P2"
    assert parse_config(starter_config("zed", "Zed", None), "s.toml").agents["zed"].role == "admin"
    demo = parse_config(demo_config_text("zed", "sqlite:///x.db"), "d.toml")
    assert demo.agents["zed"].role == "admin" and demo.database == "sqlite:///x.db"


def test_order_of_sections_does_not_matter():
    text = '[agents.al]\nteam = "ops"\n[services.mail]\nteam = "ops"\n[teams.ops]\nname = "Operations"\n'
    config = parse_config(text, PATH)
    assert config.agents["al"].team == "ops"
    assert config.agents["al"].role == "agent"  # the default role


# ---------------------------------------------------------------- load_config: the file itself
def test_missing_file_suggests_init(tmp_path):
    path = tmp_path / "nope" / "config.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "no such file" in message
    assert "deskconsole init" in message
    assert "--config" in message


def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('[desk]\nname = "Caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: ") and "UTF-8" in str(info.value)


def test_a_folder_instead_of_a_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value).startswith(f"{tmp_path}: ") and "cannot be read" in str(info.value)


def test_load_config_reports_the_real_path(tmp_path):
    path = tmp_path / "desk.toml"
    path.write_text('[teams.ops]\ncolour = "red"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: teams.ops.colour: ")
    assert info.value.path == path


# ---------------------------------------------------------------- TOML syntax
def test_invalid_toml_names_file_and_line():
    exc = config_error('[desk]\nname = "x"\n\n[teams.ops\nname = "y"\n')
    message = str(exc)
    assert "not valid TOML" in message
    assert "line 4" in message


def test_duplicate_key_is_invalid_toml():
    message = str(config_error('[desk]\nname = "a"\nname = "b"\n'))
    assert "not valid TOML" in message and "line 3" in message


def test_unterminated_string():
    message = str(config_error('[desk]\nname = "oops\n'))
    assert "not valid TOML" in message and "line 2" in message


# ---------------------------------------------------------------- unknown names
def test_unknown_top_level_section():
    expect('[desks]\nname = "x"\n', "desks", "unknown key", "desk", "teams", "agents", "services")


def test_unknown_top_level_key():
    expect('colour = "blue"\n', "colour", "unknown key")


def test_unknown_key_in_desk():
    expect('[desk]\nlocale = "de"\n', "desk.locale", "unknown key", "default_team", "name", "timezone")


def test_desk_timezone_must_be_a_zone_name():
    expect('[desk]\ntimezone = "Mars/Olympus"\n', "desk.timezone", "'Mars/Olympus' is not a time zone", "Europe/Berlin")


def test_unknown_key_in_a_team():
    expect('[teams.ops]\nname = "Ops"\ncolour = "red"\n', "teams.ops.colour", "unknown key", "email, name")


def test_unknown_key_in_an_agent():
    expect('[teams.ops]\n[agents.al]\nrole = "agent"\nshell = "zsh"\n', "agents.al.shell",
           "unknown key", "email, name, role, team")


def test_unknown_key_in_a_service():
    expect('[teams.ops]\n[services.mail]\nowner = "ops"\n', "services.mail.owner", "unknown key", "name, team")


def test_unknown_key_in_priority_and_resolution():
    expect('[priority]\nmatrixx = 1\n', "priority.matrixx", "unknown key", "matrix")
    expect('[resolution]\ncode = ["fixed"]\n', "resolution.code", "unknown key", "codes")


# ---------------------------------------------------------------- values
def test_bad_role_lists_the_roles():
    expect('[teams.ops]\n[agents.al]\nrole = "superuser"\n', "agents.al.role",
           "'superuser'", "viewer, agent, lead, admin")


def test_agent_team_not_defined():
    expect('[teams.ops]\n[teams.desk]\n[agents.al]\nteam = "net"\n', "agents.al.team",
           "'net' is not a team", "[teams.net]", "desk, ops")


def test_agent_team_with_no_teams_at_all():
    expect('[agents.al]\nteam = "ops"\n', "agents.al.team", "'ops' is not a team", "no teams defined")


def test_service_team_not_defined():
    expect('[teams.ops]\n[services.vpn]\nname = "VPN"\nteam = "net"\n', "services.vpn.team", "'net' is not a team", "ops")


def test_depends_on_an_unknown_service_names_both_sections():
    expect('[services.web]\ndepends_on = ["api", "db"]\n[services.api]\n', "services.web.depends_on",
           "'db' is not a service or configuration item", "[services.db] or [cis.db]")
    expect('[cis.db]\ntype = "database"\ndepends_on = ["host-9"]\n', "cis.db.depends_on", "'host-9' is not a service")


def test_depends_on_itself():
    expect('[services.web]\ndepends_on = ["web"]\n', "services.web.depends_on", "'web' cannot depend on itself")


def test_dependencies_in_a_circle_name_the_circle():
    message = expect('[services.web]\ndepends_on = ["api"]\n[services.api]\ndepends_on = ["db"]\n'
                     '[cis.db]\ntype = "database"\ndepends_on = ["web"]\n', "cis.db.depends_on",
                     "go round in a circle")
    assert message.endswith("web -> api -> db -> web"), message


def test_depends_on_must_be_a_list_of_names():
    expect('[services.web]\ndepends_on = "api"\n[services.api]\n', "services.web.depends_on",
           "expected a list of service or item names", "string")


def test_a_configuration_item_needs_a_type_and_its_own_name():
    expect('[cis.db]\nname = "Main DB"\n', "cis.db.type")
    expect('[cis.db]\ntype = "service"\n', "cis.db.type", "not a configuration item type", "host, database or queue")
    expect('[services.db]\n[cis.db]\ntype = "database"\n', "cis.db", "'db' is already a service")


def test_default_team_unknown():
    expect('[desk]\ndefault_team = "ops"\n[teams.network]\n', "desk.default_team", "'ops' is not a team", "network")


def test_default_priority_bad():
    expect('[desk]\ndefault_priority = "P7"\n', "desk.default_priority", "'P7'", "P1, P2, P3, P4")


@pytest.mark.parametrize(
    "text,key",
    [
        ('[teams.ops]\nemail = "not-mail"\n', "teams.ops.email"),
        ('[teams.ops]\n[agents.al]\nemail = "al at example.com"\n', "agents.al.email"),
        ('[teams.ops]\n[agents.al]\nemail = "al@localhost"\n', "agents.al.email"),
        ('[teams.ops]\n[agents.al]\nemail = "Al <al@example.com>"\n', "agents.al.email"),
    ],
)
def test_bad_email(text, key):
    expect(text, key, "is not an e-mail address")


def test_bad_names():
    expect('[teams."Ops Team"]\n', 'teams.Ops Team', "not a valid name", "lower-case")
    expect('[categories]\n"Out age" = "Outage"\n', "categories.Out age", "not a valid name")
    expect('[services.VPN]\n', "services.VPN", "not a valid name")
    expect('[agents."al smith"]\n', "agents.al smith", "cannot be empty or contain spaces")


# ---------------------------------------------------------------- priority matrix
def test_matrix_missing_a_cell():
    text = MATRIX_OK.replace('medium = { high = "P2", medium = "P3", low = "P4" }', 'medium = { high = "P2", medium = "P3" }')
    expect(text, "priority.matrix.medium.low", "is missing")


def test_matrix_missing_a_row():
    text = MATRIX_OK.replace('low = { high = "P3", medium = "P4", low = "P4" }\n', "")
    expect(text, "priority.matrix.low", "is missing", 'high = "P1"')


def test_matrix_bad_priority_value():
    text = MATRIX_OK.replace('high = { high = "P1"', 'high = { high = "P0"')
    expect(text, "priority.matrix.high.high", "'P0'", "P1, P2, P3, P4")


def test_matrix_value_of_the_wrong_type():
    text = MATRIX_OK.replace('high = { high = "P1"', "high = { high = 1")
    expect(text, "priority.matrix.high.high", "expected a string", "a number")


def test_matrix_unknown_level():
    expect(MATRIX_OK + 'critical = { high = "P1", medium = "P1", low = "P1" }\n', "priority.matrix.critical",
           "unknown key", "high, low, medium")
    expect(MATRIX_OK.replace('low = "P3" }', 'low = "P3", extreme = "P1" }', 1), "priority.matrix.high.extreme",
           "unknown key")


def test_matrix_is_used():
    config = parse_config(MATRIX_OK.replace('high = { high = "P1", medium = "P2"', 'high = { high = "P1", medium = "P1"'), PATH)
    assert config.priority_for("high", "medium") == "P1"


# ---------------------------------------------------------------- resolution codes
def test_empty_resolution_codes():
    expect('[resolution]\ncodes = []\n', "resolution.codes", "non-empty list of strings")


def test_resolution_codes_of_the_wrong_type():
    expect('[resolution]\ncodes = "fixed"\n', "resolution.codes", "non-empty list of strings")
    expect('[resolution]\ncodes = [1, 2]\n', "resolution.codes", "non-empty list of strings")
    expect('[resolution]\ncodes = ["Fixed It"]\n', "resolution.codes[0]", "not a valid name")


def test_resolution_codes_always_include_duplicate():
    config = parse_config('[resolution]\ncodes = ["fixed"]\n', PATH)
    assert config.resolution_codes == ("fixed", "duplicate")  # merging needs it


# ---------------------------------------------------------------- wrong types
@pytest.mark.parametrize(
    "text,key,expected",
    [
        ('teams = "ops"\n', "teams", "expected a table ([teams]), got a string"),
        ('[teams]\nops = "Operations"\n', "teams.ops", "expected a table, got a string"),
        ('[agents]\nal = "agent"\n', "agents.al", "expected a table, got a string"),
        ('[services]\nvpn = ["network"]\n', "services.vpn", "expected a table, got a list"),
        ('desk = 1\n', "desk", "expected a table ([desk]), got a number"),
        ('[desk]\nname = 3\n', "desk.name", "expected a string, got a number"),
        ('[desk]\nname = true\n', "desk.name", "expected a string, got a boolean"),
        ('[teams.ops]\nname = ["a"]\n', "teams.ops.name", "expected a string, got a list"),
        ('[teams.ops]\n[agents.al]\nteam = 3\n', "agents.al.team", "expected a string, got a number"),
        ('[teams.ops]\n[agents.al]\nrole = { name = "admin" }\n', "agents.al.role", "expected a string, got a table"),
        ('[categories]\noutage = 1\n', "categories.outage", "expected a display name (string), got a number"),
        ('categories = ["outage"]\n', "categories", "expected a table ([categories]), got a list"),
        ('[priority]\nmatrix = "default"\n', "priority.matrix", "expected a table ([priority.matrix]), got a string"),
        ('resolution = ["fixed"]\n', "resolution", "expected a table ([resolution]), got a list"),
    ],
)
def test_wrong_types(text, key, expected):
    expect(text, key, expected)


def test_without_a_path_the_message_still_reads():
    with pytest.raises(ConfigError) as info:
        parse_config('[desks]\n')
    assert str(info.value).startswith("config: desks: unknown key")


# ---------------------------------------------------------------- through the CLI
BROKEN = {
    "toml": ('[desk]\nname = "x\n', "not valid TOML"),
    "role": ('[teams.ops]\n[agents.ada]\nrole = "boss"\n', "agents.ada.role"),
    "team": ('[teams.ops]\n[agents.ada]\nrole = "admin"\nteam = "nope"\n', "agents.ada.team"),
    "section": ('[desks]\n', "desks: unknown key"),
    "codes": ('[resolution]\ncodes = []\n', "resolution.codes"),
}


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv("DESKCONSOLE_CONFIG", raising=False)
    monkeypatch.delenv("DESKCONSOLE_DB", raising=False)
    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(var, "ada")
    return tmp_path


@pytest.mark.parametrize("case", sorted(BROKEN))
@pytest.mark.parametrize("argv", [["ls"], ["new", "A title"], ["show", "INC-1"], ["export"]])
def test_cli_with_a_broken_config(env, write_config, capsys, case, argv):
    text, fragment = BROKEN[case]
    path = write_config(text)
    code = main(["--config", str(path), "--db", f"sqlite:///{env}/d.db", *argv])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err.startswith(f"deskconsole: {path}: ")
    assert fragment in err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert not (env / "d.db").exists()  # nothing was created on the way to the error


def test_cli_without_any_config_suggests_init(env, capsys):
    code = main(["ls"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert str(env / "xdg-config" / "deskconsole" / "config.toml") in err
    assert "deskconsole init" in err
    assert err.count("\n") == 1


def test_cli_config_from_env(env, write_config, capsys, monkeypatch):
    path = write_config('[teams.ops]\ncolour = "red"\n', name="env.toml")
    monkeypatch.setenv("DESKCONSOLE_CONFIG", str(path))
    assert main(["ls"]) == 1
    assert capsys.readouterr().err.startswith(f"deskconsole: {path}: teams.ops.colour: unknown key")


def test_broken_config_as_a_real_process(tmp_path, write_config):
    path = write_config('[teams.ops]\n[agents.ada]\nrole = "admin"\n[services.vpn]\nteam = "network"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKCONSOLE_")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "c"), XDG_DATA_HOME=str(tmp_path / "d"), LOGNAME="ada", USER="ada")
    proc = subprocess.run(
        [sys.executable, "-m", "deskconsole", "--config", str(path), "--db", f"sqlite:///{tmp_path}/d.db", "ls"],
        capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == f"deskconsole: {path}: services.vpn.team: 'network' is not a team; use one of ops\n"


def test_init_refuses_nothing_when_the_config_is_broken_but_force_replaces_it(env, write_config, capsys):
    """A broken config does not stop 'init --force' from writing a good one."""
    path = write_config('[desks]\n')
    assert main(["--config", str(path), "--db", f"sqlite:///{env}/d.db", "init"], login="ada") == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["--config", str(path), "--db", f"sqlite:///{env}/d.db", "init", "--force"], login="ada") == 0
    capsys.readouterr()
    assert load_config(path).agents["ada"].role == "admin"
    assert Path(str(path) + ".bak").read_text(encoding="utf-8") == "[desks]\n"
