"""Changes in the console: the open changes in the queue (c), a change's
detail (its window in the desk's time zone, collisions, approvals,
decisions, plans), moving it on (s, closing with its outcome, cancelling
after a question), approving (y) and rejecting (x, a reason required), the
new-change form (ctrl+n) with good and bad input, the week's calendar (L:
h/l/t/j/k/enter/n/?), and the calendar and a change's detail as snapshots
at 80x24 on a fixed clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from conftest import TWO_POLICIES, config_actor
from desk_env import with_real_admin
from deskconsole.config import parse_config
from deskconsole.core.desk import open_desk
from deskconsole.core.records import change_requests as changes
from deskconsole.core.records import links, tickets
from deskconsole.core.records.views import detail
from deskconsole.models import Ticket
from deskconsole.ui.detail_view import DetailPane
from deskconsole.ui.queue_view import QueueView
from deskconsole.ui.screens.change_calendar import CalendarScreen
from deskconsole.ui.screens.change_form import NewChangeScreen
from deskconsole.ui.screens.confirm import ConfirmScreen
from deskconsole.ui.screens.help import HelpScreen
from deskconsole.ui.screens.picker import PickerScreen
from deskconsole.ui.screens.text_entry import TextEntryScreen

from test_changes import CHANGES_CONFIG
from ui.test_actions import app_for, notes, type_text
from ui.test_snapshots import check_snapshot, grab, settled

BERLIN = ZoneInfo("Europe/Berlin")
# The clock starts on Monday 2026-11-23 09:00 UTC (10:00 in Berlin): the week is 2026-W48.
CONFIG = CHANGES_CONFIG.replace('default_team = "ops"', 'default_team = "ops"\ntimezone = "Europe/Berlin"') + """
[changes.windows.release-freeze]
kind = "freeze"
start = 2026-11-27T22:00:00
end = 2026-11-28T06:00:00
note = "Black Friday"

[changes.windows.db-nights]
kind = "maintenance"
days = ["sat", "sun"]
from = "01:00"
to = "05:00"
services = ["db-main"]
""" + TWO_POLICIES


@pytest.fixture
def chg_config():
    return parse_config(with_real_admin(CONFIG), "changes.toml")


@pytest.fixture
def chg_desk(db_url, chg_config, clock):
    desk = open_desk(db_url, chg_config, clock)
    yield desk
    desk.close()


@pytest.fixture
def people(chg_config):
    return {login: config_actor(chg_config, login) for login in ("al", "lee", "cara", "nick", "vic", "ada")}


def berlin(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).astimezone(timezone.utc)


def raise_change(desk, who, title, services, start, hours=2, **kw) -> str:
    at = berlin(start)
    return changes.create(desk, who, title=title, services=services, start=at, end=at + timedelta(hours=hours),
                          **kw).key


def submitted(desk, who, key) -> str:
    changes.set_state(desk, who, key, "assessment")
    changes.set_state(desk, who, key, "awaiting_approval")
    return key


def build_week(desk, people, clock) -> None:
    """CHG-1 (runs into the freeze and into CHG-2; rejected once by the CAB,
    then approved by the owner's lead), CHG-2 on the API the shop depends on,
    CHG-3 a standard restart, and an incident CHG-1 fixed."""
    al, lee, cara = people["al"], people["lee"], people["cara"]
    raise_change(desk, al, "Upgrade the shop to 4.2", ["web"], "2026-11-27 21:00", hours=3, risk="high",
                 implementation="deploy 4.2 with the blue/green switch", test_plan="checkout smoke test",
                 backout="switch back to blue")
    clock.advance(minutes=5)
    submitted(desk, al, "CHG-1")
    clock.advance(minutes=5)
    changes.decide(desk, cara, "CHG-1", "reject", "The backout must restore the DB snapshot")
    changes.update(desk, al, "CHG-1", backout="switch back to blue; restore the 20:00 DB snapshot")
    clock.advance(minutes=5)
    submitted(desk, al, "CHG-1")
    changes.decide(desk, lee, "CHG-1", "approve", "OK for Friday night")
    raise_change(desk, al, "Rotate the API certificates", ["api"], "2026-11-27 22:30", hours=1)
    at = berlin("2026-11-25 06:00")
    changes.create(desk, al, template="restart-web", start=at)
    inc = tickets.create(desk, al, title="Checkout slow", service="web").key
    links.link(desk, al, inc, "fixed_by", "CHG-1")
    clock.advance(minutes=15)  # 09:35 UTC


def screen_text(app) -> str:
    return "\n".join(grab(app).text)


async def jump(app, pilot, settle, key: str) -> None:
    """:KEY, as a user jumps to a record."""
    await pilot.press("colon")
    await type_text(pilot, key)
    await pilot.press("enter")
    await settle(app, pilot)
    assert app.queue.current.key == key


# ---------------------------------------------------------------- c: the open changes
async def test_c_puts_the_open_changes_in_the_queue(chg_desk, people, clock, settle):
    build_week(chg_desk, people, clock)
    changes.set_state(chg_desk, people["al"], "CHG-2", "cancelled")
    app = app_for(chg_desk, people["al"])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        queue = app.query_one(QueueView)
        assert [r.key for r in queue.rows.values()] == ["INC-4"]
        await pilot.press("c")
        await settle(app, pilot)
        assert app.spec.text == "kind:change is:open"
        assert sorted(r.key for r in queue.rows.values()) == ["CHG-1", "CHG-3"]  # CHG-2 is cancelled
        text = screen_text(app)
        row = next(line for line in text.splitlines() if "│ CHG-1 " in line)
        assert "for approval" in row and "Upgrade the shop to 4.2" in row  # a state that reads in its column
        assert any("open changes" in n for n in notes(app))
        await pilot.press("escape")  # the filter the user had comes back
        await settle(app, pilot)
        assert app.spec.text == "is:open"


# ---------------------------------------------------------------- s: moving a change on
async def test_s_offers_the_moves_of_its_type_and_closing_asks_how_it_ended(chg_desk, people, clock, settle):
    build_week(chg_desk, people, clock)
    app = app_for(chg_desk, people["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("c")
        await settle(app, pilot)
        await jump(app, pilot, settle, "CHG-3")  # a standard change: draft goes straight to scheduled
        await pilot.press("s")
        await settle(app, pilot)
        assert isinstance(app.screen, PickerScreen)
        offered = [e.value for e in app.screen._entries]
        assert offered == ["assessment", "cancelled", "scheduled"]
        for state in ("scheduled", "implementing", "review"):
            if not isinstance(app.screen, PickerScreen):
                await pilot.press("s")
                await settle(app, pilot)
            await type_text(pilot, state)
            await pilot.press("enter")
            await settle(app, pilot)
            assert detail(chg_desk, "CHG-3").status == state
        assert detail(chg_desk, "CHG-3").change.actual_start == clock()
        await pilot.press("s")
        await settle(app, pilot)
        assert [e.value for e in app.screen._entries] == ["closed"]
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, PickerScreen) and "how did it end" in app.screen.title_text
        await type_text(pilot, "backed")
        await pilot.press("enter")
        await settle(app, pilot)
        shown = detail(chg_desk, "CHG-3")
        assert (shown.status, shown.change.outcome) == ("closed", "backed_out")
        assert any("CHG-3 is now closed (backed out" in n for n in notes(app))


async def test_s_refused_by_the_core_says_why(chg_desk, people, clock, settle):
    build_week(chg_desk, people, clock)
    app = app_for(chg_desk, people["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await jump(app, pilot, settle, "CHG-1")  # still waits for the CAB
        await pilot.press("s")
        await settle(app, pilot)
        await type_text(pilot, "scheduled")
        await pilot.press("enter")
        await settle(app, pilot)
        assert detail(chg_desk, "CHG-1").status == "awaiting_approval"
        assert any("still needs its approvals" in n and "cab" in n for n in notes(app))


async def test_cancelling_a_change_asks_first(chg_desk, people, clock, settle):
    build_week(chg_desk, people, clock)
    app = app_for(chg_desk, people["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await jump(app, pilot, settle, "CHG-2")
        for answer, status in (("n", "draft"), ("y", "cancelled")):
            await pilot.press("s")
            await settle(app, pilot)
            await type_text(pilot, "cancelled")
            await pilot.press("enter")
            await settle(app, pilot)
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press(answer)
            await settle(app, pilot)
            assert detail(chg_desk, "CHG-2").status == status


# ---------------------------------------------------------------- y / x: approving and rejecting
async def test_y_approves_with_a_comment_and_the_last_approval_schedules_it(chg_desk, people, clock, settle):
    build_week(chg_desk, people, clock)
    app = app_for(chg_desk, people["cara"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await jump(app, pilot, settle, "CHG-1")
        await pilot.press("y")
        await settle(app, pilot)
        assert isinstance(app.screen, TextEntryScreen) and "waits for cab" in app.screen.title_text
        await type_text(pilot, "Go after the freeze check")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        shown = detail(chg_desk, "CHG-1")
        assert shown.status == "scheduled"
        assert (shown.change.decisions[-1].approver, shown.change.decisions[-1].comment) == (
            "cara", "Go after the freeze check")
        assert any("CHG-1 approved: it is scheduled" in n for n in notes(app))


async def test_y_by_the_one_who_raised_it_shows_the_cores_refusal(chg_desk, people, clock, settle):
    build_week(chg_desk, people, clock)
    app = app_for(chg_desk, people["al"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await jump(app, pilot, settle, "CHG-1")
        await pilot.press("y")
        await settle(app, pilot)
        await pilot.press("ctrl+s")  # no comment
        await settle(app, pilot)
        assert not isinstance(app.screen, TextEntryScreen)
        assert any("not permitted" in n and "al raised CHG-1 and cannot approve" in n for n in notes(app))
    assert len(detail(chg_desk, "CHG-1").change.decisions) == 2


async def test_y_on_an_incident_says_what_it_is_for(chg_desk, people, clock, settle):
    build_week(chg_desk, people, clock)
    app = app_for(chg_desk, people["lee"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert app.queue.current.key == "INC-4"
        await pilot.press("y")
        await settle(app, pilot)
        assert not isinstance(app.screen, TextEntryScreen)
        assert any("applies to a change" in n for n in notes(app))


async def test_x_rejects_only_with_a_reason(chg_desk, people, clock, settle):
    build_week(chg_desk, people, clock)
    app = app_for(chg_desk, people["cara"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await jump(app, pilot, settle, "CHG-1")
        await pilot.press("x")
        await settle(app, pilot)
        assert isinstance(app.screen, TextEntryScreen)
        await pilot.press("ctrl+s")  # without a comment: refused, the box stays
        await settle(app, pilot)
        assert isinstance(app.screen, TextEntryScreen) and "empty" in app.screen.error_message
        assert detail(chg_desk, "CHG-1").status == "awaiting_approval"
        await type_text(pilot, "Not in the freeze")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        shown = detail(chg_desk, "CHG-1")
        assert (shown.status, shown.change.round) == ("draft", 3)
        last = shown.change.decisions[-1]
        assert (last.approver, last.decision, last.comment) == ("cara", "reject", "Not in the freeze")


async def test_x_by_someone_the_policy_does_not_name_keeps_the_reason(chg_desk, people, clock, settle):
    build_week(chg_desk, people, clock)
    app = app_for(chg_desk, people["nick"])  # a lead, but of network: not the owner's, not on the CAB
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await jump(app, pilot, settle, "CHG-1")
        await pilot.press("x")
        await settle(app, pilot)
        await type_text(pilot, "Too risky")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert any("nick may not approve CHG-1" in n for n in notes(app))
        assert isinstance(app.screen, TextEntryScreen) and app.screen.text == "Too risky"  # offered again
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("y")  # discard
        await settle(app, pilot)
    assert detail(chg_desk, "CHG-1").status == "awaiting_approval"


# ---------------------------------------------------------------- ctrl+n: a new change
async def fill_form(pilot, *, title="", services="", start="", length="") -> None:
    """Type into the form from its first field: title, (type), services, start, length."""
    await type_text(pilot, title)
    await pilot.press("tab", "tab")  # over the type
    await type_text(pilot, services)
    await pilot.press("tab")
    await type_text(pilot, start)
    await pilot.press("tab")
    await type_text(pilot, length)


async def test_the_new_change_form_raises_one_in_the_desks_time(chg_desk, people, clock, settle):
    app = app_for(chg_desk, people["al"])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+n")
        await settle(app, pilot)
        assert isinstance(app.screen, NewChangeScreen)
        await fill_form(pilot, title="Patch the VPN gateway", services="vpn", start="2026-11-30 22:00", length="90m")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert not isinstance(app.screen, NewChangeScreen)
        shown = detail(chg_desk, "CHG-1")
        c = shown.change
        assert (shown.title, shown.status, c.type, c.services) == ("Patch the VPN gateway", "draft", "normal", ["vpn"])
        assert c.planned_start == berlin("2026-11-30 22:00") == datetime(2026, 11, 30, 21, 0, tzinfo=timezone.utc)
        assert c.planned_end - c.planned_start == timedelta(minutes=90)
        assert any("CHG-1 raised" in n for n in notes(app))


async def test_bad_input_in_the_form_shows_the_message_and_keeps_what_was_typed(chg_desk, people, clock, settle):
    app = app_for(chg_desk, people["al"])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+n")
        await settle(app, pilot)
        await fill_form(pilot, title="Patch the VPN gateway", services="vpn", start="next tuesday", length="2h")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, NewChangeScreen)
        assert "'next tuesday' is not a date and time" in form.error_message
        assert form.values["title"] == "Patch the VPN gateway" and form.values["length"] == "2h"
        assert "is not a date and time" in screen_text(app)
        # the core's word on a name it does not know, the rest kept again
        form.query_one("#start").value = ""
        form.query_one("#start").focus()
        await type_text(pilot, "+2h")
        form.query_one("#services").value = "vnp"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, NewChangeScreen) and "vnp" in form.error_message
        assert form.values["start"] == "+2h"
        form.query_one("#services").value = "vpn"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert not isinstance(app.screen, NewChangeScreen)
    c = detail(chg_desk, "CHG-1").change
    assert c.planned_start == clock() + timedelta(hours=2) and c.services == ["vpn"]
    with chg_desk.bound():
        assert Ticket.select().where(Ticket.kind == "change").count() == 1


async def test_an_empty_form_is_refused_in_place(chg_desk, people, clock, settle):
    app = app_for(chg_desk, people["al"])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+n")
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, NewChangeScreen) and "needs a title" in app.screen.error_message
        await pilot.press("escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, NewChangeScreen)  # nothing typed: no question


def test_the_forms_values_as_the_core_takes_them():
    from deskconsole.ui.change_actions import change_values
    from deskconsole.errors import ValidationError

    now = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
    got = change_values({"title": "", "kind": "template:restart-web", "services": "", "start": "2026-11-25 06:00",
                         "length": "", "risk": None}, now, BERLIN)
    assert got == {"title": None, "start": berlin("2026-11-25 06:00"), "end": None, "services": [],
                   "template": "restart-web"}
    got = change_values({"title": "Hotfix", "kind": "emergency", "services": "web, api", "start": "+1h",
                         "length": "45m", "risk": "high"}, now, BERLIN)
    assert (got["type"], got["services"], got["risk"]) == ("emergency", ["web", "api"], "high")
    assert got["end"] - got["start"] == timedelta(minutes=45) and got["start"] == now + timedelta(hours=1)
    for form, said in (({"start": "", "length": "2h"}, "needs a start"),
                       ({"start": "+1h", "length": ""}, "how long"),
                       ({"start": "+1h", "length": "2 weeks"}, "not a length")):
        with pytest.raises(ValidationError, match=said):
            change_values({"title": "x", "kind": "normal", **form}, now, BERLIN)


# ---------------------------------------------------------------- L: the calendar
async def test_the_calendar_moves_by_week_and_opens_a_change(chg_desk, people, clock, settle):
    build_week(chg_desk, people, clock)
    later = raise_change(chg_desk, people["al"], "Next week's work", ["mail"], "2026-12-01 20:00")
    app = app_for(chg_desk, people["al"])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        cal = app.screen
        assert isinstance(cal, CalendarScreen)
        assert cal.week.label == "2026-W48" and [k for k, _ in cal.picks] == ["CHG-3", "CHG-1", "CHG-2"]
        assert cal.selected_key == "CHG-3"
        await pilot.press("l")
        await settle(app, pilot)
        assert cal.week.label == "2026-W49" and [k for k, _ in cal.picks] == [later]
        assert "Next week's work" in screen_text(app)
        await pilot.press("h", "h")
        await settle(app, pilot)
        assert cal.week.label == "2026-W47" and cal.picks == [] and "0 changes" in screen_text(app)
        await pilot.press("right")
        await settle(app, pilot)
        assert cal.week.label == "2026-W48"
        await pilot.press("left", "t")
        await settle(app, pilot)
        assert cal.week.label == "2026-W48"
        await pilot.press("j")
        assert cal.selected_key == "CHG-1"
        await pilot.press("j", "j", "k")
        assert cal.selected_key == "CHG-1"
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen) and "Change calendar" in app.screen.title_text
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, CalendarScreen)
        assert app.queue.current.key == "CHG-1" and app.query_one(DetailPane).has_focus
        assert "Upgrade the shop to 4.2" in screen_text(app) and "collisions" in screen_text(app)
        await pilot.press("L")
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, NewChangeScreen)
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, CalendarScreen)


async def test_the_main_help_names_the_change_keys(chg_desk, people, settle):
    app = app_for(chg_desk, people["al"])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await settle(app, pilot)
        keys = dict((d, k) for k, d in app.screen.bindings_list)
        assert (keys["Changes"], keys["Approve change"], keys["Reject change"], keys["Change calendar"]) == (
            "c", "y", "x", "L")
        assert keys["New change"] in ("^n", "ctrl+n")


# ---------------------------------------------------------------- snapshots at 80x24
async def test_snapshots_of_the_calendar_and_a_changes_detail(chg_desk, people, clock):
    """The week's calendar (windows, changes, collisions marked) and CHG-1's
    detail: its collisions on top, then (scrolled) its approvals and decisions."""
    build_week(chg_desk, people, clock)
    app = app_for(chg_desk, people["al"])
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(app, pilot, expect="Checkout slow")
        await pilot.press("L")
        screen = await settled(app, pilot, expect="MAINTENANCE db-nights")
        text = "\n".join(screen.text)
        assert "week 2026-W48" in text and "Europe/Berlin" in text and "Mon 23 Nov · today" in text
        assert "! 21:00-..     CHG-1" in text and "⚠ freeze release-freeze · overlap CHG-2" in text
        check_snapshot("change-calendar-80x24.txt", screen.text)
        await pilot.press("j", "enter")
        screen = await settled(app, pilot, expect="⚠ 2 collisions")
        text = "\n".join(screen.text)
        assert "CHG-1  Upgrade the shop to 4.2" in text and "2026-11-27 21:00 -" in text
        check_snapshot("change-detail-80x24.txt", screen.text)
        pane = app.query_one(DetailPane)
        pane.scroll_to(y=18, animate=False)
        screen = await settled(app, pilot, expect="Approvals (round 2)")
        text = "\n".join(screen.text)
        assert "owner_lead: approved by lee" in text and "cab: waiting" in text and "REJECTED by" in text
        check_snapshot("change-detail-approvals-80x24.txt", screen.text)
