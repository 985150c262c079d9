"""Problems on the record base: numbering per kind, the lifecycle and its
rights, known errors' workarounds on incidents, resolving a problem's
incidents, and incidents' reads that leave problems out."""

from __future__ import annotations

from dataclasses import replace

import pytest

from deskconsole.core.records import links, problems, tickets
from deskconsole.core.records.views import detail
from deskconsole.core.reports import board
from deskconsole.core.reports.report import build
from deskconsole.core.search.query import count_tickets, select_tickets
from deskconsole.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from deskconsole.models import AuditEvent, Link, Problem, ReportFact, Ticket


def _incident(desk, actor, title, **kw):
    return tickets.create(desk, actor, title=title, **kw).key


def _keys(desk, text, login="al"):
    return [t.key for t in select_tickets(desk, text, actor_login=login, now=desk.now())]


def test_a_problem_from_incidents_takes_their_fields_and_links_them(desk, actors):
    al = actors["al"]
    a = _incident(desk, al, "VPN drops every hour", service="vpn", priority="P3")
    b = _incident(desk, al, "VPN disconnects", service="vpn", priority="P2")
    made = problems.create(desk, al, incidents=[a, b.lower(), a])  # repeated and lower-case keys are the same
    assert made.key == "PRB-1"
    with desk.bound():
        row = Ticket.get(Ticket.number == 1)
        assert (row.kind, row.title, row.priority, row.status) == ("problem", "VPN drops every hour", "P2", "new")
        assert row.service_id == desk.directory.service("vpn")
        assert Problem.get_by_id(row.id).workaround == ""
        assert {(lk.source_id, lk.target_id, lk.kind) for lk in Link.select()} == {
            (int(a[4:]), row.id, "caused_by"), (int(b[4:]), row.id, "caused_by")}
        # each incident's audit trail says so
        said = [e.new for e in AuditEvent.select().where(AuditEvent.ticket == int(a[4:])) if e.field == "link"]
        assert said == [f"{a} caused_by PRB-1"]
    shown = detail(desk, "PRB-1")
    assert shown.key == "PRB-1" and shown.kind == "problem" and shown.problem.incidents == [a, b]
    assert detail(desk, a).problems == ["PRB-1"]


def test_numbers_run_per_kind_and_keys_name_one_kind(desk, actors):
    al = actors["al"]
    first = _incident(desk, al, "one")
    assert problems.create(desk, al, title="Disk fills up").key == "PRB-1"
    second = _incident(desk, al, "two")
    assert problems.create(desk, al, title="Cert expiry").key == "PRB-2"
    with desk.bound():
        prb1 = Ticket.get((Ticket.kind == "problem") & (Ticket.number == 1)).id
    assert (first, second) == ("INC-1", f"INC-{prb1 + 1}")  # an incident's number is its row's id
    with pytest.raises(NotFound, match=f"INC-{prb1} does not exist"):
        detail(desk, f"INC-{prb1}")  # that row is PRB-1, not an incident
    with pytest.raises(NotFound, match="PRB-9 does not exist"):
        detail(desk, "PRB-9")
    # the incident commands refuse a problem, with what to do instead
    with pytest.raises(ValidationError, match="PRB-1 is a problem"):
        tickets.take(desk, al, "PRB-1")
    with pytest.raises(ValidationError, match="PRB-1 is a problem"):
        tickets.resolve(desk, al, "PRB-1", "fixed")


def test_incident_reads_leave_problems_out_and_kind_finds_them(desk, actors, clock):
    al = actors["al"]
    inc = _incident(desk, al, "Mail queue stuck", service="mail")
    problems.create(desk, al, title="Mail queue stuck again", incidents=[inc])
    now = desk.now()
    assert _keys(desk, "") == [inc] and _keys(desk, "is:open") == [inc]
    assert _keys(desk, "kind:problem") == ["PRB-1"]
    assert sorted(_keys(desk, "kind:all")) == sorted([inc, "PRB-1"])
    assert sorted(_keys(desk, "kind:incident,problem")) == sorted([inc, "PRB-1"])
    assert _keys(desk, "key:PRB-1") == ["PRB-1"] and _keys(desk, f"key:{inc}") == [inc]
    assert _keys(desk, "-kind:problem kind:all") == [inc]
    assert _keys(desk, "kind:problem status:new") == ["PRB-1"]
    # the words of both are in the text index: a query of words alone counts incidents
    assert count_tickets(desk, "queue stuck", actor_login="al", now=now) == 1
    assert count_tickets(desk, "queue stuck kind:all", actor_login="al", now=now) == 2
    # the wallboard and the report count incidents only
    figures = board.figures(desk, "", "al", now)
    assert figures.open_total == 1
    for hourly in (True, False):
        report = build(desk, "al", "", now=now, hourly=hourly)
        assert report.total.created == 1 and report.total.backlog_total == 1
    with desk.bound():
        assert ReportFact.select().count() == 1


def test_the_lifecycle_and_known_error_needs_a_workaround(desk, actors):
    al = actors["al"]
    problems.create(desk, al, title="Certificates expire unnoticed")
    with pytest.raises(ValidationError, match="problem resolve"):  # resolving says what fixed it
        problems.set_state(desk, al, "PRB-1", "resolved")
    with pytest.raises(InvalidTransition, match="not a problem state"):
        problems.set_state(desk, al, "PRB-1", "in_progress")
    problems.set_state(desk, al, "PRB-1", "investigating")
    with pytest.raises(ValidationError, match="needs its workaround"):
        problems.set_state(desk, al, "PRB-1", "known_error")
    assert detail(desk, "PRB-1").status == "investigating"  # nothing written
    problems.update(desk, al, "PRB-1", root_cause="No expiry monitoring")
    out = problems.set_state(desk, al, "PRB-1", "known-error", workaround="Renew by hand: certbot renew")
    assert detail(desk, "PRB-1").status == "known_error" and out.version == 4
    assert detail(desk, "PRB-1").problem.known_error_at is not None
    with pytest.raises(ValidationError, match="workaround cannot be empty"):
        problems.update(desk, al, "PRB-1", workaround="")
    with pytest.raises(InvalidTransition, match="from known_error it can go to: investigating, resolved"):
        problems.set_state(desk, al, "PRB-1", "new")
    done, resolved = problems.resolve(desk, al, "PRB-1", "Monitoring added")
    assert resolved == [] and detail(desk, "PRB-1").status == "resolved"
    problems.set_state(desk, al, "PRB-1", "closed")
    with pytest.raises(InvalidTransition, match="closed"):
        problems.update(desk, al, "PRB-1", title="x")
    with pytest.raises(InvalidTransition, match="final"):
        problems.set_state(desk, al, "PRB-1", "investigating")
    with desk.bound():
        fields = [e.field for e in AuditEvent.select().where(AuditEvent.ticket == Ticket.get(Ticket.number == 1).id)]
    assert {"root_cause", "workaround", "status", "fix"} <= set(fields)


def test_rights(desk, actors):
    vic = actors["vic"]  # a viewer
    with pytest.raises(PermissionDenied):
        problems.create(desk, vic, title="x")
    problems.create(desk, actors["al"], title="Flapping link")
    for write in (lambda: problems.update(desk, vic, "PRB-1", root_cause="x"),
                  lambda: problems.set_state(desk, vic, "PRB-1", "investigating"),
                  lambda: problems.resolve(desk, vic, "PRB-1", "x")):
        with pytest.raises(PermissionDenied):
            write()
    assert detail(desk, "PRB-1").version == 1


def test_a_known_errors_workaround_shows_on_linked_and_matching_incidents(desk, actors):
    al = actors["al"]
    linked = _incident(desk, al, "VPN tunnel drops after rekey", service="vpn")
    problems.create(desk, al, title="VPN tunnel drops after rekey", incidents=[linked])
    assert detail(desk, linked).workarounds == []  # not a known error yet
    problems.set_state(desk, al, "PRB-1", "known_error", workaround="Set rekey margin to 5m")
    same = _incident(desk, al, "tunnel drops again on rekey", service="vpn")
    other_service = _incident(desk, al, "tunnel drops again on rekey", service="mail")
    other_words = _incident(desk, al, "VPN client will not install", service="vpn")
    got = detail(desk, linked).workarounds
    assert [(w.key, w.workaround, w.linked) for w in got] == [("PRB-1", "Set rekey margin to 5m", True)]
    assert [(w.key, w.linked) for w in detail(desk, same).workarounds] == [("PRB-1", False)]
    assert detail(desk, other_service).workarounds == [] and detail(desk, other_words).workarounds == []
    # a changed workaround shows at once
    problems.update(desk, al, "PRB-1", workaround="Set rekey margin to 10m")
    assert detail(desk, same).workarounds[0].workaround == "Set rekey margin to 10m"


def test_resolving_a_problem_resolves_its_open_incidents_in_one_go(desk, actors):
    al = actors["al"]
    a = _incident(desk, al, "Disk full on db1")
    b = _incident(desk, al, "Disk full on db2")
    c = _incident(desk, al, "Disk full on db3")
    tickets.resolve(desk, al, c, "fixed", "cleaned by hand")
    problems.create(desk, al, title="Logs fill the data disk", incidents=[a, b, c])
    out, resolved = problems.resolve(desk, al, "PRB-1", "Log rotation fixed", incidents=True)
    assert resolved == [a, b]
    for key in (a, b):
        shown = detail(desk, key)
        assert shown.status == "resolved" and shown.resolution_note == "Resolved with PRB-1: Log rotation fixed"
    assert detail(desk, c).resolution_note == "cleaned by hand"
    assert detail(desk, "PRB-1").problem.fix == "Log rotation fixed"


def test_a_failed_cascade_writes_nothing(desk, actors):
    """When one incident cannot be resolved (here: the actor may work on
    problems but not resolve incidents), the problem and every incident stay
    as they were."""
    al, lee = actors["al"], actors["lee"]
    a = _incident(desk, al, "Printer offline")
    b = _incident(desk, al, "Printer offline again")
    problems.create(desk, al, title="Print server", incidents=[a, b])
    before = [detail(desk, k).version for k in ("PRB-1", a, b)]
    only_problems = replace(al, only=frozenset({"problem"}))
    with pytest.raises(PermissionDenied):
        problems.resolve(desk, only_problems, "PRB-1", "Replaced", incidents=True)
    assert [detail(desk, k).version for k in ("PRB-1", a, b)] == before
    assert detail(desk, "PRB-1").status == "new" and detail(desk, a).status == "new"
    problems.resolve(desk, lee, "PRB-1", "Replaced", incidents=True)
    assert detail(desk, a).status == detail(desk, b).status == "resolved"


def test_links_between_kinds_and_attach(desk, actors):
    al = actors["al"]
    a = _incident(desk, al, "API 502s")
    b = _incident(desk, al, "API timeouts")
    problems.create(desk, al, title="API gateway pool too small")
    problems.attach(desk, al, "PRB-1", [a])
    links.link(desk, al, b, "caused-by", "PRB-1")  # the generic link command works across kinds
    assert detail(desk, "PRB-1").problem.incidents == [a, b]
    assert [(lk.kind, lk.other) for lk in detail(desk, b).links] == [("caused_by", "PRB-1")]
    assert [(lk.kind, lk.other) for lk in detail(desk, "PRB-1").links] == [("causes", a), ("causes", b)]
    # the conversation: an internal note on a problem; a reply is to an incident's requester
    tickets.note(desk, al, "PRB-1", "Pool is 50; peak needs 120")
    assert [(e.kind, e.body) for e in detail(desk, "PRB-1").entries] == [("note", "Pool is 50; peak needs 120")]
    with pytest.raises(ValidationError, match="PRB-1 is a problem; this applies to incidents only"):
        tickets.reply(desk, al, "PRB-1", "hello")
    problems.attach(desk, al, "PRB-1", [a], remove=True)
    assert detail(desk, "PRB-1").problem.incidents == [b]
    with pytest.raises(ValidationError, match="INC-2 is an incident; this applies to problems only"):
        problems.attach(desk, al, b, ["PRB-1"])  # only incidents are attached to a problem


# ---------------------------------------------------------------- the command line

from test_cli import cli  # noqa: E402,F401  (the fixture)


def test_the_problem_commands(cli):
    a = cli.new("VPN drops every hour", "--service", "vpn")
    b = cli.new("VPN drops again", "--service", "vpn")
    assert cli.ok("problem", "new", "--from", f"{a},{b}", user="al").out.strip() == "PRB-1"
    assert cli.ok("problem", "new", "Disk fills up", "--priority", "P2", user="al").out.strip() == "PRB-2"
    listed = cli.ok("problem", "ls", "--format", "json").json()
    assert sorted(r["key"] for r in listed) == ["PRB-1", "PRB-2"]
    assert sorted(cli.keys()) == sorted([a, b])  # ls: incidents only
    assert sorted(cli.keys("kind:problem")) == ["PRB-1", "PRB-2"]
    shown = cli.show("PRB-1")
    assert shown["kind"] == "problem" and shown["problem"]["incidents"] == [a, b]
    assert cli.ok("problem", "edit", "PRB-1", "--root-cause", "Rekey timer too short", user="al")
    out = cli.ok("problem", "state", "PRB-1", "known_error", "--workaround", "Reconnect", user="al").out
    assert out.startswith("PRB-1 is now known_error")
    text = cli.ok("show", a).out
    assert "Problems     PRB-1" in text and "Known errors: workarounds" in text and "Reconnect" in text
    text = cli.ok("problem", "show", "PRB-1").out
    assert "Rekey timer too short" in text and "State        known error" in text
    out = cli.ok("problem", "resolve", "PRB-1", "Timer raised", "--incidents", user="al").out
    assert out.strip() == f"PRB-1 resolved (version 4); resolved {a}, {b}"
    assert cli.show(a)["status"] == "resolved"
    # mistakes say what to do
    err = cli.fails(1, "problem", "state", "PRB-2", "known_error", user="al").err
    assert "needs its workaround" in err
    assert "is not a problem" in cli.fails(1, "problem", "show", a).err
    assert "PRB-9 does not exist" in cli.fails(1, "show", "PRB-9").err
    assert "PRB-2 is a problem" in cli.fails(1, "take", "PRB-2", user="al").err
    assert cli.fails(4, "problem", "new", "x", user="vic").err  # a viewer
    assert "no cluster" in cli.ok("problem", "candidates").err


def test_problem_sections_round_trip():
    from deskconsole.cli.editor import parse_sections, sections

    names = ("root_cause", "workaround", "fix")
    view = problems.ProblemView("cause\nline 2", "", "the fix", None)
    assert sections(view, names).startswith("# Root cause\n\ncause\nline 2\n")
    assert parse_sections(sections(view, names), names) == {
        "root_cause": "cause\nline 2", "workaround": "", "fix": "the fix"}
    assert parse_sections("# Workaround\n\nonly this\n", names) == {"workaround": "only this"}


def test_a_desk_from_before_the_record_base_migrates_in_place(bare_db_url, config, clock):
    """v16 -> v17: every ticket stays as it was (an incident, its key its id),
    and the desk takes problems at once."""
    from conftest import config_actor
    from deskconsole.core.desk import open_desk
    from schema_undo import back_to

    desk = open_desk(bare_db_url, config, clock)
    al = config_actor(config, "al")
    keys = [tickets.create(desk, al, title=f"old {n}", priority="P3").key for n in range(3)]
    tickets.resolve(desk, al, keys[1], "fixed")
    with desk.bound():
        before = [(t.id, t.title, t.status, t.version) for t in Ticket.select().order_by(Ticket.id)]
    desk.close()
    back_to(bare_db_url, 16)  # the schema before the record base
    desk = open_desk(bare_db_url, config, clock)
    try:
        with desk.bound():
            after = [(t.id, t.title, t.status, t.version) for t in Ticket.select().order_by(Ticket.id)]
            assert after == before
            assert {(t.kind, t.number) for t in Ticket.select()} == {("incident", None)}
        assert [detail(desk, k).key for k in keys] == keys
        assert problems.create(desk, al, title="after", incidents=keys[:1]).key == "PRB-1"
        assert sorted(_keys(desk, "is:open")) == sorted([keys[0], keys[2]])  # incidents, as before
    finally:
        desk.close()
