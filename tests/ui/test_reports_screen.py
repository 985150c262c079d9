"""The reports screen (F, and the palette): figures, sparklines, drill-down
to the tickets behind a line, periods, help; snapshots at 80x24 with and
without colour and at 120x40, on the snapshot tests' deterministic desk."""

from __future__ import annotations

import re

from ui.test_snapshots import MASK_HEADER, attribute_mask, build_desk, check_colourless, check_snapshot, grab, settled

from deskconsole.ui.app import DeskApp
from deskconsole.ui.screens.reports import ReportLines, ReportsScreen


def steady(lines: list[str]) -> list[str]:
    """The screen with the one figure that varies between runs (how long the read took) masked."""
    return [re.sub(r"read in [0-9,]+ ms", "read in N ms", line) for line in lines]


def console(desk, actors, clock) -> DeskApp:
    build_desk(desk, actors, clock)
    return DeskApp(desk, actors["al"], sweep=False)


async def reports(app, pilot, queue_shows: str):
    """The console settled (``queue_shows`` on screen), then F: the reports screen once its figures are up."""
    await settled(app, pilot, queue_shows)
    await pilot.press("F")
    return await settled(app, pilot, "read in")


async def test_reports_at_80x24_and_drilling_down(ui_desk, actors, clock, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    app = console(ui_desk, actors, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await reports(app, pilot, "INC-5")
        assert isinstance(app.screen, ReportsScreen)
        text = screen.text
        assert text[0].strip() == "Reports · all tickets · last 30d"
        assert "6 created, 1 resolved, 5 open now · days in UTC" in text[1]
        assert "created per day: peak 6" in text[2] and "breaches per day: peak 1" in text[2]
        assert any(ch in text[3] for ch in "▁▂▃▄▅▆▇█")  # the sparklines
        body = "\n".join(text)
        assert "› Created                   6" in body and "Resolved                  1" in body
        assert text[-1].strip().startswith("enter: the tickets behind a line")
        assert all(len(line) <= 80 for line in text)
        check_snapshot("reports-80x24.txt", steady(text))
        # down to "Resolved" and enter: the queue shows the tickets behind it
        await pilot.press("j")
        await pilot.press("enter")
        await settled(app, pilot, "INC-6")
        assert not isinstance(app.screen, ReportsScreen)
        assert app.spec.text == "resolved:>=-30d -is:merged"
        assert [row.key for row in app.queue.rows.values()] == ["INC-6"]
        await pilot.press("escape")  # the old filter comes back
        await settled(app, pilot, "INC-5")
        assert app.spec.text == "is:open"


async def test_reports_without_colour(ui_desk, actors, clock, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = console(ui_desk, actors, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await reports(app, pilot, "INC-5")
        check_colourless(screen)
        # the line the cursor is on reads without colour: it alone has the marker
        assert sum("›" in line for line in screen.text) == 1 and "› Created" in "\n".join(screen.text)
        check_snapshot("reports-80x24-nocolor.txt", steady(screen.text) + [MASK_HEADER] + attribute_mask(screen))


async def test_reports_at_120x40_periods_help_and_back(ui_desk, actors, clock, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    app = console(ui_desk, actors, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await reports(app, pilot, "SLA INC-3")
        body = "\n".join(screen.text)
        for heading in ("Backlog: open now, by age", "SLA compliance by priority", "Trend flags", "Created by category"):
            assert heading in body
        check_snapshot("reports-120x40.txt", steady(screen.text))
        lines = app.screen.query_one(ReportLines)
        headings = [i for i, q in enumerate(app.screen.queries) if q is None]
        assert headings and all(lines.get_option_at_index(i).disabled for i in headings)  # the cursor skips them
        await pilot.press("p")  # 30d -> 90d
        screen = await settled(app, pilot, "last 90d")
        assert screen.text[0].strip() == "Reports · all tickets · last 90d"
        await pilot.press("question_mark")
        await pilot.pause()
        help_text = "\n".join(grab(app).text)
        assert "Reports keys" in help_text and "next period" in help_text
        await pilot.press("escape")
        await pilot.press("escape")
        await settled(app, pilot, "SLA INC-3")
        assert not isinstance(app.screen, ReportsScreen) and app.spec.text == "is:open"


async def test_the_palette_and_help_name_the_reports(ui_desk, actors, clock):
    app = console(ui_desk, actors, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(app, pilot, "SLA INC-3")
        assert ("F", "Reports") in app.live_keys()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"reports")
        screen = await settled(app, pilot, "key: F")
        assert "Reports" in "\n".join(screen.text)
        await pilot.press("enter")
        await settled(app, pilot, "read in")
        assert isinstance(app.screen, ReportsScreen)
