"""Every ticket operation through the core write path: effects, audit, feed,
versions, role checks and the lifecycle's legal and illegal transitions."""

from __future__ import annotations

import itertools

import pytest

from deskconsole.core.records import links, tickets
from deskconsole.errors import (
    InvalidTransition,
    NoChange,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from deskconsole.core.records.lifecycle import STATUSES, TRANSITIONS
from deskconsole.core.records.views import detail
from deskconsole.models import AuditEvent, Entry, FeedEntry, Link, Ticket


def new(desk, actor, **kw):
    kw.setdefault("title", "VPN down in Lisbon")
    return tickets.create(desk, actor, **kw).key


def audit_of(key):
    tid = int(key.split("-")[1])
    return [(a.actor, a.action, a.field, a.old, a.new) for a in AuditEvent.select().where(AuditEvent.ticket == tid).order_by(AuditEvent.id)]


def feed_of(key):
    tid = int(key.split("-")[1])
    return [(f.actor, f.action, f.version) for f in FeedEntry.select().where(FeedEntry.ticket == tid).order_by(FeedEntry.seq)]


# ---------------------------------------------------------------- create
def test_create_derives_priority_from_the_matrix_and_team_from_the_service(desk, actors):
    key = new(desk, actors["al"], impact="high", urgency="medium", service="vpn", category="outage",
              requester_name="Ann Lee", requester_email="ann@example.com", description="all users")
    t = detail(desk, key)
    assert (t.priority, t.impact, t.urgency) == ("P2", "high", "medium")
    assert (t.team, t.service, t.category, t.status) == ("network", "vpn", "outage", "new")
    assert (t.requester_name, t.requester_email, t.created_by, t.version) == ("Ann Lee", "ann@example.com", "al", 1)
    assert ("al", "create", None, None, "VPN down in Lisbon") in audit_of(key)
    assert ("al", "create", "priority", None, "P2") in audit_of(key)
    assert feed_of(key) == [("al", "create", 1)]


def test_create_defaults(desk, actors, clock):
    key = new(desk, actors["al"])
    t = detail(desk, key)
    assert t.priority == "P3"  # desk.default_priority
    assert t.team == "ops"  # desk.default_team
    assert t.requester_name == "Al Agent"  # the actor when nobody else is named
    assert t.created_at == clock() == t.updated_at


def test_create_with_assignee_is_assigned(desk, actors):
    t = detail(desk, new(desk, actors["lee"], assignee="nia"))
    assert (t.status, t.assignee, t.team) == ("assigned", "nia", "ops")


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"title": "  "}, "needs a title"),
        ({"title": "two\nlines"}, "one line"),
        ({"title": "x" * 301}, "keep it to 300"),
        ({"priority": "P9"}, "P1, P2, P3, P4"),
        ({"impact": "huge"}, "high, medium or low"),
        ({"impact": "high", "urgency": "high", "priority": "P4"}, "disagrees"),
        ({"team": "nope"}, "no team called 'nope'"),
        ({"service": "nope"}, "no service called 'nope'"),
        ({"category": "nope"}, "no category called 'nope'"),
        ({"assignee": "ghost"}, "no agent called 'ghost'"),
        ({"assignee": "vic"}, "viewer and cannot hold tickets"),
        ({"requester_email": "not-an-address"}, "not an e-mail address"),
        ({"description": "nul\x00byte"}, "NUL"),
    ],
)
def test_create_rejects_bad_input_and_writes_nothing(desk, actors, kw, message):
    before = Ticket.select().count()
    with pytest.raises((ValidationError, NotFound), match=message):
        new(desk, actors["al"], **kw)
    assert Ticket.select().count() == before
    assert FeedEntry.select().where(FeedEntry.action == "create").count() == 0


# ---------------------------------------------------------------- triage
def test_triage_recomputes_priority_and_audits_each_field(desk, actors):
    key = new(desk, actors["al"])
    out = tickets.triage(desk, actors["al"], key, impact="high", urgency="high", category="access", service="mail")
    t = detail(desk, key)
    assert (t.priority, t.category, t.service, t.version) == ("P1", "access", "mail", 2)
    assert {c[0] for c in out.changes} == {"impact", "urgency", "priority", "category", "service"}
    assert ("al", "triage", "priority", "P3", "P1") in audit_of(key)
    # only urgency changes: impact is kept
    tickets.triage(desk, actors["al"], key, urgency="low")
    assert detail(desk, key).priority == "P3"
    # a priority by hand is allowed and audited
    tickets.triage(desk, actors["al"], key, priority="P2")
    assert detail(desk, key).priority == "P2"
    with pytest.raises(NoChange):
        tickets.triage(desk, actors["al"], key, priority="P2")


# ---------------------------------------------------------------- assignment
def test_assign_take_and_acknowledge(desk, actors, clock):
    key = new(desk, actors["al"], team="network")
    tickets.assign(desk, actors["al"], key, agent="nia")
    t = detail(desk, key)
    assert (t.status, t.assignee, t.team) == ("assigned", "nia", "network")
    clock.advance(60)
    tickets.acknowledge(desk, actors["nia"], key)
    t = detail(desk, key)
    assert (t.acknowledged_at, t.acknowledged_by, t.status) == (clock(), "nia", "assigned")
    with pytest.raises(NoChange, match="already acknowledged by nia"):
        tickets.acknowledge(desk, actors["nia"], key)
    tickets.set_status(desk, actors["nia"], key, "in_progress")
    # unassigning puts it back in the queue
    tickets.assign(desk, actors["nia"], key, agent=None)
    assert (detail(desk, key).status, detail(desk, key).assignee) == ("new", None)
    tickets.assign(desk, actors["nia"], key, team="ops")
    assert detail(desk, key).team == "ops"


def test_take_assigns_to_me_acknowledges_and_starts_work(desk, actors, clock):
    key = new(desk, actors["al"])
    clock.advance(120)
    out = tickets.take(desk, actors["al"], key)
    t = detail(desk, key)
    assert (t.assignee, t.status, t.acknowledged_by, t.acknowledged_at) == ("al", "in_progress", "al", clock())
    assert out.version == 2
    with pytest.raises(NoChange):
        tickets.take(desk, actors["al"], key)


def test_taking_or_reassigning_someone_elses_ticket_needs_a_lead(desk, actors):
    key = new(desk, actors["al"])
    tickets.take(desk, actors["al"], key)
    with pytest.raises(PermissionDenied, match="needs the lead role"):
        tickets.take(desk, actors["nia"], key)
    with pytest.raises(PermissionDenied, match="reassign"):
        tickets.assign(desk, actors["nia"], key, agent="nia")
    assert detail(desk, key).assignee == "al"
    tickets.assign(desk, actors["al"], key, agent="nia")  # handing over your own ticket is fine
    tickets.take(desk, actors["lee"], key)  # a lead may take it
    assert detail(desk, key).assignee == "lee"


# ---------------------------------------------------------------- lifecycle
def _ticket_in(desk, actors, status):
    """A ticket brought to ``status`` through the public operations."""
    al = actors["al"]
    key = new(desk, al)
    path = {
        "new": [],
        "assigned": [lambda: tickets.assign(desk, al, key, agent="al")],
        "in_progress": [lambda: tickets.take(desk, al, key)],
        "pending": [lambda: tickets.take(desk, al, key), lambda: tickets.set_status(desk, al, key, "pending")],
        "resolved": [lambda: tickets.take(desk, al, key), lambda: tickets.resolve(desk, al, key, "fixed")],
        "closed": [lambda: tickets.resolve(desk, al, key, "fixed"), lambda: tickets.close(desk, al, key)],
        "cancelled": [lambda: tickets.cancel(desk, actors["lee"], key, "raised twice")],
    }[status]
    for step in path:
        step()
    assert detail(desk, key).status == status
    return key


def _move(desk, actors, key, target):
    if detail(desk, key).status == "new" and target == "assigned":
        return tickets.assign(desk, actors["lee"], key, agent="al")  # assigning is how a ticket gets there
    if detail(desk, key).status == "new" and target == "in_progress":
        return tickets.take(desk, actors["lee"], key)
    if target == "resolved":
        return tickets.resolve(desk, actors["lee"], key, "fixed")
    if target == "cancelled":
        return tickets.cancel(desk, actors["lee"], key, "not needed")
    return tickets.set_status(desk, actors["lee"], key, target)


@pytest.mark.parametrize("current, target", [(a, b) for a, b in itertools.product(STATUSES, STATUSES) if a != b])
def test_every_transition_is_allowed_or_refused_by_the_table(desk, actors, current, target):
    key = _ticket_in(desk, actors, current)
    version = detail(desk, key).version
    if target in TRANSITIONS[current]:
        _move(desk, actors, key, target)
        assert detail(desk, key).status == target
    else:
        with pytest.raises(InvalidTransition) as err:
            _move(desk, actors, key, target)
        allowed = TRANSITIONS[current]
        text = str(err.value)
        assert key in text and current in text
        assert ("final" in text) if not allowed else all(s in text for s in allowed)
        t = detail(desk, key)
        assert (t.status, t.version) == (current, version)  # nothing written


def test_statuses_that_need_someone_holding_the_ticket(desk, actors):
    key = new(desk, actors["al"])
    with pytest.raises(ValidationError, match="has no assignee"):
        tickets.set_status(desk, actors["al"], key, "in_progress")
    with pytest.raises(ValidationError, match="resolve INC"):
        tickets.set_status(desk, actors["al"], key, "resolved")
    with pytest.raises(InvalidTransition, match="not a status"):
        tickets.set_status(desk, actors["al"], key, "done")
    with pytest.raises(NoChange, match="already new"):
        tickets.set_status(desk, actors["al"], key, "new")


def test_resolve_close_reopen(desk, actors, clock):
    al = actors["al"]
    key = new(desk, al)
    tickets.take(desk, al, key)
    with pytest.raises(ValidationError, match="not a resolution code; use one of fixed"):
        tickets.resolve(desk, al, key, "magic")
    clock.advance(600)
    tickets.resolve(desk, al, key, "workaround", "restarted the gateway")
    t = detail(desk, key)
    assert (t.status, t.resolution_code, t.resolution_note, t.resolved_at) == (
        "resolved", "workaround", "restarted the gateway", clock())
    tickets.reopen(desk, al, key, "came back after an hour")
    t = detail(desk, key)
    assert (t.status, t.resolved_at, t.resolution_code, t.reopen_count) == ("in_progress", None, None, 1)
    assert t.entries[-1].body == "came back after an hour" and t.entries[-1].kind == "note"
    assert ("al", "reopen", "resolution_code", "workaround", None) in audit_of(key)
    tickets.resolve(desk, al, key, "fixed")
    clock.advance(60)
    tickets.close(desk, al, key)
    t = detail(desk, key)
    assert (t.status, t.closed_at) == ("closed", clock())
    with pytest.raises(InvalidTransition, match="final"):
        tickets.reopen(desk, al, key)


def test_resolving_an_unassigned_ticket_credits_the_resolver(desk, actors):
    key = new(desk, actors["al"])
    tickets.resolve(desk, actors["nia"], key, "fixed")
    assert detail(desk, key).assignee == "nia"


def test_cancel_needs_a_lead_and_a_reason(desk, actors):
    key = new(desk, actors["al"])
    with pytest.raises(PermissionDenied, match="cannot cancel tickets; that needs the lead role"):
        tickets.cancel(desk, actors["al"], key, "dup")
    with pytest.raises(ValidationError, match="empty"):
        tickets.cancel(desk, actors["lee"], key, " ")
    tickets.cancel(desk, actors["lee"], key, "raised by mistake")
    t = detail(desk, key)
    assert t.status == "cancelled" and t.closed_at is not None and t.entries[-1].body == "raised by mistake"


# ---------------------------------------------------------------- conversation
def test_reply_is_public_and_sets_first_response_once(desk, actors, clock):
    key = new(desk, actors["al"])
    clock.advance(300)
    tickets.reply(desk, actors["al"], key, "Looking into it")
    first = clock()
    clock.advance(300)
    tickets.reply(desk, actors["nia"], key, "Found it")
    tickets.note(desk, actors["nia"], key, "gateway cert expired — internal only")
    t = detail(desk, key)
    assert t.first_response_at == first
    assert [(e.kind, e.author, e.body) for e in t.entries] == [
        ("reply", "al", "Looking into it"),
        ("reply", "nia", "Found it"),
        ("note", "nia", "gateway cert expired — internal only"),
    ]
    assert t.version == 4
    with pytest.raises(ValidationError, match="empty"):
        tickets.note(desk, actors["al"], key, "   ")


def test_replies_to_closed_tickets_are_refused_but_notes_are_kept(desk, actors):
    key = _ticket_in(desk, actors, "closed")
    with pytest.raises(InvalidTransition, match="open a new ticket"):
        tickets.reply(desk, actors["al"], key, "hello?")
    tickets.note(desk, actors["al"], key, "post-incident: root cause was DNS")
    assert detail(desk, key).entries[-1].kind == "note"


# ---------------------------------------------------------------- links and merge
def test_links_both_ways_and_removal(desk, actors):
    al = actors["al"]
    a, b, c = new(desk, al), new(desk, al), new(desk, al)
    links.link(desk, al, a, "parent-of", b)
    links.link(desk, al, c, "caused-by", a)
    links.link(desk, al, a, "relates-to", c)
    da, db = detail(desk, a), detail(desk, b)
    assert {(ln.kind, ln.other) for ln in da.links} == {("parent_of", b), ("causes", c), ("relates_to", c)}
    assert [(ln.kind, ln.other) for ln in db.links] == [("child_of", a)]
    with pytest.raises(NoChange, match="already recorded"):
        links.link(desk, al, c, "relates-to", a)  # relates-to is symmetric
    with pytest.raises(ValidationError, match="itself"):
        links.link(desk, al, a, "relates-to", a)
    with pytest.raises(ValidationError, match="already has a parent"):
        links.link(desk, al, c, "parent-of", b)
    with pytest.raises(ValidationError, match="cycle"):
        links.link(desk, al, b, "parent-of", a)
    with pytest.raises(ValidationError, match="not a link kind"):
        links.link(desk, al, a, "blocks", b)
    with pytest.raises(NotFound, match="INC-999 does not exist"):
        links.link(desk, al, a, "relates-to", "INC-999")
    links.link(desk, al, b, "child-of", a, remove=True)
    assert detail(desk, b).links == []
    assert ("al", "unlink", "link", f"{a} parent_of {b}", None) in audit_of(b)


def test_merge_closes_the_duplicate_and_keeps_its_conversation_reachable(desk, actors):
    al = actors["al"]
    target, dup, older = new(desk, al), new(desk, al, title="VPN broken"), new(desk, al, title="VPN?")
    tickets.reply(desk, al, dup, "We are on it (dup)")
    links.merge(desk, al, older, dup)
    links.merge(desk, al, dup, target)
    d = detail(desk, dup)
    assert (d.status, d.merged_into, d.resolution_code) == ("closed", target, "duplicate")
    assert ("duplicate_of", target) in [(ln.kind, ln.other) for ln in d.links]
    t = detail(desk, target)
    assert set(t.merged) == {dup, older}  # the earlier merge follows to the new target
    assert [(e.ticket, e.body) for e in t.entries] == [(dup, "We are on it (dup)")]
    assert any(a[1] == "merge" and dup in (a[4] or "") for a in audit_of(target))
    with pytest.raises(InvalidTransition, match="closed"):
        links.merge(desk, al, dup, target)
    with pytest.raises(ValidationError, match="itself"):
        links.merge(desk, al, target, target)


# ---------------------------------------------------------------- roles
@pytest.mark.parametrize(
    "operation",
    [
        lambda d, a, k: tickets.create(d, a, title="x"),
        lambda d, a, k: tickets.triage(d, a, k, priority="P1"),
        lambda d, a, k: tickets.assign(d, a, k, agent="al"),
        lambda d, a, k: tickets.take(d, a, k),
        lambda d, a, k: tickets.acknowledge(d, a, k),
        lambda d, a, k: tickets.set_status(d, a, k, "closed"),
        lambda d, a, k: tickets.reply(d, a, k, "hi"),
        lambda d, a, k: tickets.note(d, a, k, "hi"),
        lambda d, a, k: tickets.resolve(d, a, k, "fixed"),
        lambda d, a, k: tickets.close(d, a, k),
        lambda d, a, k: tickets.reopen(d, a, k),
        lambda d, a, k: tickets.cancel(d, a, k, "no"),
        lambda d, a, k: links.link(d, a, k, "relates-to", "INC-1"),
        lambda d, a, k: links.merge(d, a, k, "INC-1"),
    ],
    ids=["create", "triage", "assign", "take", "ack", "status", "reply", "note", "resolve", "close", "reopen",
         "cancel", "link", "merge"],
)
def test_viewers_and_unknown_logins_cannot_write(desk, actors, config, operation):
    from deskconsole.core.identity import actor_for

    new(desk, actors["al"])
    key = new(desk, actors["al"])
    before = (Ticket.select().count(), AuditEvent.select().count(), Entry.select().count(), Link.select().count())
    for who in (actors["vic"], actor_for(desk, "stranger")):
        with pytest.raises(PermissionDenied, match=f"{who.login} is a viewer"):
            operation(desk, who, key)
    after = (Ticket.select().count(), AuditEvent.select().count(), Entry.select().count(), Link.select().count())
    assert before == after


def test_as_login_is_for_admins_and_is_audited(desk, config):
    from deskconsole.core.identity import resolve_actor

    with pytest.raises(PermissionDenied, match="--as is for desk admins"):
        resolve_actor(desk, "al", "ada")
    as_al = resolve_actor(desk, "ada", "al")
    assert (as_al.login, as_al.role, as_al.via) == ("al", "agent", "ada")
    key = tickets.create(desk, as_al, title="raised on behalf").key
    row = AuditEvent.select().where(AuditEvent.ticket == int(key[4:])).first()
    assert (row.actor, row.via) == ("al", "ada")
    assert resolve_actor(desk, "nobody").role == "viewer"


def test_unknown_and_malformed_keys(desk, actors):
    with pytest.raises(NotFound, match="INC-41 does not exist"):
        tickets.note(desk, actors["al"], "INC-41", "x")
    with pytest.raises(ValidationError, match="not a ticket key"):
        tickets.note(desk, actors["al"], "PRB-x", "x")
    key = new(desk, actors["al"])
    tickets.note(desk, actors["al"], key.lower(), "lower-case keys work")
    tickets.note(desk, actors["al"], key.split("-")[1], "bare numbers work")
