"""Open a ticket: ``NewTicketScreen(teams=, categories=, services=) -> dict | None``."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Select, Static, TextArea

from deskconsole.core.records.validate import TITLE_MAX
from deskconsole.ui.screens._common import (
    DeskModal,
    ErrorLine,
    FieldLabel,
    HintLine,
    SafeInput,
    SafeTextArea,
    TitleLine,
    literal,
    literal_content,
)
from deskconsole.ui.screens.text_entry import ask_discard
from deskconsole.ui.screens.triage import priority_line

FIELDS = ("title", "description", "impact", "urgency", "team", "category", "service")
CHOICES = ("impact", "urgency", "team", "category", "service")


class NewTicketScreen(DeskModal["dict | None"]):
    """The new-ticket form.

    Dismisses ``{"title", "description", "impact", "urgency", "team",
    "category", "service"}`` (title stripped; description as typed, ``""`` when
    empty; a choice left open is ``None``) or ``None``. The title is required
    and at most 300 characters; impact and urgency go together (both or
    neither), and with a ``matrix`` the resulting priority shows live.

    Keys: ``tab``/``shift+tab`` move between fields, ``enter`` in the title
    goes on to the description, ``enter``/``space``/``↓`` open a choice list
    (``enter`` picks, ``esc`` closes it), ``ctrl+s`` saves, ``esc`` cancels —
    asking first when anything was typed or chosen. ``draft`` prefills every
    field (the app reopens the form with the user's values after a failed save).
    """

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="new.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="new.cancel"),
    ]

    DEFAULT_CSS = """
    NewTicketScreen .field-row {
        margin-bottom: 0;
    }
    NewTicketScreen .field-row > FieldLabel {
        width: 13;
    }
    NewTicketScreen #title {
        width: 1fr;
    }
    NewTicketScreen #description {
        height: 7;
        width: 1fr;
    }
    NewTicketScreen Select {
        width: 30;
    }
    NewTicketScreen SelectCurrent > Static#label {
        text-wrap: nowrap;
        text-overflow: ellipsis;
        height: 1;
    }
    NewTicketScreen Select > SelectOverlay.-textual-compact {
        border: round $primary !important;
        max-height: 8;
    }
    NewTicketScreen #priority {
        width: 1fr;
        height: 1;
        padding-left: 2;
        text-style: bold;
    }
    """

    def __init__(
        self,
        *,
        teams: list[str],
        categories: list[str],
        services: list[str],
        levels: tuple[str, ...] = ("high", "medium", "low"),
        matrix: dict | None = None,
        draft: dict | None = None,
        title: str = "New ticket",
    ) -> None:
        super().__init__()
        self.options = {
            "impact": [str(x) for x in levels],
            "urgency": [str(x) for x in levels],
            "team": [str(x) for x in teams],
            "category": [str(x) for x in categories],
            "service": [str(x) for x in services],
        }
        self.matrix = matrix
        self.draft = dict(draft or {})
        self.title_text = title

    def _select(self, name: str) -> Select:
        current = self.draft.get(name)
        value = current if current in self.options[name] else Select.NULL
        return Select(
            [(literal(option), option) for option in self.options[name]],
            prompt="— not set —",
            allow_blank=True,
            value=value,
            compact=True,
            id=name,
        )

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield TitleLine(self.title_text)
            with Horizontal(classes="field-row"):
                yield FieldLabel("Title")
                yield SafeInput(str(self.draft.get("title") or ""), placeholder="a short summary of the problem",
                            compact=True, id="title")
            with Horizontal(classes="field-row"):
                yield FieldLabel("Description")
                yield SafeTextArea(str(self.draft.get("description") or ""), id="description", soft_wrap=True,
                               tab_behavior="focus",
                               placeholder=literal_content("what happens, since when, who is affected"))
            with Horizontal(classes="field-row"):
                yield FieldLabel("Impact")
                yield self._select("impact")
                if self.matrix is not None:
                    yield Static("", id="priority", markup=False)
            with Horizontal(classes="field-row"):
                yield FieldLabel("Urgency")
                yield self._select("urgency")
            for name in ("team", "category", "service"):
                with Horizontal(classes="field-row"):
                    yield FieldLabel(name.capitalize())
                    yield self._select(name)
            yield ErrorLine()
            yield HintLine("tab next field · enter open a list · ctrl+s save · esc cancel")

    def on_mount(self) -> None:
        self.query_one("#title", Input).focus()
        self._update_priority()

    # ---------------------------------------------------------------- values
    def _choice(self, name: str) -> str | None:
        value = self.query_one(f"#{name}", Select).value
        return None if value is Select.NULL or value is None else str(value)

    @property
    def values(self) -> dict:
        """What the form holds now (unvalidated; the title as typed)."""
        return {
            "title": self.query_one("#title", Input).value,
            "description": self.query_one("#description", TextArea).text,
            **{name: self._choice(name) for name in CHOICES},
        }

    @property
    def priority_text(self) -> str | None:
        if self.matrix is None:
            return None
        return priority_line(self.matrix, self._choice("impact"), self._choice("urgency"), short=True)

    @property
    def unsaved(self) -> bool:
        values = self.values
        return bool(values["title"].strip() or values["description"].strip()
                    or any(values[name] is not None for name in CHOICES))

    def _update_priority(self) -> None:
        if self.matrix is not None:
            self.query_one("#priority", Static).update(literal(self.priority_text))

    # ---------------------------------------------------------------- events
    @on(Select.Changed)
    def _on_choice(self, event: Select.Changed) -> None:
        self._update_priority()
        if self.error_message:
            self.clear_error()

    @on(Input.Changed, "#title")
    @on(TextArea.Changed, "#description")
    def _on_typed(self, event) -> None:
        if self.error_message:
            self.clear_error()

    @on(Input.Submitted, "#title")
    def _on_title_enter(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#description", TextArea).focus()

    def action_save(self) -> None:
        values = self.values
        title = values["title"].strip()
        if not title:
            self._refuse("#title", "a ticket needs a title; give a short summary of the problem")
            return
        if len(title) > TITLE_MAX:
            self._refuse("#title", f"the title is {len(title)} characters; keep it to {TITLE_MAX} "
                                   "and put the rest in the description")
            return
        if (values["impact"] is None) != (values["urgency"] is None):
            missing = "impact" if values["impact"] is None else "urgency"
            self._refuse(f"#{missing}", "choose both impact and urgency, or neither")
            return
        values["title"] = title
        self.dismiss(values)

    def _refuse(self, selector: str, message: str) -> None:
        self.show_error(message)
        self.query_one(selector).focus()

    def action_cancel(self) -> None:
        if self.unsaved:
            ask_discard(self, lambda: self.dismiss(None))
        else:
            self.dismiss(None)
