"""Write or edit an article: ``ArticleFormScreen(title, draft=, services=) -> dict | None``.

Fields: title, service (a name of the desk's, or empty), tags, and the
Markdown text in a ``TextArea`` — or in ``$EDITOR`` (``ctrl+e``: the console
steps aside while the editor runs, as git does). ``ctrl+s`` saves, ``esc``
cancels (asking first when something was typed). Dismisses ``{"title",
"service", "tags", "body"}``; the core checks them.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, TextArea

from deskconsole.ui.screens._common import DeskModal, ErrorLine, FieldLabel, HintLine, SafeInput, SafeTextArea, TitleLine
from deskconsole.ui.screens.text_entry import ask_discard

HINT = "ctrl+s save · ctrl+e text in $EDITOR · tab next field · esc cancel"


class ArticleFormScreen(DeskModal["dict | None"]):
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="article_form.save", priority=True),
        Binding("ctrl+e", "editor", "Text in $EDITOR", id="article_form.editor", priority=True),
        Binding("escape", "cancel", "Cancel", id="article_form.cancel"),
    ]

    DEFAULT_CSS = """
    ArticleFormScreen .field-row FieldLabel {
        width: 9;
    }
    ArticleFormScreen .field-row Input {
        width: 1fr;
    }
    ArticleFormScreen #article-text {
        height: 9;
        width: 100%;
    }
    """

    def __init__(self, title: str, *, draft: dict | None = None, services: list[str] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.draft = dict(draft or {})
        self.services = services or []
        self._initial = dict(self.draft)

    def compose(self) -> ComposeResult:
        d = self.draft
        with Vertical(classes="dialog"):
            yield TitleLine(self.title_text)
            with Horizontal(classes="field-row"):
                yield FieldLabel("Title")
                yield SafeInput(d.get("title", ""), id="article-title-input", compact=True,
                                placeholder="one line: what it answers")
            with Horizontal(classes="field-row"):
                yield FieldLabel("Service")
                yield SafeInput(d.get("service", "") or "", id="article-service", compact=True,
                                placeholder=("none, or: " + ", ".join(self.services))[:70])
            with Horizontal(classes="field-row"):
                yield FieldLabel("Tags")
                yield SafeInput(d.get("tags", ""), id="article-tags", compact=True, placeholder="e.g. vpn, macos")
            yield FieldLabel("Text (Markdown)")
            yield SafeTextArea(d.get("body", ""), id="article-text", soft_wrap=True, tab_behavior="focus",
                               show_line_numbers=False)
            yield ErrorLine()
            yield HintLine(HINT)

    def on_mount(self) -> None:
        self.query_one("#article-title-input").focus()

    def values(self) -> dict:
        return {"title": self.query_one("#article-title-input", Input).value,
                "service": self.query_one("#article-service", Input).value.strip(),
                "tags": self.query_one("#article-tags", Input).value,
                "body": self.query_one("#article-text", TextArea).text}

    def action_save(self) -> None:
        values = self.values()
        if not values["title"].strip():
            self.show_error("an article needs a title")
            self.query_one("#article-title-input").focus()
            return
        if not values["body"].strip():
            self.show_error("the text is empty; write it here or in your editor (ctrl+e)")
            self.query_one("#article-text").focus()
            return
        if values["service"] and self.services and values["service"] not in self.services:
            self.show_error(f"no service {values['service'][:40]!r}; known: {', '.join(self.services)} (or empty)")
            self.query_one("#article-service").focus()
            return
        self.dismiss(values)

    def action_editor(self) -> None:
        """The text in $EDITOR: the console steps aside while it runs."""
        from deskconsole.cli.editor import edit_text
        from deskconsole.errors import DeskError

        area = self.query_one("#article-text", TextArea)
        try:
            with self.app.suspend():
                text = edit_text(area.text)
        except DeskError as exc:
            self.show_error(str(exc))
            return
        except Exception:  # no terminal to step aside from (a web console, a test)
            self.show_error("the editor cannot run here; write the text in the box")
            return
        area.load_text(text)
        area.focus()

    def action_cancel(self) -> None:
        if self.values() != {**{"title": "", "service": "", "tags": "", "body": ""}, **self._initial}:
            ask_discard(self, lambda: self.dismiss(None))
        else:
            self.dismiss(None)
