"""Raise a change: ``NewChangeScreen(templates=, services=, zone=) -> dict | None``."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Select

from deskconsole.change_policy import RISKS
from deskconsole.ui.screens._common import (
    DeskModal,
    ErrorLine,
    FieldLabel,
    HintLine,
    SafeInput,
    TitleLine,
    literal,
)
from deskconsole.ui.screens.text_entry import ask_discard

TEXTS = ("title", "services", "start", "length")
TEMPLATE = "template:"  # the kind's value for a standard change from a template: template:NAME


class NewChangeScreen(DeskModal["dict | None"]):
    """The new-change form.

    Dismisses ``{"title", "kind", "services", "start", "length", "risk"}``
    as typed (``kind`` is ``normal``, ``emergency`` or ``template:NAME``;
    ``risk`` None when left to the default or the template) or ``None``.
    Nothing is checked here but that a normal or emergency change has a
    title: the times and names are read by the core, whose message shows in
    the form (``error``) when the app opens it again with the ``draft``.

    Keys: ``tab``/``shift+tab`` and ``enter`` move between fields,
    ``ctrl+s`` saves, ``esc`` cancels — asking first when anything was typed.
    """

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="change_form.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="change_form.cancel"),
    ]

    DEFAULT_CSS = """
    NewChangeScreen .field-row > FieldLabel {
        width: 13;
    }
    NewChangeScreen Input {
        width: 1fr;
    }
    NewChangeScreen Select {
        width: 1fr;
    }
    NewChangeScreen SelectCurrent > Static#label {
        text-wrap: nowrap;
        text-overflow: ellipsis;
        height: 1;
    }
    NewChangeScreen Select > SelectOverlay.-textual-compact {
        border: round $primary !important;
        max-height: 8;
    }
    """

    def __init__(self, *, templates: dict[str, dict], services: list[str], zone: str, draft: dict | None = None,
                 error: str | None = None) -> None:
        super().__init__()
        self.templates = dict(templates)
        self.services = [str(s) for s in services]
        self.zone = zone
        self.draft = dict(draft or {})
        self.error = error
        self._error_values: dict | None = None  # what the form held when the error was shown

    def _kinds(self) -> list[tuple[object, str]]:
        kinds: list[tuple[object, str]] = [(literal("normal (approved by the policy's rules)"), "normal"),
                                           (literal("emergency (approved after the fact)"), "emergency")]
        for name, t in sorted(self.templates.items()):
            kinds.append((literal(f"standard: {name} — {t.get('title', '')} ({t.get('minutes', '?')} min)"),
                          TEMPLATE + name))
        return kinds

    def compose(self) -> ComposeResult:
        kind = self.draft.get("kind") or "normal"
        risk = self.draft.get("risk")
        with Vertical(classes="dialog"):
            yield TitleLine("New change")
            with Horizontal(classes="field-row"):
                yield FieldLabel("Title")
                yield SafeInput(str(self.draft.get("title") or ""), compact=True, id="title",
                                placeholder="what is changed (a template gives one)")
            with Horizontal(classes="field-row"):
                yield FieldLabel("Type")
                kinds = self._kinds()
                yield Select(kinds, value=kind if kind in {v for _, v in kinds} else "normal", allow_blank=False,
                             compact=True, id="kind")
            with Horizontal(classes="field-row"):
                yield FieldLabel("Services")
                yield SafeInput(str(self.draft.get("services") or ""), compact=True, id="services",
                                placeholder=", ".join(self.services[:6]) or "service names, comma-separated")
            with Horizontal(classes="field-row"):
                yield FieldLabel("Start")
                yield SafeInput(str(self.draft.get("start") or ""), compact=True, id="start",
                                placeholder=f"YYYY-MM-DD HH:MM ({self.zone}) or +2h; empty: plan it later")
            with Horizontal(classes="field-row"):
                yield FieldLabel("Length")
                yield SafeInput(str(self.draft.get("length") or ""), compact=True, id="length",
                                placeholder="45m, 2h, 1d (a template gives one)")
            with Horizontal(classes="field-row"):
                yield FieldLabel("Risk")
                yield Select([(literal(r), r) for r in RISKS], prompt="— default (medium, or the template's) —",
                             value=risk if risk in RISKS else Select.NULL, allow_blank=True, compact=True, id="risk")
            yield ErrorLine()
            yield HintLine(f"times are {self.zone} · tab/enter next field · ctrl+s save · esc cancel")

    def on_mount(self) -> None:
        self.query_one("#title", Input).focus()
        if self.error:
            self.show_error(self.error)
            self._error_values = self.values

    # ---------------------------------------------------------------- values
    @property
    def values(self) -> dict:
        """What the form holds now, as typed."""
        kind = self.query_one("#kind", Select).value
        risk = self.query_one("#risk", Select).value
        return {
            **{name: self.query_one(f"#{name}", Input).value for name in TEXTS},
            "kind": str(kind) if kind not in (Select.NULL, None) else "normal",
            "risk": str(risk) if risk not in (Select.NULL, None) else None,
        }

    @property
    def unsaved(self) -> bool:
        values = self.values
        return any(values[name].strip() for name in TEXTS) or values["kind"] != "normal" or values["risk"] is not None

    @on(Input.Changed)
    @on(Select.Changed)
    def _on_typed(self, event) -> None:
        """An error goes once something is changed (not when the fields are filled with the draft)."""
        if self.error_message and self.values != self._error_values:
            self.clear_error()

    @on(Input.Submitted)
    def _on_enter(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    def action_save(self) -> None:
        values = self.values
        if not values["title"].strip() and not values["kind"].startswith(TEMPLATE):
            self.show_error("a change needs a title (or choose a standard template as its type)")
            self._error_values = values
            self.query_one("#title", Input).focus()
            return
        self.dismiss(values)

    def action_cancel(self) -> None:
        if self.unsaved:
            ask_discard(self, lambda: self.dismiss(None))
        else:
            self.dismiss(None)
