"""Keys and what they do: ``HelpScreen(title, bindings, notes=)``; dismisses ``None``."""

from __future__ import annotations

from typing import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from deskconsole.ui.screens._common import DeskModal, HintLine, TitleLine, literal


def key_table(bindings: Iterable[tuple[str, str]]) -> Table:
    """Two columns, keys and descriptions; every cell literal text, descriptions wrap."""
    table = Table.grid(padding=(0, 2), expand=True)
    table.add_column("key", no_wrap=True, max_width=24, overflow="fold")
    table.add_column("does", ratio=1, overflow="fold")
    for keys, description in bindings:
        table.add_row(literal(keys, style="bold"), literal(description))
    return table


class HelpScreen(DeskModal[None]):
    """A scrollable two-column list of keys and what they do, then notes.

    Keys: ``up``/``down`` (``j``/``k``), ``pageup``/``pagedown``, ``home``/``end``
    scroll; ``esc``, ``q`` or ``?`` close.
    """

    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close", id="help.close"),
        Binding("j", "scroll('down')", "Down", show=False),
        Binding("k", "scroll('up')", "Up", show=False),
    ]

    DEFAULT_CSS = """
    HelpScreen #body {
        height: auto;
        max-height: 70vh;
        width: 100%;
    }
    HelpScreen #keys {
        width: 100%;
        height: auto;
    }
    HelpScreen .note {
        width: 100%;
        height: auto;
        margin-top: 1;
        color: $text-muted;
    }
    """

    def __init__(self, title: str, bindings: list[tuple[str, str]], *, notes: Iterable[str] = ()) -> None:
        super().__init__()
        self.title_text = title
        self.bindings_list = [(str(k), str(d)) for k, d in bindings]
        self.notes = [str(n) for n in notes]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield TitleLine(self.title_text)
            with VerticalScroll(id="body"):
                if self.bindings_list:
                    yield Static(key_table(self.bindings_list), id="keys")
                else:
                    yield Static(Text("no keys to show"), id="keys")
                for note in self.notes:
                    yield Static(literal(note, one_line=False), classes="note", markup=False)
            yield HintLine("↑/↓ pgup/pgdn scroll · esc/q/? close")

    def on_mount(self) -> None:
        self.query_one("#body", VerticalScroll).focus()

    def action_scroll(self, direction: str) -> None:
        body = self.query_one("#body", VerticalScroll)
        if direction == "down":
            body.scroll_down(animate=False)
        else:
            body.scroll_up(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
