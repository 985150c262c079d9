"""The console on PostgreSQL: other people's changes arrive through
LISTEN/NOTIFY (not a poll), and a server that goes away and comes back
costs nobody what they typed."""

from __future__ import annotations

import asyncio
import time

from deskconsole.config import parse_config
from deskconsole.core.records import tickets
from deskconsole.core.desk import open_desk
from deskconsole.core.records.views import detail
from deskconsole.models import Entry
from deskconsole.ui.app import DeskApp
from deskconsole.ui.screens.text_entry import TextEntryScreen


def queue_text(app) -> str:
    view = app.queue
    return "\n".join(view.render_line(y).text for y in range(view.size.height))


async def wait_for(predicate, timeout: float = 10.0) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError("waited in vain")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


async def test_an_external_change_arrives_by_notification(postgres_url, ui_text, actors, clock, settle):
    config = parse_config(ui_text, "test.toml")
    desk, other = open_desk(postgres_url, config, clock), open_desk(postgres_url, config, clock)
    try:
        tickets.create(desk, actors["al"], title="Checkout down", priority="P1")
        app = DeskApp(desk, actors["al"], sweep=False, feed_poll=60)  # no poll would see it in time
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await wait_for(lambda: app.feed_watch.listening)
            polls = app.feed_watch.polls
            key = tickets.create(other, actors["lee"], title="VPN flapping", priority="P1").key
            took = await wait_for(lambda: app.queue.total == 2)
            await settle(app, pilot)
            assert key in queue_text(app) and "VPN flapping" in queue_text(app)
            assert app.feed_watch.polls > polls
            assert took < 2.0, f"took {took:.2f} s"
    finally:
        other.close()
        desk.close()


async def test_a_server_restart_loses_nothing_typed(pg_proxy, postgres_url, ui_text, actors, clock, settle):
    proxy = pg_proxy
    desk = open_desk(proxy.desk_url, parse_config(ui_text, "test.toml"), clock)
    try:
        key = tickets.create(desk, actors["al"], title="Checkout down", priority="P1").key
        app = DeskApp(desk, actors["al"], sweep=True, sla_interval=0.2, feed_poll=0.1)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await wait_for(lambda: app.feed_watch.listening)
            await pilot.press("r")
            await settle(app, pilot)
            assert isinstance(app.screen, TextEntryScreen)
            for ch in "Rolled back":
                await pilot.press("space" if ch == " " else ch)
            proxy.down()  # the server restarts while the reply is being typed
            await wait_for(lambda: app.db_trouble is not None)
            assert not app.feed_watch.listening
            await pilot.press("ctrl+s")  # saving now fails...
            await settle(app, pilot)
            assert isinstance(app.screen, TextEntryScreen)  # ...and the text is still there
            assert app.screen.text == "Rolled back"
            failures = app.loop.failures
            await asyncio.sleep(0.6)
            assert app.loop.failures > failures  # the SLA loop meets the outage and carries on
            proxy.up()  # the server is back
            await wait_for(lambda: app.db_trouble is None and app.feed_watch.listening)
            assert app.feed_watch.listener.connects == 2
            sweeps = app.loop.sweeps
            await wait_for(lambda: app.loop.sweeps > sweeps)  # and sweeps again
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert not isinstance(app.screen, TextEntryScreen)
    finally:
        desk.close()
    check = open_desk(postgres_url, parse_config(ui_text, "test.toml"), clock)  # straight to the server
    try:
        assert [(e.kind, e.body) for e in Entry.select()] == [("reply", "Rolled back")]
        assert detail(check, key).first_response_at is not None
    finally:
        check.close()
