"""One process, both backends: a tool (or a test run) that works on a
PostgreSQL desk and then on a SQLite one, back and forth, gets each desk's
own SQL every time."""

from __future__ import annotations

import gc

from deskconsole.core.records import tickets
from deskconsole.core.desk import open_desk
from deskconsole.core.automation.sweep import sweep
from deskconsole.models import Ticket


def test_desks_on_both_backends_one_after_the_other(postgres_url, sqlite_url, sla_config, actors, clock):
    for round_ in range(6):
        for url in (postgres_url, sqlite_url):
            desk = open_desk(url, sla_config, clock)
            try:
                key = tickets.create(desk, actors["al"], title=f"round {round_}", priority="P1").key  # bulk audit rows
                clock.advance(minutes=20)
                assert sweep(desk).crossings > 0  # prepared crossing inserts
                assert Ticket.select().count() == round_ + 1 and key == f"INC-{round_ + 1}"
            finally:
                desk.close()
            del desk
            gc.collect()  # the next desk's database object may take the old one's address
