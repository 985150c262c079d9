"""The console on a small terminal (80x24): the queue has the screen to itself,
enter puts the ticket's detail and SLA timers in its place, esc brings the
queue back. Driven with the pilot on a real SQLite desk; what is on screen is
read from the composited screen, as the snapshot tests read it."""

from __future__ import annotations

import re

from deskconsole.core.records import tickets
from deskconsole.ui.app import SHORT_BELOW, DeskApp
from deskconsole.ui.detail_view import DetailPane
from deskconsole.ui.queue_view import QueueView
from deskconsole.ui.screens.help import HelpScreen
from deskconsole.ui.timers_view import TimersPane

QUEUE_ROW = re.compile(r"│[ ●](INC-\d+) +P[1-4] ")  # a queue row (not the detail's title line)
DETAIL_TITLE = re.compile(r"│ (INC-\d+)  \S")


def screen_text(app: DeskApp) -> list[str]:
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens, simplify=True)
    return ["".join(seg.text for strip in line for seg in strip if not seg.control) for line in update.strips]


def queue_on_screen(app: DeskApp) -> list[str]:
    return [m.group(1) for line in screen_text(app) if (m := QUEUE_ROW.match(line))]


def detail_on_screen(app: DeskApp) -> str | None:
    return next((m.group(1) for line in screen_text(app) if (m := DETAIL_TITLE.match(line))), None)


def make(desk, actors, n: int) -> list[str]:
    return [tickets.create(desk, actors["al"], title=f"Ticket number {i}", priority="P3").key for i in range(n)]


async def test_80x24_queue_fills_the_screen_and_enter_opens_the_detail(ui_desk, actors, settle):
    make(ui_desk, actors, 25)
    app = DeskApp(ui_desk, actors["al"], sweep=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        queue, detail, timers = app.query_one(QueueView), app.query_one(DetailPane), app.query_one(TimersPane)
        assert app.compact
        shown = queue_on_screen(app)
        assert len(shown) >= 14, "\n".join(screen_text(app))
        assert detail_on_screen(app) is None and not any("SLA INC-" in line for line in screen_text(app))
        first, second = shown[0], shown[1]

        # enter: the detail and the timers, full screen, for the ticket under the cursor
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.focused is detail and not queue.display
        assert detail_on_screen(app) == first
        assert any(f"SLA {first}" in line for line in screen_text(app))
        assert queue_on_screen(app) == []
        assert timers.size.height > 10  # the detail screen's whole height, not the old half

        # j still moves to the next ticket (the queue's cursor, hidden): the detail follows
        await pilot.press("j")
        await settle(app, pilot)
        assert detail_on_screen(app) == second and app.selected_key == second

        # esc: the queue again, its cursor where j left it, the focus on it
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.focused is queue and queue.display
        assert queue_on_screen(app) == shown and detail_on_screen(app) is None
        assert queue.current.key == second

        # far down from the detail screen (G: the last ticket): the queue comes back scrolled to it
        await pilot.press("enter", "G")
        await settle(app, pilot)
        last = queue.current.key
        assert last not in shown and detail_on_screen(app) == last
        await pilot.press("escape")
        await settle(app, pilot)
        assert queue_on_screen(app)[-1] == last and len(queue_on_screen(app)) >= 14


async def test_help_lists_the_detail_key_and_says_how_the_small_layout_works(ui_desk, actors, settle):
    make(ui_desk, actors, 3)
    app = DeskApp(ui_desk, actors["al"], sweep=False, keymap={"pane.detail": "enter,x"})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        assert ("⏎, x", "Open detail") in app.screen.bindings_list
        assert any("80x24" in note and "enter" in note and "esc" in note for note in app.screen.notes)
        text = "\n".join(screen_text(app))
        assert "Open detail" in text
        await pilot.press("escape")
        await settle(app, pilot)
        # the remapped key opens it too (the binding's id is stable)
        await pilot.press("x")
        await settle(app, pilot)
        assert app.focused is app.query_one(DetailPane) and not app.query_one(QueueView).display


async def test_a_dialog_over_the_detail_comes_back_to_it_and_the_bar_back_to_the_queue(ui_desk, actors, settle):
    keys = make(ui_desk, actors, 3)
    app = DeskApp(ui_desk, actors["al"], sweep=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        current = detail_on_screen(app)
        assert current in keys
        # ? over the detail screen, esc: still the detail
        await pilot.press("question_mark")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, HelpScreen)
        assert detail_on_screen(app) == current and not app.query_one(QueueView).display
        # the filter bar from the detail screen: when it closes the queue has the focus, and shows
        await pilot.press("slash")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        queue = app.query_one(QueueView)
        assert app.focused is queue and queue.display
        assert len(queue_on_screen(app)) == 3 and detail_on_screen(app) is None


async def test_the_layout_follows_the_terminal_size(ui_desk, actors, settle):
    make(ui_desk, actors, 3)
    app = DeskApp(ui_desk, actors["al"], sweep=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        queue, side = app.query_one(QueueView), app.query_one("#side")
        assert app.compact and not side.display
        # tall enough (still narrow): queue above, detail + timers below, as before
        await pilot.resize_terminal(80, SHORT_BELOW)
        await settle(app, pilot)
        assert not app.compact and side.display and queue.display
        assert detail_on_screen(app) is not None and len(queue_on_screen(app)) == 3
        # wide but short: the three panes side by side, all of them shown
        await pilot.resize_terminal(120, 24)
        await settle(app, pilot)
        assert not app.compact and side.display and queue.display
        await pilot.press("enter")  # the detail takes the focus; the queue stays in view
        await settle(app, pilot)
        assert app.focused is app.query_one(DetailPane) and queue.display
        # back to 80x24 with the focus in the detail: the detail screen
        await pilot.resize_terminal(80, 24)
        await settle(app, pilot)
        assert app.compact and side.display and not queue.display
        await pilot.press("escape")
        await settle(app, pilot)
        assert queue.display and not side.display and app.focused is queue
