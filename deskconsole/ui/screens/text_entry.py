"""Free text (a reply, a note, a reason): ``TextEntryScreen(title) -> str | None``."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.widgets import TextArea

from deskconsole.ui.screens._common import (
    DeskModal,
    ErrorLine,
    HintLine,
    SafeTextArea,
    TitleLine,
    literal_content,
)
from deskconsole.ui.screens.confirm import ConfirmScreen

DISCARD_QUESTION = "Discard this text?"


def ask_discard(screen: DeskModal, on_yes) -> None:
    """Push the "Discard this text?" question; ``on_yes`` runs only on yes."""

    def answered(yes: bool | None) -> None:
        if yes:
            on_yes()

    screen.app.push_screen(
        ConfirmScreen(DISCARD_QUESTION, yes="Discard", no="Keep editing", danger=True, title="Unsaved text"),
        answered,
    )


class TextEntryScreen(DeskModal["str | None"]):
    """Write some text in a ``TextArea``; dismisses the text, or ``None``.

    Keys: ``ctrl+s`` saves (an empty text is refused with an inline error when
    ``required``; the text stays), ``esc`` cancels — after a "Discard this
    text?" question when there is text; answering no keeps it. ``tab`` leaves
    the text area (no tab characters), ``enter`` is a new line. The text is
    returned exactly as typed.
    """

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="text.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="text.cancel"),
        Binding("ctrl+o", "insert_article", "Insert an article", id="text.article", priority=True),
    ]

    DEFAULT_CSS = """
    TextEntryScreen #text {
        height: 12;
        width: 100%;
    }
    """

    def __init__(
        self,
        title: str,
        *,
        text: str = "",
        placeholder: str = "",
        required: bool = True,
        hint: str = "ctrl+s save · esc cancel",
        articles=None,
    ) -> None:
        super().__init__()
        self.articles = articles  # a KnowledgeAccess: ctrl+o inserts an article (replies and notes)
        self.inserted: list[str] = []  # the keys of the articles inserted
        self.title_text = title
        self._initial_text = text or ""
        self.placeholder = placeholder
        self.required = required
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield TitleLine(self.title_text)
            yield SafeTextArea(
                self._initial_text,
                id="text",
                soft_wrap=True,
                tab_behavior="focus",
                show_line_numbers=False,
                placeholder=literal_content(self.placeholder),
            )
            yield ErrorLine()
            yield HintLine(self.hint)

    def on_mount(self) -> None:
        area = self.query_one("#text", TextArea)
        area.focus()
        area.move_cursor(area.document.end)

    @property
    def text(self) -> str:
        """The text as it stands now (the prefilled text before the screen is mounted)."""
        try:
            return self.query_one("#text", TextArea).text
        except NoMatches:  # not composed yet
            return self._initial_text

    @property
    def unsaved(self) -> bool:
        """Whether leaving now would throw typed text away."""
        return bool(self.text.strip())

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if self.error_message and self.text.strip():
            self.clear_error()

    def action_save(self) -> None:
        text = self.text
        if self.required and not text.strip():
            self.show_error("the text is empty; write something first (esc cancels)")
            self.query_one("#text", TextArea).focus()
            return
        self.dismiss(text)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "insert_article":
            return self.articles is not None
        return True

    def action_insert_article(self) -> None:
        """ctrl+o: pick an article (search as you type); its block goes in at the cursor."""
        from deskconsole.ui.screens.article_picker import ArticlePickerScreen

        def chosen(result) -> None:
            area = self.query_one("#text", TextArea)
            if result:
                key, block = result
                self.inserted.append(key)
                area.insert(block)
            area.focus()

        self.app.push_screen(ArticlePickerScreen(self.articles), chosen)

    def action_cancel(self) -> None:
        if self.unsaved:
            ask_discard(self, lambda: self.dismiss(None))
        else:
            self.dismiss(None)
