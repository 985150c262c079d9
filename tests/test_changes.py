"""Changes on the record base: raising them (from templates too), the
lifecycle per type, who may approve what and what a rejection does, and the
desk's change policy coming from its own database."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from deskconsole.config import parse_config
from deskconsole.core.access import directory
from deskconsole.core.desk import open_desk
from deskconsole.core.identity import Actor
from deskconsole.core.records import change_requests as changes
from deskconsole.core.records import links, problems, tickets
from deskconsole.core.records.views import detail
from deskconsole.core.search.query import select_tickets
from deskconsole.errors import InvalidTransition, NoChange, PermissionDenied, ValidationError
from deskconsole.models import Approval, AuditEvent, ChangeItem, ChangeRequest, Ticket

from conftest import TEST_CONFIG

UTC = timezone.utc

CHANGES_CONFIG = TEST_CONFIG + """
[agents.cara]
name = "Cara CAB"
role = "agent"
team = "network"

[agents.nick]
name = "Nick Network Lead"
role = "lead"
team = "network"

[services.web]
name = "Web shop"
team = "ops"
depends_on = ["api"]

[services.api]
name = "Shop API"
team = "ops"
depends_on = ["db-main"]

[services.reports]
name = "Reporting"
team = "ops"
depends_on = ["db-main"]

[cis.db-main]
type = "database"
name = "Main PostgreSQL"
team = "ops"

[changes]
cab = ["cara", "lee"]
approvals = { normal = ["owner_lead", "cab"], emergency = ["cab"] }

[changes.templates.restart-web]
title = "Rolling restart of the web tier"
services = ["web"]
minutes = 30
risk = "low"
implementation = "systemctl restart shop-web, one node at a time"
backout = "none needed"
"""


@pytest.fixture
def config():
    return parse_config(CHANGES_CONFIG, "changes.toml")


@pytest.fixture
def people(config):
    return {login: Actor(login=login, name=a.name, role=a.role, team=a.team) for login, a in config.agents.items()}


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _planned(desk, who, *, services=("web",), start="2026-11-25T22:00", hours=2, **kw):
    start = _at(start)
    return changes.create(desk, who, title=kw.pop("title", "Upgrade the shop"), services=services, start=start,
                          end=start + timedelta(hours=hours), **kw).key


def _status(desk, key) -> str:
    return detail(desk, key).status


def test_a_change_is_a_record_with_its_own_number_fields_and_items(desk, people):
    al = people["al"]
    inc = tickets.create(desk, al, title="Shop slow").key
    problems.create(desk, al, title="Shop slow at peak")
    key = _planned(desk, al, services=["web", "db-main"], risk="high", impact="medium",
                   implementation="apply migration 42", test_plan="smoke test", backout="restore snapshot")
    assert key == "CHG-1"  # numbers run per kind
    shown = detail(desk, key)
    assert (shown.kind, shown.status, shown.impact, shown.team) == ("change", "draft", "medium", "ops")
    c = shown.change
    assert (c.type, c.risk, c.round) == ("normal", "high", 1)
    assert c.services == ["db-main", "web"]
    assert (c.implementation, c.test_plan, c.backout) == ("apply migration 42", "smoke test", "restore snapshot")
    assert c.planned_start == _at("2026-11-25T22:00") and c.planned_end == _at("2026-11-26T00:00")
    assert [r.rule for r in c.requirements] == ["owner_lead", "cab"] and not any(r.by for r in c.requirements)
    assert "a lead of ops" in c.requirements[0].who and "cara" in c.requirements[1].who
    with desk.bound():
        assert ChangeItem.select().count() == 2
        said = {(e.field, e.new) for e in AuditEvent.select().where(AuditEvent.ticket == Ticket.get(
            (Ticket.kind == "change") & (Ticket.number == 1)).id)}
    assert ("type", "normal") in said and ("services", "db-main web") in said
    # the incident queue leaves it out; kind:change finds it
    now = desk.now()
    assert [t.key for t in select_tickets(desk, "", actor_login="al", now=now)] == [inc]
    assert [t.key for t in select_tickets(desk, "kind:change status:draft", actor_login="al", now=now)] == [key]
    # the incident commands refuse it
    with pytest.raises(ValidationError, match="CHG-1 is a change"):
        tickets.take(desk, al, key)


def test_bad_input_is_refused_with_what_to_do(desk, people):
    al = people["al"]
    with pytest.raises(ValidationError, match="not a type of change"):
        changes.create(desk, al, title="x", type="urgent")
    with pytest.raises(ValidationError, match="comes from a template: --template NAME \\(templates: restart-web\\)"):
        changes.create(desk, al, title="x", type="standard")
    with pytest.raises(ValidationError, match="no standard change template called 'nope'"):
        changes.create(desk, al, template="nope")
    with pytest.raises(ValidationError, match="end must come after"):
        changes.create(desk, al, title="x", start=_at("2026-11-25T22:00"), end=_at("2026-11-25T21:00"))
    with pytest.raises(ValidationError, match="needs both its start and its end"):
        changes.create(desk, al, title="x", start=_at("2026-11-25T22:00"))
    with pytest.raises(Exception, match="no service called 'nope'"):
        changes.create(desk, al, title="x", services=["nope"])
    with pytest.raises(PermissionDenied, match="cannot raise or work on changes"):
        changes.create(desk, people["vic"], title="x")
    with desk.bound():
        assert Ticket.select().count() == 0 and ChangeRequest.select().count() == 0  # nothing half-written


def test_a_normal_change_needs_its_approvals_before_it_is_scheduled(desk, people):
    al, lee, cara, nia, nick = (people[n] for n in ("al", "lee", "cara", "nia", "nick"))
    key = _planned(desk, al)
    with pytest.raises(InvalidTransition, match="from draft to scheduled"):
        changes.set_state(desk, al, key, "scheduled")
    with pytest.raises(InvalidTransition, match="approved once it is submitted"):
        changes.decide(desk, lee, key, "approve")
    changes.set_state(desk, al, key, "assessment")
    changes.set_state(desk, al, key, "awaiting_approval")
    with pytest.raises(InvalidTransition, match="still needs its approvals: owner_lead .*cab"):
        changes.set_state(desk, al, key, "scheduled")
    # who may not: the requester, an agent outside the rules, a lead of another team (not CAB)
    with pytest.raises(PermissionDenied, match="al raised CHG-1 and cannot approve"):
        changes.decide(desk, al, key, "approve")
    with pytest.raises(PermissionDenied, match="nia may not approve CHG-1; it needs owner_lead: a lead of ops"):
        changes.decide(desk, nia, key, "approve")
    with pytest.raises(PermissionDenied, match="nick may not approve"):
        changes.decide(desk, nick, key, "approve")
    changes.decide(desk, lee, key, "approve", "looks fine")  # lee leads ops and sits on the CAB: meets owner_lead
    with pytest.raises(NoChange, match="lee has already approved CHG-1"):
        changes.decide(desk, lee, key, "approve")  # one person, one rule a round
    assert _status(desk, key) == "awaiting_approval"
    changes.decide(desk, cara, key, "approve")  # the CAB member: the last approval schedules it
    shown = detail(desk, key)
    assert shown.status == "scheduled"
    assert [(r.rule, r.by) for r in shown.change.requirements] == [("owner_lead", "lee"), ("cab", "cara")]
    assert [(d.approver, d.decision, d.comment) for d in shown.change.decisions] == [
        ("lee", "approve", "looks fine"), ("cara", "approve", "")]
    changes.set_state(desk, al, key, "implementing")
    with pytest.raises(InvalidTransition, match="under way"):
        changes.update(desk, al, key, start=_at("2026-11-26T22:00"), end=_at("2026-11-26T23:00"))
    changes.set_state(desk, al, key, "review")
    with pytest.raises(ValidationError, match="say how CHG-1 ended"):
        changes.set_state(desk, al, key, "closed")
    changes.set_state(desk, al, key, "closed", outcome="backed-out")
    shown = detail(desk, key)
    assert shown.status == "closed" and shown.change.outcome == "backed_out"
    assert shown.change.actual_start == shown.change.actual_end == desk.now()  # the manual clock stood still
    with pytest.raises(InvalidTransition, match="closed; it cannot change"):
        changes.update(desk, al, key, title="again")
    with pytest.raises(InvalidTransition, match="which is final"):
        changes.set_state(desk, al, key, "draft")


def test_a_rejection_needs_a_reason_sends_it_back_and_the_next_round_asks_again(desk, people, clock):
    al, lee, cara = people["al"], people["lee"], people["cara"]
    key = _planned(desk, al)
    changes.set_state(desk, al, key, "assessment")
    changes.set_state(desk, al, key, "awaiting_approval")
    changes.decide(desk, lee, key, "approve")
    with pytest.raises(ValidationError, match="say why it is rejected"):
        changes.decide(desk, cara, key, "reject", "  ")
    clock.advance(60)
    changes.decide(desk, cara, key, "reject", "no backout plan")
    shown = detail(desk, key)
    assert shown.status == "draft" and shown.change.round == 2
    assert not any(r.by for r in shown.change.requirements)  # lee's approval was for round 1
    assert [(d.round, d.approver, d.decision) for d in shown.change.decisions] == [
        (1, "lee", "approve"), (1, "cara", "reject")]
    with desk.bound():
        said = [(e.actor, e.action, e.new) for e in AuditEvent.select().where(AuditEvent.field == "approval")]
    assert ("cara", "reject", "cab: no backout plan") in said
    changes.update(desk, al, key, backout="restore the snapshot taken before")
    changes.set_state(desk, al, key, "assessment")
    changes.set_state(desk, al, key, "awaiting_approval")
    changes.decide(desk, cara, key, "approve")  # cara now meets the CAB rule; owner_lead is lee's again
    changes.decide(desk, lee, key, "approve")
    assert _status(desk, key) == "scheduled"


def test_changing_what_was_approved_asks_for_the_approvals_again(desk, people):
    al, lee, cara = people["al"], people["lee"], people["cara"]
    key = _planned(desk, al)
    changes.set_state(desk, al, key, "assessment")
    changes.set_state(desk, al, key, "awaiting_approval")
    changes.decide(desk, lee, key, "approve")
    changes.decide(desk, cara, key, "approve")
    assert _status(desk, key) == "scheduled"
    changes.update(desk, al, key, title="Upgrade the shop (v2)")  # the title is not what was approved
    assert _status(desk, key) == "scheduled"
    changes.update(desk, al, key, services=["web", "api"])
    shown = detail(desk, key)
    assert shown.status == "awaiting_approval" and shown.change.round == 2
    assert shown.change.services == ["api", "web"]
    with pytest.raises(NoChange):
        changes.update(desk, al, key, services=["api", "web"])


def test_a_standard_change_comes_from_its_template_and_is_pre_approved(desk, people):
    al, lee = people["al"], people["lee"]
    key = changes.create(desk, al, template="restart-web", start=_at("2026-11-25T06:00")).key
    shown = detail(desk, key)
    c = shown.change
    assert (shown.title, c.type, c.risk, c.template, c.services) == (
        "Rolling restart of the web tier", "standard", "low", "restart-web", ["web"])
    assert c.planned_end - c.planned_start == timedelta(minutes=30) and c.requirements == []
    assert c.implementation.startswith("systemctl restart")
    with pytest.raises(NoChange, match="standard change"):
        changes.decide(desk, lee, key, "approve")
    changes.set_state(desk, al, key, "assessment")
    with pytest.raises(InvalidTransition, match="cannot go from assessment to awaiting approval"):
        changes.set_state(desk, al, key, "awaiting_approval")
    changes.set_state(desk, al, key, "scheduled")
    assert _status(desk, key) == "scheduled"


def test_an_emergency_change_proceeds_and_is_approved_after(desk, people):
    al, lee, cara = people["al"], people["lee"], people["cara"]
    key = changes.create(desk, al, title="Hotfix the checkout", type="emergency", services=["web"]).key
    changes.set_state(desk, al, key, "implementing")  # no window, no approval needed to start
    changes.set_state(desk, al, key, "review")
    with pytest.raises(InvalidTransition, match="emergency change and is closed once approved after the fact; "
                                                "it still needs: cab"):
        changes.set_state(desk, al, key, "closed", outcome="successful")
    with pytest.raises(PermissionDenied, match="may not approve"):
        changes.decide(desk, people["nia"], key, "approve")
    changes.decide(desk, cara, key, "approve", "right call")
    assert _status(desk, key) == "review"  # approving after the fact moves nothing
    with pytest.raises(NoChange, match="given already"):
        changes.decide(desk, lee, key, "approve")  # the one rule is met
    changes.set_state(desk, al, key, "closed", outcome="successful")
    assert detail(desk, key).change.outcome == "successful"


def test_the_change_policy_is_the_desks_not_a_passed_configs(desk, people, db_url, clock):
    al, nia = people["al"], people["nia"]
    key = _planned(desk, al)
    changes.set_state(desk, al, key, "assessment")
    changes.set_state(desk, al, key, "awaiting_approval")
    # nia's own config names nia on the CAB and asks for nothing else: it changes nothing
    hers = parse_config(CHANGES_CONFIG.replace('cab = ["cara", "lee"]', 'cab = ["nia"]').replace(
        'normal = ["owner_lead", "cab"]', 'normal = ["cab"]'), "nia.toml")
    other = open_desk(db_url, hers, clock)
    try:
        assert other.directory.change_policy.cab == ("cara", "lee")
        assert "changes" in directory.differences(other)
        with pytest.raises(PermissionDenied, match="nia may not approve"):
            changes.decide(other, nia, key, "approve")
        with pytest.raises(Exception):
            directory.apply_config(other, nia)  # only a desk admin applies a config
    finally:
        other.close()
    with desk.bound():
        assert Approval.select().count() == 0


def test_a_change_may_be_cancelled_before_it_starts_and_not_after(desk, people):
    al = people["al"]
    first = _planned(desk, al)
    changes.set_state(desk, al, first, "cancel")
    shown = detail(desk, first)
    assert shown.status == "cancelled" and shown.closed_at == desk.now()
    second = changes.create(desk, al, title="Patch", type="emergency").key
    changes.set_state(desk, al, second, "implementing")
    with pytest.raises(InvalidTransition, match="from implementing to cancelled"):
        changes.set_state(desk, al, second, "cancelled")


def test_incidents_link_to_the_changes_that_caused_or_fixed_them(desk, people):
    al = people["al"]
    key = _planned(desk, al)
    a = tickets.create(desk, al, title="Checkout 500s after deploy").key
    b = tickets.create(desk, al, title="Search broken").key
    links.link(desk, al, a, "caused-by", key)
    links.link(desk, al, key, "fixes", b)
    assert detail(desk, key).change.incidents == {"caused": [a], "fixed": [b]}
    assert {(lk.kind, lk.other) for lk in detail(desk, a).links} == {("caused_by", key)}
    assert {(lk.kind, lk.other) for lk in detail(desk, b).links} == {("fixed_by", key)}


def test_a_viewer_sees_changes_but_cannot_move_them(desk, people):
    key = _planned(desk, people["al"])
    with pytest.raises(PermissionDenied):
        changes.set_state(desk, people["vic"], key, "assessment")
    vic = replace(people["vic"])
    assert detail(desk, key).change.type == "normal" and vic.role == "viewer"


def test_the_report_counts_how_changes_ended_and_the_incidents_they_caused(desk, people, clock):
    from deskconsole.core.reports.report import build
    from deskconsole.core.reports.text import change_line

    al, cara = people["al"], people["cara"]
    ended = []
    for outcome in ("successful", "successful", "failed", "backed_out"):
        key = changes.create(desk, al, title=f"Emergency {outcome}", type="emergency", services=["web"]).key
        changes.set_state(desk, al, key, "implementing")
        changes.set_state(desk, al, key, "review")
        changes.decide(desk, cara, key, "approve")
        changes.set_state(desk, al, key, "closed", outcome=outcome)
        ended.append(key)
    _planned(desk, al)  # raised, not closed
    caused = [tickets.create(desk, al, title=f"Broke {i}").key for i in range(3)]
    links.link(desk, al, caused[0], "caused-by", ended[2])
    links.link(desk, al, caused[1], "caused-by", ended[2])
    links.link(desk, al, caused[2], "caused-by", ended[3])
    links.link(desk, al, caused[2], "relates-to", ended[0])  # not a cause
    problem = problems.create(desk, al, title="A problem a change caused").key
    links.link(desk, al, problem, "caused-by", ended[0])  # a problem is not an incident
    clock.advance(3600)
    c = build(desk, "ada").changes
    assert (c.raised, c.emergency, c.closed, c.successful, c.failed, c.backed_out) == (5, 4, 4, 2, 1, 1)
    assert c.success_rate == 0.5
    assert (c.caused_incidents, c.causing_changes) == (3, 2)
    assert change_line(c).startswith("success rate 50.0% of 4 closed (2 successful, 1 failed, 1 backed out)")
    # a period before any of it counts nothing
    assert build(desk, "ada", since="2026-11-01..2026-11-20").changes.closed == 0


def test_an_incident_shows_the_changes_near_it_on_its_service_and_connected_ones(desk, people, clock):
    from deskconsole.cli.output import service_lines
    from deskconsole.core.records.service_context import service_context

    al = people["al"]
    now = desk.now()  # 2026-11-23 09:00 UTC

    def planned(title, services, start, hours=1):
        return changes.create(desk, al, title=title, services=services, start=start,
                              end=start + timedelta(hours=hours)).key

    db = planned("Upgrade PostgreSQL", ["db-main"], now - timedelta(hours=30))  # upstream of api, 30 h ago
    web = planned("Deploy the shop", ["web"], now + timedelta(hours=5))  # downstream of api, in 5 h
    planned("Too early", ["api"], now - timedelta(hours=60))
    planned("Too late", ["api"], now + timedelta(hours=30))
    planned("Mail, unrelated", ["mail"], now)
    gone = planned("Cancelled", ["api"], now + timedelta(hours=1))
    changes.set_state(desk, al, gone, "cancelled")
    incident = tickets.create(desk, al, title="API 500s", service="api").key
    ctx = service_context(desk, incident)
    assert [e.key for e in ctx.changes] == [db, web]
    lines = "\n".join(service_lines(ctx))
    assert f"{db} draft on db-main, its window ended 29 h ago: Upgrade PostgreSQL" in lines
    assert f"{web} draft on web, starts in 5 h: Deploy the shop" in lines
    # an emergency change under way, with no planned window, counts from its start
    hot = changes.create(desk, al, title="Hotfix", type="emergency", services=["api"]).key
    changes.set_state(desk, al, hot, "implementing")
    clock.advance(600)
    assert hot in [e.key for e in service_context(desk, incident).changes]
    assert f"{hot} implementing on api, under way since 10 min ago: Hotfix" in "\n".join(
        service_lines(service_context(desk, incident)))


def test_a_desk_from_before_changes_migrates_in_place(bare_db_url, config, clock, people):
    """v18 -> v19: tickets stay as they were, the service index takes the
    status (and, on a SQLite desk with planner statistics, gets its own at
    once), and the desk takes changes and its map from the next admin sync."""
    from schema_undo import back_to

    desk = open_desk(bare_db_url, config, clock)
    al = people["al"]
    keys = [tickets.create(desk, al, title=f"old {n}", service="api").key for n in range(3)]
    with desk.bound():
        before = [(t.id, t.title, t.status, t.version, t.service_id) for t in Ticket.select().order_by(Ticket.id)]
    if desk.is_sqlite:
        desk.db.execute_sql("ANALYZE")  # as a bulk load leaves it
    desk.close()
    back_to(bare_db_url, 18)
    desk = open_desk(bare_db_url, config, clock)
    try:
        with desk.bound():
            assert [(t.id, t.title, t.status, t.version, t.service_id)
                    for t in Ticket.select().order_by(Ticket.id)] == before
            assert "ticket_service_id_status" in {i.name for i in desk.db.get_indexes("ticket")}
            assert "ticket_service_id" not in {i.name for i in desk.db.get_indexes("ticket")}
            if desk.is_sqlite:
                assert desk.db.execute_sql(
                    "SELECT stat FROM sqlite_stat1 WHERE idx = 'ticket_service_id_status'").fetchone()[0].startswith("3 ")
        # the map and the policy came back with the undo's dropped columns empty: an admin sync restores them
        assert directory.differences(desk)
        directory.apply_config(desk, people["ada"])
        assert desk.directory.change_policy.cab == ("cara", "lee")
        key = _planned(desk, al, services=["api"])
        assert detail(desk, key).change.services == ["api"] and [detail(desk, k).key for k in keys] == keys
    finally:
        desk.close()
