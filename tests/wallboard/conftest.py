"""A wallboard on a real SQLite desk with SLA policies and a manual clock,
driven by Textual's pilot (time moves only when a test says so)."""

from __future__ import annotations


import pytest

from deskconsole.config import parse_config
from deskconsole.core.reports import board
from deskconsole.core.records import tickets
from deskconsole.core.desk import open_desk
from deskconsole.core.automation.sweep import sweep

HOSTILE = "Disk \x1b[31mfull\x1b[0m [bold red]NOW[/] \x07bell\u202eevil"


@pytest.fixture
def board_text(two_policies_text):
    return two_policies_text


@pytest.fixture
def board_config(board_text):
    return parse_config(board_text, "test.toml")


@pytest.fixture
def board_desk(db_url, board_config, clock):
    desk = open_desk(db_url, board_config, clock)
    yield desk
    desk.close()


def build_desk(desk, actors, clock) -> None:
    """A fixed desk (the clock starts at 2026-11-23 09:00 UTC):

    INC-1 P3 ops, warning by 09:35 · INC-2 P2 network (vpn) · INC-3 P1 ops,
    breached (first response due 09:20) · INC-4 P4 taken by al at 09:10
    (acknowledged: MTTA) · INC-5 P3 pending (paused) · INC-6 resolved at
    09:10 (MTTR 0) · INC-7 P2 with hostile text, created 09:15, resolved at
    09:30 · then 09:35."""
    al, nia = actors["al"], actors["nia"]
    tickets.create(desk, al, title="Printer on floor 3 jams on every job", priority="P3")
    clock.advance(minutes=2)
    tickets.create(desk, nia, title="VPN drops every ten minutes", priority="P2", service="vpn")
    clock.advance(minutes=3)
    tickets.create(desk, al, title="Checkout returns 502", priority="P1", category="outage")
    clock.advance(minutes=5)
    tickets.create(desk, al, title="Password reset for a new starter", priority="P4", category="access")
    tickets.take(desk, al, "INC-4")
    tickets.create(desk, al, title="Mailbox quota warnings", priority="P3", service="mail")
    tickets.assign(desk, al, "INC-5", agent="al")
    tickets.set_status(desk, al, "INC-5", "pending")
    tickets.create(desk, al, title="Resolved before the shift began", priority="P3")
    tickets.resolve(desk, al, "INC-6", "fixed")
    clock.advance(minutes=5)
    tickets.create(desk, al, title=HOSTILE, priority="P2")
    clock.advance(minutes=15)
    tickets.resolve(desk, al, "INC-7", "workaround")
    clock.advance(minutes=5)  # 09:35
    sweep(desk)  # record the warnings once, deterministically (the board's own loop is off in tests)


def make_app(desk, config, *, rotate: float = 20, pages=None, **kwargs):
    from deskconsole.ui.wallboard import WallboardApp

    kwargs.setdefault("sweep", False)
    kwargs.setdefault("ticking", False)  # tests call app.tick() after moving the clock
    kwargs.setdefault("min_refresh", 0)
    return WallboardApp(desk, board.board_actor(desk, "ada"), pages or board.pages(config), rotate=rotate,
                        **kwargs)



@pytest.fixture
def built(board_desk, actors, clock):
    """The fixed desk of :func:`build_desk`, at 09:35."""
    build_desk(board_desk, actors, clock)
    return board_desk


@pytest.fixture
def new_app(board_desk, board_config):
    """``new_app(rotate=20, pages=None, **options)``: a wallboard on the test desk, not ticking by itself."""
    return lambda **kwargs: make_app(board_desk, board_config, **kwargs)


@pytest.fixture
def hostile():
    return HOSTILE


@pytest.fixture
def pg_board(pg_proxy, board_config, actors, clock):
    """(app, proxy): a board on the fixed desk of :func:`build_desk`, on
    PostgreSQL reached through a proxy that can play a server restart."""
    desk = open_desk(pg_proxy.desk_url, board_config, clock)
    build_desk(desk, actors, clock)
    yield make_app(desk, board_config, rotate=0), pg_proxy
    pg_proxy.down()
    desk.close()
