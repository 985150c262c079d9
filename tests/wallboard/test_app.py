"""The wallboard app, driven by Textual's pilot on a real desk (SQLite and
PostgreSQL) with a manual clock: figures and lists on screen, ticking without relayout,
rotation and its keys, live changes, stale data and recovery, hostile
text, help, and a long simulated run that stays flat."""

from __future__ import annotations

import re

import pytest
from textual.widgets import Digits

from deskconsole.core.reports import board
from deskconsole.core.records import tickets
from deskconsole.db import connect
from deskconsole.models import AuditEvent, FeedEntry, Ticket
from deskconsole.ui.wallboard.widgets import BoardHelp, TicketBoard


def screen_text(app) -> list[str]:
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens, simplify=True)
    return ["".join(seg.text for strip in line for seg in strip if not seg.control) for line in update.strips]


def list_rows(app) -> list[str]:
    lines = screen_text(app)
    header = next(y for y, line in enumerate(lines) if " KEY " in line and " P " in line)
    return [line for line in lines[header + 1:] if "INC-" in line]


def keys_of(rows: list[str]) -> list[str]:
    return [re.search(r"INC-\d+", row).group(0) for row in rows]


def tile_value(app, tid: str) -> str:
    return app.tile(tid).query_one(Digits).value


def count_layouts(app) -> list[int]:
    """Count the screen's layout passes from now on (Textual lays out in Screen._refresh_layout)."""
    counter = [0]
    screen = app.screen
    real = screen._refresh_layout

    def counting(*args, **kwargs):
        counter[0] += 1
        return real(*args, **kwargs)

    screen._refresh_layout = counting
    return counter


async def test_overview_shows_the_figures_and_the_most_urgent_tickets(built, new_app, settle):
    app = new_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert [tile_value(app, p) for p in ("P1", "P2", "P3", "P4")] == ["1", "1", "2", "1"]
        assert tile_value(app, "breached") == "1" and app.tile("breached").has_class("-alert")
        assert tile_value(app, "at_risk") == "2" and not app.tile("at_risk").has_class("-alert")
        assert tile_value(app, "unassigned") == "3"
        assert tile_value(app, "oldest") == "0:33" and app.tile("oldest").note == "INC-2 P2"  # created 09:02
        assert tile_value(app, "mtta") == "0:00" and tile_value(app, "mttr") == "0:07"
        rows = list_rows(app)
        assert keys_of(rows) == ["INC-3", "INC-1", "INC-2", "INC-4"]
        assert rows[0].split()[:5] == ["-15m", "▲", "INC-3", "P1", "BREACH"]  # a glyph and a word too
        assert rows[1].split()[:5] == ["25m", "!", "INC-1", "P3", "warn"]
        lines = screen_text(app)
        assert "Test desk · Overview (1/5)" in lines[0] and "09:35:00" in lines[0]
        assert "data as of 09:35:00" in lines[0]
        assert "Most urgent: nearest SLA deadline first · 4 in all" in "\n".join(lines)


async def test_ticking_repaints_cells_and_never_relays_out(built, new_app, settle, clock):
    app = new_app(rotate=0)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(app, pilot)
        layouts = count_layouts(app)
        before = list_rows(app)
        for _ in range(90):
            clock.advance(1)
            app.tick()
            await pilot.pause()
        await settle(app, pilot)
        after = list_rows(app)
        assert before[0].split()[0] == "-15m" and after[0].split()[0] == "-16m"  # INC-3 overdue, to the minute
        assert before[1].split()[0] == "25m" and after[1].split()[0] == "23m"  # INC-1's deadline, 23m 30s away
        assert "09:36:30" in screen_text(app)[0]
        assert layouts[0] == 0, f"{layouts[0]} layout passes in 90 ticks"
        # the list marks only the cells whose text moved: nothing while every deadline is 10 minutes away or more
        clock.advance(1)
        assert app.ticket_list.tick(clock()) == 0
        clock.advance(minutes=16, seconds=59)  # 09:53:30: INC-1 is due at 10:00, INC-2 at 10:02
        app.tick()
        await settle(app, pilot)
        rows = list_rows(app)
        assert [r.split()[:2] for r in rows[:3]] == [["-33m", "▲"], ["6m", "30s"], ["8m", "30s"]]
        clock.advance(1)
        assert app.ticket_list.tick(clock()) == 2  # those two tick to the second now; INC-3 and INC-4 do not
        assert layouts[0] == 0


def test_a_tick_repaints_only_the_characters_that_moved():
    from deskconsole.ui.wallboard.widgets import changed_span

    assert changed_span("   12m 05s", "   12m 04s", 10) == (8, 1)  # one digit
    assert changed_span("   12m 00s", "   11m 59s", 10) == (4, 5)  # '2m 00' -> '1m 59'
    assert changed_span("   10m 00s", "    9m 59s", 10) == (3, 6)
    assert changed_span("       59s", "    1m 00s", 10) == (4, 5)
    assert changed_span("ok", "warn", 10) == (0, 10)  # another length: the whole cell
    assert changed_span("日本", "日曜", 10) == (0, 10)  # wide characters: the whole cell


async def test_rotation_turns_pages_on_the_desks_clock_and_the_keys_pause_and_turn(built, new_app, settle, clock):
    app = new_app(rotate=20)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.page.id == "overview"
        clock.advance(19)
        app.tick()
        assert app.page.id == "overview" and "next  1s" in screen_text(app)[0]
        clock.advance(1)
        app.tick()
        await settle(app, pilot)
        assert app.page.id == "team:ops"
        assert "Operations (2/5)" in screen_text(app)[0]
        await pilot.press("space")  # pause
        clock.advance(120)
        app.tick()
        await settle(app, pilot)
        assert app.page.id == "team:ops" and "‖ paused" in screen_text(app)[0]
        await pilot.press("n")
        await settle(app, pilot)
        assert app.page.id == "team:network"
        assert keys_of(list_rows(app)) == ["INC-2"]
        await pilot.press("right", "right")
        await settle(app, pilot)
        assert app.page.id == "resolved"
        await pilot.press("right")  # wraps round
        assert app.page.id == "overview"
        await pilot.press("left", "p")
        await settle(app, pilot)
        assert app.page.id == "breaches"
        assert keys_of(list_rows(app)) == ["INC-3"]
        await pilot.press("space")  # resume: the page gets its full time again
        clock.advance(19)
        app.tick()
        assert app.page.id == "breaches"
        clock.advance(1)
        app.tick()
        assert app.page.id == "resolved"


async def test_a_change_on_the_desk_shows_without_a_key(built, new_app, settle, actors):
    app = new_app(rotate=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await app.poll_feed()  # the feed reader is made on the first poll
        await settle(app, pilot)
        tickets.create(built, actors["nia"], title="Core switch down", priority="P1", team="network")
        await app.poll_feed()
        await settle(app, pilot)
        assert tile_value(app, "P1") == "2"
        assert "INC-8" in "\n".join(list_rows(app))
        reads = app.reads
        await app.poll_feed()  # nothing new: no read
        await settle(app, pilot)
        assert app.reads == reads


async def test_unreadable_database_keeps_the_last_data_marks_it_stale_and_recovers(built, new_app, settle, clock,
                                                                                   db_url):
    app = new_app(rotate=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await app.poll_feed()
        await settle(app, pilot)
        # a restore in progress elsewhere: the ticket table is not there for a while
        other = connect(db_url)
        other.execute_sql("ALTER TABLE ticket RENAME TO ticket_restoring")
        app.reload()
        await settle(app, pilot)
        assert app.trouble is not None and "ticket" in app.trouble
        assert app.query_one("#stale").display
        clock.advance(minutes=2)
        app.tick()
        await pilot.pause()
        text = "\n".join(screen_text(app))
        assert "⚠ STALE: data as of 09:35:00, 2m 00s old" in text and "retrying by itself" in text.replace("\n", " ")
        assert tile_value(app, "P1") == "1" and keys_of(list_rows(app))[:1] == ["INC-3"]  # kept
        await app.poll_feed()  # still broken: stays stale, no crash
        await settle(app, pilot)
        assert app.trouble is not None
        other.execute_sql("ALTER TABLE ticket_restoring RENAME TO ticket")
        other.close()
        await app.poll_feed()  # the next poll finds the desk again and re-reads it
        await settle(app, pilot)
        assert app.trouble is None and not app.query_one("#stale").display
        assert "data as of 09:37:00" in screen_text(app)[0]
        assert app.failures >= 2


async def test_ticket_text_is_shown_literally(built, new_app, settle, hostile):
    pages = [p for p in board.pages(built.config) if p.id == "resolved"]
    app = new_app(pages=pages)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(app, pilot)
        rows = list_rows(app)
        assert "INC-7" in rows[0]
        assert "Disk \\x1b[31mfull\\x1b[0m [bold red]NOW[/] \\x07bell\\u202eevil" in rows[0]
        update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
        for line in update.strips:
            for strip in line:
                for seg in strip:
                    if not seg.control:
                        assert "\x1b" not in seg.text and "\x07" not in seg.text and "\u202e" not in seg.text


async def test_help_lists_the_boards_keys(built, new_app, settle):
    app = new_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, BoardHelp)
        keys = dict((what, keys) for keys, what in app.screen.keys)
        assert keys["Pause/resume"] == "space" and keys["Next page"] == "n, →" and keys["Previous page"] == "p, ←"
        assert "q" in keys["Quit"] and keys["Help"] == "?"
        text = "\n".join(screen_text(app))
        assert "Wallboard keys" in text and "changes nothing" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, BoardHelp)


async def test_keys_can_be_remapped_by_binding_id(built, new_app, settle):
    app = new_app(keymap={"board.next": "l", "ticket.take": "t"})  # a console id in the same [keys] is ignored
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("l")
        assert app.page.id == "team:ops"


async def test_narrow_and_wide_layouts(built, new_app, settle):
    for size, wide in (((80, 24), False), ((160, 45), True), ((240, 67), True)):
        app = new_app()
        async with app.run_test(size=size) as pilot:
            await settle(app, pilot)
            lines = screen_text(app)
            assert len(lines) == size[1] and all(len(line) == size[0] for line in lines)
            header = next(line for line in lines if " KEY " in line)
            assert ("STATUS" in header) is wide  # narrow screens drop columns, not the title
            assert "TITLE" in header
            tiles = [app.tile(t).region for t in ("P1", "mttr")]
            assert all(r.width >= 14 for r in tiles)  # five big digits fit in every tile
            if size == (240, 67):
                assert tiles[0].y == tiles[1].y  # all ten figures on one line
            else:
                assert tiles[1].y > tiles[0].y  # two lines of five
            rows = list_rows(app)
            assert len(rows) == 4 and all(str(r).rstrip() for r in rows)


@pytest.mark.slow
async def test_a_long_run_stays_flat(board_desk, new_app, settle, clock, actors):
    """Eight simulated hours in 2-minute steps: tickets come and go, pages turn,
    the clock ticks; the board keeps one snapshot per page, the same widgets and
    timers, and a bounded number of painted lines."""
    app = new_app(rotate=20)
    al = actors["al"]
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(app, pilot)
        await app.poll_feed()
        widgets = len(app.screen.query("*"))
        timers = len(app._timers) if hasattr(app, "_timers") else None
        n = 0
        for step in range(8 * 30):
            clock.advance(120)
            if step % 4 == 0:
                n += 1
                tickets.create(board_desk, al, title=f"Ticket {n}", priority=("P1", "P2", "P3", "P4")[n % 4])
                if n > 5:
                    tickets.resolve(board_desk, al, f"INC-{n - 5}", "fixed")
                await app.poll_feed()
            app.tick()
            await pilot.pause()
        await settle(app, pilot)
        assert len(app.snapshots) <= len(app.pages)
        assert len(app.screen.query("*")) == widgets
        if timers is not None:
            assert len(app._timers) == timers
        assert len(app.ticket_list._painted) <= app.ticket_list.size.height
        assert app.reads > 50 and app.failures == 0
        assert Ticket.select().count() == n


async def test_rows_whose_deadline_passes_on_screen_refresh_the_figures(built, new_app, settle, clock):
    app = new_app(rotate=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert tile_value(app, "breached") == "1"
        clock.advance(minutes=25, seconds=1)  # 10:00:01: INC-1's first response is overdue
        app.tick()
        await settle(app, pilot)
        assert tile_value(app, "breached") == "2"
        row = list_rows(app)[1]
        assert row.split()[0] == "-1s" and "▲ INC-1" in row and " BREACH " in row


def _writes(desk) -> tuple[int, int, list[int]]:
    return (AuditEvent.select().count(), FeedEntry.select().count(),
            [t.version for t in Ticket.select(Ticket.version).order_by(Ticket.id)])


async def test_no_key_reaches_a_write(built, new_app, settle):
    """Every key a keyboard sends, on the board and in its help: nothing on
    the desk changes (no audit event, no feed row, no new version)."""
    before = _writes(built)
    app = new_app(rotate=0)
    keys = [chr(c) for c in range(33, 127) if chr(c) not in "q"] + [
        "enter", "escape", "tab", "shift+tab", "space", "backspace", "delete", "up", "down", "left", "right",
        "home", "end", "pageup", "pagedown", "insert", "f1", "f2", "f5", "f10", "ctrl+p", "ctrl+r", "ctrl+n",
        "ctrl+t", "ctrl+a", "ctrl+s", "ctrl+e", "ctrl+d", "ctrl+l", "ctrl+o",
    ]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        for key in keys:
            await pilot.press(key)
            if isinstance(app.screen, BoardHelp) and key != "question_mark":
                await pilot.press("escape")
        await settle(app, pilot)
        assert len(app.screen_stack) <= 2  # at most the help: no palette, no editing screen
        await pilot.press("escape", "q")
    assert app.return_code in (0, None)
    assert _writes(built) == before


def test_every_binding_and_action_of_the_board_is_a_view_action():
    """Statically: the bindings of the board, its screen, its widgets and its
    help name only view actions, each implemented by the board or by Textual
    itself; the command palette is off; the board's code imports no write
    path of the core."""
    import ast
    import inspect
    from pathlib import Path

    import deskconsole.ui.wallboard as package
    from deskconsole.ui.wallboard import app as app_module
    from deskconsole.ui.wallboard.app import WallboardApp
    from deskconsole.ui.wallboard.widgets import Ticker, Tile

    allowed = {"quit", "toggle_rotation", "next_page", "previous_page", "help", "close",
               "focus_next", "focus_previous", "copy_text", "help_quit", "command_palette", "scroll_up",
               "scroll_down", "scroll_left", "scroll_right", "scroll_home", "scroll_end", "page_up", "page_down",
               "page_left", "page_right", "minimize", "maximize", "screenshot", "app.focus_next",
               "app.focus_previous", "app.quit", "app.help_quit", "app.command_palette", "screen.copy_text"}
    seen = {}
    from textual.screen import Screen
    from textual.widgets import Footer

    for cls in (WallboardApp, Screen, BoardHelp, TicketBoard, Tile, Ticker, Digits, Footer):
        for klass in cls.__mro__:
            for binding in getattr(klass, "BINDINGS", []) or []:
                action = binding.action if hasattr(binding, "action") else binding[1]
                seen[action.split("(")[0]] = klass.__module__
    assert set(seen) <= allowed, {a: m for a, m in seen.items() if a not in allowed}
    assert WallboardApp.ENABLE_COMMAND_PALETTE is False
    for name in ("toggle_rotation", "next_page", "previous_page", "help"):
        assert inspect.getmodule(getattr(WallboardApp, f"action_{name}")) is app_module
    # the board's own actions are exactly these (nothing hidden to reach by other means)
    own = {n for n in vars(WallboardApp) if n.startswith("action_")}
    assert own == {"action_toggle_rotation", "action_next_page", "action_previous_page", "action_help"}
    writes = {"deskconsole.core.records.tickets", "deskconsole.core.txn", "deskconsole.core.archive.transfer",
              "deskconsole.core.bulk", "deskconsole.core.archive.demo", "deskconsole.core.records.links",
              "deskconsole.core.automation.escalation", "deskconsole.core.records.change", "deskconsole.ui.triage",
              "deskconsole.ui.app", "deskconsole.ui.screens"}
    for path in Path(package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            for name in names:
                assert not any(name == w or name.startswith(w + ".") for w in writes), (path.name, name)


def test_running_the_board_loads_no_editing_screen(tmp_path, board_text):
    """In a process of its own: after a board has run, none of the console's
    editing screens or its triage actions were ever imported."""
    import subprocess
    import sys
    import textwrap

    (tmp_path / "config.toml").write_text(board_text, encoding="utf-8")
    code = textwrap.dedent(f"""
        import asyncio, sys
        from deskconsole.config import load_config
        from deskconsole.core.reports import board
        from deskconsole.core.desk import open_desk
        from deskconsole.ui.wallboard import WallboardApp
        config = load_config({str(tmp_path / 'config.toml')!r})
        desk = open_desk({'sqlite:///' + str(tmp_path / 'desk.db')!r}, config)
        async def main():
            app = WallboardApp(desk, board.board_actor(desk, "ada"), board.pages(config), sweep=False)
            async with app.run_test() as pilot:
                await pilot.press("question_mark", "escape", "n", "space")
                await app.workers.wait_for_complete()
        asyncio.run(main())
        print("\\n".join(sorted(m for m in sys.modules if m.startswith("deskconsole.ui"))))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert "deskconsole.ui.wallboard.app" in loaded
    assert not {m for m in loaded if m.startswith(("deskconsole.ui.screens", "deskconsole.ui.triage"))
                or m in ("deskconsole.ui.app", "deskconsole.ui.detail_view", "deskconsole.ui.timers_view")}, loaded


async def test_the_sla_loop_is_the_only_writer_and_writes_as_the_sla_engine(built, new_app, settle, clock):
    """With the SLA loop on (as in a console), a sweep records the crossings
    that are due — as the ``sla`` actor, never as the board's viewer."""
    import asyncio

    first = AuditEvent.select().count()
    clock.advance(minutes=40)  # 10:15: INC-1 and INC-2 are past their first-response deadlines
    app = new_app(sweep=True, sla_interval=0.2, rotate=0)
    async with app.run_test(size=(80, 24)) as pilot:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while (app.loop is None or app.loop.sweeps < 1) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        assert app.loop is not None and app.loop.sweeps >= 1
        await settle(app, pilot)
    actors = {a.actor for a in AuditEvent.select().where(AuditEvent.id > first)}
    assert actors == {"sla"}, actors
    assert app.loop is not None and not app.loop.running  # stopped with the board



async def test_postgresql_going_away_keeps_the_last_data_marks_it_stale_and_recovers(pg_board, settle, clock):
    """The server restarts under the board (a proxy in front of it drops every
    connection and refuses new ones): the board keeps its figures, says how
    old they are, and reads again by itself once the server is back."""
    app, proxy = pg_board
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await app.poll_feed()
        await settle(app, pilot)
        assert tile_value(app, "P1") == "1" and app.trouble is None
        proxy.down()
        clock.advance(minutes=2)
        assert await app.poll_feed() is False  # the connection is gone
        await settle(app, pilot)
        app.tick()
        await settle(app, pilot)
        text = " ".join(line.strip() for line in screen_text(app))
        assert app.trouble is not None and app.query_one("#stale").display
        assert "⚠ STALE: data as of 09:35:00, 2m 00s old" in text and "retrying by itself" in text
        assert tile_value(app, "P1") == "1" and keys_of(list_rows(app))[:1] == ["INC-3"]  # kept
        assert await app.poll_feed() is False  # refused while down: stays stale, no crash
        proxy.up()
        assert await app.poll_feed() is True  # a new connection, and the board reads again
        await settle(app, pilot)
        assert app.trouble is None and not app.query_one("#stale").display
        assert "data as of 09:37:00" in screen_text(app)[0]
