"""SLA policy configuration: the [calendars.*] and [sla] sections parsed into
typed objects, every rule and every error message (key + what is expected),
through parse_sla directly and through the desk's config reader."""

from __future__ import annotations

import re
import tomllib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from deskconsole.config import Config, ConfigError, parse_config
from deskconsole.sla import (
    BREACH,
    DEFAULT_PAUSE_ON,
    DEFAULT_SLA_TOML,
    DEFAULT_WARN,
    METRICS,
    Calendar,
    Escalation,
    Policy,
    PolicyError,
    SlaConfig,
    Target,
    format_duration,
    parse_duration,
    parse_sla,
)
from deskconsole.starter import starter_config

README = Path(__file__).resolve().parents[2] / "README.md"
PATH = "/etc/deskconsole/config.toml"
UTC = timezone.utc

TEAMS = ("ops", "network", "major-incident")
SERVICES = ("vpn", "mail")
CATEGORIES = ("outage", "access")
AGENTS = ("alice", "bob")

BUSINESS = """
[calendars.business]
timezone = "Europe/London"
hours = { mon = ["09:00-17:30"], tue = ["09:00-17:30"], wed = ["09:00-17:30"], thu = ["09:00-17:30"], fri = ["09:00-17:30"] }
holidays = ["12-25", "12-26", "01-01"]
"""

DESK = """
[teams.ops]
[teams.network]
[teams.major-incident]
[agents.alice]
team = "ops"
role = "lead"
[agents.bob]
team = "network"
[categories]
outage = "Outage"
access = "Access request"
[services.vpn]
team = "network"
[services.mail]
team = "ops"
"""

FULL = BUSINESS + """
[sla]
warn = [50, 75, 90]
pause_on = ["pending"]

[[sla.policy]]
name = "P1 major incident"
priority = "P1"
calendar = "24x7"
first_response = "15m"
resolution = { target = "4h", calendar = "24x7" }
warn = [60, 80]
pause_on = []

[[sla.policy.escalate]]
at = 90
metric = "resolution"
notify = ["assignee", "team", "leads", "alice", "team:network", "duty@example.com"]
raise_priority = "P1"
reassign_team = "major-incident"

[[sla.policy.escalate]]
at = "breach"
notify = ["leads"]

[[sla.policy]]
name = "Network outages"
priority = ["P2", "P3"]
team = "network"
service = ["vpn"]
category = "outage"
calendar = "business"
first_response = 30
resolution = { target = "1h30m" }

[[sla.policy.escalate]]
at = 50
metric = "first_response"
raise_priority = "up"

[[sla.policy]]
name = "Everything else"
calendar = "business"
resolution = "42h30m"
"""


def sla(text: str, **known) -> SlaConfig:
    names = dict(teams=TEAMS, services=SERVICES, categories=CATEGORIES, agents=AGENTS)
    names.update(known)
    return parse_sla(tomllib.loads(text), **names)


def error(text: str, key: str, *fragments: str, **known) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        sla(text, **known)
    exc = info.value
    assert exc.key == key, (exc.key, str(exc))
    assert str(exc) == exc.message
    assert not str(exc).startswith(key), str(exc)  # the message carries no key prefix
    assert "\n" not in str(exc)
    for fragment in fragments:
        assert fragment in str(exc), (fragment, str(exc))
    return exc


def policy(body: str, *, before: str = "", escalate: str = "") -> str:
    """One policy (plus optional calendars/[sla] text before it and escalations after)."""
    return before + '\n[[sla.policy]]\nname = "Only"\n' + body + "\n" + escalate


def esc(body: str) -> str:
    return "\n[[sla.policy.escalate]]\n" + body + "\n"


TWO = 'first_response = "15m"\nresolution = "4h"\n'


# ====================================================================== the happy path
def test_full_example_parses_into_typed_objects():
    cfg = sla(FULL)
    assert set(cfg.calendars) == {"24x7", "business"}
    assert isinstance(cfg.calendars["business"], Calendar)
    assert cfg.calendars["business"].timezone == "Europe/London"
    p1, net, rest = cfg.policies
    assert p1 == Policy(
        name="P1 major incident",
        priorities=("P1",),
        calendar="24x7",
        targets={
            "first_response": Target("first_response", 900, "24x7"),
            "resolution": Target("resolution", 4 * 3600, "24x7"),
        },
        warn=(60, 80),
        pause_on=(),
        escalations=(
            Escalation(
                at=90,
                metric="resolution",
                notify=("assignee", "team", "leads", "alice", "team:network", "duty@example.com"),
                raise_priority="P1",
                reassign_team="major-incident",
            ),
            Escalation(at=BREACH, metric=None, notify=("leads",)),
        ),
    )
    assert net.priorities == ("P2", "P3") and net.teams == ("network",)
    assert net.services == ("vpn",) and net.categories == ("outage",)
    assert net.targets["first_response"] == Target("first_response", 30 * 60, "business")
    assert net.targets["resolution"] == Target("resolution", 5400, "business")  # table form, policy calendar
    assert net.warn == DEFAULT_WARN and net.pause_on == DEFAULT_PAUSE_ON  # from [sla]
    assert net.escalations == (Escalation(at=50, metric="first_response", raise_priority="up"),)
    assert rest.catch_all and not p1.catch_all and not net.catch_all
    assert set(rest.targets) == {"resolution"}  # first_response has no clock under it
    assert rest.targets["resolution"].seconds == (42 * 60 + 30) * 60


def test_objects_are_frozen_and_hashable():
    cfg = sla(FULL)
    p1 = cfg.policies[0]
    with pytest.raises(AttributeError):
        p1.name = "x"
    assert len({p1, cfg.policies[1], p1}) == 2
    assert hash(p1.escalations[0]) == hash(p1.escalations[0])
    assert hash(p1.targets["resolution"])
    assert hash(cfg)


def test_module_constants():
    assert METRICS == ("first_response", "resolution")
    assert DEFAULT_WARN == (50, 75, 90)
    assert DEFAULT_PAUSE_ON == ("pending",)
    assert BREACH == 100
    assert issubclass(PolicyError, ValueError)


def test_policy_error_carries_key_and_message():
    exc = PolicyError("sla.policy[2].resolution", "something")
    assert exc.key == "sla.policy[2].resolution" and str(exc) == "something" and exc.message == "something"


def test_no_sections_at_all_means_no_clocks():
    cfg = sla("")
    assert cfg.policies == ()
    assert list(cfg.calendars) == ["24x7"]
    assert cfg.match("P1", "ops", None, None) is None


def test_sla_without_policies_is_allowed():
    assert sla('[sla]\nwarn = [80]\n').policies == ()
    assert sla("[sla]\npolicy = []\n").policies == ()


def test_default_sla_config():
    cfg = SlaConfig()
    assert list(cfg.calendars) == ["24x7"] and cfg.policies == ()
    assert cfg.calendar("24x7").is_open(datetime(2026, 12, 25, 3, 0, tzinfo=UTC))
    # 24x7 is always there, even when a caller builds one without it
    assert "24x7" in SlaConfig(calendars={}).calendars
    assert Config().sla.policies == () and "24x7" in Config().sla.calendars


def test_calendar_lookup_falls_back_to_24x7():
    cfg = sla(FULL)
    assert cfg.calendar("business") is cfg.calendars["business"]
    assert cfg.calendar("nope") is cfg.calendars["24x7"]
    # the business calendar really is the configured one: Thu 24 Dec 17:00 + 1h is
    # 30 min that day, Christmas (Fri) and the weekend closed, then 30 min on Monday
    start = datetime(2026, 12, 24, 17, 0, tzinfo=UTC)
    assert cfg.calendar("business").add(start, 3600) == datetime(2026, 12, 28, 9, 30, tzinfo=UTC)


def test_policy_lookup_by_name_ignores_case():
    cfg = sla(FULL)
    assert cfg.policy("p1 MAJOR incident") is cfg.policies[0]
    assert cfg.policy("  Everything else ") is cfg.policies[2]
    assert cfg.policy("nope") is None


# ====================================================================== matching
def test_first_match_wins_and_catch_all_catches_the_rest():
    cfg = sla(FULL)
    names = lambda *args: (cfg.match(*args) or Policy("none")).name  # noqa: E731
    assert names("P1", "network", "vpn", "outage") == "P1 major incident"  # first of two that match
    assert names("P2", "network", "vpn", "outage") == "Network outages"
    assert names("P3", "network", "vpn", "outage") == "Network outages"
    assert names("P2", "ops", "vpn", "outage") == "Everything else"  # team differs
    assert names("P2", "network", "mail", "outage") == "Everything else"  # service differs
    assert names("P2", "network", "vpn", "access") == "Everything else"  # category differs
    assert names("P2", "network", "vpn", None) == "Everything else"  # no category: a set criterion fails
    assert names(None, None, None, None) == "Everything else"
    assert names("P4", "network", "vpn", "outage") == "Everything else"


def test_order_decides_between_overlapping_policies():
    network = '[[sla.policy]]\nname = "Network"\nteam = "network"\nresolution = "8h"\n'
    urgent = '[[sla.policy]]\nname = "Urgent"\npriority = "P1"\nresolution = "1h"\n'
    cfg = sla(network + urgent)
    assert cfg.match("P1", "network", None, None).name == "Network"
    assert cfg.match("P1", "ops", None, None).name == "Urgent"
    assert cfg.match("P2", "ops", None, None) is None  # no catch-all: no clocks
    swapped = sla(urgent + network)
    assert [p.name for p in swapped.policies] == ["Urgent", "Network"]
    assert swapped.match("P1", "network", None, None).name == "Urgent"


def test_policy_matches_directly():
    p = Policy("x", priorities=("P1", "P2"), teams=("ops",), targets={"resolution": Target("resolution", 60, "24x7")})
    assert p.matches("P1", "ops", "anything", None)
    assert not p.matches("P3", "ops", None, None)
    assert not p.matches("P1", None, None, None)
    assert Policy("any").matches(None, None, None, None) and Policy("any").catch_all


# ====================================================================== thresholds / escalations
def test_thresholds_are_the_union_of_warnings_and_escalation_points():
    text = policy(
        TWO + "warn = [75, 50]",
        escalate=esc('at = 90\nmetric = "resolution"\nnotify = ["team"]')
        + esc('at = 60\nnotify = ["leads"]')
        + esc('at = 75\nmetric = "first_response"\nnotify = ["assignee"]')
        + esc('at = "breach"\nnotify = ["leads"]'),
    )
    p = sla(text).policies[0]
    assert p.warn == (50, 75)  # sorted
    assert p.thresholds("resolution") == (50, 60, 75, 90)
    assert p.thresholds("first_response") == (50, 60, 75)  # 75 once; 90 is resolution-only; breach is not a threshold
    assert [e.at for e in p.escalations_for("resolution", 90)] == [90]
    assert p.escalations_for("first_response", 90) == ()
    assert [e.notify for e in p.escalations_for("first_response", 60)] == [("leads",)]
    assert [e.notify for e in p.escalations_for("resolution", BREACH)] == [("leads",)]
    assert p.escalations_for("resolution", 10) == ()


def test_thresholds_of_a_metric_without_target_are_empty():
    p = sla(policy('resolution = "4h"', escalate=esc('at = 80\nnotify = ["team"]'))).policies[0]
    assert p.thresholds("resolution") == (50, 75, 80, 90)
    assert p.thresholds("first_response") == ()
    assert p.escalations_for("first_response", 80) == ()


def test_empty_warn_leaves_only_escalation_points():
    p = sla(policy(TWO + "warn = []", escalate=esc('at = 95\nnotify = ["team"]'))).policies[0]
    assert p.warn == () and p.thresholds("resolution") == (95,)


def test_sla_defaults_and_policy_overrides():
    text = "[sla]\nwarn = [80]\npause_on = []\n" + policy(TWO) + '\n[[sla.policy]]\nname = "B"\npriority = "P1"\n' + TWO
    text = text.replace('name = "Only"\n', 'name = "Only"\npriority = "P2"\n')
    a, b = sla(text).policies
    assert a.warn == b.warn == (80,) and a.pause_on == b.pause_on == ()
    c = sla("[sla]\nwarn = [80]\n" + policy(TWO + 'warn = [10]\npause_on = ["new", "pending", "new"]')).policies[0]
    assert c.warn == (10,) and c.pause_on == ("new", "pending")


def test_escalation_details():
    text = policy(
        TWO,
        escalate=esc('at = "breach"\nnotify = "team:ops"')  # a single recipient may be a string
        + esc('at = "BREACH"\nraise_priority = "P2"')
        + esc('at = 1\nnotify = ["alice", "alice", " team "]')
        + esc('at = 99\nreassign_team = "network"'),
    )
    e1, e2, e3, e4 = sla(text).policies[0].escalations
    assert e1 == Escalation(BREACH, None, ("team:ops",)) and e1.at_breach
    assert e2.at == BREACH and e2.raise_priority == "P2" and e2.notify == ()
    assert e3.notify == ("alice", "team")  # duplicates dropped, spaces trimmed
    assert e4.reassign_team == "network" and e4.applies_to("first_response")


def test_criteria_and_lists():
    p = sla(policy(TWO.replace("\n", "\nteam = [\"ops\", \"network\", \"ops\"]\n", 1))).policies[0]
    assert p.teams == ("ops", "network")
    assert not p.catch_all


# ====================================================================== durations
@pytest.mark.parametrize(
    "value,seconds",
    [
        ('"45s"', 45),
        ('"15m"', 900),
        ('"4h"', 14400),
        ('"1h30m"', 5400),
        ('"1h 30m"', 5400),
        ('"2h0m15s"', 7215),
        ('"90m"', 5400),
        ('" 8h "', 28800),
        ("30", 1800),
        ("1", 60),
        ('"8760h"', 8760 * 3600),
    ],
)
def test_durations(value, seconds):
    p = sla(policy(f"resolution = {value}")).policies[0]
    assert p.targets["resolution"].seconds == seconds


@pytest.mark.parametrize("value,days", [('"3d"', 72), ('"1d4h"', 24), ('"2 days"', 48), ('"1w"', 168)])
def test_days_are_refused_with_a_hint_to_give_hours(value, days):
    error(policy(f"resolution = {value}"), "sla.policy[0].resolution",
          "ambiguous in business time", "give hours", f'"{days}h"')


def test_three_days_message():
    exc = error(policy('resolution = "3d"'), "sla.policy[0].resolution")
    assert exc.message.startswith("'3d': days are ambiguous in business time")
    assert 'e.g. "72h"' in exc.message and "(in policy 'Only')" in exc.message


@pytest.mark.parametrize(
    "value,fragments",
    [
        ("0", ["not more than zero", '"15m"']),
        ('"0m"', ["not more than zero"]),
        ('"0h0m0s"', ["not more than zero"]),
        ("-5", ["not more than zero"]),
        ('"-5m"', ["is negative", "more than zero"]),
        ('"soon"', ["'soon' is not a duration", '"45s", "15m", "4h", "1h30m" or a whole number of minutes']),
        ('""', ["is not a duration"]),
        ('"1.5h"', ["is not a duration"]),
        ('"4 hours"', ["is not a duration"]),
        ('"30"', ["is not a duration", 'needs a unit, e.g. "30m"']),
        ('"30m4h"', ["is not a duration"]),
        ("1.5", ["got a number (1.5)", "whole number of minutes"]),
        ("true", ["got a boolean"]),
        ('["4h"]', ["got a list", 'target = "4h"']),
        ('"8761h"', ["longer than a year", '"8760h"']),
    ],
)
def test_bad_durations(value, fragments):
    error(policy(f"first_response = {value}"), "sla.policy[0].first_response", *fragments)


def test_parse_and_format_duration_helpers():
    assert parse_duration("1h30m", "k") == 5400 and parse_duration(15, "k") == 900
    with pytest.raises(PolicyError) as info:
        parse_duration("3d", "some.key")
    assert info.value.key == "some.key"
    assert format_duration(5400) == "1h30m" and format_duration(45) == "45s" and format_duration(0) == "0s"
    assert format_duration(91800) == "25h30m"


# ====================================================================== policy-level errors
def test_unknown_key_in_a_policy_lists_the_allowed_ones():
    exc = error(policy(TWO + 'priorty = "P1"'), "sla.policy[0].priorty", "unknown key",
                "calendar, category, escalate, first_response, name, pause_on, priority, resolution, service, team, warn",
                "did you mean 'priority'?")
    assert "(in policy 'Only')" in exc.message


def test_unknown_keys_elsewhere():
    error("[sla]\nwarnings = [1]\n", "sla.warnings", "unknown key", "pause_on, policy, warn", "did you mean 'warn'?")
    error(policy('resolution = { target = "4h", zone = "UTC" }'), "sla.policy[0].resolution.zone",
          "unknown key", "calendar, target")
    error(policy(TWO, escalate=esc('at = 50\nnotify = ["team"]\nemail = "x@example.com"')),
          "sla.policy[0].escalate[0].email", "unknown key", "at, metric, notify, raise_priority, reassign_team")
    error(BUSINESS.replace("holidays", "holiday"), "calendars.business.holiday", "unknown key",
          "timezone, hours, holidays")


def test_policy_name_rules():
    error('[[sla.policy]]\nresolution = "4h"\n', "sla.policy[0].name", "is missing", 'name = "P1 major incident"')
    error('[[sla.policy]]\nname = "  "\nresolution = "4h"\n', "sla.policy[0].name", "is empty")
    error('[[sla.policy]]\nname = 7\nresolution = "4h"\n', "sla.policy[0].name", "expected a string, got a number")
    error(f'[[sla.policy]]\nname = "{"x" * 65}"\nresolution = "4h"\n', "sla.policy[0].name",
          "65 characters", "at most 64")
    error('[[sla.policy]]\nname = "a\\tb"\nresolution = "4h"\n', "sla.policy[0].name", "control characters")
    assert sla(f'[[sla.policy]]\nname = "{"x" * 64}"\nresolution = "4h"\n').policies[0].name == "x" * 64


def test_policy_names_are_unique_ignoring_case():
    text = ('[[sla.policy]]\nname = "Urgent"\npriority = "P1"\nresolution = "1h"\n'
            '[[sla.policy]]\nname = "Network"\nteam = "network"\nresolution = "1h"\n'
            '[[sla.policy]]\nname = "URGENT "\npriority = "P2"\nresolution = "1h"\n')
    error(text, "sla.policy[2].name", "'URGENT' is already the name of sla.policy[0] ('Urgent')", "unique")


def test_policy_after_a_catch_all_can_never_match():
    text = ('[[sla.policy]]\nname = "P1"\npriority = "P1"\nresolution = "1h"\n'
            '[[sla.policy]]\nname = "Default"\nresolution = "8h"\n'
            '[[sla.policy]]\nname = "Network"\nteam = "network"\nresolution = "2h"\n')
    exc = error(text, "sla.policy[2]", "'Network' can never match", "catch-all policy 'Default' (sla.policy[1])",
                "move 'Network' above it", "give 'Default' a priority, team, service or category")
    assert exc.message.startswith("policy 'Network'")


def test_policy_without_targets():
    error(policy('priority = "P1"'), "sla.policy[0]", "policy 'Only' has no targets",
          "first_response and/or resolution")


def test_policy_table_shape():
    error('[sla.policy]\nname = "x"\n', "sla.policy", "expected an array of tables ([[sla.policy]] sections), got a table")
    error("[sla]\npolicy = [1]\n", "sla.policy[0]", "expected a table ([[sla.policy]]), got a number")
    error('sla = "on"\n', "sla", "expected a table ([sla]), got a string")
    error(policy(TWO) + '[sla.policy.escalate]\nat = 50\nnotify = ["team"]\n', "sla.policy[0].escalate",
          "expected an array of tables ([[sla.policy.escalate]] sections), got a table")


# ---------------------------------------------------------------------- criteria
def test_bad_priority():
    error(policy(TWO + 'priority = "P5"'), "sla.policy[0].priority", "'P5' is not a priority", "P1, P2, P3, P4")
    error(policy(TWO + 'priority = ["P1", "p2"]'), "sla.policy[0].priority[1]", "'p2' is not a priority")
    error(policy(TWO + "priority = 1"), "sla.policy[0].priority", "expected a priority name or a list of them, got a number")
    error(policy(TWO + "priority = [1]"), "sla.policy[0].priority[0]", "expected a string, got a number")
    error(policy(TWO + "priority = []"), "sla.policy[0].priority", "empty list", "leave priority out to match any priority")


def test_criteria_must_name_defined_things():
    error(policy(TWO + 'team = "netwrok"'), "sla.policy[0].team", "'netwrok' is not defined in [teams]",
          "major-incident, network, ops")
    error(policy(TWO + 'service = ["vpn", "web"]'), "sla.policy[0].service[1]", "'web' is not defined in [services]",
          "mail, vpn")
    error(policy(TWO + 'category = "hardware"'), "sla.policy[0].category", "'hardware' is not defined in [categories]",
          "access, outage")
    error(policy(TWO + 'team = "ops"'), "sla.policy[0].team", "(no teams defined yet)", teams=())


# ---------------------------------------------------------------------- calendars
def test_policy_naming_an_undefined_calendar_lists_the_defined_ones():
    error(policy(TWO + 'calendar = "office"', before=BUSINESS), "sla.policy[0].calendar",
          "'office' is not a calendar", "[calendars.office]", "24x7, business")
    error(policy('resolution = { target = "4h", calendar = "office" }'), "sla.policy[0].resolution.calendar",
          "'office' is not a calendar", "24x7")
    error(policy(TWO + "calendar = 1"), "sla.policy[0].calendar", "expected a calendar name (string), got a number")


def test_metric_table_form():
    p = sla(policy('calendar = "business"\nfirst_response = "1h"\nresolution = { target = 90, calendar = "24x7" }',
                   before=BUSINESS)).policies[0]
    assert p.targets["first_response"].calendar == "business"
    assert p.targets["resolution"] == Target("resolution", 5400, "24x7")
    error(policy('resolution = { calendar = "24x7" }'), "sla.policy[0].resolution.target", "is missing",
          "a duration such as")
    error(policy('resolution = { target = "2d" }'), "sla.policy[0].resolution.target", "days are ambiguous")


def test_24x7_cannot_be_redefined():
    text = '[calendars.24x7]\ntimezone = "UTC"\nhours = { mon = ["00:00-24:00"] }\n'
    error(text, "calendars.24x7", "built-in calendar", "cannot be redefined", "another name")


@pytest.mark.parametrize(
    "text,key,fragments",
    [
        (BUSINESS.replace("09:00-17:30", "17:30-09:00", 1), "calendars.business.hours.mon",
         ["'17:30-09:00' ends before it starts"]),
        (BUSINESS.replace("Europe/London", "Mars/Olympus"), "calendars.business.timezone",
         ["unknown time zone 'Mars/Olympus'"]),
        (BUSINESS.replace('"12-26"', '"13-45"'), "calendars.business.holidays[1]", ["not a valid date"]),
        (BUSINESS.replace('timezone = "Europe/London"\n', ""), "calendars.business.timezone",
         ["missing", "IANA"]),
        (BUSINESS.replace("mon =", "mnd ="), "calendars.business.hours.mnd", ["unknown day", "mon, tue"]),
        ('[calendars]\nbusiness = "9-5"\n', "calendars.business", ["expected a table", "got a string"]),
        ('calendars = ["a"]\n', "calendars", ["expected a table ([calendars]), got a list"]),
        ('[calendars."Head Office"]\ntimezone = "UTC"\nhours = { mon = ["09:00-17:00"] }\n', "calendars.Head Office",
         ["not a valid calendar name", "lower-case"]),
    ],
)
def test_calendar_errors_become_policy_errors_with_one_prefix(text, key, fragments):
    exc = error(text, key, *fragments)
    assert not exc.message.startswith("calendars")  # the key is not repeated in the message


# ---------------------------------------------------------------------- warn / pause_on
@pytest.mark.parametrize(
    "value,key,fragments",
    [
        ("[50, 50]", "warn[1]", ["50 is listed twice"]),
        ("[0]", "warn[0]", ["0 is out of range", "1..99"]),
        ("[150]", "warn[0]", ["150 is out of range"]),
        ("[100]", "warn[0]", ["100 is the deadline itself", 'at = "breach"']),
        ('["50%"]', "warn[0]", ["expected a whole percent 1..99, got a string"]),
        ("[true]", "warn[0]", ["got a boolean"]),
        ("[50.5]", "warn[0]", ["got a number"]),
        ("50", "warn", ["expected a list of percents 1..99, e.g. [50, 75, 90], got a number"]),
    ],
)
def test_bad_warn(value, key, fragments):
    error(f"[sla]\nwarn = {value}\n", f"sla.{key}", *fragments)
    error(policy(TWO + f"warn = {value}"), f"sla.policy[0].{key}", *fragments)


@pytest.mark.parametrize(
    "value,key,fragments",
    [
        ('["waiting"]', "pause_on[0]", ["'waiting' is not a status", "new, assigned, in_progress, pending"]),
        ('["resolved"]', "pause_on[0]", ["clocks stop when a ticket is resolved, closed or cancelled"]),
        ('"pending"', "pause_on", ["expected a list of statuses", "[] = never pause", "got a string"]),
        ("[1]", "pause_on[0]", ["expected a status string, got a number"]),
    ],
)
def test_bad_pause_on(value, key, fragments):
    error(f"[sla]\npause_on = {value}\n", f"sla.{key}", *fragments)
    error(policy(TWO + f"pause_on = {value}"), f"sla.policy[0].{key}", *fragments)


# ---------------------------------------------------------------------- escalations
E = "sla.policy[0].escalate[0]"


def test_escalation_needs_an_action():
    error(policy(TWO, escalate=esc("at = 50")), E, "has no action", "notify (non-empty), raise_priority, reassign_team")
    error(policy(TWO, escalate=esc("at = 50\nnotify = []")), E, "has no action")


@pytest.mark.parametrize(
    "value,fragments",
    [
        ("100", ['100 is the deadline itself; use at = "breach"']),
        ("0", ["0 is out of range", '1..99, or "breach"']),
        ("101", ["101 is out of range"]),
        ("-5", ["-5 is out of range"]),
        ('"90%"', ["'90%' is not allowed", '"breach"']),
        ("90.0", ["got a number"]),
        ("true", ["got a boolean"]),
    ],
)
def test_bad_at(value, fragments):
    error(policy(TWO, escalate=esc(f'at = {value}\nnotify = ["team"]')), f"{E}.at", *fragments)


def test_at_is_required():
    error(policy(TWO, escalate=esc('notify = ["team"]')), f"{E}.at", "is missing", '"breach"')


def test_escalation_metric():
    error(policy(TWO, escalate=esc('at = 50\nmetric = "response"\nnotify = ["team"]')), f"{E}.metric",
          "'response' is not a metric", "first_response, resolution", "leave metric out for both")
    error(policy(TWO, escalate=esc('at = 50\nmetric = 1\nnotify = ["team"]')), f"{E}.metric", "expected a string")
    error(policy('resolution = "4h"', escalate=esc('at = 50\nmetric = "first_response"\nnotify = ["team"]')),
          f"{E}.metric", "no first_response target", "could never fire", "expected resolution")


@pytest.mark.parametrize(
    "value,key,fragments",
    [
        ('["carol"]', "notify[0]", ["'carol' is not an agent, team or e-mail address",
                                    'assignee, team, leads, a login from [agents], "team:NAME" or an e-mail address']),
        ('["network"]', "notify[0]", ["did you mean 'team:network'?"]),
        ('["team", "team:sales"]', "notify[1]", ["'sales' is not defined in [teams]", "major-incident, network, ops"]),
        ('["duty@localhost"]', "notify[0]", ["'duty@localhost' is not an e-mail address"]),
        ('[1]', "notify[0]", ["expected a recipient string", "got a number"]),
        ("{ to = 'x' }", "notify", ["expected a list of recipients", "got a table"]),
        ('"nobody"', "notify", ["'nobody' is not an agent"]),
    ],
)
def test_bad_notify(value, key, fragments):
    error(policy(TWO, escalate=esc(f"at = 50\nnotify = {value}")), f"{E}.{key}", *fragments)


def test_raise_priority_and_reassign_team():
    error(policy(TWO, escalate=esc('at = 50\nraise_priority = "P0"')), f"{E}.raise_priority",
          "'P0' is not allowed", "P1, P2, P3, P4", '"up"')
    error(policy(TWO, escalate=esc('at = 50\nraise_priority = 1')), f"{E}.raise_priority", "expected a string")
    error(policy(TWO, escalate=esc('at = 50\nreassign_team = "sales"')), f"{E}.reassign_team",
          "'sales' is not defined in [teams]", "major-incident, network, ops")
    error(policy(TWO, escalate=esc('at = 50\nreassign_team = ["ops"]')), f"{E}.reassign_team",
          "expected a team name (string), got a list")
    assert sla(policy(TWO, escalate=esc('at = 50\nraise_priority = "up"'))).policies[0].escalations[0].raise_priority == "up"


def test_escalation_not_a_table():
    text = '[[sla.policy]]\nname = "Only"\nresolution = "4h"\nescalate = [1]\n'
    error(text, E, "expected a table ([[sla.policy.escalate]]), got a number")


def test_errors_in_the_second_policy_name_it():
    text = FULL.replace("first_response = 30", "first_response = 0")
    exc = error(text, "sla.policy[1].first_response", "not more than zero", "(in policy 'Network outages')")
    assert exc.message.endswith("(in policy 'Network outages')")


# ====================================================================== through the config reader
def config_error(text: str, key: str, *fragments: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, PATH)
    message = str(info.value)
    assert info.value.key == key, message
    assert message.startswith(f"{PATH}: {key}: "), message
    assert message.count(key) == 1, message  # the key is not repeated in the message
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def test_full_example_round_trips_through_parse_config():
    config = parse_config(DESK + FULL, PATH)
    direct = sla(FULL)
    assert config.sla.policies == direct.policies
    assert set(config.sla.calendars) == {"24x7", "business"}
    assert config.sla.match("P2", "network", "vpn", "outage").name == "Network outages"
    assert config.sla.policy("everything else").targets["resolution"].calendar == "business"


def test_config_without_sla_has_only_the_24x7_calendar(config):
    assert config.sla.policies == ()
    assert list(config.sla.calendars) == ["24x7"]


def test_config_errors_carry_the_file_and_the_key():
    config_error(DESK + policy('resolution = "3d"'), "sla.policy[0].resolution", "days are ambiguous", '"72h"')
    config_error(DESK + BUSINESS.replace("Europe/London", "Nowhere/Town"), "calendars.business.timezone",
                 "unknown time zone")
    config_error(DESK + policy(TWO + 'team = "sales"'), "sla.policy[0].team", "'sales' is not defined in [teams]")
    config_error(DESK + policy(TWO, escalate=esc('at = 50\nnotify = ["carol"]')), "sla.policy[0].escalate[0].notify[0]",
                 "'carol' is not an agent")


def test_config_uses_its_own_names_for_references():
    """Teams, services, categories and agents come from the same file."""
    text = DESK.replace("[teams.network]\n", "").replace('team = "network"', 'team = "ops"')
    config_error(text + policy(TWO + 'team = "network"'), "sla.policy[0].team", "major-incident, ops")
    ok = parse_config(DESK + policy(TWO, escalate=esc('at = 50\nnotify = ["bob", "team:major-incident"]')), PATH)
    assert ok.sla.policies[0].escalations[0].notify == ("bob", "team:major-incident")


def test_default_sla_toml_parses_on_its_own_and_has_four_policies():
    cfg = parse_sla(tomllib.loads(DEFAULT_SLA_TOML), teams=(), services=(), categories=(), agents=())
    names = [p.name for p in cfg.policies]
    assert len(names) == 4
    p1, p2, p3, p4 = cfg.policies
    assert p1.priorities == ("P1",) and p1.calendar == "24x7"
    assert p1.targets["first_response"].seconds == 15 * 60 and p1.targets["resolution"].seconds == 4 * 3600
    assert [(e.at, e.notify) for e in p1.escalations] == [(90, ("team", "leads")), (BREACH, ("leads",))]
    assert p2.priorities == ("P2",) and p2.calendar == "business"
    assert p2.targets["first_response"].seconds == 30 * 60
    assert [(e.at, e.notify) for e in p2.escalations] == [(75, ("assignee",)), (BREACH, ("team", "leads"))]
    assert p3.priorities == ("P3",) and p3.calendar == "business"
    assert p4.catch_all and p4.calendar == "business"
    for p in cfg.policies:
        assert set(p.targets) == set(METRICS)
        for e in p.escalations:
            assert e.reassign_team is None
            assert set(e.notify) <= {"assignee", "team", "leads"}
    business = cfg.calendars["business"]
    assert business.timezone == "UTC"
    # Mon-Fri 09:00-17:30; 25h30m (P3 resolution) is three business days
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert business.add(monday, p3.targets["resolution"].seconds) == datetime(2026, 11, 25, 17, 30, tzinfo=UTC)
    assert business.add(monday, p4.targets["resolution"].seconds) == datetime(2026, 11, 27, 17, 30, tzinfo=UTC)
    assert not business.is_open(datetime(2026, 12, 25, 10, 0, tzinfo=UTC))  # a holiday
    assert "set your local zone" in DEFAULT_SLA_TOML


def test_starter_config_has_the_default_policies():
    text = starter_config("ada", "Ada", None)
    assert DEFAULT_SLA_TOML in text
    config = parse_config(text, "s.toml")
    assert [p.name for p in config.sla.policies] == [
        p.name for p in parse_sla(tomllib.loads(DEFAULT_SLA_TOML), teams=(), services=(), categories=(), agents=()).policies
    ]
    assert len(config.sla.policies) == 4
    assert config.sla.match("P1", "ops", None, None).calendar == "24x7"
    assert config.sla.match("P4", "ops", None, None).catch_all
    assert config.sla.match(None, None, None, None).catch_all
    assert set(config.sla.calendars) == {"24x7", "business"}
    assert set(config.teams) == {"ops"}  # the defaults refer to nothing else


def test_readme_example_parses():
    readme = README.read_text(encoding="utf-8")
    section = readme.split("## Service levels (SLA policies)", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    cfg = sla(block)
    assert [p.name for p in cfg.policies] == ["P1 major incident", "Everything else"]
    p1 = cfg.policies[0]
    assert p1.pause_on == () and p1.escalations[0].reassign_team == "major-incident"
    assert readme.index("## Business calendars") < readme.index("## Service levels (SLA policies)")
