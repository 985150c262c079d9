"""The knowledge base: every article, searched as you type.

``ArticlesScreen(access)`` fills the screen: a search line, the articles
(most relevant first while searching, else last changed first) with their
state and how often each helped resolve a ticket. ``enter`` opens one,
``n`` writes a new one, ``a`` shows retired ones too. It reads through
``access`` (:class:`~deskconsole.ui.knowledge.KnowledgeAccess`) only.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from deskconsole.ui.screens._common import HintLine, MarkedOptionList, SafeInput, TitleLine, literal
from deskconsole.ui.screens.article_picker import prefix_search

HINT = "/ search · j/k move · enter open · n new · a all states · ? help · esc back"
LIVE = ("draft", "published")


class ArticleLines(MarkedOptionList):
    DEFAULT_CSS = """
    ArticleLines, ArticleLines:focus {
        height: 1fr;
        max-height: 100%;
        border: none;
        padding: 0;
    }
    """


def row_label(r, width: int = 80):
    state = {"draft": "draft", "published": "", "retired": "retired"}[r.state]
    used = f"{r.used}×" if r.used else ""
    return literal(f"{r.key:<7} {state:<7} {used:>4}  {r.title}")


class ArticlesScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back", id="articles.back"),
        Binding("slash", "search", "Search", id="articles.search"),
        Binding("n", "new", "New article", id="articles.new"),
        Binding("a", "all_states", "All states", id="articles.all"),
        Binding("ctrl+r", "reload", "Again", id="articles.reload"),
        Binding("question_mark", "help", "Help", id="articles.help"),
    ]

    DEFAULT_CSS = """
    ArticlesScreen {
        background: $background;
        padding: 0 1;
    }
    ArticlesScreen TitleLine {
        margin-bottom: 0;
    }
    ArticlesScreen #kb-search {
        width: 100%;
    }
    ArticlesScreen #kb-state {
        height: 1;
        color: $text-muted;
    }
    ArticlesScreen HintLine {
        margin-top: 0;
    }
    """

    def __init__(self, access) -> None:
        super().__init__()
        self.access = access
        self.states: tuple[str, ...] | None = LIVE
        self.rows: list = []

    def compose(self) -> ComposeResult:
        yield TitleLine("Knowledge base")
        yield SafeInput(placeholder="search: words of the title, tags or text (prefix as you type)", id="kb-search",
                        compact=True)
        yield Static(literal("reading the articles…"), id="kb-state", markup=False)
        yield ArticleLines(id="kb-list")
        yield HintLine(HINT)

    def on_mount(self) -> None:
        self.query_one(ArticleLines).focus()
        self.read()

    @property
    def text(self) -> str:
        return self.query_one("#kb-search", Input).value

    # ------------------------------------------------------------ reading
    def read(self) -> None:
        self.run_worker(self._read(self.text, self.states), exclusive=True, group="kb-list")

    async def _read(self, text: str, states) -> None:
        state = self.query_one("#kb-state", Static)
        try:
            rows = await self.access.find(prefix_search(text), states)
        except Exception as exc:  # the database is away: say so, keep the screen
            state.update(literal(f"⚠ could not read the articles: {exc} — ctrl+r tries again"))
            return
        if text != self.text or states != self.states:
            return
        self.show(rows)

    def show(self, rows: list) -> None:
        view = self.query_one(ArticleLines)
        current = self.rows[view.highlighted].key if self.rows and view.highlighted is not None \
            and view.highlighted < len(self.rows) else None
        self.rows = rows
        which = "all states" if self.states is None else " and ".join(self.states)
        how = f"matching {self.text.strip()!r}, most relevant first" if self.text.strip() else "last changed first"
        self.query_one("#kb-state", Static).update(literal(f"{len(rows):,} articles ({which}), {how}"))
        keys = [r.key for r in rows]
        at = keys.index(current) if current in keys else 0
        view.set_labels([row_label(r) for r in rows] or [literal("no articles here; n writes one")],
                        highlighted=at)
        if not rows:
            view.disable_option_at_index(0)

    def articles_changed(self) -> None:
        """Someone changed an article (the change feed): read again, the cursor stays."""
        self.read()

    @on(Input.Changed, "#kb-search")
    def changed(self, event: Input.Changed) -> None:
        self.set_timer(0.15, lambda v=event.value: self.read() if self.text == v else None)

    @on(Input.Submitted, "#kb-search")
    def submitted(self) -> None:
        self.query_one(ArticleLines).focus()

    # ------------------------------------------------------------ actions
    def on_option_list_option_selected(self, event) -> None:
        event.stop()
        if 0 <= event.option_index < len(self.rows):
            self.open(self.rows[event.option_index].key)

    def open(self, key: str) -> None:
        from deskconsole.ui.screens.article import ArticleScreen

        self.app.push_screen(ArticleScreen(self.access, key), lambda _: self.read())

    def action_search(self) -> None:
        self.query_one("#kb-search").focus()

    def action_back(self) -> None:
        search = self.query_one("#kb-search", Input)
        if search.has_focus:
            self.query_one(ArticleLines).focus()
            return
        self.dismiss(None)

    def action_all_states(self) -> None:
        self.states = None if self.states is not None else LIVE
        self.read()

    def action_reload(self) -> None:
        self.read()

    def action_new(self) -> None:
        self.run_worker(self._new(), exclusive=True, group="kb-write")

    async def _new(self) -> None:
        from deskconsole.ui.screens.article_form import ArticleFormScreen

        if not self.access.may_write:
            self.app.notify("writing articles needs the agent role", severity="warning")
            return
        draft = None
        while True:
            values = await self.app.push_screen_wait(ArticleFormScreen("New article", draft=draft,
                                                                       services=self.access.services))
            if values is None:
                return
            draft = values
            made = await self.access.create(values)
            if made is not None:
                self.app.notify(f"{made.key} written (a draft)", timeout=4)
                self.read()
                self.open(made.key)
                return

    def action_help(self) -> None:
        from deskconsole.ui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen("Knowledge base keys", [
            ("/", "search: every word must match the title, tags or text; the word being typed is a prefix"),
            ("j, k, ↑, ↓", "move"),
            ("enter", "open the article"),
            ("n", "write a new article (a draft; leads publish it)"),
            ("a", "show retired articles too (again: drafts and published only)"),
            ("ctrl+r", "read the list again"),
            ("esc", "from the search line to the list; from the list back to the queue"),
        ], notes=[
            "The number beside an article is how many resolved tickets cited it.",
            "In a reply or a note, ctrl+o inserts an article; on the command line: deskconsole reply INC-4 --kb KB-12.",
            "The same articles on the command line: deskconsole kb ls, kb search WORDS, kb show KB-12.",
        ]))
