"""Impact x urgency -> priority: ``TriageScreen(matrix, impact=, urgency=) -> (impact, urgency) | None``;
``suggestion``: the impact the incident's service map suggests, and why (shown, never chosen for the user)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from deskconsole.ui.screens._common import (
    ChoiceList,
    DeskModal,
    ErrorLine,
    FieldLabel,
    HintLine,
    TitleLine,
    literal,
)

LEVELS = ("high", "medium", "low")


def priority_line(matrix: dict[str, dict[str, str]] | None, impact: str | None, urgency: str | None,
                  *, short: bool = False) -> str:
    """The text of the live priority line, e.g. ``"Priority: P2"``."""
    if impact is None or urgency is None:
        if short:
            return "Priority: — (desk default)" if impact is None and urgency is None else "Priority: — (needs both)"
        return "Priority: —  (choose impact and urgency)"
    value = (matrix or {}).get(impact, {}).get(urgency)
    if value is None:
        return "Priority: ?" if short else f"Priority: ?  (the matrix has no {impact} x {urgency})"
    return f"Priority: {value}"


class TriageScreen(DeskModal["tuple[str, str] | None"]):
    """Set impact and urgency; the resulting priority shows live.

    Dismisses ``(impact, urgency)`` or ``None``. Keys: ``up``/``down``
    (``j``/``k``) choose in a column — the marked level is the choice —,
    ``left``/``right``/``tab`` switch columns, ``enter``/``ctrl+s`` apply
    (both must be chosen), ``esc`` cancels.
    """

    BINDINGS = [
        Binding("enter,ctrl+s", "apply", "Apply", id="triage.apply"),
        Binding("escape", "cancel", "Cancel", id="triage.cancel"),
        Binding("left", "column('impact')", "Impact", show=False),
        Binding("right", "column('urgency')", "Urgency", show=False),
    ]

    DEFAULT_CSS = """
    TriageScreen > .dialog {
        width: 68;
    }
    TriageScreen #columns {
        height: auto;
        width: 100%;
    }
    TriageScreen .field {
        margin-right: 2;
    }
    TriageScreen #suggestion {
        width: 100%;
        height: auto;
        margin-bottom: 1;
        text-style: bold;
    }
    TriageScreen #priority {
        width: 100%;
        height: 1;
        margin-top: 1;
        text-style: bold;
    }
    """

    def __init__(
        self,
        matrix: dict[str, dict[str, str]],
        *,
        impact: str | None,
        urgency: str | None,
        levels: tuple[str, ...] = LEVELS,
        title: str = "Triage: impact x urgency",
        suggestion: str | None = None,
    ) -> None:
        super().__init__()
        self.suggestion = suggestion  # e.g. "suggested: high — 5 services depend on db-main: ..."
        self.matrix = matrix or {}
        self.levels = tuple(levels)
        self._initial = (impact, urgency)
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield TitleLine(self.title_text)
            if self.suggestion:
                yield Static(literal(f"Impact {self.suggestion}", one_line=False), id="suggestion", markup=False)
            with Horizontal(id="columns"):
                with Vertical(classes="field"):
                    yield FieldLabel("Impact")
                    yield ChoiceList(id="impact")
                with Vertical(classes="field"):
                    yield FieldLabel("Urgency")
                    yield ChoiceList(id="urgency")
            yield Static("", id="priority", markup=False)
            yield ErrorLine()
            yield HintLine("↑/↓ choose · ←/→/tab column · enter/ctrl+s apply · esc cancel")

    def on_mount(self) -> None:
        for name, value in zip(("impact", "urgency"), self._initial, strict=True):
            chosen = self.levels.index(value) if value in self.levels else None
            self.query_one(f"#{name}", ChoiceList).set_labels([literal(level) for level in self.levels], chosen)
        self.query_one("#impact", ChoiceList).focus()
        self._update_priority()

    def _value(self, name: str) -> str | None:
        index = self.query_one(f"#{name}", ChoiceList).highlighted
        return self.levels[index] if index is not None and 0 <= index < len(self.levels) else None

    @property
    def impact(self) -> str | None:
        return self._value("impact")

    @property
    def urgency(self) -> str | None:
        return self._value("urgency")

    @property
    def priority_text(self) -> str:
        return priority_line(self.matrix, self.impact, self.urgency)

    def _update_priority(self) -> None:
        self.query_one("#priority", Static).update(literal(self.priority_text))

    def on_option_list_option_highlighted(self, event: ChoiceList.OptionHighlighted) -> None:
        self._update_priority()
        if self.error_message:
            self.clear_error()

    def action_column(self, name: str) -> None:
        self.query_one(f"#{name}", ChoiceList).focus()

    def action_apply(self) -> None:
        impact, urgency = self.impact, self.urgency
        if impact is None or urgency is None:
            missing = " and ".join(n for n, v in (("impact", impact), ("urgency", urgency)) if v is None)
            self.show_error(f"choose the {missing} (↑/↓)")
            self.query_one("#impact" if impact is None else "#urgency", ChoiceList).focus()
            return
        self.dismiss((impact, urgency))

    def action_cancel(self) -> None:
        self.dismiss(None)
