"""Every triage action through the console's keys, on a real SQLite desk:
single and bulk, conflicts, refusals, and typed text that survives them."""

from __future__ import annotations

import os
import subprocess
import sys

from deskconsole.core.records import tickets
from deskconsole.core.records.views import detail
from deskconsole.models import Entry, Link, Ticket
from deskconsole.ui.app import DeskApp
from deskconsole.ui.queue_view import QueueView
from deskconsole.ui.screens.confirm import ConfirmScreen
from deskconsole.ui.screens.help import HelpScreen
from deskconsole.ui.screens.text_entry import TextEntryScreen



async def type_text(pilot, text: str) -> None:
    for ch in text:
        await pilot.press("space" if ch == " " else ch)


def make(desk, actors, n: int = 3, **kw) -> list[str]:
    return [tickets.create(desk, actors["al"], title=f"Ticket {i}", priority="P3", **kw).key for i in range(n)]


def app_for(desk, actor, **kw) -> DeskApp:
    return DeskApp(desk, actor, sweep=False, feed_poll=kw.pop("feed_poll", 60), **kw)


def notes(app) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


def cli(db_url, path, *args):
    run = subprocess.run([sys.executable, "-m", "deskconsole", "--db", db_url, "--config", str(path), *args],
                         capture_output=True, text=True, timeout=60, env=os.environ)  # the real login, an admin
    assert run.returncode == 0, run.stderr


async def test_assign_with_the_fuzzy_picker(ui_desk, actors, settle):
    (key,) = make(ui_desk, actors, 1)
    app = app_for(ui_desk, actors["lee"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        await type_text(pilot, "nia")
        await pilot.press("enter")
        await settle(app, pilot)
        t = detail(ui_desk, key)
        assert (t.assignee, t.status) == ("nia", "assigned")


async def test_reply_saved_with_ctrl_s(ui_desk, actors, settle):
    (key,) = make(ui_desk, actors, 1)
    app = app_for(ui_desk, actors["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        assert isinstance(app.screen, TextEntryScreen)
        await type_text(pilot, "Looking into it")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        entries = [(e.kind, e.body, e.source) for e in Entry.select()]
        assert entries == [("reply", "Looking into it", "console")]
        assert detail(ui_desk, key).first_response_at is not None


async def test_a_refused_note_keeps_the_typed_text(ui_desk, actors, write_config, ui_text, db_url, settle):
    (key,) = make(ui_desk, actors, 1)
    path = write_config(ui_text)
    app = app_for(ui_desk, actors["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        await type_text(pilot, "Half an hour of careful writing")
        cli(db_url, path, "--as", "lee", "cancel", key, "raised by mistake")  # meanwhile, elsewhere
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert any("cancelled" in n for n in notes(app)), notes(app)
        assert isinstance(app.screen, TextEntryScreen)  # open again, with the text
        assert app.screen.text == "Half an hour of careful writing"
        assert Entry.select().count() == 1  # only the cancel reason


async def test_a_conflict_is_shown_and_nothing_is_overwritten(ui_desk, actors, write_config, ui_text, db_url, settle):
    (key,) = make(ui_desk, actors, 1)
    path = write_config(ui_text)
    app = app_for(ui_desk, actors["al"])  # the feed is slow here: the queue still shows version 1
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.feed_watch.stop()  # and on PostgreSQL no LISTEN/NOTIFY nudge may refresh it first
        cli(db_url, path, "--as", "lee", "assign", key, "nia")
        await pilot.press("t")
        await settle(app, pilot)
        assert any("refused" in n and "was changed by lee" in n for n in notes(app)), notes(app)
        assert detail(ui_desk, key).assignee == "nia"


async def test_bulk_take_asks_first_and_applies_to_the_marked(ui_desk, actors, settle):
    keys = make(ui_desk, actors, 3)
    app = app_for(ui_desk, actors["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("space", "space")  # marks the first two (the cursor moves on)
        await pilot.press("t")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(app, pilot)
        taken = {t.id for t in Ticket.select().where(Ticket.assignee.is_null(False))}
        assert len(taken) == 2 and len(app.query_one(QueueView).marks) == 2
        assert any("take:" in n for n in notes(app))
        await pilot.press("V")  # mark all
        await settle(app, pilot)
        assert len(app.query_one(QueueView).marks) == len(keys)
        await pilot.press("V")  # and again: clear
        await settle(app, pilot)
        assert not app.query_one(QueueView).marks


async def test_bulk_confirm_declined_changes_nothing(ui_desk, actors, settle):
    make(ui_desk, actors, 2)
    app = app_for(ui_desk, actors["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("V")
        await settle(app, pilot)
        await pilot.press("t")
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        assert Ticket.select().where(Ticket.assignee.is_null(False)).count() == 0


async def test_resolve_with_code_and_note(ui_desk, actors, settle):
    (key,) = make(ui_desk, actors, 1, assignee="al")
    app = app_for(ui_desk, actors["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("R")
        await settle(app, pilot)
        await pilot.press("down", "enter")  # choose the first code (fixed), on to the note
        await type_text(pilot, "restarted")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        t = detail(ui_desk, key)
        assert (t.status, t.resolution_code, t.resolution_note) == ("resolved", "fixed", "restarted")


async def test_resolving_a_p1_says_a_review_is_due(ui_desk, actors, settle):
    from deskconsole.core.records import reviews

    key = tickets.create(ui_desk, actors["al"], title="Checkout down", priority="P1", assignee="al").key
    app = app_for(ui_desk, actors["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("R")
        await settle(app, pilot)
        await pilot.press("down", "enter")
        await type_text(pilot, "rolled back")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        said = [n for n in notes(app) if n.startswith("post-incident review")]
        assert said == [f"post-incident review: {key}: a post-incident review is due in 5 days — deskconsole review "
                        f"{key} (impact, root cause, follow-up actions)"]
        assert reviews.get(ui_desk, key).state == "due"


async def test_impact_and_urgency_set_the_priority(ui_desk, actors, settle):
    (key,) = make(ui_desk, actors, 1)
    app = app_for(ui_desk, actors["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("i")
        await settle(app, pilot)
        assert "Priority: —" in str(app.screen.query_one("#priority").render())
        await pilot.press("down", "right", "down")  # impact high, urgency high
        assert "Priority: P1" in str(app.screen.query_one("#priority").render())
        await pilot.press("enter")
        await settle(app, pilot)
        t = detail(ui_desk, key)
        assert (t.impact, t.urgency, t.priority) == ("high", "high", "P1")


async def test_link_and_merge(ui_desk, actors, settle):
    a, b, c = make(ui_desk, actors, 3)
    app = app_for(ui_desk, actors["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        first = app.query_one(QueueView).current.key
        other = next(k for k in (a, b, c) if k != first)
        await pilot.press("l")
        await settle(app, pilot)
        await pilot.press("enter")  # the first kind: relates-to
        await type_text(pilot, other.split("-")[1])
        await pilot.press("enter")
        await settle(app, pilot)
        assert Link.select().count() == 1
        await pilot.press("m")
        await settle(app, pilot)
        await type_text(pilot, other)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(app, pilot)
        assert detail(ui_desk, first).merged_into == other


async def test_new_ticket_form(ui_desk, actors, settle):
    app = app_for(ui_desk, actors["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("N")
        await settle(app, pilot)
        await type_text(pilot, "Printer on fire")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert [t.title for t in Ticket.select()] == ["Printer on fire"]
        assert any("opened" in n for n in notes(app))
        assert app.query_one(QueueView).total == 1


async def test_status_reopen_and_ack(ui_desk, actors, settle):
    (key,) = make(ui_desk, actors, 1, assignee="al")
    app = app_for(ui_desk, actors["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("A")
        await settle(app, pilot)
        assert detail(ui_desk, key).acknowledged_by == "al"
        await pilot.press("s")
        await settle(app, pilot)
        await type_text(pilot, "pending")
        await pilot.press("enter")
        await settle(app, pilot)
        assert detail(ui_desk, key).status == "pending"
        tickets.resolve(ui_desk, actors["al"], key, "fixed")
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        app.set_filter("")
        await settle(app, pilot)
        await pilot.press("o")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert detail(ui_desk, key).status == "in_progress"


async def test_command_line_jumps_and_acts(ui_desk, actors, settle):
    keys = make(ui_desk, actors, 3)
    app = app_for(ui_desk, actors["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        target = keys[1]
        await pilot.press("colon")
        await type_text(pilot, target)
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.query_one(QueueView).current.key == target
        await pilot.press("colon")
        await type_text(pilot, "note checked the logs")
        await pilot.press("enter")
        await settle(app, pilot)
        assert [(e.kind, e.body) for e in Entry.select()] == [("note", "checked the logs")]
        await pilot.press("colon")
        await type_text(pilot, "frobnicate")
        await pilot.press("enter")
        assert any("unknown command" in n for n in notes(app))


async def test_help_lists_the_live_bindings(ui_desk, actors, settle):
    app = app_for(ui_desk, actors["al"], keymap={"ticket.take": "T"})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        assert ("T", "Take") in app.screen.bindings_list
        assert ("j, ↓", "Down") in app.screen.bindings_list
        await pilot.press("escape")
        await pilot.press("T")  # the remapped key takes
        await settle(app, pilot)
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_runs_actions_and_finds_tickets(ui_desk, actors, settle):
    from textual.command import CommandPalette

    keys = make(ui_desk, actors, 3)
    hostile = tickets.create(ui_desk, actors["al"], title="Disk full [bold red]now[/] \x1b[31m", priority="P3").key
    app = app_for(ui_desk, actors["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        # an action by name: "take" takes the ticket under the cursor
        await pilot.press("ctrl+p")
        await settle(app, pilot)
        assert isinstance(app.screen, CommandPalette)
        await type_text(pilot, "take")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        current = app.queue.current.key
        assert detail(ui_desk, current).assignee == "al"
        # a ticket by key
        await pilot.press("ctrl+p")
        await settle(app, pilot)
        await type_text(pilot, keys[1])
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.queue.current.key == keys[1]
        # a ticket by words of its title, shown literally
        await pilot.press("ctrl+p")
        await settle(app, pilot)
        await type_text(pilot, "disk full")
        await pilot.pause(0.5)
        shown = "\n".join(str(o.prompt) for o in app.screen.query_one("CommandList").options)
        assert "Disk full [bold red]now[/] \\x1b[31m" in shown, shown
        await pilot.press("down", "enter")
        await settle(app, pilot)
        assert app.selected_key == hostile


async def test_every_movement_key_and_marks_far_off_screen(ui_desk, actors, settle):
    """j/k and the arrows, g/G and home/end, ctrl+f/ctrl+b and the page keys,
    enter into the detail and esc back; a mark made at the top still counts
    after moving a hundred tickets down and after a refresh cleared the cache."""
    make(ui_desk, actors, 400)  # more than the few screens' worth the queue fetches around the cursor
    app = app_for(ui_desk, actors["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        view = app.query_one(QueueView)
        page = view.page_size

        async def at(*keys) -> int:
            await pilot.press(*keys)
            await settle(app, pilot)
            return view.cursor

        assert await at("j") == 1 and await at("down") == 2 and await at("k") == 1 and await at("up") == 0
        assert await at("k") == 0  # the top stays the top
        assert await at("G") == 399 and await at("g") == 0 and await at("end") == 399 and await at("home") == 0
        assert await at("ctrl+f") == page and await at("pagedown") == 2 * page
        assert await at("ctrl+b") == page and await at("pageup") == 0
        assert app.selected_key == view.current.key
        first = view.current
        await pilot.press("space")  # mark the first; the cursor moves on
        await at("G")
        assert first.id in view.marks
        await pilot.press("ctrl+r")  # a refresh: only the visible window is fetched again, marks stay
        await settle(app, pilot)
        assert view.marks == {first.id} and first.id not in {r.id for r in view.rows.values()}
        await pilot.press("t")  # one marked ticket: taken without a question
        await settle(app, pilot)
        assert detail(ui_desk, first.key).assignee == "al"
        assert detail(ui_desk, view.current.key).assignee is None  # not the one under the cursor
        await pilot.press("enter")
        assert app.focused is app.query_one("#detail")
        await pilot.press("escape")
        assert app.focused is view
