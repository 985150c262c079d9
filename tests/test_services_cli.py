"""``deskconsole services [NAME]`` and the service map in ``deskconsole show``,
through the real command line on both backends (in-process, as
tests/test_cli.py does)."""

from __future__ import annotations

import csv
import io

import pytest

from conftest import TEST_CONFIG
from test_cli import CLI, _isolate, created
from test_service_map import MAP


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys, write_config, db_url):
    """The command line on a desk whose services depend on each other."""
    _isolate(monkeypatch, tmp_path)
    return CLI(capsys, monkeypatch, created(write_config(TEST_CONFIG + MAP), db_url), db_url)


@pytest.fixture
def bare(tmp_path, monkeypatch, capsys, write_config, db_url):
    """The test desk with no dependencies (and no items)."""
    _isolate(monkeypatch, tmp_path)
    return CLI(capsys, monkeypatch, created(write_config(TEST_CONFIG, "plain.toml"), db_url), db_url)


def test_the_whole_map_as_a_tree(cli):
    cli.new("api slow", "--service", "api", "--priority", "P3")
    cli.new("api 500s", "--service", "api", "--priority", "P3")
    cli.new("disk full", "--service", "db-main", "--priority", "P3")
    lines = cli.ok("services", user="vic").out.splitlines()  # a viewer may read it
    assert lines[0].split() == ["SERVICE", "TYPE", "TEAM", "OPEN", "TITLE"]
    tree = [line[:lines[0].index("TYPE")].rstrip() for line in lines[1:]]
    assert tree == [
        "checkout",
        "├─ api",
        "│  ├─ db-main",
        "│  │  └─ host-a",
        "│  └─ mq",
        "│     └─ host-a",
        "└─ db-main (see above)",
        "mail",
        "reports",
        "└─ db-main (see above)",
        "vpn",
        "web",
        "└─ api (see above)",
    ]
    api = next(line for line in lines if line.startswith("├─ api"))
    assert api.split()[2:] == ["-", "ops", "2", "Shop", "API"]
    db = next(line for line in lines if line.startswith("│  ├─ db-main"))
    assert db.split()[3:6] == ["database", "ops", "1"]
    host = next(line for line in lines if line.startswith("│  │  └─ host-a"))
    assert host.split()[4:6] == ["host", "network"]


def test_the_map_as_json_and_csv(cli):
    cli.new("queue stuck", "--service", "mq", "--priority", "P3")
    data = cli.ok("services", "--format", "json").json()
    assert data["roots"] == ["checkout", "mail", "reports", "vpn", "web"]
    by_name = {s["name"]: s for s in data["services"]}
    assert by_name["mq"] == {"name": "mq", "title": "Order queue", "kind": "queue", "team": None,
                             "depends_on": ["host-a"], "needed_by": ["api"], "open_incidents": 1}
    assert by_name["db-main"]["needed_by"] == ["api", "checkout", "reports"]
    rows = list(csv.DictReader(io.StringIO(cli.ok("services", "--format", "csv").out)))
    assert {r["name"]: r["depends_on"] for r in rows}["checkout"] == "api db-main"
    assert {r["name"]: r["kind"] for r in rows}["host-a"] == "host"


def test_one_service_upstream_downstream_and_open_counts(cli):
    cli.new("api slow", "--service", "api", "--priority", "P3")
    cli.new("web down", "--service", "web", "--priority", "P3")
    cli.new("host a hot", "--service", "host-a", "--priority", "P3")
    out = cli.ok("services", "api").out.splitlines()
    assert out[0] == "api  Shop API  team ops  1 open incident(s)"
    assert out[1] == "an incident on it: impact suggested: medium — 2 services depend on api: checkout, web"
    body = {tuple(line.split()[:3]): line.split()[3:] for line in out[3:]}
    assert body[("depends", "on", "db-main")][:3] == ["database", "ops", "direct"]
    assert body[("depends", "on", "host-a")][:5] == ["host", "network", "via", "db-main", "1"]
    assert body[("needed", "by", "web")][:4] == ["-", "ops", "direct", "1"]
    data = cli.ok("services", "db-main", "--format", "json").json()
    assert [(r["name"], r["depth"], r["open_incidents"]) for r in data["upstream"]] == [("host-a", 1, 1)]
    assert [r["name"] for r in data["downstream"]] == ["api", "checkout", "reports", "web"]
    assert data["suggested_impact"]["level"] == "high"
    assert data["suggested_impact"]["reason"] == "4 services depend on db-main: api, checkout, reports, web"
    leaf = cli.ok("services", "web", "--format", "json").json()
    assert leaf["suggested_impact"] is None and leaf["downstream"] == [] and leaf["open_incidents"] == 1
    rows = list(csv.DictReader(io.StringIO(cli.ok("services", "web", "--format", "csv").out)))
    assert [(r["direction"], r["name"], r["via"]) for r in rows] == [
        ("upstream", "api", ""), ("upstream", "db-main", "api"), ("upstream", "mq", "api"),
        ("upstream", "host-a", "api")]


def test_an_unknown_service_lists_the_known_ones(cli):
    err = cli.fails(1, "services", "dbmain").err
    assert "no service or configuration item called 'dbmain'" in err
    assert "known: api, checkout, db-main, host-a, mail, mq, reports, vpn, web" in err


def test_a_desk_with_no_dependencies_still_lists_its_services(bare):
    lines = bare.ok("services").out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["mail", "vpn"]
    result = bare.ok("services", "vpn")
    assert result.out.startswith("vpn  Corporate VPN  team network  0 open incident(s)")
    assert "nothing depends on it and it depends on nothing" in result.err


def test_show_has_the_service_map_and_the_suggestion(cli):
    key = cli.new("db down", "--service", "db-main", "--impact", "low", "--urgency", "low")
    cli.new("api slow", "--service", "api", "--priority", "P3")
    text = cli.ok("show", key).out
    section = text.split("Service map: ", 1)[1].split("\n\n", 1)[0].splitlines()
    assert section == [
        "db-main (database), 1 open incident",
        "  impact suggested: high — 4 services depend on db-main: api, checkout, reports, web",
        "  depends on  host-a (host)",
        "  needed by   api (1 open), checkout, reports, web (via api)",
    ]
    ctx = cli.show(key)["service_context"]
    assert ctx["service"] == "db-main" and ctx["suggestion"]["level"] == "high" and ctx["changes"] == []
    assert [r["name"] for r in ctx["upstream"]] == ["host-a"]
    assert cli.show(key)["impact"] == "low"  # a suggestion: the impact stays
    lone = cli.new("vpn flaps", "--service", "vpn", "--priority", "P3")
    assert "Service map" not in cli.ok("show", lone).out
    assert cli.show(cli.new("nothing"))["service_context"] is None
