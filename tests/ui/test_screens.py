"""The console's modal screens, driven with keys only through Textual's pilot at
80x24: every way in and out, inline errors that keep the input, and hostile
text (markup, ANSI escapes, bidi overrides) shown literally."""

from __future__ import annotations

import re
import subprocess
import sys
from contextlib import asynccontextmanager

import pytest
from textual import events
from textual.app import App
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Select, TextArea

from deskconsole.ui.screens import (
    ConfirmScreen,
    HelpScreen,
    LinkScreen,
    NewTicketScreen,
    PickerScreen,
    ResolveScreen,
    TextEntryScreen,
    TriageScreen,
)
from deskconsole.ui.screens._common import ErrorLine, HintLine, TitleLine
from deskconsole.ui.screens.link import normalise_key
from deskconsole.ui.screens.picker import fuzzy_match

SIZE = (80, 24)
MATRIX = {
    "high": {"high": "P1", "medium": "P2", "low": "P3"},
    "medium": {"high": "P2", "medium": "P3", "low": "P4"},
    "low": {"high": "P3", "medium": "P4", "low": "P4"},
}
CODES = ("fixed", "workaround", "no_fault_found", "duplicate", "known_error")
KINDS = ("relates-to", "duplicate-of", "parent-of", "child-of", "caused-by", "causes")
HOSTILE = "[bold red]x[/] [/] \x1b[31mred \u202eevil"
# How the hostile text reads on screen: markup literal, controls escaped.
HOSTILE_SHOWN = "[bold red]x[/] [/] \\x1b[31mred \\u202eevil"
RAW_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
NOT_YET = object()


class Harness(App):
    """Pushes one screen and keeps what it dismissed with."""

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.modal = screen
        self.result = NOT_YET

    def on_mount(self) -> None:
        self.push_screen(self.modal, self.done)

    def done(self, result) -> None:
        self.result = result


@asynccontextmanager
async def shown(screen: Screen, size: tuple[int, int] = SIZE):
    app = Harness(screen)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        yield app, pilot


async def type_text(pilot, text: str) -> None:
    await pilot.press(*text)


async def paste(app: App, pilot, text: str) -> None:
    """A bracketed paste, as the terminal driver delivers it."""
    app.post_message(events.Paste(text))
    await pilot.pause()


def screen_lines(app: App) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def screen_text(app: App) -> str:
    return "\n".join(screen_lines(app))


def raw_controls(app: App) -> list[str]:
    """Control or bidi characters that would reach the terminal as they are."""
    found = []
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            if not segment.control and RAW_CONTROL.search(segment.text):
                found.append(segment.text)
    return found


def error_of(app: App) -> str:
    return app.screen.query_one(ErrorLine).message


def assert_fits(app: App) -> None:
    """The dialog, its title and its key hint are all on an 80x24 screen."""
    width, height = app.size
    dialog = app.screen.query_one(".dialog")
    region = dialog.region
    assert region.x >= 0 and region.y >= 0
    assert region.right <= width and region.bottom <= height, region
    for widget in (app.screen.query_one(TitleLine), app.screen.query_one(HintLine)):
        r = widget.region
        assert r.height >= 1 and r.right <= width and r.bottom <= height, (widget, r)
    hint = app.screen.query_one(HintLine).hint
    assert hint.split(" · ")[0] in screen_text(app)


# ====================================================================== confirm
@pytest.mark.parametrize("key, expected", [("y", True), ("n", False), ("escape", False), ("enter", True)])
async def test_confirm_keys(key, expected):
    async with shown(ConfirmScreen("Take INC-4?")) as (app, pilot):
        assert "Take INC-4?" in screen_text(app)
        await pilot.press(key)
        await pilot.pause()
        assert app.result is expected


async def test_confirm_danger_starts_on_no_so_a_stray_enter_is_harmless():
    async with shown(ConfirmScreen("Cancel INC-4?", yes="Cancel it", no="Keep", danger=True)) as (app, pilot):
        text = screen_text(app)
        assert "⚠ Confirm" in text and "Cancel it" in text and "Keep" in text
        assert app.focused.id == "no"
        await pilot.press("enter")
        assert app.result is False


async def test_confirm_enter_presses_the_focused_button():
    async with shown(ConfirmScreen("Cancel INC-4?", danger=True)) as (app, pilot):
        await pilot.press("left")
        assert app.focused.id == "yes"
        await pilot.press("enter")
        assert app.result is True
    async with shown(ConfirmScreen("Take INC-4?")) as (app, pilot):
        await pilot.press("tab")
        assert app.focused.id == "no"
        await pilot.press("enter")
        assert app.result is False


async def test_confirm_shows_hostile_text_literally():
    async with shown(ConfirmScreen(HOSTILE, yes=HOSTILE, no="[/]")) as (app, pilot):
        text = screen_text(app)
        assert HOSTILE_SHOWN in text
        assert "[/]" in text
        assert not raw_controls(app)
        assert_fits(app)
        await pilot.press("n")
        assert app.result is False


# =================================================================== text entry
async def test_text_entry_saves_what_was_typed():
    async with shown(TextEntryScreen("Reply to INC-4")) as (app, pilot):
        assert "Reply to INC-4" in screen_text(app)
        assert isinstance(app.focused, TextArea)
        await type_text(pilot, "Rebooted")
        await pilot.press("enter")
        await type_text(pilot, "the host.")
        assert app.screen.text == "Rebooted\nthe host."
        await pilot.press("ctrl+s")
        assert app.result == "Rebooted\nthe host."


async def test_text_entry_required_refuses_empty_and_keeps_focus():
    async with shown(TextEntryScreen("Note")) as (app, pilot):
        await pilot.press("space", "ctrl+s")
        assert app.result is NOT_YET
        assert isinstance(app.screen, TextEntryScreen)
        assert error_of(app).startswith("⚠ error:")
        assert "⚠ error:" in screen_text(app)
        assert app.screen.text == " "  # kept
        await type_text(pilot, "ok")
        assert error_of(app) == ""
        await pilot.press("ctrl+s")
        assert app.result == " ok"


async def test_text_entry_not_required_saves_empty():
    async with shown(TextEntryScreen("Reason", required=False)) as (app, pilot):
        await pilot.press("ctrl+s")
        assert app.result == ""


async def test_text_entry_escape_without_text_cancels_at_once():
    async with shown(TextEntryScreen("Note")) as (app, pilot):
        await pilot.press("escape")
        assert app.result is None


async def test_text_entry_escape_with_text_asks_and_no_keeps_the_text():
    async with shown(TextEntryScreen("Note", text="draft")) as (app, pilot):
        await type_text(pilot, " more")
        await pilot.press("escape")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Discard this text?" in screen_text(app)
        await pilot.press("n")
        assert isinstance(app.screen, TextEntryScreen)
        assert app.result is NOT_YET
        assert app.screen.text == "draft more"
        # esc and a stray enter on the question keep the text too
        await pilot.press("escape")
        await pilot.press("escape")
        assert isinstance(app.screen, TextEntryScreen)
        await pilot.press("escape")
        await pilot.press("enter")
        assert isinstance(app.screen, TextEntryScreen)
        assert app.screen.text == "draft more"
        assert isinstance(app.focused, TextArea)
        await type_text(pilot, "!")
        await pilot.press("ctrl+s")
        assert app.result == "draft more!"


async def test_text_entry_escape_with_text_and_yes_discards():
    async with shown(TextEntryScreen("Note", text="draft")) as (app, pilot):
        await pilot.press("escape", "y")
        await pilot.pause()
        assert app.result is None
        assert not isinstance(app.screen, (ConfirmScreen, TextEntryScreen))


async def test_text_entry_prefill_and_text_property_before_mount():
    screen = TextEntryScreen("Reply", text="kept after a failed save", placeholder=HOSTILE, hint="ctrl+s send")
    assert screen.text == "kept after a failed save"
    async with shown(screen) as (app, pilot):
        assert "kept after a failed save" in screen_text(app)
        assert "ctrl+s send" in screen_text(app)
        await pilot.press("ctrl+s")
        assert app.result == "kept after a failed save"


async def test_text_entry_hostile_text_is_kept_as_is_but_never_reaches_the_terminal():
    async with shown(TextEntryScreen(HOSTILE, placeholder=HOSTILE)) as (app, pilot):
        assert HOSTILE_SHOWN in screen_text(app)  # title and placeholder
        await paste(app, pilot, HOSTILE)
        assert app.screen.text == HOSTILE
        assert "[bold red]x[/] [/]" in screen_text(app)
        assert not raw_controls(app)
        assert_fits(app)
        await pilot.press("ctrl+s")
        assert app.result == HOSTILE


# ======================================================================= picker
def test_fuzzy_match_is_a_case_insensitive_subsequence():
    assert fuzzy_match("jsm", "John Smith") is not None
    assert fuzzy_match("JSM", "john smith") is not None
    assert fuzzy_match("smj", "John Smith") is None
    assert fuzzy_match("", "anything")[0] == (0, 0, 0)
    rank, positions = fuzzy_match("net", "team network")
    assert positions == [5, 6, 7]


def test_fuzzy_ranking_prefix_then_word_then_substring_then_scattered():
    def rank(q, t):
        return fuzzy_match(q, t)[0]

    assert rank("al", "alice") < rank("al", "team alpha") < rank("al", "hal") < rank("al", "a-b-l")
    assert rank("ab", "a_b") < rank("ab", "a___b")  # tighter scattered matches first


OPTIONS = [
    ("al", "al — Al Agent"),
    ("hal", "hal — Hal Operator"),
    ("lee", "lee — Lee Lead"),
    ("ada", "ada — Ada Admin"),
    ("team:network", "team network — Network"),
    ("alice", "alice — Alice Ng"),
]


async def test_picker_filters_ranks_and_picks_with_keys_only():
    async with shown(PickerScreen("Assign to", OPTIONS, allow_none="nobody (unassign)")) as (app, pilot):
        screen = app.screen
        assert isinstance(app.focused, Input)
        assert screen.shown_labels[0] == "nobody (unassign)"
        assert len(screen.shown_labels) == 7
        await type_text(pilot, "al")
        labels = screen.shown_labels
        # prefix matches first (in the given order), then inside a word; "Lee Lead" has no "l" after an "a"
        assert labels == ["al — Al Agent", "alice — Alice Ng", "hal — Hal Operator"]
        assert screen.highlighted_value == "al"
        await pilot.press("down")
        assert screen.highlighted_value == "alice"
        await pilot.press("down", "up")
        assert screen.highlighted_value == "alice"
        await type_text(pilot, "i")  # typing resets the cursor to the best match
        assert screen.shown_labels[0] == "alice — Alice Ng"
        await pilot.press("enter")
        assert app.result == "alice"


async def test_picker_scattered_letters_and_the_value_match():
    async with shown(PickerScreen("Assign to", OPTIONS)) as (app, pilot):
        await type_text(pilot, "tmnw")
        assert app.screen.shown_labels == ["team network — Network"]
        await pilot.press("enter")
        assert app.result == "team:network"


async def test_picker_none_entry():
    async with shown(PickerScreen("Assign to", OPTIONS, allow_none="nobody (unassign)", current="lee")) as (app, pilot):
        assert app.screen.highlighted_value == "lee"  # the cursor starts on the current value
        assert "(current)" in screen_text(app)
        await type_text(pilot, "nobody")
        assert app.screen.shown_labels[0] == "nobody (unassign)"
        await pilot.press("enter")
        assert app.result == "none"


async def test_picker_enter_on_the_current_value_and_escape():
    statuses = [("new", "new"), ("pending", "pending")]
    async with shown(PickerScreen("Status", statuses, current="pending")) as (app, pilot):
        await pilot.press("enter")
        assert app.result == "pending"
    async with shown(PickerScreen("Status", [("new", "new")])) as (app, pilot):
        await type_text(pilot, "ne")
        await pilot.press("escape")
        assert app.result is None


async def test_picker_no_match_shows_an_error_and_keeps_the_filter():
    async with shown(PickerScreen("Assign to", OPTIONS)) as (app, pilot):
        await type_text(pilot, "zzz")
        assert app.screen.shown_labels == []
        assert "no option matches 'zzz'" in screen_text(app)
        await pilot.press("enter")
        assert app.result is NOT_YET
        assert error_of(app).startswith("⚠ error:")
        assert app.screen.query_one(Input).value == "zzz"
        await pilot.press("backspace", "backspace", "backspace")
        assert len(app.screen.shown_labels) == len(OPTIONS)
        await pilot.press("pagedown", "enter")
        assert app.result == "alice"


async def test_picker_hostile_labels_are_literal_and_filterable():
    options = [("x", HOSTILE), ("y", "[/]"), ("z", "[link=http://e.vil]click[/link]")]
    async with shown(PickerScreen(HOSTILE, options, allow_none="[bold]none[/bold]")) as (app, pilot):
        text = screen_text(app)
        assert HOSTILE_SHOWN in text
        assert "[/]" in text and "[link=http://e.vil]click[/link]" in text and "[bold]none[/bold]" in text
        assert not raw_controls(app)
        assert_fits(app)
        await type_text(pilot, "[/")
        assert app.screen.shown_labels[0] == "[/]"
        await pilot.press("enter")
        assert app.result == "y"


async def test_picker_long_list_fits_and_scrolls_to_the_cursor():
    options = [(f"agent{i}", f"agent {i:03d}") for i in range(200)]
    async with shown(PickerScreen("Assign to", options)) as (app, pilot):
        assert_fits(app)
        for _ in range(30):
            await pilot.press("down")
        assert app.screen.highlighted_value == "agent30"
        assert "agent 030" in screen_text(app)
        await pilot.press("enter")
        assert app.result == "agent30"


# ====================================================================== resolve
async def test_resolve_choose_code_write_note_save():
    async with shown(ResolveScreen(CODES)) as (app, pilot):
        assert app.screen.code is None
        await pilot.press("ctrl+s")
        assert app.result is NOT_YET
        assert "choose a resolution code" in error_of(app)
        await pilot.press("down")
        assert app.screen.code == "fixed"
        assert error_of(app) == ""
        await pilot.press("down")
        assert "● workaround" in screen_text(app)
        await pilot.press("enter")  # on to the note
        assert isinstance(app.focused, TextArea)
        await type_text(pilot, "restarted")
        await pilot.press("enter")  # a new line in the note
        await type_text(pilot, "nginx")
        await pilot.press("ctrl+s")
        assert app.result == ("workaround", "restarted\nnginx")


async def test_resolve_without_note_and_with_prefill():
    async with shown(ResolveScreen(CODES)) as (app, pilot):
        await pilot.press("j", "j", "k", "ctrl+s")
        assert app.result == ("fixed", "")
    async with shown(ResolveScreen(CODES, note="kept", code="duplicate")) as (app, pilot):
        assert app.screen.code == "duplicate"
        assert "kept" in screen_text(app)
        await pilot.press("ctrl+s")
        assert app.result == ("duplicate", "kept")


async def test_resolve_escape_asks_before_dropping_a_note():
    async with shown(ResolveScreen(CODES, note="my note")) as (app, pilot):
        await pilot.press("escape")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert isinstance(app.screen, ResolveScreen)
        assert app.screen.note == "my note"
        await pilot.press("escape", "y")
        await pilot.pause()
        assert app.result is None
    async with shown(ResolveScreen(CODES)) as (app, pilot):
        await pilot.press("down", "escape")
        assert app.result is None


async def test_resolve_hostile_note_and_fit():
    async with shown(ResolveScreen(CODES + ("[b]odd[/b]",), note=HOSTILE)) as (app, pilot):
        assert "[b]odd[/b]" in screen_text(app)
        assert not raw_controls(app)
        assert_fits(app)
        await pilot.press("end", "ctrl+s")
        assert app.result == ("[b]odd[/b]", HOSTILE)


# ======================================================================= triage
def priority_of(app: App) -> str:
    return next(line for line in screen_lines(app) if "Priority:" in line)


async def test_triage_priority_line_follows_the_choices():
    async with shown(TriageScreen(MATRIX, impact="high", urgency="medium")) as (app, pilot):
        assert "Priority: P2" in priority_of(app)
        await pilot.press("down")  # impact medium
        assert "Priority: P3" in priority_of(app)
        await pilot.press("right", "down")  # urgency low
        assert "Priority: P4" in priority_of(app)
        await pilot.press("left", "up")  # impact high
        assert "Priority: P3" in priority_of(app)
        assert app.screen.priority_text == "Priority: P3"
        await pilot.press("enter")
        assert app.result == ("high", "low")


async def test_triage_from_nothing_needs_both():
    async with shown(TriageScreen(MATRIX, impact=None, urgency=None)) as (app, pilot):
        assert "Priority: —" in priority_of(app)
        await pilot.press("enter")
        assert app.result is NOT_YET
        assert "impact and urgency" in error_of(app)
        await pilot.press("down")  # impact high
        await pilot.press("ctrl+s")
        assert app.result is NOT_YET
        assert "urgency" in error_of(app)
        assert app.focused.id == "urgency"
        await pilot.press("down", "down")  # urgency medium
        assert "Priority: P2" in priority_of(app)
        await pilot.press("ctrl+s")
        assert app.result == ("high", "medium")


async def test_triage_tab_and_escape():
    async with shown(TriageScreen(MATRIX, impact="low", urgency="low")) as (app, pilot):
        assert "Priority: P4" in priority_of(app)
        await pilot.press("tab", "up", "up")
        assert "Priority: P3" in priority_of(app)
        assert_fits(app)
        await pilot.press("escape")
        assert app.result is None


# ========================================================================= link
def test_normalise_key():
    assert normalise_key("INC-42") == "INC-42"
    assert normalise_key("inc-42") == "INC-42"
    assert normalise_key("42") == "INC-42"
    assert normalise_key(" 0042 ") == "INC-42"
    assert normalise_key("#42") == "INC-42"
    assert normalise_key("prb-4") == "PRB-4"  # a problem: links go across kinds
    for bad in ("", "INC-", "INC42", "ABC-4", "4 2", "INC-0", "-42", "x42", "INC-1234567890123"):
        assert normalise_key(bad) is None, bad


async def test_link_choose_kind_type_key():
    async with shown(LinkScreen(KINDS, key="INC-7")) as (app, pilot):
        assert "Link INC-7" in screen_text(app)
        assert app.screen.kind == "relates-to"
        await pilot.press("down")
        assert app.screen.kind == "duplicate-of"
        await pilot.press("enter")
        assert isinstance(app.focused, Input)
        await type_text(pilot, "inc-42")
        await pilot.press("enter")
        assert app.result == ("duplicate-of", "INC-42")


async def test_link_bare_number_and_ctrl_s():
    async with shown(LinkScreen(KINDS, key="INC-7")) as (app, pilot):
        await pilot.press("tab")
        await type_text(pilot, "42")
        await pilot.press("ctrl+s")
        assert app.result == ("relates-to", "INC-42")


async def test_link_invalid_key_shows_an_error_and_keeps_the_input():
    async with shown(LinkScreen(KINDS, key="INC-7")) as (app, pilot):
        await pilot.press("tab")
        await type_text(pilot, "INC-4x")
        await pilot.press("enter")
        assert app.result is NOT_YET
        assert error_of(app).startswith("⚠ error:")
        assert "not a ticket key" in error_of(app)
        assert "⚠ error:" in screen_text(app)
        assert app.screen.query_one(Input).value == "INC-4x"
        assert isinstance(app.focused, Input)
        await pilot.press("backspace")
        assert error_of(app) == ""
        await pilot.press("enter")
        assert app.result == ("relates-to", "INC-4")


async def test_link_refuses_the_ticket_itself_and_empty():
    async with shown(LinkScreen(KINDS, key="inc-7")) as (app, pilot):
        await pilot.press("tab", "enter")
        assert "type the other ticket's key" in error_of(app)
        await type_text(pilot, "7")
        await pilot.press("enter")
        assert "itself" in error_of(app)
        assert app.result is NOT_YET
        await pilot.press("escape")
        assert app.result is None


async def test_merge_asks_only_for_the_target():
    async with shown(LinkScreen((), key="INC-7", merge=True)) as (app, pilot):
        assert "Merge INC-7 into:" in screen_text(app)
        assert not app.screen.query("#kinds")
        assert isinstance(app.focused, Input)
        await type_text(pilot, "3")
        await pilot.press("enter")
        assert app.result == ("merge", "INC-3")


async def test_link_hostile_input_is_shown_literally():
    async with shown(LinkScreen(KINDS, key="INC-7")) as (app, pilot):
        assert_fits(app)
        await pilot.press("tab")
        await paste(app, pilot, HOSTILE)
        await pilot.press("enter")
        assert "not a ticket key" in error_of(app)
        assert "[bold red]x[/]" in screen_text(app)
        assert not raw_controls(app)
        assert app.screen.query_one(Input).value == HOSTILE


# =================================================================== new ticket
TEAMS = ["ops", "network", "payments"]
CATEGORIES = ["outage", "request"]
SERVICES = ["checkout", "vpn"]


def new_ticket(**kw) -> NewTicketScreen:
    return NewTicketScreen(teams=TEAMS, categories=CATEGORIES, services=SERVICES, **kw)


async def choose(pilot, downs: int) -> None:
    """On a focused select: open it, move down ``downs`` rows (the first is "not set"), pick."""
    await pilot.press("enter")
    for _ in range(downs):
        await pilot.press("down")
    await pilot.press("enter")


async def test_new_ticket_title_only():
    async with shown(new_ticket()) as (app, pilot):
        assert isinstance(app.focused, Input)
        await type_text(pilot, "  Checkout returns 502  ")
        await pilot.press("ctrl+s")
        assert app.result == {"title": "Checkout returns 502", "description": "", "impact": None,
                              "urgency": None, "team": None, "category": None, "service": None}


async def test_new_ticket_title_required_keeps_everything():
    async with shown(new_ticket()) as (app, pilot):
        await pilot.press("tab")
        await type_text(pilot, "details")
        await pilot.press("ctrl+s")
        assert app.result is NOT_YET
        assert "needs a title" in error_of(app)
        assert app.focused.id == "title"
        assert app.screen.values["description"] == "details"
        await type_text(pilot, "T")
        assert error_of(app) == ""
        await pilot.press("ctrl+s")
        assert app.result["title"] == "T" and app.result["description"] == "details"


async def test_new_ticket_every_field_by_keyboard_with_live_priority():
    async with shown(new_ticket(matrix=MATRIX)) as (app, pilot):
        await type_text(pilot, "VPN down")
        await pilot.press("enter")  # title -> description
        assert app.focused.id == "description"
        await type_text(pilot, "since 9am")
        await pilot.press("tab")
        assert app.focused.id == "impact"
        assert "Priority: — (desk default)" in screen_text(app)
        await choose(pilot, 1)  # high
        assert "Priority: — (needs both)" in screen_text(app)
        await pilot.press("tab")
        await choose(pilot, 2)  # medium
        assert "Priority: P2" in screen_text(app)
        await pilot.press("tab")
        await choose(pilot, 2)  # network
        await pilot.press("tab")
        await choose(pilot, 1)  # outage
        await pilot.press("tab")
        await choose(pilot, 2)  # vpn
        assert_fits(app)
        await pilot.press("ctrl+s")
        assert app.result == {"title": "VPN down", "description": "since 9am", "impact": "high",
                              "urgency": "medium", "team": "network", "category": "outage", "service": "vpn"}


async def test_new_ticket_impact_needs_urgency():
    async with shown(new_ticket(matrix=MATRIX, draft={"title": "t", "impact": "low"})) as (app, pilot):
        await pilot.press("ctrl+s")
        assert app.result is NOT_YET
        assert "both impact and urgency" in error_of(app)
        assert app.focused.id == "urgency"
        await choose(pilot, 3)  # low
        assert "Priority: P4" in screen_text(app)
        await pilot.press("ctrl+s")
        assert (app.result["impact"], app.result["urgency"]) == ("low", "low")


async def test_new_ticket_title_too_long_is_refused_and_kept():
    long_title = "x" * 301
    async with shown(new_ticket(draft={"title": long_title})) as (app, pilot):
        await pilot.press("ctrl+s")
        assert app.result is NOT_YET
        assert "301 characters" in error_of(app)
        assert app.screen.values["title"] == long_title
        await pilot.press("end", "backspace", "ctrl+s")
        assert app.result["title"] == "x" * 300


async def test_new_ticket_draft_round_trip():
    draft = {"title": "Disk full", "description": "on db1\n/var", "impact": "medium", "urgency": "high",
             "team": "ops", "category": "outage", "service": "checkout"}
    async with shown(new_ticket(matrix=MATRIX, draft=draft)) as (app, pilot):
        assert "Priority: P2" in screen_text(app)
        await pilot.press("ctrl+s")
        assert app.result == draft
    # a value no longer offered is dropped, not an error
    async with shown(new_ticket(draft={"title": "t", "team": "gone"})) as (app, pilot):
        await pilot.press("ctrl+s")
        assert app.result["team"] is None


async def test_new_ticket_escape_asks_when_something_was_typed():
    async with shown(new_ticket()) as (app, pilot):
        await pilot.press("escape")
        assert app.result is None
    async with shown(new_ticket()) as (app, pilot):
        await type_text(pilot, "half")
        await pilot.press("escape")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert app.screen.values["title"] == "half"
        await pilot.press("escape", "y")
        await pilot.pause()
        assert app.result is None


async def test_new_ticket_escape_closes_an_open_list_first():
    async with shown(new_ticket(draft={"title": "t"})) as (app, pilot):
        await pilot.press("tab", "tab", "enter")
        assert app.screen.query_one("#impact", Select).expanded
        await pilot.press("escape")
        assert not app.screen.query_one("#impact", Select).expanded
        assert isinstance(app.screen, NewTicketScreen) and app.result is NOT_YET


async def test_new_ticket_hostile_draft_and_options():
    draft = {"title": HOSTILE, "description": HOSTILE, "team": HOSTILE}
    screen = NewTicketScreen(teams=[HOSTILE, "[/]"], categories=["[b]c[/b]"], services=[], matrix=MATRIX, draft=draft)
    async with shown(screen) as (app, pilot):
        text = screen_text(app)
        team_row = next(line for line in screen_lines(app) if "Team " in line)
        assert "[bold red]x[/] [/] \\x1b[31…" in team_row  # the chosen team: escaped, one line, cut short
        assert text.count("[bold red]x[/] [/] [31mred evil") == 2  # title and description, controls not sent
        assert not raw_controls(app)
        assert_fits(app)
        await pilot.press("ctrl+s")
        assert app.result["title"] == HOSTILE.strip()
        assert app.result["description"] == HOSTILE
        assert app.result["team"] == HOSTILE


# ========================================================================= help
BINDINGS = [("j/k", "move"), ("enter", "open"), ("[", "literal bracket"), ("t", HOSTILE)] + [
    (f"f{i}", f"function key {i}") for i in range(1, 31)
]


@pytest.mark.parametrize("key", ["escape", "q", "question_mark"])
async def test_help_closes(key):
    async with shown(HelpScreen("deskconsole keys", BINDINGS)) as (app, pilot):
        await pilot.press(key)
        assert app.result is None
        assert not isinstance(app.screen, HelpScreen)


async def test_help_two_columns_literal_and_scrollable():
    notes = ["Actions apply to the marked tickets.", HOSTILE]
    async with shown(HelpScreen("Keys [b]x[/b]", BINDINGS, notes=notes)) as (app, pilot):
        text = screen_text(app)
        assert "Keys [b]x[/b]" in text
        assert re.search(r"j/k\s{2,}move", text)
        assert re.search(r"\[\s{2,}literal bracket", text)
        assert HOSTILE_SHOWN in text
        assert not raw_controls(app)
        assert_fits(app)
        body = app.screen.query_one(VerticalScroll)
        assert body.max_scroll_y > 0
        await pilot.press("pagedown", "j")
        assert body.scroll_y > 0
        await pilot.press("end")
        assert "Actions apply to the marked tickets." in screen_text(app)


# ===================================================================== all of them
def all_screens():
    return [
        ConfirmScreen(HOSTILE * 3, danger=True),
        TextEntryScreen(HOSTILE, text=HOSTILE * 40),
        PickerScreen(HOSTILE, [(str(i), f"{HOSTILE} {i}") for i in range(50)], allow_none=HOSTILE),
        ResolveScreen(CODES * 3, note=HOSTILE),
        TriageScreen(MATRIX, impact="high", urgency="low"),
        LinkScreen(KINDS, key="INC-7"),
        LinkScreen(KINDS, key="INC-7", merge=True),
        NewTicketScreen(teams=TEAMS, categories=CATEGORIES, services=SERVICES, matrix=MATRIX,
                        draft={"title": HOSTILE, "description": HOSTILE * 50}),
        HelpScreen(HOSTILE, BINDINGS, notes=[HOSTILE]),
    ]


@pytest.mark.parametrize("index", range(9))
async def test_every_screen_fits_80x24_and_shows_its_title_and_keys(index):
    screen = all_screens()[index]
    async with shown(screen) as (app, pilot):
        assert_fits(app)
        assert app.focused is not None  # the keyboard has somewhere to go
        assert not raw_controls(app)
        await pilot.press("escape")
        if isinstance(app.screen, ConfirmScreen) and app.screen is not screen:
            await pilot.press("y")
        await pilot.pause()
        assert app.result in (None, False)


@pytest.mark.parametrize("index", range(9))
async def test_every_screen_works_with_no_color(index, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    async with shown(all_screens()[index]) as (app, pilot):
        assert app.no_color
        assert_fits(app)


def test_screens_import_nothing_that_writes():
    code = (
        "import sys, deskconsole.ui.screens\n"
        "print(sorted(m for m in sys.modules if m.startswith('deskconsole.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(eval(out))
    for writer in ("deskconsole.core.records.tickets", "deskconsole.core.records.links", "deskconsole.core.desk",
                   "deskconsole.core.txn", "deskconsole.db", "deskconsole.ui.app"):
        assert writer not in loaded, writer
