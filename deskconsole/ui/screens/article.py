"""One article: its facts and its Markdown, rendered by Textual's
``Markdown`` widget. The text is a user's: control characters and
bidirectional overrides are escaped before it is rendered, links are not
opened, and Rich/Textual markup in it is shown as the text it is.

``ArticleScreen(access, key)``: ``e`` edits (a form), ``p`` publishes, ``R``
retires (after a question), ``v`` revives, ``h`` lists its versions.
"""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

from deskconsole.core.records.text import terminal_safe
from deskconsole.ui.screens._common import HintLine, TitleLine, literal

HINT = "j/k scroll · e edit · p publish · R retire · v revive · h versions · ? help · esc back"


def safe_markdown(text: str) -> str:
    """An article's Markdown with control and bidi characters escaped (``\\x1b``)."""
    return terminal_safe(text)


def facts_line(a, now: datetime) -> str:
    review = "-" if a.review_at is None else f"{a.review_at:%Y-%m-%d}" + (" (due)" if a.review_due(now) else "")
    parts = [a.state, f"service {a.service or '-'}", f"owner {a.owner}", f"review {review}",
             f"used to resolve {a.used}", f"version {a.text_version}"]
    if a.tags:
        parts.append("tags " + ", ".join(a.tags))
    if a.sources:
        parts.append("from " + ", ".join(a.sources))
    return " · ".join(parts)


class ArticleScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q", "back", "Back", id="article.back"),
        Binding("j,down", "scroll(1)", "Down", show=False),
        Binding("k,up", "scroll(-1)", "Up", show=False),
        Binding("e", "edit", "Edit", id="article.edit"),
        Binding("p", "move('publish')", "Publish", id="article.publish"),
        Binding("R", "move('retire')", "Retire", id="article.retire"),
        Binding("v", "move('revive')", "Revive", id="article.revive"),
        Binding("h", "versions", "Versions", id="article.versions"),
        Binding("question_mark", "help", "Help", id="article.help"),
    ]

    DEFAULT_CSS = """
    ArticleScreen {
        background: $background;
        padding: 0 1;
    }
    ArticleScreen TitleLine {
        margin-bottom: 0;
    }
    ArticleScreen #article-facts {
        height: auto;
        color: $text-muted;
    }
    ArticleScreen #article-body {
        height: 1fr;
    }
    ArticleScreen HintLine {
        margin-top: 0;
    }
    """

    def __init__(self, access, key: str) -> None:
        super().__init__()
        self.access = access
        self.key = key
        self.article = None

    def compose(self) -> ComposeResult:
        yield TitleLine(self.key, id="article-title")
        yield Static(literal("reading the article…"), id="article-facts", markup=False)
        with VerticalScroll(id="article-body"):
            yield Markdown("", id="article-markdown", open_links=False)
        yield HintLine(HINT)

    def on_mount(self) -> None:
        self.query_one("#article-body").focus()
        self.read()

    def read(self) -> None:
        self.run_worker(self._read(), exclusive=True, group="article")

    async def _read(self) -> None:
        try:
            a = await self.access.get(self.key)
        except Exception as exc:
            self.query_one("#article-facts", Static).update(literal(f"⚠ {exc}", one_line=False))
            return
        self.article = a
        self.query_one("#article-title", TitleLine).update(literal(f"{a.key}  {a.title}"))
        self.query_one("#article-facts", Static).update(literal(facts_line(a, self.access.desk.now()),
                                                               one_line=True))
        await self.query_one("#article-markdown", Markdown).update(safe_markdown(a.body))

    def articles_changed(self) -> None:
        self.read()

    def action_scroll(self, delta: int) -> None:
        body = self.query_one("#article-body", VerticalScroll)
        body.scroll_relative(y=delta, animate=False)

    def action_back(self) -> None:
        self.dismiss(None)

    # ------------------------------------------------------------ writes
    def action_edit(self) -> None:
        self.run_worker(self._edit(), exclusive=True, group="article-write")

    async def _edit(self) -> None:
        from deskconsole.ui.screens.article_form import ArticleFormScreen

        a = self.article
        if a is None:
            return
        draft = {"title": a.title, "service": a.service or "", "tags": " ".join(a.tags), "body": a.body}
        while True:
            values = await self.app.push_screen_wait(ArticleFormScreen(f"Edit {a.key}", draft=draft,
                                                                       services=self.access.services))
            if values is None:
                return
            draft = values
            current = {"title": a.title, "service": a.service or "", "tags": " ".join(a.tags), "body": a.body}
            changed = {k: v for k, v in values.items() if v != current[k]}
            if not changed:
                self.app.notify(f"{a.key}: nothing changed", timeout=3)
                return
            saved = await self.access.edit(a.key, changed, a.version)
            if saved is not None:
                self.app.notify(f"{a.key} saved (version {saved.text_version})", timeout=4)
                self.read()
                return

    def action_move(self, verb: str) -> None:
        self.run_worker(self._move(verb), exclusive=True, group="article-write")

    async def _move(self, verb: str) -> None:
        from deskconsole.ui.screens.confirm import ConfirmScreen

        a = self.article
        if a is None:
            return
        questions = {
            "publish": (f"Publish {a.key}? Everyone sees it, and it is suggested on tickets.", False),
            "retire": (f"Retire {a.key}? It is no longer suggested or cited (a lead can revive it).", True),
            "revive": (f"Bring {a.key} back as a draft?", False),
        }
        question, danger = questions[verb]
        if not await self.app.push_screen_wait(ConfirmScreen(question, danger=danger)):
            return
        moved = await self.access.move(verb, a.key, a.version)
        if moved is not None:
            self.app.notify(f"{a.key} is {moved.state}", timeout=4)
            self.read()

    def action_versions(self) -> None:
        self.run_worker(self._versions(), exclusive=True, group="article")

    async def _versions(self) -> None:
        from deskconsole.ui.screens.help import HelpScreen

        try:
            versions = await self.access.history(self.key)
        except Exception as exc:
            self.app.notify(str(exc), severity="error")
            return
        rows = [(f"version {v.number}", f"{v.at:%Y-%m-%d %H:%M} UTC by {v.author}: {v.title}") for v in versions]
        self.app.push_screen(HelpScreen(f"{self.key}: versions", rows, notes=[
            f"An old version in full: deskconsole kb show {self.key} --version N; who changed what:"
            f" deskconsole kb history {self.key}"]))

    def action_help(self) -> None:
        from deskconsole.ui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen("Article keys", [
            ("j, k, ↑, ↓", "scroll"),
            ("e", "edit the title, service, tags and text (drafts: agents; published: leads)"),
            ("p", "publish a draft (leads; asks first)"),
            ("R", "retire it: no longer suggested or cited (leads; asks first)"),
            ("v", "revive a retired article as a draft (leads)"),
            ("h", "its versions: every edit of the title or text is kept"),
            ("esc, q", "back"),
        ], notes=["Links in an article are shown, not opened.",
                  "Cite it in a reply or note with ctrl+o there, or: deskconsole reply INC-4 --kb " + self.key]))
