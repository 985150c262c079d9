"""Command palette (ctrl+p): every console action by name, and tickets.

Actions come from the app's own bindings (so a remapped key shows as it is
now, and nothing is listed twice); tickets are found by key (``INC-42``,
``42``) or by words of their title, through the same query language as the
``/`` filter, on the read thread. Ticket text is shown literally.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from deskconsole.core.search import queue as q
from deskconsole.core.keys import normal_key
from deskconsole.core.records.text import terminal_safe

if TYPE_CHECKING:
    from deskconsole.ui.app import DeskApp

KEY_RE = re.compile(r"^\s*(?:(?:inc|prb|chg)-|#)?\d{1,12}\s*$", re.IGNORECASE)
ARTICLE_RE = re.compile(r"^\s*kb-?(\d{1,10})\s*$", re.IGNORECASE)
TICKET_HITS = 8


def _actions(app: "DeskApp") -> list[tuple[str, str, str]]:
    """(name, action, help) for every described binding of the app."""
    seen, out = set(), []
    for binding in app.BINDINGS:
        if not binding.description or binding.action in seen or binding.action == "command_palette":
            continue
        seen.add(binding.action)
        keys = app.keymap.get(binding.id or "", binding.key)
        out.append((binding.description, binding.action, f"key: {keys}"))
    return out


class DeskCommands(Provider):
    """Actions of the console and ticket jumps."""

    @property
    def desk_app(self) -> "DeskApp":
        return self.app  # type: ignore[return-value]

    async def discover(self) -> Hits:
        for name, action, help_text in _actions(self.desk_app):
            yield DiscoveryHit(name, self._run(action), help=help_text)

    async def search(self, query: str) -> Hits:
        app = self.desk_app
        matcher = self.matcher(query)
        for name, action, help_text in _actions(app):
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), self._run(action), text=name, help=help_text)
        article = ARTICLE_RE.match(query)
        if article:
            key = f"KB-{int(article.group(1))}"
            yield Hit(1.0, Content(f"Open {key}"), lambda: app.open_article(key), text=f"Open {key}",
                      help="the knowledge article")
            return
        key = normal_key(query) if KEY_RE.match(query) else None
        if key:
            yield Hit(1.0, Content(f"Go to {key}"), lambda: app.jump_to(key), text=f"Go to {key}",
                      help="make it the current ticket (if the filter hides it, esc brings the filter back)")
            return
        words = query.strip()
        if len(words) < 2:
            return
        spec = q.QueueSpec('"' + words.replace('"', " ") + '"', app.actor.login)
        try:
            rows = await app.runner.read(q.page, app.desk, spec, 0, TICKET_HITS, app.desk.now())
        except Exception:  # the database is away: actions still work, tickets show up again later
            return
        for rank, row in enumerate(rows):
            label = f"{row.key}  {terminal_safe(row.title, one_line=True)}"
            key = row.key
            yield Hit(0.5 - rank / 100, Content(label), lambda k=key: app.jump_to(k), text=label,
                      help=f"{row.status.replace('_', ' ')} · {row.priority or '-'} · go to the ticket")

    def _run(self, action: str):
        app = self.desk_app
        return lambda: app.call_later(app.run_action, action)
