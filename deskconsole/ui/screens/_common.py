"""Shared pieces of the console's modal screens.

Everything a user or a ticket wrote is shown through :func:`literal`: a
``rich.text.Text`` (never parsed as markup) of the text with control
characters and bidirectional overrides escaped (``\\x1b``, ``\\u202e``), so it
can neither crash nor restyle the console (DESIGN decision 10).
"""

from __future__ import annotations

import re
from typing import Iterable, TypeVar

from rich.segment import Segment
from rich.text import Text
from textual.binding import Binding
from textual.content import Content
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widgets import Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from deskconsole.core.records.text import terminal_safe

ResultT = TypeVar("ResultT")

ERROR_PREFIX = "⚠ error: "


def literal(value: object, *, one_line: bool = True, style: str = "") -> Text:
    """User or ticket text as a plain ``Text``: no markup, control characters escaped."""
    text = "" if value is None else str(value)
    return Text(terminal_safe(text, one_line=one_line), style=style, end="")


def literal_content(value: object) -> Content:
    """Like :func:`literal`, as Textual ``Content`` (for button labels, placeholders)."""
    return Content(terminal_safe("" if value is None else str(value), one_line=True))


# What must never reach the terminal raw from an editing widget: C0/C1 controls
# (ESC starts a terminal escape sequence) and bidirectional overrides/isolates.
# All of them are zero cells wide, so dropping them from a rendered line keeps
# every column (and the cursor) where it was.
_UNSAFE_ON_SCREEN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe_strip(strip: Strip) -> Strip:
    """A rendered line with control and bidi characters dropped (the text itself is untouched)."""
    if not any(_UNSAFE_ON_SCREEN.search(segment.text) for segment in strip):
        return strip
    segments = [
        segment if segment.control else Segment(_UNSAFE_ON_SCREEN.sub("", segment.text), segment.style)
        for segment in strip
    ]
    return Strip(segments, strip.cell_length)


class SafeTextArea(TextArea):
    """A ``TextArea`` that edits the text as it is but never sends a control or
    bidi character in it to the terminal (pasted or prefilled ticket text)."""

    def render_line(self, y: int) -> Strip:
        return safe_strip(super().render_line(y))


class SafeInput(Input):
    """An ``Input`` that never sends a control or bidi character in its value to the terminal."""

    def render_line(self, y: int) -> Strip:
        return safe_strip(super().render_line(y))


class TitleLine(Static):
    """The screen's title: bold, one line (or more if long), never markup."""

    DEFAULT_CSS = """
    TitleLine {
        width: 100%;
        height: auto;
        text-style: bold;
        color: $text-primary;
        margin-bottom: 1;
    }
    """

    def __init__(self, title: str, **kwargs) -> None:
        super().__init__(literal(title), markup=False, **kwargs)
        self.title_text = title


class HintLine(Static):
    """The footer-like line naming the screen's keys."""

    DEFAULT_CSS = """
    HintLine {
        width: 100%;
        height: auto;
        color: $text-muted;
        margin-top: 1;
    }
    """

    def __init__(self, hint: str, **kwargs) -> None:
        super().__init__(literal(hint), markup=False, **kwargs)
        self.hint = hint


class FieldLabel(Static):
    """A field's caption; bold and reversed while its field has focus (visible without colour)."""

    DEFAULT_CSS = """
    FieldLabel {
        width: auto;
        height: 1;
        padding: 0 1 0 0;
    }
    """

    def __init__(self, label: str, **kwargs) -> None:
        super().__init__(literal(label), markup=False, **kwargs)


class ErrorLine(Static):
    """An inline error: starts with "⚠ error:" so it reads without colour; hidden when empty."""

    DEFAULT_CSS = """
    ErrorLine {
        width: 100%;
        height: auto;
        color: $text-error;
        text-style: bold;
        display: none;
    }
    ErrorLine.-shown {
        display: block;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self.message = ""

    def show(self, message: str) -> None:
        self.message = ERROR_PREFIX + message
        self.update(literal(self.message, one_line=False))
        self.add_class("-shown")

    def clear(self) -> None:
        self.message = ""
        self.update("")
        self.remove_class("-shown")


class MarkedOptionList(OptionList):
    """An ``OptionList`` that also marks its highlighted entry with a character,
    so the cursor reads without colour (``NO_COLOR``) and when the list is not
    focused. ``j``/``k`` move too; ``enter`` is left to the screen unless
    ``select_on_enter``."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    DEFAULT_CSS = """
    MarkedOptionList {
        height: auto;
        max-height: 10;
        width: 1fr;
    }
    """

    def __init__(self, *, on: str = "› ", off: str = "  ", **kwargs) -> None:
        super().__init__(markup=False, **kwargs)
        self._on = on
        self._off = off
        self._labels: list[Text] = []

    def set_labels(self, labels: Iterable[Text], highlighted: int | None = None) -> None:
        self.clear_options()
        self._labels = list(labels)
        self.add_options([Option(self._prompt(i, i == highlighted)) for i in range(len(self._labels))])
        if highlighted is not None and 0 <= highlighted < len(self._labels):
            self.highlighted = highlighted

    def _prompt(self, index: int, on: bool) -> Text:
        prompt = Text(self._on if on else self._off, end="")
        prompt.append_text(self._labels[index])
        return prompt

    def watch_highlighted(self, old: int | None, new: int | None) -> None:
        count = min(self.option_count, len(self._labels))
        if old is not None and old != new and old < count:
            self.replace_option_prompt_at_index(old, self._prompt(old, False))
        if new is not None and new < count:
            self.replace_option_prompt_at_index(new, self._prompt(new, True))
        super().watch_highlighted(new)


class ChoiceList(MarkedOptionList, inherit_bindings=False):
    """A list whose highlighted entry *is* the choice (radio-like: ``●``/``○``).

    ``enter`` is not bound here, so it reaches the screen (apply / next field)."""

    BINDINGS = [
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("pagedown", "page_down", "Page Down", show=False),
        Binding("pageup", "page_up", "Page Up", show=False),
    ]

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("on", "● ")
        kwargs.setdefault("off", "○ ")
        super().__init__(**kwargs)


class DeskModal(ModalScreen[ResultT]):
    """Base of the console's dialogs: a centred box that fits 80 columns."""

    DEFAULT_CSS = """
    DeskModal {
        align: center middle;
    }
    DeskModal > .dialog {
        width: 78;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $primary;
        background: $panel;
        padding: 0 1;
    }
    DeskModal > .dialog.-danger {
        border: heavy $error;
    }
    DeskModal .field-row {
        height: auto;
        width: 100%;
    }
    DeskModal .field-row:focus-within > FieldLabel,
    DeskModal .field:focus-within > FieldLabel {
        text-style: bold reverse;
    }
    DeskModal .field {
        height: auto;
        width: 1fr;
    }
    """

    @property
    def error_message(self) -> str:
        """The inline error shown now ("" when none)."""
        try:
            return self.query_one(ErrorLine).message
        except NoMatches:  # not composed yet
            return ""

    def show_error(self, message: str) -> None:
        self.query_one(ErrorLine).show(message)

    def clear_error(self) -> None:
        self.query_one(ErrorLine).clear()
