"""Problems in the console: a problem from marked incidents (P), the open
problems (p), a known error's workaround (W) showing on its incidents, a
problem's state (s) and resolution with its incidents (R), the problem
candidates screen (C) and its help, and the screens as snapshots."""

from __future__ import annotations

from deskconsole.core.records import problems, tickets
from deskconsole.core.records.views import detail
from deskconsole.models import Ticket
from deskconsole.ui.queue_view import QueueView
from deskconsole.ui.screens.candidates import CandidatesScreen
from deskconsole.ui.screens.confirm import ConfirmScreen
from deskconsole.ui.screens.help import HelpScreen
from deskconsole.ui.screens.picker import PickerScreen
from deskconsole.ui.screens.text_entry import TextEntryScreen

from ui.test_actions import app_for, notes, type_text
from ui.test_snapshots import check_snapshot, grab, settled


def _incidents(desk, actors, titles, service="vpn"):
    return [tickets.create(desk, actors["al"], title=t, service=service, priority="P3").key for t in titles]


async def test_a_problem_from_marked_incidents_and_its_known_error(ui_desk, actors, settle):
    a, b, c = _incidents(ui_desk, actors, ["VPN drops after rekey", "VPN drops after rekey again", "Printer jam"])
    app = app_for(ui_desk, actors["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        queue = app.query_one(QueueView)
        marked = set()
        while len(marked) < 2:  # mark the two VPN incidents, wherever the queue has them
            if queue.current.key in (a, b):
                marked.add(queue.current.key)
                await pilot.press("space")
            else:
                await pilot.press("j")
            await settle(app, pilot)
        await pilot.press("P")
        await settle(app, pilot)
        assert isinstance(app.screen, TextEntryScreen)
        await pilot.press("ctrl+s")  # the title offered: the first incident's
        await settle(app, pilot)
        made = detail(ui_desk, "PRB-1")
        assert made.problem.incidents == sorted([a, b], key=lambda k: int(k[4:]))
        assert any("PRB-1 opened from" in n for n in notes(app))
        # p: the open problems in the queue
        await pilot.press("p")
        await settle(app, pilot)
        assert [r.key for r in queue.rows.values()] == ["PRB-1"]
        # W: the workaround; on a new problem it asks to make it a known error
        await pilot.press("W")
        await settle(app, pilot)
        assert isinstance(app.screen, TextEntryScreen)
        await type_text(pilot, "Reconnect")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(app, pilot)
        assert detail(ui_desk, "PRB-1").status == "known_error"
        text = "\n".join(grab(app).text)  # the problem's detail pane shows it at once
        assert "Known err." in text and "Reconnect" in text
        await pilot.press("escape")  # back to the incidents (the snapshot test shows one with its known error)
        await settle(app, pilot)
        assert detail(ui_desk, a).workarounds[0].workaround == "Reconnect"
        # s on a problem offers its states; R resolves it with its incidents
        await pilot.press("p")
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        assert isinstance(app.screen, PickerScreen)
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("R")
        await settle(app, pilot)
        assert isinstance(app.screen, TextEntryScreen)
        await type_text(pilot, "Rekey margin raised")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(app, pilot)
        assert detail(ui_desk, "PRB-1").status == "resolved"
        assert detail(ui_desk, a).status == detail(ui_desk, b).status == "resolved"
        assert detail(ui_desk, c).status == "new"


async def test_problem_keys_on_an_incident_say_what_to_do(ui_desk, actors, settle):
    _incidents(ui_desk, actors, ["One"])
    app = app_for(ui_desk, actors["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("W")
        await settle(app, pilot)
        assert any("applies to a problem: p lists" in n for n in notes(app))
    assert Ticket.select().count() == 1


async def test_candidates_screen_filters_the_queue_to_a_cluster(ui_desk, actors, settle):
    cluster = _incidents(ui_desk, actors, ["Checkout page times out"] * 3, service="mail")
    _incidents(ui_desk, actors, ["Printer jam", "Disk full"], service="mail")
    app = app_for(ui_desk, actors["al"])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("C")
        await settle(app, pilot)
        assert isinstance(app.screen, CandidatesScreen)
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        queue = app.query_one(QueueView)
        assert sorted(r.key for r in queue.rows.values()) == sorted(cluster)
        await pilot.press("V", "P")
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
    assert detail(ui_desk, "PRB-1").problem.incidents == cluster


async def test_snapshots_of_the_problem_screens(ui_desk, actors, clock):
    """The candidates screen and a problem's detail (with its root cause and
    workaround) at 80x24, and an incident's detail with its known error."""
    a, b, _ = _incidents(ui_desk, actors, ["Checkout page times out"] * 3, service="mail")
    _incidents(ui_desk, actors, ["VPN drops after rekey"], service="vpn")
    problems.create(ui_desk, actors["al"], title="Rekey timer too short", incidents=["INC-4"])
    problems.update(ui_desk, actors["al"], "PRB-1", root_cause="The gateway's rekey timer is 60 s")
    problems.set_state(ui_desk, actors["al"], "PRB-1", "known_error", workaround="Reconnect the client")
    app = app_for(ui_desk, actors["al"])
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(app, pilot, expect="INC-4")
        await pilot.press("C")
        screen = await settled(app, pilot, expect="newest: Checkout page times out")
        check_snapshot("candidates-80x24.txt", screen.text)
        await pilot.press("escape")
        await settled(app, pilot, expect="INC-4")
        await pilot.press("colon")
        await type_text(pilot, "PRB-1")
        await pilot.press("enter")
        await pilot.press("enter")
        screen = await settled(app, pilot, expect="Reconnect the client")
        check_snapshot("problem-detail-80x24.txt", screen.text)
        await pilot.press("escape")
        await pilot.press("escape")
        await settled(app, pilot, expect="INC-4")
        await pilot.press("colon")
        await type_text(pilot, "INC-4")
        await pilot.press("enter")
        await pilot.press("enter")
        screen = await settled(app, pilot, expect="Known error PRB-1")
        check_snapshot("known-error-detail-80x24.txt", screen.text)


async def test_w_replies_with_the_known_errors_workaround(ui_desk, actors, settle):
    (a,) = _incidents(ui_desk, actors, ["VPN drops after rekey"])
    problems.create(ui_desk, actors["al"], title="Rekey timer too short", incidents=[a])
    problems.set_state(ui_desk, actors["al"], "PRB-1", "known_error", workaround="Reconnect the client")
    app = app_for(ui_desk, actors["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("w")
        await settle(app, pilot)
        assert isinstance(app.screen, TextEntryScreen)
        await type_text(pilot, "Sorry!")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
    (entry,) = detail(ui_desk, a).entries
    assert entry.kind == "reply" and entry.body.startswith("This is a known issue (PRB-1: Rekey timer too short)")
    assert "Reconnect the client" in entry.body and entry.body.endswith("Sorry!")


async def test_take_and_assign_work_on_a_problem(ui_desk, actors, settle):
    problems.create(ui_desk, actors["al"], title="Flapping uplink")
    app = app_for(ui_desk, actors["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("p")
        await settle(app, pilot)
        await pilot.press("t")
        await settle(app, pilot)
        t = detail(ui_desk, "PRB-1")
        assert (t.assignee, t.status) == ("al", "investigating")
        await pilot.press("a")
        await settle(app, pilot)
        await type_text(pilot, "nia")
        await pilot.press("enter")
        await settle(app, pilot)
        assert detail(ui_desk, "PRB-1").assignee == "nia"
