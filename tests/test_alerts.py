"""Alerts into tickets on both backends: routing, one open ticket per dedup
key, repeats, storms grouped by service, clears, recurrences, the intake's
limited rights — checked in the database, not in what the function says."""

from __future__ import annotations

import pytest

from deskconsole.config import parse_config
from deskconsole.core.inbound import alert_routes, alerts
from deskconsole.core.records import links, tickets, views
from deskconsole.core.inbound.alert_payloads import AlertEvent
from deskconsole.errors import PermissionDenied
from deskconsole.core.identity import INTAKE
from deskconsole.models import Alert, AuditEvent, Link, Ticket

from conftest import TEST_CONFIG

INTAKE_CONFIG = TEST_CONFIG + """
[intake]
group_window = "5m"

[[intake.route]]
match = { service = "vpn" }
team = "network"
service = "vpn"
category = "outage"

[[intake.route]]
match_re = { instance = "mx-[0-9]+" }
service = "mail"
impact = "low"
urgency = "low"

[intake.default]
team = "ops"
"""


@pytest.fixture
def rules():
    return alert_routes.rules(parse_config(INTAKE_CONFIG, "intake.toml"))


def fire(key, summary="VPN gateway down", action="trigger", severity="critical", **labels):
    return AlertEvent(source="alertmanager", action=action, dedup_key=key, summary=summary,
                      details="labels...", labels=labels, severity=severity)


def receive(desk, rules, *events):
    return alerts.receive(desk, INTAKE, rules, list(events))


def test_a_trigger_opens_a_routed_ticket(desk, rules):
    (r,) = receive(desk, rules, fire("am:1", service="vpn"))
    assert (r.outcome, r.ticket) == ("opened", "INC-1")
    t = Ticket.get_by_id(1)
    assert (t.team.name, t.service.name, t.category.name) == ("network", "vpn", "outage")
    assert (t.impact, t.urgency, t.priority) == ("high", "high", "P1")  # from severity critical
    assert (t.source, t.external_ref, t.created_by) == ("alert", "am:1", "intake")
    row = Alert.get(Alert.dedup_key == "am:1")
    assert (row.ticket_id, row.count, row.status) == (1, 1, "firing")


def test_routes_by_regular_expression_and_default(desk, rules):
    a, b = receive(desk, rules, fire("am:mx", summary="queue", severity="warning", instance="mx-12"),
                   fire("am:other", summary="something", severity="info", instance="web-1"))
    mx, other = Ticket.get_by_id(1), Ticket.get_by_id(2)
    assert (mx.service.name, mx.team.name, mx.impact, mx.urgency) == ("mail", "ops", "low", "low")
    assert (other.service, other.team.name, other.impact, other.urgency) == (None, "ops", "low", "low")
    assert "intake.route[2]" in a.message and "intake.default" in b.message


def test_repeats_count_without_new_tickets_or_versions(desk, rules):
    receive(desk, rules, fire("am:1", service="vpn"))
    version = Ticket.get_by_id(1).version
    results = receive(desk, rules, *[fire("am:1", service="vpn") for _ in range(5)])
    assert [r.outcome for r in results] == ["repeated"] * 5
    assert Ticket.select().count() == 1
    assert Alert.get(Alert.dedup_key == "am:1").count == 6
    assert Ticket.get_by_id(1).version == version  # nobody triaging it gets a conflict
    repeats = [(e.old, e.new) for e in AuditEvent.select().where(AuditEvent.field == "repeats").order_by(AuditEvent.id)]
    assert repeats[-1] == ("5", "6") and len(repeats) == 5


def test_a_storm_on_one_service_is_one_ticket(desk, rules, clock):
    results = receive(desk, rules, *[fire(f"am:{i}", summary=f"tunnel {i} down", service="vpn") for i in range(50)])
    assert [r.outcome for r in results] == ["opened"] + ["grouped"] * 49
    assert Ticket.select().count() == 1
    assert Alert.select().where(Alert.ticket == 1).count() == 50
    clock.advance(minutes=6)  # past the group window: a new incident
    (late,) = receive(desk, rules, fire("am:late", service="vpn"))
    assert (late.outcome, late.ticket) == ("opened", "INC-2")
    # alerts with no service are never grouped
    receive(desk, rules, fire("am:x1", summary="a"), fire("am:x2", summary="b"))
    assert Ticket.select().count() == 4


def test_clearing_notes_and_resolves_when_every_alert_has_cleared(desk, rules):
    receive(desk, rules, fire("am:1", service="vpn"), fire("am:2", service="vpn"))
    (first,) = receive(desk, rules, fire("am:1", action="resolve"))
    assert first.outcome == "cleared" and Ticket.get_by_id(1).status == "new"
    (second,) = receive(desk, rules, fire("am:2", action="resolve"))
    assert second.outcome == "resolved"
    t = Ticket.get_by_id(1)
    assert (t.status, t.resolution_code) == ("resolved", "fixed")
    notes = [e.body for e in views.detail(desk, "INC-1").entries]
    assert len([n for n in notes if n.startswith("Alert cleared")]) == 2
    (again,) = receive(desk, rules, fire("am:2", action="resolve"))  # a resend changes nothing
    assert again.message == "already cleared"


def test_without_resolve_a_cleared_ticket_stays_open(desk):
    keep = alert_routes.rules(parse_config(INTAKE_CONFIG.replace('group_window = "5m"', 'group_window = "5m"\nresolve = false'),
                                           "x.toml"))
    receive(desk, keep, fire("am:1"))
    (r,) = receive(desk, keep, fire("am:1", action="resolve"))
    assert r.outcome == "cleared" and Ticket.get_by_id(1).status == "new"


def test_a_trigger_after_the_ticket_was_resolved_opens_a_linked_ticket(desk, rules, actors):
    receive(desk, rules, fire("am:1", service="vpn"))
    receive(desk, rules, fire("am:1", action="resolve"))
    (r,) = receive(desk, rules, fire("am:1", service="vpn"))
    assert (r.outcome, r.ticket) == ("recurred", "INC-2")
    assert Alert.get(Alert.dedup_key == "am:1").ticket_id == 2
    link = Link.get()
    assert (link.source_id, link.kind, link.target_id) == (2, "relates_to", 1)


def test_a_repeat_follows_a_merge_to_the_surviving_ticket(desk, rules, actors):
    receive(desk, rules, fire("am:1"))
    tickets.create(desk, actors["ada"], title="VPN down (phoned in)")
    links.merge(desk, actors["ada"], "INC-1", "INC-2")
    (r,) = receive(desk, rules, fire("am:1"))
    assert (r.outcome, r.ticket) == ("repeated", "INC-2")


def test_acknowledge(desk, rules):
    receive(desk, rules, fire("pd:1"))
    (r,) = receive(desk, rules, fire("pd:1", action="acknowledge"))
    assert r.outcome == "acknowledged"
    assert Ticket.get_by_id(1).acknowledged_by == "intake"


def test_unknown_keys_change_nothing(desk, rules):
    results = receive(desk, rules, fire("nope", action="resolve"), fire("nope", action="acknowledge"))
    assert [r.outcome for r in results] == ["unknown", "unknown"]
    assert Ticket.select().count() == 0 and Alert.select().count() == 0


def test_one_bad_event_fails_alone(desk, rules):
    bad = alert_routes.rules(parse_config(INTAKE_CONFIG.replace('[intake.default]\nteam = "ops"',
                                                                '[intake.default]\nteam = "nosuchteam"'), "x.toml"))
    assert alert_routes.check(bad, desk.directory) == [
        "intake.default.team: 'nosuchteam' is not a team of this desk (network, ops)"]
    results = alerts.receive(desk, INTAKE, bad, [fire("ok", service="vpn"), fire("broken"), fire("ok2", service="vpn")])
    assert [r.outcome for r in results] == ["opened", "failed", "grouped"]
    assert "nosuchteam" in results[1].message
    assert Alert.select().count() == 2 and Ticket.select().count() == 1


def test_the_intake_may_do_only_what_alerts_need(desk, rules, actors):
    receive(desk, rules, fire("am:1"))
    for attempt in (lambda: tickets.assign(desk, INTAKE, "INC-1", agent="al"),
                    lambda: tickets.cancel(desk, INTAKE, "INC-1", "no"),
                    lambda: tickets.take(desk, INTAKE, "INC-1")):
        with pytest.raises(PermissionDenied, match="may only"):
            attempt()
    assert Ticket.get_by_id(1).assignee is None


def test_rules_are_checked_with_the_key_to_fix():
    from deskconsole.config import ConfigError

    for text, key in [('[intake]\nsurprise = 1', "intake.surprise"),
                      ('[intake]\ngroup_window = "soon"', "intake.group_window"),
                      ('[[intake.route]]\nteam = "ops"', "intake.route[1]"),
                      ('[[intake.route]]\nmatch_re = { a = "(" }', "intake.route[1].match_re.a"),
                      ('[[intake.route]]\nmatch = { a = "b" }\nimpact = "huge"', "intake.route[1].impact"),
                      ('[intake]\nresolution_code = "magic"', "intake.resolution_code")]:
        with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
            alert_routes.rules(parse_config(TEST_CONFIG + text, "x.toml"))


def test_the_ticket_shows_its_alerts(desk, rules, clock):
    receive(desk, rules, fire("am:1", summary="tunnel 1 down", service="vpn"),
            fire("am:2", summary="tunnel 2 down", service="vpn"))
    clock.advance(seconds=30)
    receive(desk, rules, fire("am:1", service="vpn"), fire("am:2", action="resolve"))
    shown = views.detail(desk, "INC-1").alerts
    assert [(a.dedup_key, a.status, a.count, a.summary) for a in shown] == [
        ("am:1", "firing", 2, "tunnel 1 down"), ("am:2", "resolved", 1, "tunnel 2 down")]
    assert shown[0].last_at > shown[0].first_at
