"""Link (or merge) a ticket to another: ``LinkScreen(kinds, key=) -> (kind, other_key) | None``."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input

from deskconsole.core.keys import normal_key
from deskconsole.ui.screens._common import (
    ChoiceList,
    DeskModal,
    ErrorLine,
    FieldLabel,
    HintLine,
    SafeInput,
    TitleLine,
    literal,
)

def normalise_key(text: str) -> str | None:
    """``"inc-042"``, ``"42"``, ``"#42"`` -> ``"INC-42"``, ``"prb-3"`` -> ``"PRB-3"``; ``None`` if it is not a key."""
    return normal_key(text or "")


MERGE = "merge"


class LinkScreen(DeskModal["tuple[str, str] | None"]):
    """Choose a link kind and type the other ticket's key.

    Dismisses ``(kind, "INC-42")`` or ``None``; with ``merge=True`` it asks only
    for the target ("Merge INC-7 into:") and dismisses ``("merge", "INC-3")``.
    Keys: ``up``/``down`` (``j``/``k``) choose the kind, ``enter``/``tab`` go to
    the key, ``enter`` (in the key field) or ``ctrl+s`` links, ``esc`` cancels.
    A key that is not ``INC-<n>`` / ``<n>`` / ``PRB-<n>``, or the ticket itself, is refused
    with an inline error and stays for fixing.
    """

    BINDINGS = [
        Binding("ctrl+s", "submit", "Link", id="link.submit", priority=True),
        Binding("escape", "cancel", "Cancel", id="link.cancel"),
        Binding("enter", "next_field", "Next", show=False),
    ]

    DEFAULT_CSS = """
    LinkScreen > .dialog {
        width: 68;
    }
    LinkScreen #kinds {
        max-height: 8;
    }
    LinkScreen #other {
        width: 100%;
    }
    """

    def __init__(self, kinds: tuple[str, ...] = (), *, key: str, merge: bool = False) -> None:
        super().__init__()
        self.kinds = tuple(kinds)
        self.key = normalise_key(key) or key
        self.merge = merge
        if merge:
            self.title_text = f"Merge {self.key} into:"
        else:
            self.title_text = f"Link {self.key} to another ticket"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield TitleLine(self.title_text)
            if not self.merge:
                with Vertical(classes="field"):
                    yield FieldLabel(f"{self.key} …")
                    yield ChoiceList(id="kinds")
            with Vertical(classes="field"):
                yield FieldLabel("the ticket it is a duplicate of" if self.merge else "… the other ticket")
                yield SafeInput(placeholder="INC-42, 42 or PRB-3", id="other")
            yield ErrorLine()
            if self.merge:
                yield HintLine("type the key · enter/ctrl+s merge · esc cancel")
            else:
                yield HintLine("↑/↓ kind · enter/tab to the key · enter/ctrl+s link · esc cancel")

    def on_mount(self) -> None:
        if self.merge:
            self.query_one("#other", Input).focus()
            return
        kinds = self.query_one("#kinds", ChoiceList)
        kinds.set_labels([literal(kind) for kind in self.kinds], 0 if self.kinds else None)
        kinds.focus()

    @property
    def kind(self) -> str | None:
        if self.merge:
            return MERGE
        index = self.query_one("#kinds", ChoiceList).highlighted
        return self.kinds[index] if index is not None and 0 <= index < len(self.kinds) else None

    @property
    def other_text(self) -> str:
        return self.query_one("#other", Input).value

    def action_next_field(self) -> None:
        self.focus_next()

    @on(Input.Submitted, "#other")
    def _on_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    @on(Input.Changed, "#other")
    def _on_changed(self, event: Input.Changed) -> None:
        if self.error_message:
            self.clear_error()

    def action_submit(self) -> None:
        kind = self.kind
        if kind is None:
            self.show_error("choose what kind of link (↑/↓)")
            self.query_one("#kinds", ChoiceList).focus()
            return
        text = self.other_text
        other = normalise_key(text)
        field = self.query_one("#other", Input)
        if other is None:
            shown = text.strip()
            self.show_error(f"{shown!r} is not a ticket key; type INC-42, 42 or PRB-3" if shown
                            else "type the other ticket's key, e.g. INC-42, 42 or PRB-3")
            field.focus()
            return
        if other == self.key:
            self.show_error(f"cannot merge {self.key} into itself" if self.merge
                            else f"cannot link {self.key} to itself")
            field.focus()
            return
        self.dismiss((kind, other))

    def action_cancel(self) -> None:
        self.dismiss(None)
