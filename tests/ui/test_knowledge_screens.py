"""The console's knowledge base: the articles list (K, the palette, :kb),
an article rendered as Markdown, the form, publishing and retiring with a
question first, an article inserted into a reply (ctrl+o) and cited, and
the articles suggested beside a ticket. Snapshots at 80x24, with and without
colour; hostile article text never restyles the screen."""

from __future__ import annotations

import asyncio

from ui.test_snapshots import MASK_HEADER, attribute_mask, build_desk, check_colourless, check_snapshot, grab

from deskconsole.core.knowledge import articles
from deskconsole.models import ArticleUse, Entry
from deskconsole.ui.app import DeskApp
from deskconsole.ui.detail_view import DetailPane
from deskconsole.ui.screens.article import ArticleScreen
from deskconsole.ui.screens.article_form import ArticleFormScreen
from deskconsole.ui.screens.article_picker import ArticlePickerScreen
from deskconsole.ui.screens.articles import ArticlesScreen
from deskconsole.ui.screens.confirm import ConfirmScreen
from deskconsole.ui.screens.help import HelpScreen

async def settled(app, pilot, expect: str, timeout: float = 20.0):
    """The screen once ``expect`` shows on it and two grabs agree. (Not "every
    worker done": a screen's worker may be waiting for a dialog's answer.)"""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    previous = None
    while loop.time() < deadline:
        await pilot.pause()
        await asyncio.sleep(0.02)
        screen = grab(app)
        if previous is not None and screen.text == previous.text and expect in "\n".join(screen.text):
            return screen
        previous = screen
    raise AssertionError(f"{expect!r} never showed:\n" + "\n".join(previous.text))


VPN_BODY = "Reinstall the VPN profile, then reboot.\n\n## Steps\n\n1. Open *Settings*\n2. Remove the old profile\n"


def build_articles(desk, actors, clock) -> None:
    al, lee = actors["al"], actors["lee"]
    articles.create(desk, al, title="VPN drops every ten minutes", body=VPN_BODY, tags="vpn", service="vpn")
    articles.publish(desk, lee, "KB-1")
    clock.advance(minutes=1)
    articles.create(desk, al, title="Printer jams on floor 3", body="Open tray 2 and remove the paper.")
    articles.publish(desk, lee, "KB-2")
    clock.advance(minutes=1)
    articles.create(desk, al, title="Mailbox quota draft", body="Archive old mail.", service="mail")


def console(desk, actors, clock, who: str = "al") -> DeskApp:
    build_desk(desk, actors, clock)
    build_articles(desk, actors, clock)
    return DeskApp(desk, actors[who], sweep=False)


async def open_list(app, pilot):
    await settled(app, pilot, "INC-5")
    await pilot.press("K")
    return await settled(app, pilot, "articles (draft and published)")


async def test_the_articles_list_at_80x24(ui_desk, actors, clock, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    app = console(ui_desk, actors, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_list(app, pilot)
        assert isinstance(app.screen, ArticlesScreen)
        text = screen.text
        assert text[0].strip() == "Knowledge base"
        assert "3 articles (draft and published), last changed first" in "\n".join(text)
        body = "\n".join(text)
        assert body.index("KB-3") < body.index("KB-2") < body.index("KB-1")
        assert "KB-3    draft" in body and "› KB-3" in body
        assert text[-1].strip().startswith("/ search · j/k move · enter open")
        assert all(len(line) <= 80 for line in text)
        check_snapshot("kb-list-80x24.txt", text)
        # search as you type: "vp" is a prefix of "vpn"
        await pilot.press("slash", "v", "p")
        screen = await settled(app, pilot, "matching 'vp'")
        assert "KB-1" in "\n".join(screen.text) and "KB-2" not in "\n".join(screen.text)
        await pilot.press("escape")  # from the search line to the list
        await pilot.press("enter")
        screen = await settled(app, pilot, "used to resolve")
        assert isinstance(app.screen, ArticleScreen)
        check_snapshot("kb-article-80x24.txt", screen.text)
        assert screen.text[0].strip() == "KB-1  VPN drops every ten minutes"
        assert "published · service vpn · owner al" in screen.text[1]
        assert "Reinstall the VPN profile, then reboot." in "\n".join(screen.text)
        await pilot.press("question_mark")
        await settled(app, pilot, "Article keys")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "escape")
        await settled(app, pilot, "articles")
        assert isinstance(app.screen, ArticlesScreen)
        await pilot.press("escape")
        await settled(app, pilot, "INC-5")
        assert not isinstance(app.screen, ArticlesScreen)


async def test_the_articles_list_without_colour(ui_desk, actors, clock, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = console(ui_desk, actors, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_list(app, pilot)
        assert app.no_color
        check_colourless(screen)
        check_snapshot("kb-list-80x24-nocolor.txt", screen.text + [MASK_HEADER] + attribute_mask(screen))
        await pilot.press("enter")  # KB-3 (the draft) on top
        screen = await settled(app, pilot, "used to resolve")
        check_colourless(screen)
        check_snapshot("kb-article-80x24-nocolor.txt", screen.text + [MASK_HEADER] + attribute_mask(screen))


async def test_write_publish_and_retire_from_the_console(ui_desk, actors, clock):
    app = console(ui_desk, actors, clock, who="lee")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_list(app, pilot)
        await pilot.press("n")
        screen = await settled(app, pilot, "ctrl+s save")
        assert isinstance(app.screen, ArticleFormScreen)
        check_snapshot("kb-form-80x24.txt", screen.text)
        await pilot.press(*"Wifi drops", "tab", *"nope", "tab", *"wifi", "tab", *"Forget the network.")
        await pilot.press("ctrl+s")
        await settled(app, pilot, "no service")
        assert "⚠ error: no service 'nope'" in "\n".join(grab(app).text)
        assert app.screen.query_one("#article-service").has_focus  # the field to fix
        for _ in range(4):
            await pilot.press("backspace")
        await pilot.press("ctrl+s")
        screen = await settled(app, pilot, "KB-4  Wifi drops")
        assert isinstance(app.screen, ArticleScreen)
        a = articles.get(ui_desk, "KB-4")
        assert (a.title, a.tags, a.body, a.state, a.service) == ("Wifi drops", ("wifi",), "Forget the network.",
                                                                 "draft", None)
        await pilot.press("p")
        await settled(app, pilot, "Publish KB-4?")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settled(app, pilot, "published ·")
        assert articles.get(ui_desk, "KB-4").state == "published"
        await pilot.press("R")
        await settled(app, pilot, "Retire KB-4?")
        await pilot.press("n")  # no: nothing happens
        await settled(app, pilot, "published ·")
        assert articles.get(ui_desk, "KB-4").state == "published"
        await pilot.press("e")
        await settled(app, pilot, "Edit KB-4")
        await pilot.press("end", *" now")
        await pilot.press("ctrl+s")
        await settled(app, pilot, "KB-4  Wifi drops now")
        assert [v.title for v in articles.history(ui_desk, "KB-4")] == ["Wifi drops", "Wifi drops now"]


async def test_an_agent_cannot_publish_from_the_console(ui_desk, actors, clock):
    app = console(ui_desk, actors, clock, who="al")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_list(app, pilot)
        await pilot.press("enter")  # KB-3, a draft
        await settled(app, pilot, "used to resolve")
        await pilot.press("p")
        await settled(app, pilot, "Publish KB-3?")
        await pilot.press("y")
        await settled(app, pilot, "draft ·")
        assert articles.get(ui_desk, "KB-3").state == "draft"
        assert any("lead role" in str(n.message) for n in app._notifications)


async def test_an_article_inserted_into_a_reply_is_cited(ui_desk, actors, clock):
    app = console(ui_desk, actors, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(app, pilot, "INC-5")
        await pilot.press("r")  # a reply to INC-3, the first in the queue
        await settled(app, pilot, "ctrl+o insert an article")
        await pilot.press(*"Please try this:", "enter")
        await pilot.press("ctrl+o")
        screen = await settled(app, pilot, "Insert an article")
        assert isinstance(app.screen, ArticlePickerScreen)
        await pilot.press(*"vpn")
        screen = await settled(app, pilot, "KB-1    VPN")
        for _ in range(50):  # the search runs as the letters come: wait for the one of the whole word
            if "KB-2" not in "\n".join(screen.text):
                break
            screen = await settled(app, pilot, "KB-1    VPN")
        check_snapshot("kb-picker-80x24.txt", screen.text)
        await pilot.press("enter")
        await settled(app, pilot, "KB-1: VPN drops every ten minutes")
        await pilot.press("ctrl+s")
        await settled(app, pilot, "INC-5")
    with ui_desk.bound():
        body = Entry.select().where(Entry.ticket == 3).order_by(Entry.id.desc()).first().body
        uses = [(u.article_id, u.ticket_id, u.kind) for u in ArticleUse.select()]
    assert body == "Please try this:\nKB-1: VPN drops every ten minutes\nReinstall the VPN profile, then reboot."
    assert uses == [(1, 3, "cited")]


async def test_suggested_articles_beside_the_ticket(ui_desk, actors, clock):
    app = console(ui_desk, actors, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(app, pilot, "SLA INC-3")
        await pilot.press("j", "j")  # INC-2: "VPN drops every ten minutes for the whole network team", service vpn
        pane = app.query_one(DetailPane)
        text = await suggestions_for(app, pilot, pane, "INC-2")
        assert "Suggested articles" in text
        assert "KB-1 VPN drops every ten minutes  (same service)" in text
        assert "KB-3" not in text  # a draft is never suggested
        await pilot.press("k")  # INC-1 "Printer on floor 3 jams on every job": KB-2
        text = await suggestions_for(app, pilot, pane, "INC-1")
        assert text.index("KB-2 Printer jams on floor 3") < text.index("KB-1 VPN")  # KB-1 shares only "every"
        pane.scroll_end(animate=False)
        screen = await settled(app, pilot, "KB-2 Printer jams")  # at the end of the detail
        assert "Suggested articles" in "\n".join(screen.text)


async def suggestions_for(app, pilot, pane, key: str) -> str:
    for _ in range(200):
        await pilot.pause()
        await asyncio.sleep(0.02)
        if pane.suggested_for == key:
            return str(pane.query_one("#detail-suggest").render())
    raise AssertionError(f"no suggestions for {key}")


async def test_palette_and_command_line_open_the_knowledge_base(ui_desk, actors, clock):
    app = console(ui_desk, actors, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(app, pilot, "INC-5")
        await pilot.press("colon", *"kb-2", "enter")
        await settled(app, pilot, "KB-2  Printer jams")
        assert isinstance(app.screen, ArticleScreen)
        await pilot.press("escape")
        await pilot.press("colon", *"kb", "enter")
        await settled(app, pilot, "articles (draft and published)")
        assert isinstance(app.screen, ArticlesScreen)
    from deskconsole.ui.palette import _actions

    assert ("Knowledge base", "knowledge", "key: K") in _actions(app)


HOSTILE = "[bold red]RED[/] \x1b[31mESC\x1b[0m \u202eevil [link=https://x]l[/link] <b>html</b> $(rm -rf /)"


async def test_hostile_article_text_is_shown_as_text(ui_desk, actors, clock):
    build_desk(ui_desk, actors, clock)
    articles.create(ui_desk, actors["al"], title="[b]T[/b] \x1b[2J", body=f"# {HOSTILE}\n\n{HOSTILE}\n\n`{HOSTILE}`")
    app = DeskApp(ui_desk, actors["al"], sweep=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(app, pilot, "INC-5")
        app.open_article("KB-1")
        screen = await settled(app, pilot, "used to resolve")
        text = "\n".join(screen.text)
        assert "[b]T[/b] \\x1b[2J" in text
        assert "[bold red]RED[/]" in text and "\\x1b[31mESC" in text and "\\u202eevil" in text
        assert "\x1b" not in text and "\u202e" not in text
        y = screen.row_of("[bold red]RED[/]")
        x = screen.text[y].index("RED[/]")
        style = screen.style_at(y, x)
        assert not (style and style.color and style.color.name == "red")
