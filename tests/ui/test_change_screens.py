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
