"""The SLA engine on PostgreSQL: the same code, the other backend."""

from __future__ import annotations

from deskconsole.core import tickets
from deskconsole.core.desk import open_desk
from deskconsole.core.keys import ticket_id
from deskconsole.core.sweep import sweep
from deskconsole.models import Outbox, SlaClock, SlaCrossing, Ticket


def test_clocks_sweep_and_escalation_on_postgresql(postgres_url, sla_config, clock, actors):
    desk = open_desk(postgres_url, sla_config, clock)
    try:
        key = tickets.create(desk, actors["al"], title="Checkout down", priority="P1").key
        tickets.take(desk, actors["al"], key)
        clock.advance(hours=3, minutes=40)
        tickets.set_status(desk, actors["al"], key, "pending")  # P1 pauses too
        clock.advance(hours=1)
        tickets.set_status(desk, actors["al"], key, "in_progress")
        res = SlaClock.get((SlaClock.ticket == ticket_id(key)) & (SlaClock.metric == "resolution"))
        assert (res.state, res.paused, res.elapsed) == ("running", 3600, 3 * 3600 + 40 * 60)
        first = sweep(desk)
        assert first.crossings == 3 and first.actions == 1  # 50, 75, 90 (notify at 90)
        assert sweep(desk).crossings == 0
        clock.advance(minutes=21)
        assert sweep(desk).crossings == 1  # the breach
        assert SlaCrossing.select().count() == 4
        assert Outbox.select().count() == 2
        assert Ticket.get_by_id(ticket_id(key)).sla == "breached"
    finally:
        desk.close()
