"""Report panels in the wallboard's rotation (--report trend|compliance|flags)."""

from __future__ import annotations

import pytest

from deskconsole.core.reports import board
from deskconsole.core.records import tickets

from wallboard.test_app import screen_text


async def test_report_panels_join_the_rotation(built, board_config, new_app, settle, actors, clock):
    pages = board.pages(board_config, reports=("compliance", "trend", "flags"))
    assert [p.id for p in pages][-3:] == ["report:compliance", "report:trend", "report:flags"]
    app = new_app(pages=pages, rotate=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        app.turn(len(pages) - 3 - app.index)  # to the compliance panel
        await settle(app, pilot)
        text = "\n".join(screen_text(app))
        assert "SLA compliance by priority and team" in text
        assert "first response" in text and "resolution" in text
        assert "P1" in text and "0.0%" in text  # INC-3's first response breached
        assert "KEY" not in text  # the ticket list gives way to the panel
        assert "created, " in text and "breaches" in text  # the caption's counts
        app.turn(1)
        await settle(app, pilot)
        text = "\n".join(screen_text(app))
        assert "Trend: created, resolved and breached per day" in text and "2026-11-23" in text and "█" in text
        app.turn(1)
        await settle(app, pilot)
        assert "No category or service is running above its baseline." in "\n".join(screen_text(app))
        app.turn(1)  # back to the overview: the list again
        await settle(app, pilot)
        text = "\n".join(screen_text(app))
        assert " KEY " in text and "INC-3" in text


async def test_a_report_page_is_not_read_again_on_every_write(built, board_config, new_app, settle, actors, clock):
    pages = board.pages(board_config, reports=("trend",))
    app = new_app(pages=pages, rotate=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        app.turn(len(pages) - 1)
        await settle(app, pilot)
        reads = app.reads
        tickets.create(built, actors["al"], title="Another", priority="P3")
        app.changed()
        await settle(app, pilot)
        assert app.reads == reads  # a write does not re-read the report page
        clock.advance(minutes=6)
        app.turn(-1)
        app.turn(1)
        await settle(app, pilot)
        assert app.reads > reads  # older than five minutes: read again


def test_an_unknown_panel_is_refused(board_config):
    with pytest.raises(ValueError, match="use one of trend, compliance, flags"):
        board.pages(board_config, reports=("pie",))
