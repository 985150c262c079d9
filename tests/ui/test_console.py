"""The console with Textual's pilot on a real SQLite desk: the queue, the
panes, the filter bar, live updates from other processes, the SLA loop."""

from __future__ import annotations

import subprocess
import sys

from deskconsole.core.records import tickets
from deskconsole.ui.app import DeskApp
from deskconsole.ui.detail_view import DetailPane
from deskconsole.ui.queue_view import QueueView
from deskconsole.ui.timers_view import TimersPane


def lines(app: DeskApp) -> list[str]:
    view = app.query_one(QueueView)
    return [view.render_line(y).text.rstrip() for y in range(view.size.height)]



def detail_text(app: DeskApp) -> str:
    return str(app.query_one("#detail-body").render())


def make(desk, actors, n: int = 3, priority: str = "P3", **kw) -> list[str]:
    return [tickets.create(desk, actors["al"], title=f"Ticket {i}", priority=priority, **kw).key for i in range(n)]


async def test_queue_shows_soonest_breach_first_and_follows_the_cursor(ui_desk, actors, clock, settle):
    make(ui_desk, actors, 2, "P3")
    clock.advance(minutes=1)
    urgent = tickets.create(ui_desk, actors["al"], title="Checkout down", priority="P1").key
    app = DeskApp(ui_desk, actors["al"], sweep=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        shown = lines(app)
        assert shown[0].startswith("KEY")
        assert urgent in shown[1] and "Checkout down" in shown[1] and "ok 15m" in shown[1]
        assert urgent in detail_text(app)
        await pilot.press("j")
        await settle(app, pilot)
        assert app.query_one(QueueView).cursor == 1
        assert app.query_one(QueueView).current.key in detail_text(app)
        await pilot.press("G")
        assert app.query_one(QueueView).cursor == 2
        await pilot.press("g")
        assert app.query_one(QueueView).cursor == 0
        assert "3 tickets" in str(app.query_one("#status").render())


async def test_filter_bar_is_live_and_keeps_a_bad_query(ui_desk, actors, settle):
    make(ui_desk, actors, 2, "P3")
    tickets.create(ui_desk, actors["al"], title="Major", priority="P1")
    app = DeskApp(ui_desk, actors["al"], sweep=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        bar = app.query_one("#bar")
        bar.value = ""
        for ch in "prio:P1":
            await pilot.press(ch)
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert app.query_one(QueueView).total == 1
        for ch in " sla:nope":
            await pilot.press(ch)
        await pilot.pause(0.3)
        error = str(app.query_one("#bar-error").render())
        assert "unknown sla:nope" in error and "^" in error
        await pilot.press("enter")  # refused: the text stays for fixing
        assert bar.display and bar.value == "prio:P1 sla:nope"
        await pilot.press("escape")  # undo: back to the filter before the bar opened
        await settle(app, pilot)
        assert app.spec.text == "is:open" and app.query_one(QueueView).total == 3


async def test_the_word_being_typed_is_a_prefix(ui_desk, actors, settle):
    tickets.create(ui_desk, actors["al"], title="Disk full on db01")
    tickets.create(ui_desk, actors["al"], title="Printer jammed")
    app = DeskApp(ui_desk, actors["al"], sweep=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        app.query_one("#bar").value = ""
        for ch in "dis":
            await pilot.press(ch)
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert app.spec.text == "dis*" and app.query_one(QueueView).total == 1  # "Disk" found while typing
        await pilot.press("enter")  # kept as the queue showed it
        await settle(app, pilot)
        assert app.spec.text == "dis*" and "filter: dis*" in str(app.query_one("#status").render())


async def test_a_change_from_another_process_appears_within_two_seconds(ui_desk, actors, write_config, ui_text, db_url, settle):
    make(ui_desk, actors, 2)
    path = write_config(ui_text)
    app = DeskApp(ui_desk, actors["al"], sweep=False, feed_poll=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("j")
        await settle(app, pilot)
        selected = app.query_one(QueueView).current.key
        run = subprocess.run(
            [sys.executable, "-m", "deskconsole", "--db", db_url, "--config", str(path), "--as", "al",
             "new", "Arrived from the CLI", "-p", "P1"],
            capture_output=True, text=True, timeout=60,  # as the real login, an admin of ui_text
        )
        assert run.returncode == 0, run.stderr
        for _ in range(40):
            await pilot.pause(0.05)
            if app.query_one(QueueView).total == 3:
                break
        await settle(app, pilot)
        assert app.query_one(QueueView).total == 3
        assert any("Arrived from the CLI" in line for line in lines(app))
        assert app.query_one(QueueView).current.key == selected  # the cursor stayed on its ticket


async def test_a_breach_fires_during_the_session(ui_desk, actors, clock, settle):
    key = tickets.create(ui_desk, actors["al"], title="Checkout down", priority="P1").key
    app = DeskApp(ui_desk, actors["al"], sweep=True, sla_interval=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert "ok 15m" in lines(app)[1]
        clock.advance(minutes=16)
        for _ in range(60):
            await pilot.pause(0.05)
            if any("breached" in n.message for n in app._notifications):
                break
        messages = [n.message for n in app._notifications]
        assert any(f"{key} first response breached" in m for m in messages), messages
        await settle(app, pilot)
        assert "BREACH" in lines(app)[1]


async def test_a_burst_of_crossings_is_one_message_not_a_wall_of_toasts(ui_desk, actors, clock, settle):
    keys = make(ui_desk, actors, 6, "P1")
    app = DeskApp(ui_desk, actors["al"], sweep=True, sla_interval=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        clock.advance(hours=5)  # every first response and resolution breached at once
        for _ in range(60):
            await pilot.pause(0.05)
            if any(n.title.startswith("SLA") for n in app._notifications):
                break
        sla = [n for n in app._notifications if n.title.startswith("SLA")]
        assert len(sla) == 1, [n.message for n in sla]
        assert sla[0].title == "SLA: 12 clocks crossed a threshold"  # 48 crossings: 50, 75, 90 % and the breach
        assert "12 breached, 0 in warning" in sla[0].message
        assert keys[0] in sla[0].message and "sla:breached" in sla[0].message


async def test_crossings_after_a_toast_wait_for_the_minute_and_come_as_one_digest(ui_desk, actors, clock, settle):
    first = tickets.create(ui_desk, actors["al"], title="Checkout down", priority="P1").key
    clock.advance(minutes=8)
    later = [tickets.create(ui_desk, actors["al"], title=t, priority="P1").key for t in ("VPN down", "Mail down")]
    app = DeskApp(ui_desk, actors["al"], sweep=True, sla_interval=0.1)

    async def sla_toasts(count):
        for _ in range(60):
            await pilot.pause(0.05)
            if len(shown := [n for n in app._notifications if n.title.startswith("SLA")]) >= count:
                break
        return shown

    async with app.run_test(size=(120, 40)) as pilot:
        assert [n.message for n in await sla_toasts(1)] == [f"{first} first response at 50% of 15m 00s (policy p1)"]
        clock.advance(minutes=7, seconds=1)  # the first breaches: a new minute, told at once
        assert [n.message for n in await sla_toasts(2)][1] == f"{first} first response breached (target 15m 00s, policy p1)"
        clock.advance(seconds=30)  # the later two reach 50 % within that minute: held
        await settle(app, pilot)
        assert len(await sla_toasts(3)) == 2
        clock.advance(seconds=31)  # the minute is over: one digest for both
        shown = await sla_toasts(3)
        assert len(shown) == 3, [n.message for n in shown]
        assert shown[2].title == "SLA: 2 clocks crossed since 09:15:31 UTC"
        assert shown[2].message.startswith(f"0 breached, 2 in warning — first: {later[0]}; {later[1]} …")


async def test_timers_pane_lists_every_clock(ui_desk, actors, clock, settle):
    key = tickets.create(ui_desk, actors["al"], title="Checkout down", priority="P1").key
    clock.advance(minutes=5)
    tickets.reply(ui_desk, actors["al"], key, "on it")
    app = DeskApp(ui_desk, actors["al"], sweep=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        text = str(app.query_one(TimersPane).render())
        assert f"SLA {key}" in text
        # at 120 columns the pane is narrow: each state sits under its clock's name
        assert "first response\n  met\n at 11-23 09:05\n 33% used" in text
        assert "resolution\n  running\n" in text and "3h 55m left" in text and " 2%" in text
        assert f"Most urgent\n{key:<8}3h 55m" in text  # the most urgent clocks of the view
        width = app.query_one(TimersPane).size.width
        assert [line for line in text.splitlines() if len(line) > width] == []
    async with DeskApp(ui_desk, actors["al"], sweep=False).run_test(size=(200, 60)) as pilot:
        await settle(pilot.app, pilot)
        text = str(pilot.app.query_one(TimersPane).render())
        assert "first response met" in text and "resolution     running" in text  # room for one line each
        assert f"{key:<9} resolution in 3h 55m" in text and "Checkout down" in text


async def test_detail_pane_lists_the_escalation_messages_of_the_ticket(db_url, ui_text, actors, clock, settle):
    from deskconsole.config import parse_config
    from deskconsole.core.desk import open_desk
    from deskconsole.core.automation.sweep import sweep

    text = ui_text + '\n[[sla.policy.escalate]]\nat = "breach"\nmetric = "first_response"\nnotify = ["duty@example.com"]\n'
    desk = open_desk(db_url, parse_config(text, "test.toml"), clock)
    try:
        key = tickets.create(desk, actors["al"], title="Mail [red]slow[/]", priority="P3").key
        clock.advance(hours=2)
        assert sweep(desk).crossings
        app = DeskApp(desk, actors["al"], sweep=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            shown = detail_text(app)
            assert "Notifications" in shown and "queued" in shown and "duty@example.com" in shown
            assert f"[{key}]" in shown and "Mail [red]slow[/]" in shown  # the subject, literally
    finally:
        desk.close()


async def test_viewer_is_refused_with_a_clear_message(ui_desk, actors, settle):
    make(ui_desk, actors, 1)
    app = DeskApp(ui_desk, actors["vic"], sweep=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("t")
        await settle(app, pilot)
        messages = [(n.title, n.message) for n in app._notifications]
        assert any(t == "take: 0 done, 1 refused" and "vic is a viewer" in m for t, m in messages), messages


async def test_take_goes_through_the_core(ui_desk, actors, settle):
    (key,) = make(ui_desk, actors, 1)
    app = DeskApp(ui_desk, actors["al"], sweep=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("t")
        await settle(app, pilot)
        row = app.query_one(QueueView).current
        assert (row.key, row.assignee, row.status) == (key, "al", "in_progress")
        assert "al" in detail_text(app)


async def test_hostile_ticket_text_is_shown_literally(ui_desk, actors, settle):
    nasty = ["[bold red]alarm[/]", "lone [/] bracket", "\x1b[31mred\x1b[0m", "\u202eevil", "zero\u200bwidth"]
    for text in nasty:
        tickets.create(ui_desk, actors["al"], title=text, description=text + "\n" + "x" * 1_000_000, priority="P3")
    app = DeskApp(ui_desk, actors["al"], sweep=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        shown = "\n".join(lines(app))
        assert "[bold red]alarm[/]" in shown and "lone [/] bracket" in shown
        assert "\\x1b[31mred\\x1b[0m" in shown and "\\u202eevil" in shown
        for _ in nasty:
            await pilot.press("j")
            await settle(app, pilot)
        body = detail_text(app)
        assert "characters; 'deskconsole show' prints all of it" in body
        assert "\x1b" not in body


async def test_the_server_going_away_shows_a_banner_and_the_console_recovers(postgres_url, ui_text, actors, clock, settle):
    """PostgreSQL drops every connection (a restart, a failover): the console
    says so in a banner, keeps what it shows, reconnects by itself on the next
    poll, and works on — a take goes through afterwards."""
    import asyncio

    import psycopg

    from deskconsole.config import parse_config
    from deskconsole.core.desk import open_desk

    desk = open_desk(postgres_url, parse_config(ui_text, "test.toml"), clock)
    try:
        key = tickets.create(desk, actors["al"], title="Checkout down", priority="P1").key
        app = DeskApp(desk, actors["al"], sweep=False, feed_poll=0.1)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            banner = app.query_one("#banner")
            assert not banner.display and "Checkout down" in lines(app)[1]
            shown = []  # what the banner said: it may be up for one fast poll only
            trouble = app.show_trouble
            app.show_trouble = lambda text: (shown.append(text), trouble(text))[1]
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                              " WHERE datname = current_database() AND pid <> pg_backend_pid()")
            for _ in range(200):
                await asyncio.sleep(0.05)
                if any(n.message == "database back" for n in app._notifications):
                    break
            assert shown and all("database trouble" in text for text in shown), shown
            assert any(n.message == "database back" for n in app._notifications)
            assert not banner.display, str(banner.render())
            assert "Checkout down" in lines(app)[1]  # the last data stayed on screen throughout
            await pilot.press("t")  # the write thread's connection died too: it reconnects
            await settle(app, pilot)
            if tickets_of(desk, key).assignee != "al":  # the first write may have met the dead connection
                await pilot.press("t")
                await settle(app, pilot)
            assert tickets_of(desk, key).assignee == "al"
    finally:
        desk.close()


def tickets_of(desk, key):
    """The ticket as stored, on a fresh connection of the test's own (its old one was dropped too)."""
    from deskconsole.core.records.views import detail

    if not desk.db.is_closed():
        try:
            desk.db.close()
        except Exception:
            desk.db._state.reset()
    return detail(desk, key)
