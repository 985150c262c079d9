"""Resolve: a resolution code and an optional note -> ``(code, note) | None``."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.widgets import TextArea

from deskconsole.ui.screens._common import (
    ChoiceList,
    DeskModal,
    ErrorLine,
    FieldLabel,
    HintLine,
    SafeTextArea,
    TitleLine,
    literal,
    literal_content,
)
from deskconsole.ui.screens.text_entry import ask_discard


class ResolveScreen(DeskModal["tuple[str, str] | None"]):
    """Choose a resolution code and write a note; dismisses ``(code, note)``
    (``note`` as typed, ``""`` when none) or ``None``.

    Keys: ``up``/``down`` (``j``/``k``) choose the code — the marked one is the
    choice —, ``enter`` or ``tab`` go on to the note, ``ctrl+s`` saves (no code
    chosen: inline error), ``esc`` cancels, asking first when a note is written.
    """

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="resolve.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="resolve.cancel"),
        Binding("enter", "next_field", "Next", show=False),
    ]

    DEFAULT_CSS = """
    ResolveScreen #codes {
        max-height: 8;
    }
    ResolveScreen #note {
        height: 7;
        width: 100%;
    }
    """

    def __init__(
        self,
        codes: tuple[str, ...],
        *,
        note: str = "",
        code: str | None = None,
        title: str = "Resolve",
    ) -> None:
        super().__init__()
        self.codes = tuple(codes)
        self._initial_note = note or ""
        self._initial_code = code
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield TitleLine(self.title_text)
            with Vertical(classes="field"):
                yield FieldLabel("Resolution code")
                yield ChoiceList(id="codes")
            with Vertical(classes="field"):
                yield FieldLabel("Note (optional)")
                yield SafeTextArea(self._initial_note, id="note", soft_wrap=True, tab_behavior="focus",
                               placeholder=literal_content("what was done; shown in the history"))
            yield ErrorLine()
            yield HintLine("↑/↓ choose code · enter/tab to the note · ctrl+s save · esc cancel")

    def on_mount(self) -> None:
        chosen: int | None = None
        if self._initial_code in self.codes:
            chosen = self.codes.index(self._initial_code)
        elif len(self.codes) == 1:
            chosen = 0
        codes = self.query_one("#codes", ChoiceList)
        codes.set_labels([literal(c) for c in self.codes], chosen)
        if chosen is not None and self._initial_note:
            self.query_one("#note", TextArea).focus()
        else:
            codes.focus()

    @property
    def code(self) -> str | None:
        index = self.query_one("#codes", ChoiceList).highlighted
        return self.codes[index] if index is not None and 0 <= index < len(self.codes) else None

    @property
    def note(self) -> str:
        try:
            return self.query_one("#note", TextArea).text
        except NoMatches:  # not composed yet
            return self._initial_note

    @property
    def unsaved(self) -> bool:
        return bool(self.note.strip())

    def on_option_list_option_highlighted(self, event: ChoiceList.OptionHighlighted) -> None:
        if self.error_message:
            self.clear_error()

    def action_next_field(self) -> None:
        self.focus_next()

    def action_save(self) -> None:
        code = self.code
        if code is None:
            self.show_error("choose a resolution code (↑/↓ in the list)" if self.codes
                            else "this desk has no resolution codes configured")
            self.query_one("#codes", ChoiceList).focus()
            return
        self.dismiss((code, self.note))

    def action_cancel(self) -> None:
        if self.unsaved:
            ask_discard(self, lambda: self.dismiss(None))
        else:
            self.dismiss(None)
