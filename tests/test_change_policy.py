"""The [changes] section of the config: every mistake names its key and what
was expected; a good one becomes the normal form the desk keeps."""

from __future__ import annotations

import json

import pytest

from deskconsole.change_policy import ChangePolicy
from deskconsole.config import ConfigError, parse_config

from test_changes import CHANGES_CONFIG

BASE = CHANGES_CONFIG.split("[changes]")[0]


def _error(extra: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(BASE + extra, "c.toml")
    message = str(info.value)
    assert message.startswith("c.toml: ") and "\n" not in message
    return message


@pytest.mark.parametrize("extra, key, words", [
    ("[changes]\ncab = [\"zed\"]\n", "changes.cab", "'zed' is not an agent"),
    ("[changes]\nboard = 1\n", "changes.board", "unknown key"),
    ("[changes]\napprovals = { normal = [\"boss\"] }\n", "changes.approvals.normal", "'boss' is not an approval rule"),
    ("[changes]\napprovals = { normal = [\"cab\"] }\n", "changes.approvals.normal", "changes.cab names nobody"),
    ("[changes]\napprovals = { weekly = [] }\n", "changes.approvals.weekly", "unknown key"),
    ("[changes.windows.x]\nkind = \"holiday\"\n", "changes.windows.x.kind", "freeze, blackout, maintenance"),
    ("[changes.windows.x]\nkind = \"freeze\"\n", "changes.windows.x", "either start and end"),
    ("[changes.windows.x]\nkind = \"freeze\"\nstart = 2026-12-20T00:00:00\nend = 2026-12-19T00:00:00\n",
     "changes.windows.x.end", "must come after start"),
    ("[changes.windows.x]\nkind = \"freeze\"\nstart = 2026-12-20T00:00:00Z\nend = 2026-12-21T00:00:00Z\n",
     "changes.windows.x.start", "without an offset"),
    ("[changes.windows.x]\nkind = \"freeze\"\nstart = \"soon\"\nend = 2026-12-21T00:00:00\n",
     "changes.windows.x.start", "'soon' is not a date and time"),
    ("[changes.windows.x]\nkind = \"maintenance\"\ndays = [\"someday\"]\nfrom = \"01:00\"\nto = \"02:00\"\n",
     "changes.windows.x.days", "mon, tue"),
    ("[changes.windows.x]\nkind = \"maintenance\"\ndays = [\"sat\"]\nfrom = \"1am\"\nto = \"02:00\"\n",
     "changes.windows.x.from", "HH:MM"),
    ("[changes.windows.x]\nkind = \"maintenance\"\ndays = [\"sat\"]\nfrom = \"01:00\"\nto = \"01:00\"\n",
     "changes.windows.x.to", "must differ"),
    ("[changes.windows.x]\nkind = \"freeze\"\nstart = 2026-12-20\nend = 2026-12-21\ntimezone = \"Mars/Olympus\"\n",
     "changes.windows.x.timezone", "'Mars/Olympus' is not a time zone"),
    ("[changes.windows.x]\nkind = \"freeze\"\nstart = 2026-12-20\nend = 2026-12-21\nservices = [\"nope\"]\n",
     "changes.windows.x.services", "'nope' is not a service"),
    ("[changes.templates.t]\nminutes = 5\n", "changes.templates.t.title", "is missing"),
    ("[changes.templates.t]\ntitle = \"T\"\nminutes = 0\n", "changes.templates.t.minutes", "1 to 10080"),
    ("[changes.templates.t]\ntitle = \"T\"\nrisk = \"extreme\"\n", "changes.templates.t.risk", "low, medium, high"),
])
def test_each_mistake_names_its_key(extra, key, words):
    message = _error(extra)
    assert f": {key}: " in message and words in message, message


def test_a_good_section_becomes_the_normal_form_and_back():
    config = parse_config(BASE + """
[changes]
cab = ["cara"]
approvals = { normal = ["owner_lead", "cab"] }

[changes.windows.nights]
kind = "maintenance"
days = ["Saturday", "sun"]
from = 01:00:00
to = "05:00"
services = ["db-main"]

[changes.windows.freeze]
kind = "freeze"
start = 2026-12-19
end = 2027-01-04T08:00:00
""", "c.toml")
    form = config.changes
    json.dumps(form)  # what the desk keeps is JSON
    assert form["approvals"] == {"standard": [], "normal": ["owner_lead", "cab"], "emergency": ["owner_lead"]}
    assert form["windows"]["nights"] == {"kind": "maintenance", "timezone": "UTC", "services": ["db-main"],
                                         "from": "01:00", "to": "05:00", "days": ["sat", "sun"]}
    assert form["windows"]["freeze"]["start"] == "2026-12-19T00:00"
    policy = ChangePolicy.load(json.loads(json.dumps(form)))
    assert policy.cab == ("cara",) and policy.rules_for("normal") == ("owner_lead", "cab")
    assert [w.name for w in policy.windows] == ["freeze", "nights"]
    assert policy.windows[1].describe() == "maintenance nights: sat/sun 01:00-05:00 UTC (db-main)"


def test_no_section_means_the_defaults():
    policy = ChangePolicy.load(parse_config(BASE, "c.toml").changes)
    assert policy.cab == () and policy.windows == () and policy.templates == {}
    assert policy.rules_for("normal") == ("owner_lead",) and policy.rules_for("standard") == ()


def test_the_desk_time_zone_is_a_windows_default():
    config = parse_config(BASE.replace('default_team = "ops"', 'default_team = "ops"\ntimezone = "Asia/Tokyo"')
                          + "[changes.windows.f]\nkind = \"freeze\"\nstart = 2026-12-20\nend = 2026-12-21\n", "c.toml")
    assert config.changes["windows"]["f"]["timezone"] == "Asia/Tokyo"
