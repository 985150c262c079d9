"""Jumping to a ticket by key (``:INC-42``, and the palette's "Go to") on a
real desk, driven with keys through Textual's pilot: the ticket becomes the
current one wherever it is — far down the view, or hidden by the filter —
so the detail and every action are about it; esc gives the filter back."""

from __future__ import annotations

from deskconsole.core.search import queue as q
from deskconsole.core.records import tickets
from deskconsole.core.records.views import detail
from deskconsole.ui.app import DeskApp
from deskconsole.ui.queue_view import QueueView


async def type_text(pilot, text: str) -> None:
    for ch in text:
        await pilot.press("space" if ch == " " else ch)


def make(desk, actor, n: int) -> list[str]:
    return [tickets.create(desk, actor, title=f"Ticket {i}", priority="P3").key for i in range(n)]


def detail_text(app: DeskApp) -> str:
    return str(app.query_one("#detail-body").render())


def notes(app: DeskApp) -> list[str]:
    return [n.message for n in app._notifications]


async def command(app, pilot, settle, text: str) -> None:
    await pilot.press("colon")
    await type_text(pilot, text)
    await pilot.press("enter")
    await settle(app, pilot)


async def test_jump_to_a_ticket_the_filter_hides_makes_it_current_and_esc_restores_the_filter(ui_desk, actors, settle):
    keys = make(ui_desk, actors["al"], 3)
    hidden = keys[1]
    tickets.resolve(ui_desk, actors["al"], hidden, "fixed")  # not is:open: outside the default view
    app = DeskApp(ui_desk, actors["al"], sweep=False, feed_poll=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        queue = app.query_one(QueueView)
        assert queue.total == 2 and queue.current.key != hidden
        await command(app, pilot, settle, hidden)
        assert queue.current is not None and queue.current.key == hidden
        assert detail_text(app).startswith(hidden)
        assert app.spec.text == f"key:{hidden}"
        assert any(f"{hidden} is outside the filter 'is:open'" in n and "esc" in n for n in notes(app)), notes(app)
        assert f"filter: key:{hidden}" in str(app.query_one("#status").render())
        # an action now applies to the ticket jumped to, not to the row the cursor was on
        await command(app, pilot, settle, "note checked after the fix")
        assert [e.body for e in detail(ui_desk, hidden).entries] == ["checked after the fix"]
        assert all(detail(ui_desk, k).entries == [] for k in keys if k != hidden)
        # esc in the queue: the filter the user had, and its tickets
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.spec.text == "is:open" and queue.total == 2
        assert hidden not in {row.key for row in queue.rows.values()}
        await pilot.press("escape")  # nothing left to give back: esc changes nothing more
        await settle(app, pilot)
        assert app.spec.text == "is:open"


async def test_jump_to_a_ticket_far_down_the_view_moves_the_cursor_there(ui_desk, actors, settle):
    make(ui_desk, actors["al"], 400)  # more than the rows the queue fetches around the screen
    app = DeskApp(ui_desk, actors["al"], sweep=False, feed_poll=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        queue = app.query_one(QueueView)
        order = q.ids(ui_desk, app.spec, ui_desk.now(), 1000)  # the view's order
        position = 350
        target = f"INC-{order[position]}"
        assert all(row.key != target for row in queue.rows.values())  # not loaded yet
        await command(app, pilot, settle, target)
        assert queue.cursor == position
        assert queue.current is not None and queue.current.key == target
        assert app.spec.text == "is:open"  # the filter stays: the ticket is in it
        assert detail_text(app).startswith(target)
        assert not any("outside" in n for n in notes(app)), notes(app)


async def test_jump_to_a_key_with_no_ticket_says_so_and_moves_nothing(ui_desk, actors, settle):
    make(ui_desk, actors["al"], 3)
    app = DeskApp(ui_desk, actors["al"], sweep=False, feed_poll=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        queue = app.query_one(QueueView)
        await pilot.press("j")
        await settle(app, pilot)
        before = queue.current.key
        await command(app, pilot, settle, "INC-999")
        assert any("INC-999 does not exist" in n for n in notes(app)), notes(app)
        assert queue.current.key == before and app.spec.text == "is:open"
        assert detail_text(app).startswith(before)


async def test_palette_go_to_a_hidden_ticket_opens_it_too(ui_desk, actors, settle):
    from textual.command import CommandPalette

    keys = make(ui_desk, actors["al"], 2)
    tickets.resolve(ui_desk, actors["al"], keys[0], "fixed")
    app = DeskApp(ui_desk, actors["al"], sweep=False, feed_poll=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await settle(app, pilot)
        assert isinstance(app.screen, CommandPalette)
        await type_text(pilot, keys[0])
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.queue.current is not None and app.queue.current.key == keys[0]
        assert detail_text(app).startswith(keys[0])
