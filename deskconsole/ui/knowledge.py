"""The console's knowledge base: the articles screens, suggested articles
beside a ticket, and articles cited in replies and notes.

Every read runs on the read thread and every write on the write thread
(:class:`~deskconsole.db_runner.DbRunner`), through the same
``deskconsole.core.knowledge`` functions as ``deskconsole kb``; the screens
get plain dataclasses through :class:`KnowledgeAccess` and never touch the
desk themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from textual import work

from deskconsole.core.knowledge import articles, citing, kb_search
from deskconsole.core.records import tickets

if TYPE_CHECKING:
    from deskconsole.ui.app import DeskApp


class KnowledgeAccess:
    """What the articles screens may ask of the desk (awaitables; reads on the
    read thread, writes on the write thread with refusals shown as messages)."""

    def __init__(self, app: "DeskApp") -> None:
        self.app = app
        self.desk = app.desk
        self.actor = app.actor

    @property
    def services(self) -> list[str]:
        return sorted(self.desk.directory.service_ids)

    @property
    def may_write(self) -> bool:
        return self.actor.at_least("agent")

    @property
    def may_publish(self) -> bool:
        return self.actor.at_least("lead")

    async def find(self, text: str, states: Sequence[str] | None) -> list[kb_search.ArticleRow]:
        if text.strip():
            return await self.app.runner.read(kb_search.search, self.desk, text, states=states, limit=200)
        return await self.app.runner.read(kb_search.listing, self.desk, states=states, limit=200)

    async def get(self, key: str) -> articles.ArticleView:
        return await self.app.runner.read(articles.get, self.desk, key)

    async def history(self, key: str) -> list[articles.VersionView]:
        return await self.app.runner.read(articles.history, self.desk, key)

    async def create(self, values: dict) -> articles.ArticleView | None:
        return await self.app.write("new article", articles.create, self.desk, self.actor, **values)

    async def edit(self, key: str, values: dict, version: int) -> articles.ArticleView | None:
        return await self.app.write("edit article", articles.edit, self.desk, self.actor, key,
                                    expected_version=version, **values)

    async def move(self, verb: str, key: str, version: int) -> articles.ArticleView | None:
        move = {"publish": articles.publish, "retire": articles.retire, "revive": articles.revive}[verb]
        return await self.app.write(verb, move, self.desk, self.actor, key, expected_version=version)


class KnowledgeActions:
    """Mixed into :class:`~deskconsole.ui.app.DeskApp`."""

    def action_knowledge(self: "DeskApp") -> None:
        """K: the knowledge base, searched as you type."""
        from deskconsole.ui.screens.articles import ArticlesScreen

        self.push_screen(ArticlesScreen(KnowledgeAccess(self)))

    def open_article(self: "DeskApp", key: str) -> None:
        """An article by key (the palette's "Open KB-12")."""
        from deskconsole.ui.screens.article import ArticleScreen

        self.push_screen(ArticleScreen(KnowledgeAccess(self), key))

    @work(exclusive=True, group="suggest")
    async def load_suggestions(self: "DeskApp", key: str) -> None:
        """The articles suggested for the ticket on screen, read after its detail."""
        from deskconsole.ui.detail_view import DetailPane

        try:
            found = await self.runner.read(kb_search.suggest, self.desk, key)
        except Exception:  # no suggestions is no loss: the detail stands
            return
        if self.is_running and self.selected_key == key:
            self.query_one(DetailPane).show_suggestions(key, found)

    def knowledge_changed(self: "DeskApp") -> None:
        """The change feed says articles changed: an articles screen on top reads again."""
        refresh = getattr(self.screen, "articles_changed", None)
        if refresh is not None:
            refresh()

    async def reply_or_note(self: "DeskApp", kind: str, key: str, title: str, *, text: str = "") -> None:
        """The reply (or note) entry, starting from ``text``, with ctrl+o to
        insert an article; articles still named in the saved text are cited on the ticket."""
        from deskconsole.ui.screens.text_entry import TextEntryScreen

        inserted: list[str] = []
        access = KnowledgeAccess(self)
        while True:
            screen = TextEntryScreen(title, text=text, articles=access,
                                     hint="ctrl+s save · ctrl+o insert an article · esc cancel")
            screen.inserted = inserted
            text = await self.push_screen_wait(screen)
            if text is None:
                return
            cited = citing.cited_keys(text, inserted)
            if cited:
                outcome = await self.write(kind, citing.write_citing, self.desk, self.actor, key, text, cited,
                                           kind=kind, source="console")
            else:
                write = tickets.reply if kind == "reply" else tickets.note
                outcome = await self.write(kind, write, self.desk, self.actor, key, text, source="console")
            if outcome is not None:
                self.notify(f"{kind} saved" + (f", citing {', '.join(cited)}" if cited else ""), timeout=3)
                self.after_write()
                return
