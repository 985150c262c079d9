"""Two desks open in one process: each call lands in its own desk.

The first desk is always a SQLite file; the second is another SQLite file,
then the PostgreSQL test database. Every check reads the files and the
server behind the program's back (sqlite3, psycopg) as well as through it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

from deskconsole.core.records import links, tickets, views
from deskconsole.core.search import queue
from deskconsole.core.desk import open_desk
from deskconsole.core.search.query import select_tickets
from deskconsole.models import Ticket
from deskconsole.db_runner import DbRunner


@pytest.fixture
def first(tmp_path, config, clock):
    desk = open_desk(f"sqlite:///{tmp_path / 'first.db'}", config, clock)
    yield desk
    desk.close()


@pytest.fixture
def second(db_url, config, clock):
    """Opened after ``first``: the desk bare model code would default to."""
    desk = open_desk(db_url, config, clock)
    yield desk
    desk.close()


def titles_behind_its_back(desk) -> list[str]:
    """The desk's ticket titles as its own storage has them, in id order."""
    if desk.is_sqlite:
        with sqlite3.connect(desk.db.database) as conn:
            return [t for (t,) in conn.execute("SELECT title FROM ticket ORDER BY id")]
    import psycopg

    with psycopg.connect(desk.url) as conn:
        return [t for (t,) in conn.execute("SELECT title FROM ticket ORDER BY id")]


def test_writes_land_in_their_own_desk(first, second, actors):
    ada = actors["ada"]
    for n in range(3):  # interleaved, so neither desk is "the last opened" for long
        tickets.create(first, ada, title=f"first {n}")
        tickets.create(second, ada, title=f"second {n}")
    tickets.note(first, ada, "INC-2", "a note on the first desk")
    tickets.take(second, actors["al"], "INC-3")
    links.merge(first, ada, "INC-3", "INC-1")

    assert titles_behind_its_back(first) == ["first 0", "first 1", "first 2"]
    assert titles_behind_its_back(second) == ["second 0", "second 1", "second 2"]
    assert views.detail(first, "INC-3").merged_into == "INC-1"
    assert views.detail(second, "INC-3").assignee == "al"
    assert views.detail(second, "INC-3").merged_into is None
    first_notes = [e.body for e in views.detail(first, "INC-2").entries]
    assert "a note on the first desk" in first_notes
    assert "a note on the first desk" not in [e.body for e in views.detail(second, "INC-2").entries]


def test_reads_see_only_their_own_desk(first, second, actors, clock):
    tickets.create(first, actors["ada"], title="printer jammed on floor 3")
    tickets.create(second, actors["ada"], title="vpn drops every hour")
    tickets.create(second, actors["ada"], title="vpn slow from home")

    spec = queue.QueueSpec("is:open", "ada")
    assert [t.title for t in queue.page(first, spec, 0, 50, clock())] == ["printer jammed on floor 3"]
    assert queue.count(second, spec, clock()) == 2
    assert queue.count(first, queue.QueueSpec("vpn", "ada"), clock()) == 0  # the text index too
    assert queue.count(second, queue.QueueSpec("printer", "ada"), clock()) == 0
    assert views.detail(first, "INC-1").title == "printer jammed on floor 3"
    assert views.detail(second, "INC-1").title == "vpn drops every hour"


def test_a_query_run_later_still_reads_its_desk(first, second, actors, clock):
    tickets.create(first, actors["ada"], title="only on the first desk")
    query = select_tickets(first, "is:open", actor_login="ada", now=clock())
    tickets.create(second, actors["ada"], title="only on the second desk")
    assert [t.title for t in query] == ["only on the first desk"]  # not the desk opened last
    assert query.count() == 1


def test_model_code_says_which_desk(first, second, actors):
    tickets.create(first, actors["ada"], title="one")
    assert Ticket.select().count() == 0  # bare model code: the desk opened last
    with first.bound():
        assert [t.title for t in Ticket.select()] == ["one"]
    assert Ticket.select().count() == 0


def test_closing_one_desk_leaves_the_other_working(tmp_path, config, clock, actors):
    a = open_desk(f"sqlite:///{tmp_path / 'a.db'}", config, clock)
    b = open_desk(f"sqlite:///{tmp_path / 'b.db'}", config, clock)
    b.close()
    tickets.create(a, actors["ada"], title="after b closed")
    assert Ticket.select().count() == 1  # the default is the desk still open
    assert titles_behind_its_back(a) == ["after b closed"]
    a.close()


def test_two_threads_each_on_its_own_desk(first, second, actors):
    ada, errors = actors["ada"], []

    def work(desk, name):
        try:
            for n in range(40):
                tickets.create(desk, ada, title=f"{name} {n}")
                tickets.note(desk, ada, f"INC-{n + 1}", f"{name} note {n}")
        except Exception as exc:  # reported below, with the thread's name
            errors.append((name, exc))

    threads = [threading.Thread(target=work, args=(first, "first")),
               threading.Thread(target=work, args=(second, "second"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert titles_behind_its_back(first) == [f"first {n}" for n in range(40)]
    assert titles_behind_its_back(second) == [f"second {n}" for n in range(40)]
    assert [e.body for e in views.detail(first, "INC-40").entries][-1] == "first note 39"


def test_each_console_runner_reads_its_own_desk(first, second, actors):
    tickets.create(first, actors["ada"], title="first's")
    tickets.create(second, actors["ada"], title="second's")

    def bare_titles():  # no desk named: the runner decides
        return [t.title for t in Ticket.select()]

    async def both():
        runners = DbRunner(first.db), DbRunner(second.db)
        try:
            return await asyncio.gather(*(r.read(bare_titles) for r in runners))
        finally:
            for r in runners:
                r.close()

    assert asyncio.run(both()) == [["first's"], ["second's"]]
