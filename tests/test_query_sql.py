"""The query language against a real database: SQLite always, PostgreSQL when reachable."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deskconsole.config import parse_config
from deskconsole.core.desk import open_desk
from deskconsole.core.search.query import QueryError, parse, select_tickets, to_peewee
from deskconsole.models import Ticket
UTC = timezone.utc
NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")

CONFIG = """
[desk]
name = "Test desk"

[teams.ops]
name = "Operations"
[teams.net]
name = "Network"
[teams.dba]
name = "Databases"

[agents.alice]
name = "Alice Adams"
role = "lead"
team = "ops"
[agents.bob]
name = "Bob Brown"
role = "agent"
team = "net"
[agents.Carol]
name = "Carol Chu"
role = "agent"
team = "ops"

[categories]
hardware = "Hardware"
network = "Network"
software = "Software"

[services.mail]
name = "Mail"
team = "ops"
[services.vpn]
name = "VPN"
team = "net"
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# id, title, description, status, prio, team, category, service, assignee,
# requester name, requester e-mail, created, updated, acked, merged into
TICKETS = [
    (1, "Disk full on db01", "The /var partition is at 100% usage", "new", "P1", "ops", "hardware", "mail", None,
     "Ann Lee", "ann@example.com", NOW - timedelta(hours=2), NOW - timedelta(hours=1), False, None),
    (2, "VPN drops every hour", "Users on the VPN lose their connection", "assigned", "P2", "net", "network", "vpn", "bob",
     "Bo Chen", "BO@corp.example", at("2026-11-01T09:00"), NOW - timedelta(days=3), True, None),
    (3, "Printer jams on floor 2", "paper everywhere", "in_progress", "P3", "ops", "hardware", None, "alice",
     None, None, at("2026-11-01T23:30"), NOW - timedelta(days=10), True, None),
    (4, "Mail queue stuck", 'the "quoted" queue', "pending", "P2", "ops", None, "mail", "alice",
     None, "carol@example.com", at("2026-11-14T10:00"), at("2026-11-14T11:00"), True, None),
    (5, "Password reset for Dan", "", "resolved", "P4", None, None, None, "bob",
     "Dan Østergaard", None, at("2026-10-01T08:00"), at("2026-11-14T09:00"), True, None),
    (6, "'; DROP TABLE ticket; --", "sql injection attempt", "closed", "P3", "net", None, None, None,
     "Mallory", None, at("2026-10-15T12:00"), at("2026-10-16T12:00"), False, None),
    (7, "Discount 100% off", "", "cancelled", "P4", "ops", None, None, None,
     None, None, at("2026-10-20T12:00"), at("2026-10-21T12:00"), False, 1),
    (8, "1000 widgets ordered", "", "new", "P4", "net", None, None, None,
     None, None, at("2026-11-10T12:00"), at("2026-11-10T12:00"), False, None),
    (9, "file_name.txt missing", "", "new", "P3", None, None, None, None,
     None, None, at("2026-11-11T08:00"), at("2026-11-11T08:00"), False, None),
    (10, "filexname broken", "See INC-1 for details", "new", "P3", "ops", None, None, None,
     None, None, at("2026-11-11T08:00"), at("2026-11-11T08:00"), False, None),
    (11, "Ümlaut Straße problem", "emoji 😀 and RTL مرحبا", "assigned", "P2", None, None, None, "Carol",
     None, None, at("2026-11-15T11:30"), at("2026-11-15T11:30"), False, None),
]
ALL = [t[0] for t in TICKETS]
# The SLA summary the engine keeps on the row: (sla, sla_due); the rest have no clocks.
# 8 is stored "ok" but its deadline has passed: as of NOW it is breached.
SLA = {
    1: ("breached", NOW - timedelta(minutes=30)),
    2: ("warning", NOW + timedelta(hours=1)),
    3: ("ok", NOW + timedelta(hours=3)),
    4: ("paused", None),
    5: ("met", None),
    8: ("ok", NOW - timedelta(minutes=5)),
    11: ("warning", NOW + timedelta(hours=1)),
}
# soonest deadline first (none last), then priority, then oldest first, then id
DEFAULT_ORDER = [1, 8, 2, 11, 3, 4, 6, 9, 10, 5, 7]


def _seed(desk) -> None:
    d = desk.directory
    rows = []
    for (tid, title, desc, status, prio, team, cat, svc, assignee, rname, remail, created, updated, acked, merged) in TICKETS:
        rows.append(dict(
            id=tid, title=title, description=desc, status=status, priority=prio,
            team=d.team_ids[team] if team else None,
            category=d.category_ids[cat] if cat else None,
            service=d.service_ids[svc] if svc else None,
            assignee=d.agent_ids[assignee] if assignee else None,
            requester_name=rname, requester_email=remail,
            created_by="test", created_at=created, updated_at=updated,
            acknowledged_at=updated if acked else None, acknowledged_by="alice" if acked else None,
            merged_into=merged, reopen_count=0, source="cli", version=1,
            sla=SLA.get(tid, (None, None))[0], sla_due=SLA.get(tid, (None, None))[1],
        ))
    with desk.db.atomic():
        for row in rows:  # one by one: ticket 7 points at ticket 1
            Ticket.insert(**row).execute()


@pytest.fixture(scope="module", params=[pytest.param("sqlite", marks=pytest.mark.sqlite),
                                        pytest.param("postgresql", marks=pytest.mark.postgresql)])
def seeded_desk(request, tmp_path_factory):
    """One seeded desk per backend for the whole module (the queries only read it)."""
    config = parse_config(CONFIG)
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('query')}/desk.db"
    else:
        pg = request.getfixturevalue("pg_database")
        pg.empty()
        url = pg.url
    desk = open_desk(url, config)
    _seed(desk)
    yield desk
    desk.close()


@pytest.fixture
def desk(seeded_desk):
    # both backends' desks are open for the whole module, side by side
    seeded_desk.db.connect(reuse_if_open=True)
    return seeded_desk


def ids(desk, text: str, *, actor: str = "alice", tz=UTC) -> list[int]:
    return [t.id for t in select_tickets(desk, text, actor_login=actor, now=NOW, tz=tz)]


def same(desk, text: str, expected: list[int], **kw) -> None:
    """Exactly these tickets (in the default order, as a set check too)."""
    got = ids(desk, text, **kw)
    assert sorted(got) == sorted(expected), text
    assert got == [i for i in DEFAULT_ORDER if i in expected] or "sort:" in text, text


# --------------------------------------------------------------- fields


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", ALL),
        ("status:new", [1, 8, 9, 10]),
        ("status:NEW,assigned", [1, 2, 8, 9, 10, 11]),
        ("status:in-progress", [3]),
        ("status:in_progress,pending", [3, 4]),
        ("-status:new", [2, 3, 4, 5, 6, 7, 11]),
        ("-status:new,assigned", [3, 4, 5, 6, 7]),
        ("is:open", [1, 2, 3, 4, 8, 9, 10, 11]),
        ("is:closed", [5, 6, 7]),
        ("-is:open", [5, 6, 7]),
        ("-is:closed", [1, 2, 3, 4, 8, 9, 10, 11]),
        ("is:open,closed", ALL),
        ("is:assigned", [2, 3, 4, 5, 11]),
        ("is:unassigned", [1, 6, 7, 8, 9, 10]),
        ("is:acked", [2, 3, 4, 5]),
        ("is:unacked", [1, 6, 7, 8, 9, 10, 11]),
        ("-is:acked", [1, 6, 7, 8, 9, 10, 11]),
        ("is:merged", [7]),
        ("prio:P1", [1]),
        ("prio:p1,P2", [1, 2, 4, 11]),
        ("prio:<=P2", [1, 2, 4, 11]),
        ("priority:<P3", [1, 2, 4, 11]),
        ("prio:>P3", [5, 7, 8]),
        ("prio:>=P3", [3, 5, 6, 7, 8, 9, 10]),
        ("prio:P2..P3", [2, 3, 4, 6, 9, 10, 11]),
        ("prio:P1,>P3", [1, 5, 7, 8]),
        ("-prio:P4", [1, 2, 3, 4, 6, 9, 10, 11]),
        ("team:ops", [1, 3, 4, 7, 10]),
        ("team:OPS", [1, 3, 4, 7, 10]),
        ("team:net", [2, 6, 8]),
        ("team:ops,net", [1, 2, 3, 4, 6, 7, 8, 10]),
        ("team:dba", []),
        ("team:none", [5, 9, 11]),
        ("team:ops,none", [1, 3, 4, 5, 7, 9, 10, 11]),
        ("-team:ops", [2, 5, 6, 8, 9, 11]),  # no team is "not ops" too
        ("-team:none", [1, 2, 3, 4, 6, 7, 8, 10]),
        ("-team:ops,none", [2, 6, 8]),
        ("category:hardware", [1, 3]),
        ("category:network,software", [2]),
        ("category:none", [4, 5, 6, 7, 8, 9, 10, 11]),
        ("-category:hardware", [2, 4, 5, 6, 7, 8, 9, 10, 11]),
        ("service:mail", [1, 4]),
        ("service:vpn", [2]),
        ("-service:mail", [2, 3, 5, 6, 7, 8, 9, 10, 11]),
        ("assignee:me", [3, 4]),
        ("assignee:alice", [3, 4]),
        ("assignee:@bob", [2, 5]),
        ("assignee:bob,alice", [2, 3, 4, 5]),
        ("assignee:Carol", [11]),
        ("assignee:carol", [11]),  # logins match case-insensitively when unambiguous
        ("assignee:none", [1, 6, 7, 8, 9, 10]),
        ("assignee:none,me", [1, 3, 4, 6, 7, 8, 9, 10]),
        ("-assignee:alice", [1, 2, 5, 6, 7, 8, 9, 10, 11]),
        ("-assignee:none", [2, 3, 4, 5, 11]),
        ("requester:ann", [1]),
        ("requester:ANN", [1]),
        ('requester:"Ann Lee"', [1]),
        ("requester:example.com", [1, 4]),
        ("requester:bo@corp", [2]),  # stored as BO@corp.example
        ("requester:Østergaard", [5]),
        ("requester:ann,mallory", [1, 6]),
        ("-requester:example", [3, 5, 6, 7, 8, 9, 10, 11]),  # no requester at all is "not example" too
        ("key:INC-3,inc-5", [3, 5]),
        ("key:#7", [7]),
        ("key:INC-999", []),
        ("-key:INC-1", [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
        ('title:"disk full"', [1]),
        ("title:DISK", [1]),
        ("title:vpn,printer", [2, 3]),
        ("-title:E", [1, 7]),  # the only titles without an e
        ("desc:partition", [1]),
        ("description:VPN", [2]),
        ('desc:"\\"quoted\\""', [4]),
        ("is:open prio:P1,P2 team:ops", [1, 4]),
        ("is:open -assignee:none team:ops,net", [2, 3, 4]),
        ("sla:breached", [1, 8]),  # 8: its deadline passed after the last sweep
        ("sla:breach", [1, 8]),  # as the ls table writes it
        ("sla:warning", [2, 11]),
        ("sla:WARN", [2, 11]),
        ("sla:ok", [3]),  # not 8: overdue
        ("sla:paused", [4]),
        ("sla:met", [5]),
        ("sla:none", [6, 7, 9, 10]),
        ("sla:breached,warning", [1, 2, 8, 11]),
        ("sla:ok,none", [3, 6, 7, 9, 10]),
        ("-sla:none", [1, 2, 3, 4, 5, 8, 11]),
        ("-sla:breached", [2, 3, 4, 5, 6, 7, 9, 10, 11]),  # no clocks is "not breached" too
        ("-sla:ok", [1, 2, 4, 5, 6, 7, 8, 9, 10, 11]),
        ("-sla:ok,none", [1, 2, 4, 5, 8, 11]),
        ("is:open sla:ok,warning", [2, 3, 11]),
        ("sla:met,paused,none -is:open", [5, 6, 7]),
    ],
)
def test_field_selects_exactly(desk, text, expected):
    same(desk, text, expected)


# --------------------------------------------------------------- free text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("disk", [1]),
        ("dIsK FULL", [1]),
        ('"disk full"', [1]),
        ('"full disk"', []),
        ("dis", []),  # whole words: "Discount" and "Disk" are not "dis"
        ("dis*", [1, 7]),  # a prefix
        ("-disk", [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
        ("-disk -vpn", [3, 4, 5, 6, 7, 8, 9, 10, 11]),
        ("INC-1", [1, 10]),  # the ticket itself, and the one whose description mentions it
        ("inc-3", [3]),
        ("#4", [4]),
        ("INC-99999999999", []),
        ("partition", [1]),  # description
        ("queue quoted", [4]),
        # words are words: punctuation separates them, and a term without a
        # letter or digit looks nothing up (it is left out)
        ("100%", [1, 7]),  # the word 100, not "1000 widgets"
        ("%", ALL),
        ("file_name.txt", [9]),  # not "filexname" (PostgreSQL reads file_name.txt as one word, SQLite as three)
        ("_", ALL),
        ('"100% off"', [7]),
        ("\\", ALL),
        # SQL-looking text is just text
        ('"\'; DROP TABLE ticket; --"', [6]),
        ("'; DROP TABLE ticket; --", [6]),
        ("';", ALL),
        ('"\' OR 1=1 --"', []),
        ("Robert'); DROP TABLE ticket;--", []),
        # unicode
        ("Ümlaut", [11]),
        ("ümlaut", [11]),
        ("Straße", [11]),
        ("😀", ALL),  # a symbol, not a word
        ("مرحبا", [11]),
        ("zero\u200bwidth", []),
    ],
)
def test_text_search(desk, text, expected):
    # as a set: the order is by relevance (see tests/test_fts.py)
    assert sorted(ids(desk, text)) == sorted(expected), text
    assert Ticket.select().count() == len(TICKETS)  # the table is still there


def test_unicode_case_folding_on_postgresql(desk):
    if desk.is_sqlite:
        pytest.skip("SQLite's LIKE folds ASCII letters only (documented limitation)")
    same(desk, "ümlaut", [11])
    same(desk, "STRASSE", [])  # ILIKE folds case, it does not expand ß
    same(desk, "requester:østergaard", [5])


def test_hostile_text_leaves_the_database_alone(desk):
    for text in ["'; DROP TABLE ticket; --", '"; DELETE FROM ticket; --"', "title:\"') OR ('1'='1\"", "x' UNION SELECT 1 --"]:
        ids(desk, text)
    assert "ticket" in desk.db.get_tables()
    assert Ticket.select().count() == len(TICKETS)


# --------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "text, expected, tz",
    [
        ("created:>-24h", [1, 11], UTC),
        ("created:-24h", [1, 11], UTC),
        ("created:<-30d", [5, 6], UTC),
        ("created:>-1w", [1, 4, 8, 9, 10, 11], UTC),
        ("created:>-90m", [11], UTC),
        ("created:>-3600s", [11], UTC),
        ("created:2026-11-01", [2, 3], UTC),
        ("created:2026-11-01", [2], BERLIN),  # 23:30 UTC is already 2 November in Berlin
        ("created:2026-11-02", [3], BERLIN),
        ("created:>=2026-11-14", [1, 4, 11], UTC),
        ("created:<2026-10-16", [5, 6], UTC),
        ("created:2026-11-01..2026-11-11", [2, 3, 8, 9, 10], UTC),
        ("created:2026-11-01..", [1, 2, 3, 4, 8, 9, 10, 11], UTC),
        ("created:..2026-10-15", [5, 6], UTC),
        ("created:>2026-11-01", [1, 4, 8, 9, 10, 11], UTC),
        ("created:<=2026-11-01", [2, 3, 5, 6, 7], UTC),
        ("created:>2026-11-01T09:00", [1, 3, 4, 8, 9, 10, 11], UTC),  # 09:00:00 itself is not later
        ("created:>=2026-11-01T09:00", [1, 2, 3, 4, 8, 9, 10, 11], UTC),
        ("created:<2026-11-01T09:00", [5, 6, 7], UTC),
        ("created:<=2026-11-01T09:00", [2, 5, 6, 7], UTC),
        ("created:2026-11-01T09:00", [2], UTC),
        ("created:2026-11-01T10:00", [2], BERLIN),
        ("created:>2026-11-01T09:00Z", [1, 3, 4, 8, 9, 10, 11], BERLIN),
        ("created:2026-11-01T00:00..2026-11-01T23:30", [2, 3], UTC),
        ("created:today", [1, 11], UTC),
        ("created:yesterday", [4], UTC),
        ("created:today,yesterday", [1, 4, 11], UTC),
        ("created:-7d..-1d", [4, 8, 9, 10], UTC),
        ("-created:>-24h", [2, 3, 4, 5, 6, 7, 8, 9, 10], UTC),
        ("updated:<-7d", [3, 6, 7], UTC),
        ("updated:>-24h", [1, 11], UTC),
        ("updated:2026-11-14", [4, 5], UTC),
        ("updated:>-24h created:>-24h", [1, 11], UTC),
    ],
)
def test_dates_select_exactly(desk, text, expected, tz):
    same(desk, text, expected, tz=tz)


# --------------------------------------------------------------- order


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", DEFAULT_ORDER),
        ("sort:created", [5, 6, 7, 2, 3, 8, 9, 10, 4, 1, 11]),
        ("sort:-created", [11, 1, 4, 9, 10, 8, 3, 2, 7, 6, 5]),  # ties stay in id order
        ("sort:updated", [6, 7, 3, 8, 9, 10, 2, 5, 4, 1, 11]),
        ("sort:-prio sort:key", [5, 7, 8, 3, 6, 9, 10, 2, 4, 11, 1]),
        ("sort:-prio,-key", [8, 7, 5, 10, 9, 6, 3, 11, 4, 2, 1]),
        ("sort:-key", [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]),
        ("sort:status", [1, 8, 9, 10, 2, 11, 3, 4, 5, 6, 7]),
        ("sort:-status", [7, 6, 5, 4, 3, 2, 11, 1, 8, 9, 10]),
        ("sort:status sort:-prio", [8, 9, 10, 1, 2, 11, 3, 4, 5, 6, 7]),
        ("key:INC-1,INC-2,INC-3,INC-4,INC-7 sort:title", [7, 1, 4, 3, 2]),
        ("key:INC-1,INC-2,INC-3,INC-4,INC-7 sort:-title", [2, 3, 4, 1, 7]),
        ("is:open sort:created", [2, 3, 8, 9, 10, 4, 1, 11]),
        ("prio:P3", [3, 6, 9, 10]),  # default: soonest deadline (none last), priority, oldest first, id
        ("prio:P2", [2, 11, 4]),  # same deadline: oldest first; no deadline last
        ("sort:due", [1, 8, 2, 11, 3, 4, 5, 6, 7, 9, 10]),  # no deadline last, then id
        ("sort:sla_due", [1, 8, 2, 11, 3, 4, 5, 6, 7, 9, 10]),
        ("sort:-due", [3, 2, 11, 8, 1, 4, 5, 6, 7, 9, 10]),  # latest first, no deadline still last
        ("sort:due,-created", [1, 8, 11, 2, 3, 4, 9, 10, 7, 6, 5]),
        ("sort:prio sort:due", [1, 2, 11, 4, 3, 6, 9, 10, 8, 5, 7]),
        ("is:open sort:due", [1, 8, 2, 11, 3, 4, 9, 10]),
    ],
)
def test_order(desk, text, expected):
    assert ids(desk, text) == expected


def test_order_always_ends_with_id():
    where, order = to_peewee(parse("sort:created"), _NoDesk(), actor_login="alice", now=NOW)
    assert where is None
    assert order[-1].node is Ticket.id
    _, order = to_peewee(parse("sort:-key"), _NoDesk(), actor_login="alice", now=NOW)
    assert len(order) == 1


class _NoDesk:
    """For queries that need no names: to_peewee must not touch the database."""

    class directory:  # noqa: N801
        team_ids = category_ids = service_ids = agent_ids = {}


# --------------------------------------------------------------- errors that need the directory


@pytest.mark.parametrize(
    "text, span, fragment",
    [
        ("team:opps", (5, 9), "no team called 'opps'; did you mean 'ops'? known: dba, net, ops"),
        ("is:open team:ops,nett", (17, 21), "did you mean 'net'?"),
        ("category:hardwear", (9, 17), "known: hardware, network, software"),
        ("service:email", (8, 13), "did you mean 'mail'?"),
        ("assignee:alicia", (9, 15), "no agent called 'alicia'"),
        ("assignee:\"'; DROP TABLE agent; --\"", (9, 34), "no agent called"),
    ],
)
def test_unknown_names(desk, text, span, fragment):
    with pytest.raises(QueryError) as info:
        ids(desk, text)
    assert (info.value.start, info.value.end) == span
    assert fragment in str(info.value)
    assert info.value.render().splitlines()[-1] == "  " + " " * span[0] + "^" * (span[1] - span[0])


def test_assignee_me_for_someone_who_is_not_an_agent(desk):
    with pytest.raises(QueryError) as info:
        ids(desk, "is:open assignee:me", actor="visitor")
    assert (info.value.start, info.value.end) == (17, 19)
    assert "'visitor'" in str(info.value) and "not an agent" in str(info.value)
    assert ids(desk, "assignee:me", actor="bob") == [2, 5]


def test_now_must_be_aware(desk):
    with pytest.raises(ValueError):
        to_peewee(parse("created:>-1d"), desk, actor_login="alice", now=datetime(2026, 11, 15))


def test_select_is_a_model_select_that_composes(desk):
    q = select_tickets(desk, "is:open", actor_login="alice", now=NOW)
    assert [t.key for t in q.limit(2)] == ["INC-1", "INC-8"]
    assert q.count() == 8


# --------------------------------------------------------------- index use


def _plan(desk, text: str, query_plan) -> list[str]:
    sql, params = select_tickets(desk, text, actor_login="alice", now=NOW).sql()
    return query_plan(desk.db, sql, params)


@pytest.mark.parametrize(
    "text, index",
    [
        ("is:open prio:P1,P2 team:ops", "ticket_team_id_status_priority_created_at"),
        ("is:open prio:P1", "ticket_"),
        ("assignee:me is:open", "ticket_assignee_id"),
        ("created:>-24h", "ticket_created_at"),
        ("updated:2026-11-14", "ticket_updated_at"),
        ("key:INC-3,INC-5", "PRIMARY KEY"),
        ("sort:due", "ticket_sla_due"),
        ("", "ticket_sla_due"),  # the default order starts with the deadline
    ],
)
def test_the_plan_uses_an_index(desk, text, index, query_plan):
    plan = _plan(desk, text, query_plan)
    if not desk.is_sqlite:
        # PostgreSQL, table scans priced out: an index answers the query (which
        # one, for eleven rows, is the planner's own cost call)
        assert any("Index" in p and " on ticket" in p for p in plan), plan
        assert not any("Seq Scan on ticket" in p for p in plan), plan
        return
    scans = [p for p in plan if re.match(r"(SCAN|SEARCH) (ticket|t1)\b", p)]  # peewee aliases ticket as t1
    assert scans, plan
    assert all(("USING INDEX" in p or "USING COVERING INDEX" in p or "USING INTEGER PRIMARY KEY" in p) for p in scans), plan
    assert not any(re.fullmatch(r"SCAN (ticket|t1)", p.strip()) for p in plan), plan
    assert any(index in p for p in scans), plan


# --------------------------------------------------------------- anything typed


_WORDS = st.sampled_from(
    ["status:", "new", "prio:", "<=P2", "team:", "ops", "none", "assignee:", "me", "is:", "open", "created:",
     ">-24h", "2026-11-01", "..", "sort:", "-created", "title:", "requester:", "key:", "INC-1", "-", ",", '"',
     " ", "%", "_", "'", ";", "\\", "😀", "ß", "\u202e", "\u200b", "DROP", "--"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=60), st.lists(_WORDS, max_size=10).map("".join)))
def test_any_text_runs_or_raises_query_error(desk, text):
    try:
        rows = ids(desk, text)
    except QueryError as err:
        assert 0 <= err.start <= err.end <= len(text)
    else:
        assert set(rows) <= set(ALL)
        assert len(rows) == len(set(rows))


def test_long_queries_stay_within_database_limits(desk):
    many_words = " ".join(f"w{i}" for i in range(400))  # 400 ANDed terms, ~2000 chars
    assert len(many_words) <= 2000
    assert ids(desk, many_words) == []
    many_keys = "key:" + ",".join(str(i) for i in range(1, 400))
    assert sorted(ids(desk, many_keys)) == ALL
    many_negations = " ".join("-zz" for _ in range(450))
    assert ids(desk, many_negations) == DEFAULT_ORDER


# --------------------------------------------------------------- sort:due and the ticket_sla_due index (SQLite's planner)


def test_sort_due_walks_the_sla_due_index_with_nulls_last(tmp_path):
    """``is:open sort:due`` with a LIMIT reads the first entries of
    ticket_sla_due instead of sorting every open ticket.

    The ORDER BY is ``sla_due ASC NULLS LAST``: SQLite (3.30+) walks the
    index's non-NULL part in order and then its NULLs, so no sort is needed;
    ``sla_due IS NULL, sla_due`` would always sort. Which index the planner
    takes is a cost decision: with statistics (ANALYZE, or ``PRAGMA
    optimize``) it sees that ``status IN (open...)`` matches many rows and
    takes ticket_sla_due, as here. Without statistics SQLite guesses every
    IN on an indexed column is selective, searches
    ticket_status_priority_created_at and sorts the open tickets — the right
    call on a desk whose tickets mostly have no deadline (no SLA policies),
    where walking the index would visit the whole NULL part.
    """
    desk = open_desk(f"sqlite:///{tmp_path}/plan.db", parse_config(CONFIG))
    try:
        rows = []
        for i in range(1, 2001):
            is_open = i % 10 == 0  # 200 open tickets, 180 of them with a deadline
            status = ("new", "in_progress", "assigned", "pending")[i // 10 % 4] if is_open else ("resolved", "closed")[i % 2]
            due = NOW + timedelta(minutes=(i * 37) % 5000 - 100) if is_open and status != "pending" else None
            rows.append(dict(
                id=i, title=f"t{i}", description="", status=status, priority=f"P{i % 4 + 1}", created_by="test",
                created_at=NOW - timedelta(minutes=i), updated_at=NOW, version=1, source="cli", reopen_count=0,
                sla=("ok" if due else None), sla_due=due,
            ))
        with desk.db.atomic():
            for k in range(0, len(rows), 200):
                Ticket.insert_many(rows[k:k + 200]).execute()
        desk.db.execute_sql("ANALYZE")
        query = select_tickets(desk, "is:open sort:due", actor_login="alice", now=NOW).limit(50)
        sql, params = query.sql()
        assert '"sla_due" ASC NULLS LAST' in sql
        plan = [row[-1] for row in desk.db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()]
        # no TEMP B-TREE: nothing sorted; the records of other kinds are left out by a list of their ids,
        # read once from their small partial index
        assert plan == ["SCAN t1 USING INDEX ticket_sla_due", "LIST SUBQUERY 1",
                        "SCAN t1 USING COVERING INDEX ticket_kind_number"], plan

        opened = [r for r in rows if r["status"] not in ("resolved", "closed")]
        expected = sorted((r for r in opened if r["sla_due"]), key=lambda r: (r["sla_due"], r["id"]))
        expected += sorted((r for r in opened if not r["sla_due"]), key=lambda r: r["id"])
        all_open = select_tickets(desk, "is:open sort:due", actor_login="alice", now=NOW)
        assert [t.id for t in all_open] == [r["id"] for r in expected]  # no deadline: last
        assert [t.id for t in query] == [r["id"] for r in expected[:50]]
    finally:
        desk.close()


def test_after_a_bulk_load_the_open_queue_walks_the_deadline_index(tmp_path, query_plan):
    """With the statistics a big import leaves behind, the console's default
    view (is:open, soonest deadline first) reads the sla_due index in order
    instead of sorting every open ticket (which cost 0.3 s a page on 1M)."""
    from deskconsole.config import parse_config
    from deskconsole.core.archive import demo
    from deskconsole.core.search import queue as q
    from deskconsole.core.desk import open_desk

    url = f"sqlite:///{tmp_path / 'big.db'}"
    desk = open_desk(url, parse_config(demo.demo_config_text("ada", url)))
    try:
        demo.build(desk, 12_000)  # above the import size that refreshes the statistics
        assert desk.db.execute_sql("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'ticket'").fetchone()[0] > 0
        spec = q.QueueSpec(q.DEFAULT_FILTER, "ada")
        plan = _plan(desk, spec.text, query_plan)
        assert any("USING INDEX ticket_sla_due" in p for p in plan), plan
        assert not any(p.startswith("USE TEMP B-TREE FOR ORDER BY") for p in plan), plan
    finally:
        desk.close()
