"""The prepared hot reads return what Peewee's own queries return, on both
backends: the same model instances (nothing dirty), the same rows, the same
ticket detail; and the prepared UPDATE keeps the version check."""

from __future__ import annotations

import pytest

from deskconsole.config import parse_config
from deskconsole.core import hot_reads
from deskconsole.core.records import links, tickets
from deskconsole.core.records.change import change_ticket
from deskconsole.core.desk import open_desk
from deskconsole.errors import Conflict
from deskconsole.core.records.views import detail
from deskconsole.core.records.links import INVERSE
from deskconsole.models import AuditEvent, Entry, Link, SlaClock, Ticket

from tests.conftest import TEST_CONFIG, TWO_POLICIES


@pytest.fixture
def sla_desk(db_url, clock):
    desk = open_desk(db_url, parse_config(TEST_CONFIG + TWO_POLICIES), clock)
    yield desk
    desk.close()


def _busy_ticket(desk, actors, clock):
    ada = actors["ada"]
    key = tickets.create(desk, ada, title="VPN down", description="x" * 5000, priority="P1", service="vpn").key
    other = tickets.create(desk, ada, title="Mail slow", priority="P3").key
    dup = tickets.create(desk, ada, title="VPN down again", priority="P3").key
    clock.advance(minutes=3)
    tickets.take(desk, ada, key)
    tickets.note(desk, ada, key, "looking")
    tickets.note(desk, ada, dup, "same here")
    tickets.triage(desk, ada, key, priority="P2")
    links.link(desk, ada, key, "relates_to", other)
    links.link(desk, ada, other, "caused_by", key)
    links.merge(desk, ada, dup, key)
    return key


def test_reads_match_peewee(sla_desk, actors, clock):
    desk = sla_desk
    key = _busy_ticket(desk, actors, clock)
    tid = int(key.split("-")[1])
    for row in Ticket.select().order_by(Ticket.id):
        mine = hot_reads.ticket(row.id)
        assert isinstance(mine, Ticket) and not mine.is_dirty()
        assert mine.__data__ == row.__data__
    assert hot_reads.ticket(9999) is None
    clocks = list(SlaClock.select().where(SlaClock.ticket == tid).order_by(SlaClock.id))
    mine = hot_reads.clocks(tid)
    assert clocks and [c.__data__ for c in mine] == [c.__data__ for c in clocks]
    assert not any(c.is_dirty() for c in mine)
    assert hot_reads.merged_ids(tid) == [3]
    expected = [
        [e.id, e.ticket_id, e.kind, e.author, e.author_name, e.at, e.body, e.source]
        for e in Entry.select().where(Entry.ticket.in_([tid, 3])).order_by(Entry.at, Entry.id)
    ]
    assert [list(r) for r in hot_reads.entries([tid, 3])] == expected and len(expected) == 2
    audit = [[a.at, a.actor, a.via, a.action, a.field, a.old, a.new]
             for a in AuditEvent.select().where(AuditEvent.ticket == tid).order_by(AuditEvent.id)]
    assert [list(r) for r in hot_reads.audit(tid)] == audit
    assert all(r[0].tzinfo is not None for r in hot_reads.audit(tid))
    shown = detail(desk, key)
    expected_links = []
    for ln in Link.select().where((Link.source == tid) | (Link.target == tid)).order_by(Link.id):
        out = ln.source_id == tid
        other = Ticket.get_by_id(ln.target_id if out else ln.source_id)
        expected_links.append((ln.kind if out else INVERSE[ln.kind], f"INC-{other.id}", other.title, other.status))
    assert [(ln.kind, ln.other, ln.title, ln.status) for ln in shown.links] == expected_links
    assert expected_links[:2] == [("relates_to", "INC-2", "Mail slow", "new"), ("causes", "INC-2", "Mail slow", "new")]
    assert shown.merged == ["INC-3"] and len(shown.entries) == 2 and shown.description == "x" * 5000
    assert [c.metric for c in shown.clocks] == ["first_response", "resolution"]


def test_prepared_update_checks_the_version(desk, actors):
    ada = actors["ada"]
    key = tickets.create(desk, ada, title="Printer on fire").key
    with pytest.raises(Conflict):
        with change_ticket(desk, ada, "triage", key) as ch:
            ch.set("priority", "P1")
            Ticket.update(version=Ticket.version + 1).where(Ticket.id == ch.ticket.id).execute()  # someone else
            ch.save()
    assert Ticket.get_by_id(1).priority != "P1"
    out = tickets.triage(desk, ada, key, priority="P1")
    row = Ticket.get_by_id(1)
    assert (out.version, row.version, row.priority) == (2, 2, "P1")
    assert row.updated_at == desk.now()
