"""Pick one of many, by typing a few letters: ``PickerScreen(title, options) -> value | None``."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from deskconsole.core.records.text import terminal_safe
from deskconsole.ui.screens._common import (
    DeskModal,
    ErrorLine,
    HintLine,
    MarkedOptionList,
    SafeInput,
    TitleLine,
    literal,
)

NONE_VALUE = "none"


def fuzzy_match(query: str, text: str) -> tuple[tuple[int, int, int], list[int]] | None:
    """Match ``query`` as a case-insensitive subsequence of ``text``.

    Returns ``(rank, positions)`` or ``None``; a lower rank is a better match:
    prefix < substring at a word start < other substring < scattered letters
    (fewer gaps first, then earlier). ``positions`` are the matched indexes.
    """
    q = query.casefold()
    t = text.casefold()
    if not q:
        return (0, 0, 0), []
    if len(t) != len(text):  # casefold changed the length (e.g. "ß"): match on lower() instead
        t = text.lower()
        q = query.lower()
        if len(t) != len(text):
            t = text
    if t.startswith(q):
        return (0, 0, len(t)), list(range(len(q)))
    at = t.find(q)
    if at >= 0:
        word_start = not t[at - 1].isalnum()
        return (1 if word_start else 2, at, len(t)), list(range(at, at + len(q)))
    best: tuple[int, int, list[int]] | None = None
    start = t.find(q[0])
    while start >= 0:
        positions = [start]
        pos = start + 1
        for ch in q[1:]:
            pos = t.find(ch, pos)
            if pos < 0:
                break
            positions.append(pos)
            pos += 1
        else:
            span = positions[-1] - positions[0] + 1 - len(q)
            if best is None or span < best[0]:
                best = (span, positions[0], positions)
        if len(positions) < len(q):  # the rest does not occur after this start: no later start helps
            break
        start = t.find(q[0], start + 1)
    if best is None:
        return None
    return (3, best[0], best[1]), best[2]


@dataclass(frozen=True)
class _Entry:
    value: str
    label: str  # as shown: terminal_safe(label)
    index: int
    special: bool = False


class _PickList(MarkedOptionList, can_focus=False):
    """The options; the cursor moves with up/down while the filter keeps the focus."""


class PickerScreen(DeskModal["str | None"]):
    """Choose one option; dismisses its value, ``"none"`` for the ``allow_none``
    entry, or ``None`` on cancel.

    Typing filters the list (letters in order, any case: "jsm" finds "John
    Smith"); prefix and contiguous matches rank first. Keys: ``up``/``down``,
    ``pageup``/``pagedown`` move the cursor while
    typing, ``enter`` picks the option under it, ``esc`` cancels.
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        Binding("down", "move('cursor_down')", "Down", show=False),
        Binding("up", "move('cursor_up')", "Up", show=False),
        Binding("pagedown", "move('page_down')", "Page down", show=False),
        Binding("pageup", "move('page_up')", "Page up", show=False),
    ]

    DEFAULT_CSS = """
    PickerScreen #filter {
        width: 100%;
    }
    PickerScreen #options {
        height: auto;
        max-height: 12;
        min-height: 1;
        width: 100%;
        border: none;
    }
    PickerScreen #count {
        width: 100%;
        height: 1;
        color: $text-muted;
    }
    """

    def __init__(
        self,
        title: str,
        options: list[tuple[str, str]],
        *,
        allow_none: str | None = None,
        current: str | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.current = current
        entries: list[_Entry] = []
        if allow_none is not None:
            entries.append(_Entry(NONE_VALUE, terminal_safe(allow_none, one_line=True), 0, special=True))
        for value, label in options:
            entries.append(_Entry(str(value), terminal_safe(str(label), one_line=True), len(entries)))
        self._entries = entries
        self._shown: list[_Entry] = []
        self.query_text = ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield TitleLine(self.title_text)
            yield SafeInput(placeholder="type to filter", id="filter")
            yield _PickList(id="options")
            yield Static("", id="count", markup=False)
            yield ErrorLine()
            yield HintLine("type to filter · ↑/↓ move · enter pick · esc cancel")

    def on_mount(self) -> None:
        self._refilter("")
        self.query_one("#filter", Input).focus()

    # ---------------------------------------------------------------- filtering
    def ranked(self, query: str) -> list[tuple[_Entry, list[int]]]:
        """The entries matching ``query``, best first (ties keep the given order)."""
        if not query.strip():
            return [(e, []) for e in self._entries]
        query = query.strip()
        scored = []
        for entry in self._entries:
            on_label = fuzzy_match(query, entry.label)
            on_value = None if entry.special else fuzzy_match(query, terminal_safe(entry.value, one_line=True))
            if on_label is None and on_value is None:
                continue
            if on_value is not None and (on_label is None or on_value[0] < on_label[0]):
                scored.append((on_value[0], entry.index, entry, []))
            else:
                scored.append((on_label[0], entry.index, entry, on_label[1]))
        scored.sort(key=lambda row: (row[0], row[1]))
        return [(entry, positions) for _, _, entry, positions in scored]

    def _label(self, entry: _Entry, positions: list[int]) -> Text:
        text = Text(entry.label, style="italic" if entry.special else "", end="")
        for pos in positions:
            text.stylize("bold underline", pos, pos + 1)
        if self.current is not None and entry.value == self.current and not entry.special:
            text.append("  (current)", style="dim")
        return text

    def _refilter(self, query: str) -> None:
        self.query_text = query
        ranked = self.ranked(query)
        self._shown = [entry for entry, _ in ranked]
        highlight: int | None = 0 if ranked else None
        if not query.strip() and self.current is not None:
            for i, entry in enumerate(self._shown):
                if entry.value == self.current and not entry.special:
                    highlight = i
                    break
        self.query_one("#options", _PickList).set_labels(
            [self._label(entry, positions) for entry, positions in ranked], highlight
        )
        count = self.query_one("#count", Static)
        if ranked:
            count.update(f"{len(ranked)} of {len(self._entries)}")
        else:
            count.update(literal(f"no option matches {query.strip()!r}"))
        self.clear_error()

    @on(Input.Changed, "#filter")
    def _on_filter_changed(self, event: Input.Changed) -> None:
        self._refilter(event.value)

    # ---------------------------------------------------------------- keys
    @property
    def highlighted_value(self) -> str | None:
        """The value under the cursor (``"none"`` for the allow-none entry), if any."""
        index = self.query_one("#options", _PickList).highlighted
        if index is None or not (0 <= index < len(self._shown)):
            return None
        return self._shown[index].value

    @property
    def shown_labels(self) -> list[str]:
        """The labels listed now, in order (as displayed, escaped)."""
        return [entry.label for entry in self._shown]

    def action_move(self, action: str) -> None:
        options = self.query_one("#options", _PickList)
        getattr(options, f"action_{action}")()

    @on(Input.Submitted, "#filter")
    def _on_submit(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_pick()

    def action_pick(self) -> None:
        value = self.highlighted_value
        if value is None:
            self.show_error("nothing to pick: change the filter, or esc to cancel")
            return
        self.dismiss(value)

    @on(MarkedOptionList.OptionSelected, "#options")
    def _on_clicked(self, event: MarkedOptionList.OptionSelected) -> None:
        event.stop()
        self.query_one("#options", _PickList).highlighted = event.option_index
        self.action_pick()

    def action_cancel(self) -> None:
        self.dismiss(None)
