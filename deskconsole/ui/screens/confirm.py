"""Yes or no: ``ConfirmScreen(message) -> True | False``."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from deskconsole.ui.screens._common import DeskModal, HintLine, TitleLine, literal, literal_content


class ConfirmScreen(DeskModal[bool]):
    """Ask a question; dismisses ``True`` (yes) or ``False`` (no).

    Keys: ``y`` yes, ``n``/``esc`` no, ``enter`` presses the focused button,
    ``tab``/``left``/``right`` move between the buttons. The focus starts on
    the yes button, or on the no button when ``danger`` (a stray ``enter``
    never does the destructive thing).
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("escape", "answer(False)", "No", id="confirm.cancel", show=False),
        Binding("left", "app.focus_previous", "Previous", show=False),
        Binding("right", "app.focus_next", "Next", show=False),
    ]

    DEFAULT_CSS = """
    ConfirmScreen > .dialog {
        width: 64;
    }
    ConfirmScreen #message {
        width: 100%;
        height: auto;
        max-height: 12;
        margin-bottom: 1;
    }
    ConfirmScreen #buttons {
        width: 100%;
        height: auto;
        align-horizontal: center;
    }
    ConfirmScreen #buttons Button {
        margin: 0 2;
        min-width: 10;
    }
    """

    def __init__(
        self,
        message: str,
        *,
        yes: str = "Yes",
        no: str = "No",
        danger: bool = False,
        title: str = "Confirm",
    ) -> None:
        super().__init__()
        self.message = message
        self.yes = yes
        self.no = no
        self.danger = danger
        self.title_text = ("⚠ " + title) if danger else title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog" + (" -danger" if self.danger else "")):
            yield TitleLine(self.title_text)
            yield Static(literal(self.message, one_line=False), id="message", markup=False)
            with Horizontal(id="buttons"):
                yield Button(literal_content(self.yes), variant="error" if self.danger else "primary", id="yes")
                yield Button(literal_content(self.no), variant="default", id="no")
            yield HintLine(f"y {_short(self.yes, 'yes')} · n/esc {_short(self.no, 'no')}"
                           " · tab/←/→ move · enter presses the focused button")

    def on_mount(self) -> None:
        self.query_one("#no" if self.danger else "#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(bool(answer))


def _short(label: str, fallback: str) -> str:
    return label.lower() if len(label) <= 20 else fallback
