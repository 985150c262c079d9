"""The service map in the console: S shows it as a tree (its keys, its help,
enter putting a service's open incidents in the queue), an incident's detail
shows its service's neighbours and the impact they suggest, the impact
picker names the suggestion, and the screens as snapshots at 80x24."""

from __future__ import annotations

import pytest

from deskconsole.config import parse_config
from deskconsole.core.desk import open_desk
from deskconsole.core.records import tickets
from deskconsole.core.records.views import detail
from deskconsole.ui.queue_view import QueueView
from deskconsole.ui.screens.help import HelpScreen
from deskconsole.ui.screens.services import ServicesScreen, ServiceTree
from deskconsole.ui.screens.triage import TriageScreen

from test_service_map import MAP
from ui.test_actions import app_for, notes
from ui.test_snapshots import MASK_HEADER, attribute_mask, check_colourless, check_snapshot, settled


@pytest.fixture
def map_desk(db_url, ui_text, clock):
    desk = open_desk(db_url, parse_config(ui_text + MAP, "test.toml"), clock)
    yield desk
    desk.close()


def _open(desk, actors, service, *titles, **kw):
    kw = kw or {"priority": "P3"}
    return [tickets.create(desk, actors["al"], title=t, service=service, **kw).key for t in titles]


def _cursor(app) -> str | None:
    return app.screen.query_one(ServiceTree).cursor_node.data


async def test_s_shows_the_map_and_enter_lists_a_services_open_incidents(map_desk, actors, settle):
    api = _open(map_desk, actors, "api", "API 500s", "API slow")
    _open(map_desk, actors, "web", "Shop blank page")
    closed = _open(map_desk, actors, "api", "API old")[0]
    tickets.resolve(map_desk, actors["al"], closed, "fixed", "done")
    app = app_for(map_desk, actors["al"])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        before = app.spec.text
        await pilot.press("S")
        await settle(app, pilot)
        assert isinstance(app.screen, ServicesScreen)
        assert _cursor(app) == "checkout"
        await pilot.press("j")
        assert _cursor(app) == "api"
        assert "api: 2 open · depends on 3 · needed by 2: checkout, web" in str(
            app.screen.query_one("#services-line").render())
        await pilot.press("enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, ServicesScreen)
        assert app.spec.text == "service:api is:open"
        assert sorted(r.key for r in app.query_one(QueueView).rows.values()) == sorted(api)
        assert any("service:api is:open" in n for n in notes(app))
        await pilot.press("escape")  # the filter the user had comes back
        await settle(app, pilot)
        assert app.spec.text == before


async def test_the_trees_keys(map_desk, actors, settle):
    app = app_for(map_desk, actors["al"])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("S")
        await settle(app, pilot)
        tree = app.screen.query_one(ServiceTree)
        lines = tree.last_line + 1
        await pilot.press("G")
        assert _cursor(app) == "api" and tree.cursor_node.parent.data == "web"  # web > api (see above), last
        await pilot.press("g")
        assert _cursor(app) == "checkout"
        await pilot.press("h")  # fold checkout
        assert not tree.cursor_node.is_expanded and tree.last_line + 1 == lines - 6
        await pilot.press("l")  # unfold it again
        assert tree.cursor_node.is_expanded and tree.last_line + 1 == lines
        await pilot.press("l")  # then into it
        assert _cursor(app) == "api"
        await pilot.press("j", "j")
        assert _cursor(app) == "host-a"
        await pilot.press("h")  # a leaf: up to the service above
        assert _cursor(app) == "db-main"
        await pilot.press("space")
        assert not tree.cursor_node.is_expanded
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("ctrl+r")  # read again: the cursor stays on its service
        await settle(app, pilot)
        assert isinstance(app.screen, ServicesScreen) and _cursor(app) == "db-main"
        await pilot.press("q")
        await settle(app, pilot)
        assert not isinstance(app.screen, ServicesScreen) and app.spec.text == "is:open"


async def test_the_detail_shows_the_service_map_and_the_picker_its_suggestion(map_desk, actors, settle):
    (key,) = _open(map_desk, actors, "db-main", "Main database down", impact="low", urgency="high")
    _open(map_desk, actors, "api", "API 500s")
    app = app_for(map_desk, actors["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.jump_to(key)
        await settle(app, pilot)
        body = str(app.query_one("#detail-body").render())
        assert "Service map  database, 1 open" in body
        assert "⚑ Impact suggested: high — 4 services depend on db-main: api, checkout, reports, web" in body
        assert "Depends on host-a (host)" in body and "Needed by  api (1 open), checkout, reports, web" in body
        await pilot.press("i")
        await settle(app, pilot)
        assert isinstance(app.screen, TriageScreen)
        assert str(app.screen.query_one("#suggestion").render()) == (
            "Impact suggested: high — 4 services depend on db-main: api, checkout, reports, web")
        await pilot.press("escape")
        await settle(app, pilot)
    assert detail(map_desk, key).impact == "low"  # shown, never applied


async def test_snapshots_of_the_map_and_an_incident_with_its_service(map_desk, actors, clock, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    _open(map_desk, actors, "api", "API 500s", "API slow")
    _open(map_desk, actors, "db-main", "Main database down", impact="medium", urgency="high")
    app = app_for(map_desk, actors["al"])
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(app, pilot, expect="INC-3")
        await pilot.press("S")
        screen = await settled(app, pilot, expect="open incidents on them")
        assert all(len(line) <= 80 for line in screen.text)
        check_snapshot("service-map-80x24.txt", screen.text)
        await pilot.press("escape")
        await settled(app, pilot, expect="INC-3")
        app.jump_to("INC-3")
        await pilot.press("enter")
        screen = await settled(app, pilot, expect="depend on db-main")
        check_snapshot("service-detail-80x24.txt", screen.text)


async def test_the_map_without_colour(map_desk, actors, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    _open(map_desk, actors, "api", "API 500s")
    app = app_for(map_desk, actors["al"])
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(app, pilot, expect="INC-1")
        await pilot.press("S")
        screen = await settled(app, pilot, expect="open incidents on them")
        assert app.no_color
        check_colourless(screen)
        check_snapshot("service-map-80x24-nocolor.txt", screen.text + [MASK_HEADER] + attribute_mask(screen))


async def test_the_detail_shows_the_changes_near_the_incident(map_desk, actors, clock, settle):
    from datetime import timedelta

    from deskconsole.core.records import change_requests

    now = clock()
    start = now + timedelta(hours=3)
    change = change_requests.create(map_desk, actors["al"], title="Upgrade the API", services=["api"],
                                    start=start, end=start + timedelta(hours=1)).key
    change_requests.create(map_desk, actors["al"], title="Far off", services=["api"],
                           start=now + timedelta(days=5), end=now + timedelta(days=5, hours=1))
    (key,) = _open(map_desk, actors, "db-main", "Main database slow")
    app = app_for(map_desk, actors["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.jump_to(key)
        await settle(app, pilot)
        body = str(app.query_one("#detail-body").render())
        assert "Changes (48 h back, 24 h ahead)" in body
        assert f"{change} draft on api, starts in 3 h: Upgrade the API" in body and "Far off" not in body
