"""The service map, read from the desk's own directory: upstream and
downstream (direct and transitive, a diamond counted once, items among
services, retired ones left out), its tree, the impact an incident's
dependents suggest and why, and an incident's service context with its
neighbours' open incidents."""

from __future__ import annotations

import pytest

from conftest import TEST_CONFIG
from deskconsole.config import parse_config
from deskconsole.core.access.directory import apply_config
from deskconsole.core.access.service_map import ServiceMap, service_map
from deskconsole.core.desk import open_desk
from deskconsole.core.identity import Actor
from deskconsole.core.records import service_context as sc
from deskconsole.core.records import problems, tickets
from deskconsole.core.records.views import detail
from deskconsole.errors import NotFound

# web -> api -> {db-main, mq} -> host-a;  checkout -> {api, db-main} (a diamond);  reports -> db-main
MAP = """
[services.web]
name = "Web shop"
team = "ops"
depends_on = ["api"]

[services.api]
name = "Shop API"
team = "ops"
depends_on = ["db-main", "mq"]

[services.checkout]
name = "Checkout"
team = "ops"
depends_on = ["api", "db-main"]

[services.reports]
name = "Reports"
depends_on = ["db-main"]

[cis.db-main]
name = "Main database"
type = "database"
team = "ops"
depends_on = ["host-a"]

[cis.mq]
name = "Order queue"
type = "queue"
depends_on = ["host-a"]

[cis.host-a]
name = "Host A"
type = "host"
team = "network"
"""

ADA = Actor("ada", "Ada Admin", "admin", "ops")
AL = Actor("al", "Al Agent", "agent", "ops")


@pytest.fixture
def map_desk(db_url, clock):
    desk = open_desk(db_url, parse_config(TEST_CONFIG + MAP, "test.toml"), clock)
    yield desk
    desk.close()


def names(related):
    return [r.name for r in related]


def test_direct_and_transitive_both_ways(map_desk):
    m = service_map(map_desk)
    assert names(m.upstream("web", transitive=False)) == ["api"]
    assert [(r.name, r.depth, r.via) for r in m.upstream("web")] == [
        ("api", 1, None), ("db-main", 2, "api"), ("mq", 2, "api"), ("host-a", 3, "api")]
    assert names(m.downstream("db-main", transitive=False)) == ["api", "checkout", "reports"]
    assert names(m.downstream("db-main")) == ["api", "checkout", "reports", "web"]
    assert names(m.downstream("host-a")) == ["db-main", "mq", "api", "checkout", "reports", "web"]
    assert m.upstream("host-a") == [] and m.downstream("web") == []
    assert names(m.upstream("vpn")) == names(m.downstream("vpn")) == []


def test_a_diamond_counts_each_service_once_at_its_nearest(map_desk):
    m = service_map(map_desk)
    # checkout reaches db-main directly and through api
    up = m.upstream("checkout")
    assert [(r.name, r.depth) for r in up] == [("api", 1), ("db-main", 1), ("host-a", 2), ("mq", 2)]
    assert len(names(m.downstream("host-a"))) == len(set(names(m.downstream("host-a"))))


def test_items_carry_their_type_and_team(map_desk):
    m = service_map(map_desk)
    db = m.entry("db-main")
    assert (db.kind, db.team, db.title, db.is_item) == ("database", "ops", "Main database", True)
    assert (m.entry("mq").kind, m.entry("mq").team) == ("queue", None)
    assert {r.name: r.kind for r in m.upstream("api")} == {"db-main": "database", "mq": "queue", "host-a": "host"}
    assert m.entry("web").is_item is False


def test_the_tree_starts_at_what_nothing_depends_on(map_desk):
    m = service_map(map_desk)
    assert m.roots() == ["checkout", "mail", "reports", "vpn", "web"]

    def flat(nodes, depth=0):
        for n in nodes:
            yield ("  " * depth + n.entry.name + (" (seen)" if n.seen else ""))
            yield from flat(n.children, depth + 1)

    assert list(flat(m.tree())) == [
        "checkout", "  api", "    db-main", "      host-a", "    mq", "      host-a", "  db-main (seen)",
        "mail", "reports", "  db-main (seen)", "vpn", "web", "  api (seen)",
    ]


def test_retired_services_leave_the_map(map_desk):
    """The map is the desk's directory, not the config: a service taken out
    of the config and synced by an admin is gone; a passed config changes nothing."""
    without = (TEST_CONFIG + MAP).replace('[services.reports]\nname = "Reports"\ndepends_on = ["db-main"]\n', "")
    map_desk.config = parse_config(without.replace('name = "Web shop"', 'name = "Web"'), "other.toml")
    assert names(service_map(map_desk).downstream("db-main")) == ["api", "checkout", "reports", "web"]
    assert service_map(map_desk).entry("web").title == "Web shop"
    apply_config(map_desk, ADA)
    m = service_map(map_desk)
    assert "reports" not in m and m.entry("web").title == "Web"
    assert names(m.downstream("db-main")) == ["api", "checkout", "web"]
    with pytest.raises(NotFound, match="no service or configuration item called 'reports'.*known: api, checkout"):
        m.entry("reports")


def test_rows_naming_a_retired_dependency_skip_it():
    rows = [{"name": "a", "title": "A", "kind": "service", "team": 1, "active": True, "depends_on": "b c"},
            {"name": "b", "title": "B", "kind": "host", "team": None, "active": False, "depends_on": ""},
            {"name": "c", "title": "C", "kind": "database", "team": None, "active": True, "depends_on": ""}]
    m = ServiceMap.from_rows(rows, {1: "ops"})
    assert m.entry("a").depends_on == ("c",) and m.entry("a").team == "ops"
    assert "b" not in m and m.roots() == ["a"]


def test_the_impact_suggestion_and_its_reason(map_desk):
    m = service_map(map_desk)
    s = m.suggest_impact("db-main")
    assert s.level == "high" and s.dependents == ("api", "checkout", "reports", "web")
    assert s.reason == "4 services depend on db-main: api, checkout, reports, web"
    assert s.text == "suggested: high — 4 services depend on db-main: api, checkout, reports, web"
    host = m.suggest_impact("host-a")
    assert host.reason == "4 services and 2 items depend on host-a: db-main, mq, api, checkout, reports, …"
    one = m.suggest_impact("api", "low")  # web and checkout: 2 -> medium
    assert (one.level, one.reason) == ("medium", "2 services depend on api: checkout, web")
    assert m.suggest_impact("api", "medium") is None and m.suggest_impact("api", "high") is None
    assert m.suggest_impact("db-main", "medium").level == "high"
    assert m.suggest_impact("db-main", "high") is None
    assert m.suggest_impact("web") is None  # nothing depends on it
    assert m.suggest_impact("no-such") is None
    lone = ServiceMap.from_rows([{"name": "x", "title": "X", "depends_on": "y"}, {"name": "y", "title": "Y"}])
    assert lone.suggest_impact("y").reason == "1 service depends on y: x"


def test_the_context_counts_open_incidents_per_neighbour(map_desk):
    for service, n in (("api", 2), ("db-main", 1), ("web", 3), ("host-a", 1), ("vpn", 4)):
        for i in range(n):
            tickets.create(map_desk, AL, title=f"{service} {i}", service=service, priority="P3")
    closed = tickets.create(map_desk, AL, title="api, long ago", service="api", priority="P3").key
    tickets.resolve(map_desk, AL, closed, "fixed", "restarted")
    problems.create(map_desk, AL, title="api keeps failing", service="api")  # a problem is no open incident
    ctx = sc.service_context(map_desk, "INC-1")  # on api
    assert (ctx.key, ctx.service, ctx.kind, ctx.team, ctx.open_incidents) == ("INC-1", "api", "service", "ops", 2)
    assert [(c.name, c.open_incidents) for c in ctx.upstream] == [("db-main", 1), ("mq", 0), ("host-a", 1)]
    assert [(c.name, c.open_incidents, c.depth) for c in ctx.downstream] == [("checkout", 0, 1), ("web", 3, 1)]
    assert ctx.suggestion.level == "medium" and ctx.names == ["api", "db-main", "mq", "host-a", "checkout", "web"]
    assert ctx.changes == [] and not ctx.empty
    now = map_desk.now()
    assert ctx.window == (now - sc.CHANGES_BEFORE, now + sc.CHANGES_AFTER)
    assert sc.open_counts(map_desk, ["web", "vpn", "mail", "nope"]) == {"web": 3, "vpn": 4, "mail": 0, "nope": 0}


def test_the_context_reads_the_counts_in_one_query(map_desk):
    tickets.create(map_desk, AL, title="db", service="db-main", priority="P3")
    queries = []
    db = map_desk.db
    execute = db.execute_sql

    def counting(sql, *args, **kwargs):
        if "COUNT(" in sql.upper() and "GROUP BY" in sql.upper():
            queries.append(sql)
        return execute(sql, *args, **kwargs)

    db.execute_sql = counting
    try:
        ctx = sc.service_context(map_desk, "INC-1")
    finally:
        db.execute_sql = execute
    assert len(ctx.names) == 6 and len(queries) == 1, queries


def test_the_suggestion_is_an_incidents_and_only_when_higher(map_desk):
    low = tickets.create(map_desk, AL, title="db slow", service="db-main", impact="low", urgency="low").key
    high = tickets.create(map_desk, AL, title="db down", service="db-main", impact="high", urgency="high").key
    none = tickets.create(map_desk, AL, title="db?", service="db-main", priority="P3").key
    assert sc.service_context(map_desk, low).suggestion.level == "high"
    assert sc.service_context(map_desk, high).suggestion is None
    assert sc.service_context(map_desk, none).suggestion.reason.startswith("4 services depend on db-main")
    t = detail(map_desk, low)  # a suggestion only: the ticket is as it was
    assert (t.impact, t.priority, t.version) == ("low", "P4", 1)
    problems.create(map_desk, AL, title="db keeps failing", service="db-main")
    prb = sc.service_context(map_desk, "PRB-1")
    assert prb.suggestion is None and names(prb.downstream) == ["api", "checkout", "reports", "web"]


def test_no_context_without_a_service(map_desk):
    tickets.create(map_desk, AL, title="no service", priority="P3")
    tickets.create(map_desk, AL, title="lone", service="vpn", priority="P3")
    assert sc.service_context(map_desk, "INC-1") is None
    ctx = sc.service_context(map_desk, "INC-2")
    assert ctx.service == "vpn" and ctx.empty
    with pytest.raises(NotFound):
        sc.service_context(map_desk, "INC-99")


def test_the_demo_desk_has_a_map_with_items(db_url, clock, tmp_path):
    from deskconsole.core.archive.demo import demo_config_text

    desk = open_desk(db_url, parse_config(demo_config_text("ada", db_url), tmp_path / "demo.toml"), clock)
    try:
        m = service_map(desk)
    finally:
        desk.close()
    kinds = {e.kind for e in m.entries.values()}
    assert {"service", "database", "queue", "host"} <= kinds
    assert "checkout" in m.roots() and "k8s" not in m.roots()
    assert m.suggest_impact("k8s").level == "high" and m.suggest_impact("payments-api").level == "medium"
    assert names(m.upstream("checkout", transitive=False)) == ["k8s", "payments-api", "sso"]


def test_the_starters_example_map_parses_once_uncommented():
    from deskconsole.starter import starter_config

    text = starter_config("zed", "Zed", None)
    example = text.split("# [services.checkout]", 1)[1].split("\n\n# Priority", 1)[0]
    lines = [line[2:] for line in ("# [services.checkout]" + example).splitlines() if line.startswith("# ")]
    lines = [line for line in lines if not line.startswith("Configuration items")]
    config = parse_config("[teams.ops]\n" + "\n".join(lines), "starter.toml")
    assert config.services["checkout"].depends_on == ("payments-db",)
    assert config.services["payments-db"].kind == "database"
