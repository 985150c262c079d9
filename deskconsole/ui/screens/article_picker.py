"""Pick a published article to cite, searching as you type:
``ArticlePickerScreen(access) -> (key, block) | None``. ``enter`` gives the
article's citation block (``KB-12: title`` and its first paragraph),
``ctrl+l`` its key alone."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input

from deskconsole.core.knowledge.citing import citation
from deskconsole.ui.screens._common import DeskModal, ErrorLine, HintLine, MarkedOptionList, SafeInput, TitleLine, literal

HINT = "type to search · ↑/↓ choose · enter insert title + first paragraph · ctrl+l key only · esc cancel"


def prefix_search(text: str) -> str:
    """Search as you type: the word being typed is a prefix."""
    if text and not text[-1].isspace() and text[-1] not in '*"':
        return text + "*"
    return text


class ArticlePickerScreen(DeskModal["tuple[str, str] | None"]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="pick_article.cancel"),
        Binding("down", "move(1)", "Down", show=False),
        Binding("up", "move(-1)", "Up", show=False),
        Binding("enter", "choose(False)", "Insert", id="pick_article.insert", priority=True),
        Binding("ctrl+l", "choose(True)", "Key only", id="pick_article.key_only", priority=True),
    ]

    def __init__(self, access) -> None:
        super().__init__()
        self.access = access
        self.rows: list = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield TitleLine("Insert an article (published ones)")
            yield SafeInput(placeholder="words of the title, tags or text", id="kb-pick-search")
            yield MarkedOptionList(id="kb-pick-list")
            yield ErrorLine()
            yield HintLine(HINT)

    def on_mount(self) -> None:
        self.query_one("#kb-pick-search").focus()
        self.read("")

    @on(Input.Changed, "#kb-pick-search")
    def changed(self, event: Input.Changed) -> None:
        self.set_timer(0.15, lambda v=event.value: self.read(v) if self._current() == v else None)

    def _current(self) -> str:
        return self.query_one("#kb-pick-search", Input).value

    def read(self, text: str) -> None:
        self.run_worker(self._read(text), exclusive=True, group="kb-pick")

    async def _read(self, text: str) -> None:
        try:
            rows = await self.access.find(prefix_search(text), ("published",))
        except Exception as exc:
            self.show_error(f"could not search: {exc}")
            return
        if text != self._current():
            return
        self.rows = rows
        view = self.query_one("#kb-pick-list", MarkedOptionList)
        labels = [literal(f"{r.key:<7} {r.title}" + (f"  · used {r.used}×" if r.used else "")) for r in rows]
        view.set_labels(labels or [literal("no published article matches")], highlighted=0)
        if not rows:
            view.disable_option_at_index(0)

    def action_move(self, delta: int) -> None:
        view = self.query_one("#kb-pick-list", MarkedOptionList)
        if self.rows:
            view.highlighted = max(0, min(len(self.rows) - 1, (view.highlighted or 0) + delta))

    def on_option_list_option_selected(self, event) -> None:
        event.stop()
        self.action_choose(False)

    def action_choose(self, key_only: bool) -> None:
        view = self.query_one("#kb-pick-list", MarkedOptionList)
        if not self.rows or view.highlighted is None or view.highlighted >= len(self.rows):
            self.show_error("no article to insert; type some words of one")
            return
        row = self.rows[view.highlighted]
        self.run_worker(self._choose(row.key, key_only), exclusive=True, group="kb-pick-choose")

    async def _choose(self, key: str, key_only: bool) -> None:
        try:
            article = await self.access.get(key)
        except Exception as exc:
            self.show_error(f"could not read {key}: {exc}")
            return
        self.dismiss((key, citation(article.key, article.title, article.body, key_only=key_only)))

    def action_cancel(self) -> None:
        self.dismiss(None)
