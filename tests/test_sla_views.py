"""Every SLA metric visible and queryable: ``show`` (text and JSON), the ``ls``
SLA column, ``sla:`` and ``sort:due`` in the query language, and the CLI end
to end — on a real SQLite desk with SLA policies and a manual clock."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import datetime, timezone

import pytest

from deskconsole.cli import output
from deskconsole.cli.main import main
from deskconsole.cli.output import print_detail, print_tickets
from deskconsole.config import parse_config
from deskconsole.core.records import tickets
from deskconsole.core.clock import ManualClock
from deskconsole.core.search.query import QueryError, select_tickets
from deskconsole.core.automation.sweep import sweep
from deskconsole.core.records.views import SUMMARY_COLUMNS, ClockView, detail, summary
from deskconsole.models import Ticket

UTC = timezone.utc
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday; the conftest clock starts here

SLA_TOML = """
[calendars.business]
timezone = "UTC"
hours = { mon = ["09:00-17:00"], tue = ["09:00-17:00"], wed = ["09:00-17:00"], thu = ["09:00-17:00"], fri = ["09:00-17:00"] }

[sla]
warn = [50, 75, 90]

[[sla.policy]]
name = "P1 major incident"
priority = "P1"
first_response = "15m"
resolution = "4h"

[[sla.policy.escalate]]
at = 90
notify = ["team"]

[[sla.policy.escalate]]
at = "breach"
notify = ["assignee", "ada"]

[[sla.policy]]
name = "Everything else"
calendar = "business"
first_response = "1h"
resolution = "8h"
"""


@pytest.fixture
def config(config_text):
    """The test desk with SLA policies (overrides conftest's ``config``, so
    ``desk`` and ``actors`` use it)."""
    return parse_config(config_text + SLA_TOML, "test.toml")


def at(hh: int, mm: int = 0, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=UTC)


def goto(clock: ManualClock, when: datetime) -> None:
    assert when >= clock(), "the clock only moves forward here"
    clock.set(when)


def show_text(desk, key: str) -> list[str]:
    out = io.StringIO()
    now = desk.now()
    print_detail(detail(desk, key, now), "text", now, out=out)
    return out.getvalue().splitlines()


def show_json(desk, key: str) -> dict:
    out = io.StringIO()
    now = desk.now()
    print_detail(detail(desk, key, now), "json", now, out=out)
    return json.loads(out.getvalue())


def section(lines: list[str], title: str) -> list[str]:
    """The indented lines under a section heading of ``show``."""
    if title not in lines:
        return []
    body = []
    for line in lines[lines.index(title) + 1:]:
        if not line.startswith("  "):
            break
        body.append(line)
    return body


def ls(desk, text: str = "", fmt: str = "table", out=None) -> str:
    now = desk.now()
    rows = select_tickets(desk, text, actor_login="ada", now=now).select(*SUMMARY_COLUMNS)
    out = out or io.StringIO()
    print_tickets([summary(desk, t) for t in rows], fmt, now, out=out)
    return out.getvalue()


def keys(desk, text: str = "") -> list[str]:
    return [row["key"] for row in json.loads(ls(desk, text, "json"))]


# ---------------------------------------------------------------- a queue with every kind of clock


@pytest.fixture
def queue(desk, actors, clock):
    """Seven tickets, looked at on Monday 23 November 2026 at 10:30 UTC after a sweep.

    INC-1 P1, nobody answered: first response breached at 09:15 (escalated), resolution running
    INC-2 P3, taken at 09:10: first response met, resolution running (due 17:00)
    INC-3 P3, taken at 09:05, pending since 09:30: resolution paused
    INC-4 P2, resolved at 09:20: both met
    INC-5 P4, cancelled at 09:20: both clocks cancelled, so no SLA summary
    INC-6 P1, opened 10:00, answered 10:01: resolution running (due 14:00)
    INC-7 P3, opened 10:00: first response at 50% (warning, due 11:00)
    """
    ada, al, lee = actors["ada"], actors["al"], actors["lee"]
    assert clock() == START
    for title, prio in [("Checkout down", "P1"), ("Printer jammed", "P3"), ("Laptop battery", "P3"),
                        ("VPN access", "P2"), ("Duplicate request", "P4")]:
        tickets.create(desk, ada, title=title, priority=prio)
    goto(clock, at(9, 5))
    tickets.take(desk, al, "INC-3")
    goto(clock, at(9, 10))
    tickets.take(desk, al, "INC-2")
    goto(clock, at(9, 20))
    tickets.resolve(desk, al, "INC-4", "fixed")
    tickets.cancel(desk, lee, "INC-5", "raised twice")
    goto(clock, at(9, 30))
    tickets.set_status(desk, al, "INC-3", "pending")
    goto(clock, at(10, 0))
    tickets.create(desk, ada, title="Payments slow", priority="P1")
    tickets.create(desk, ada, title="Wiki down", priority="P3")
    goto(clock, at(10, 1))
    tickets.reply(desk, al, "INC-6", "Looking into it")
    goto(clock, at(10, 30))
    sweep(desk)
    return desk


def test_show_lists_every_clock_breached_and_running(queue):
    lines = show_text(queue, "INC-1")
    assert section(lines, "Service levels") == [
        ("  first response  breached  1h 15m overdue   600% used  was due 2026-11-23 09:15:00 UTC (1 h ago)"
         "  policy P1 major incident"),
        ("  resolution      running   2h 30m left       37% used  due 2026-11-23 13:00:00 UTC (in 2 h)"
         "  policy P1 major incident"),
    ]
    assert section(lines, "Notifications") == [
        "  2026-11-23 10:30:00 UTC  queued  ops@example.com  [INC-1] P1 first response at 90%: Checkout down",
        "  2026-11-23 10:30:00 UTC  queued  ada@example.com  [INC-1] P1 first response BREACHED: Checkout down",
    ]
    # the sections sit between the fields and the description... and before the conversation
    assert lines.index("Service levels") < lines.index("Notifications") < lines.index("Conversation (0)")


def test_show_met_and_warning(queue):
    assert section(show_text(queue, "INC-7"), "Service levels") == [
        ("  first response  warning   30m 00s left      50% used  due 2026-11-23 11:00:00 UTC (in 30 min)"
         "  policy Everything else"),
        # 7 business hours left on Monday, the eighth on Tuesday morning
        ("  resolution      running   7h 30m left        6% used  due 2026-11-24 10:00:00 UTC (in 23 h)"
         "  policy Everything else"),
    ]
    assert section(show_text(queue, "INC-4"), "Service levels") == [
        ("  first response  met       40m 00s left      33% used  met 2026-11-23 09:20:00 UTC (1 h ago)"
         "  policy Everything else"),
        ("  resolution      met       7h 40m left        4% used  met 2026-11-23 09:20:00 UTC (1 h ago)"
         "  policy Everything else"),
    ]
    assert "Notifications" not in show_text(queue, "INC-4")  # only when there are any


def test_show_paused_says_since_when_and_what_is_left(queue):
    assert section(show_text(queue, "INC-3"), "Service levels") == [
        ("  first response  met       55m 00s left       8% used  met 2026-11-23 09:05:00 UTC (1 h ago)"
         "  policy Everything else"),
        ("  resolution      paused    7h 30m left        6% used  paused since 2026-11-23 09:30:00 UTC (1 h ago)"
         "  policy Everything else"),
    ]
    clocks = show_json(queue, "INC-3")["clocks"]
    assert clocks[1]["paused_seconds"] == 3600  # 09:30-10:30, business time
    assert clocks[1]["due_at"] is None and clocks[1]["paused_since"] == "2026-11-23T09:30:00+00:00"


def test_show_cancelled_clocks(queue):
    assert section(show_text(queue, "INC-5"), "Service levels") == [
        ("  first response  cancelled 40m 00s left      33% used  cancelled 2026-11-23 09:20:00 UTC (1 h ago)"
         "  policy Everything else"),
        ("  resolution      cancelled 7h 40m left        4% used  cancelled 2026-11-23 09:20:00 UTC (1 h ago)"
         "  policy Everything else"),
    ]


def test_show_a_breached_clock_that_stopped_says_when(queue, actors, clock):
    goto(clock, at(10, 40))
    tickets.reply(queue, actors["al"], "INC-1", "On it")
    lines = section(show_text(queue, "INC-1"), "Service levels")
    assert lines[0] == (
        "  first response  breached  1h 25m overdue   666% used  was due 2026-11-23 09:15:00 UTC (1 h ago),"
        " stopped 2026-11-23 10:40:00 UTC (0 s ago)  policy P1 major incident"
    )


def test_show_json_clocks_and_notifications(queue):
    t = show_json(queue, "INC-1")
    assert t["sla"] == "breached" and t["sla_due"] == "2026-11-23T09:15:00+00:00"
    assert t["clocks"] == [
        {
            "metric": "first_response", "state": "breached", "policy": "P1 major incident", "calendar": "24x7",
            "target_seconds": 900, "used_seconds": 5400, "left_seconds": -4500, "percent_used": 600,
            "due_at": "2026-11-23T09:15:00+00:00", "paused_seconds": 0, "paused_since": None,
            "started_at": "2026-11-23T09:00:00+00:00", "stopped_at": None,
            "breached_at": "2026-11-23T09:15:00+00:00",
        },
        {
            "metric": "resolution", "state": "running", "policy": "P1 major incident", "calendar": "24x7",
            "target_seconds": 14400, "used_seconds": 5400, "left_seconds": 9000, "percent_used": 37,
            "due_at": "2026-11-23T13:00:00+00:00", "paused_seconds": 0, "paused_since": None,
            "started_at": "2026-11-23T09:00:00+00:00", "stopped_at": None, "breached_at": None,
        },
    ]
    assert [(n["state"], n["recipients"], n["channel"]) for n in t["notifications"]] == [
        ("queued", "ops@example.com", "mail"), ("queued", "ada@example.com", "mail"),
    ]
    assert t["notifications"][1]["subject"] == "[INC-1] P1 first response BREACHED: Checkout down"
    assert t["notifications"][0]["created_at"] == "2026-11-23T10:30:00+00:00"

    g = show_json(queue, "INC-7")
    assert [(c["metric"], c["state"], c["percent_used"], c["left_seconds"]) for c in g["clocks"]] == [
        ("first_response", "warning", 50, 1800), ("resolution", "running", 6, 27000),
    ]
    assert g["sla"] == "warning" and g["notifications"] == []
    assert show_json(queue, "INC-5")["sla"] is None  # cancelled clocks leave no summary


def test_detail_is_plain_dataclasses(queue):
    d = detail(queue, "INC-1")
    assert all(type(c) is ClockView for c in d.clocks)
    assert [c.label for c in d.clocks] == ["first response", "resolution"]
    assert not any(hasattr(c, "_meta") for c in [*d.clocks, *d.notifications])  # no Peewee rows


# ---------------------------------------------------------------- ls


def test_ls_table_has_an_sla_column(queue):
    assert ls(queue).splitlines() == [
        "KEY    PRIO  STATUS       ASSIGNEE  TEAM  AGE     SLA         TITLE",
        "INC-1  P1    new          -         ops   1 h     BREACH -1h  Checkout down",
        "INC-7  P3    new          -         ops   30 min  warn 30m    Wiki down",
        "INC-6  P1    new          -         ops   30 min  ok 3h 30m   Payments slow",
        "INC-2  P3    in_progress  al        ops   1 h     ok 6h 30m   Printer jammed",
        "INC-4  P2    resolved     al        ops   1 h     met         VPN access",
        "INC-3  P3    pending      al        ops   1 h     paused      Laptop battery",
        "INC-5  P4    cancelled    -         ops   1 h     -           Duplicate request",
    ]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_ls_table_fits_80_columns_on_a_terminal(queue, actors, monkeypatch):
    tickets.create(queue, actors["ada"], title="A very long title " * 6, priority="P2", team="network")
    monkeypatch.setattr(output.shutil, "get_terminal_size", lambda fallback=None: os.terminal_size((80, 24)))
    lines = ls(queue, out=_Terminal()).splitlines()
    assert len(lines) == 9
    assert max(len(line) for line in lines) <= 80, lines
    long = next(line for line in lines if line.startswith("INC-8 "))
    assert long.endswith("…")  # the title gives way, the SLA column does not
    assert long.split()[:11] == ["INC-8", "P2", "new", "-", "network", "0", "s", "ok", "1h", "00m", "A"]


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "0s"), (45, "45s"), (-59, "-59s"), (60, "1m"), (12 * 60 + 59, "12m"), (3600, "1h 00m"),
     (3 * 3600 + 10 * 60, "3h 10m"), (10 * 3600, "10h"), (47 * 3600 + 3599, "47h"), (48 * 3600, "2d"),
     (-5 * 60, "-5m")],
)
def test_compact_countdown(seconds, text):
    assert output._compact(seconds) == text


def test_compact_countdown_for_breaches_is_coarse():
    assert output._compact(-(3 * 3600 + 10 * 60), coarse=True) == "-3h"
    assert output._compact(-5 * 60, coarse=True) == "-5m"
    assert output._compact(-9 * 86400, coarse=True) == "-9d"


def test_ls_json_and_csv_carry_sla_and_due(queue):
    rows = {r["key"]: r for r in json.loads(ls(queue, fmt="json"))}
    assert {k: (r["sla"], r["sla_due"]) for k, r in rows.items()} == {
        "INC-1": ("breached", "2026-11-23T09:15:00+00:00"),
        "INC-2": ("ok", "2026-11-23T17:00:00+00:00"),
        "INC-3": ("paused", None),
        "INC-4": ("met", None),
        "INC-5": (None, None),
        "INC-6": ("ok", "2026-11-23T14:00:00+00:00"),
        "INC-7": ("warning", "2026-11-23T11:00:00+00:00"),
    }
    table = list(csv.DictReader(io.StringIO(ls(queue, fmt="csv"))))
    assert [(r["key"], r["sla"], r["sla_due"]) for r in table] == [
        ("INC-1", "breached", "2026-11-23T09:15:00+00:00"),
        ("INC-7", "warning", "2026-11-23T11:00:00+00:00"),
        ("INC-6", "ok", "2026-11-23T14:00:00+00:00"),
        ("INC-2", "ok", "2026-11-23T17:00:00+00:00"),
        ("INC-4", "met", ""),
        ("INC-3", "paused", ""),
        ("INC-5", "", ""),
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("sla:breached", ["INC-1"]),
        ("sla:warning", ["INC-7"]),
        ("sla:warn", ["INC-7"]),
        ("sla:ok", ["INC-6", "INC-2"]),
        ("sla:paused", ["INC-3"]),
        ("sla:met", ["INC-4"]),
        ("sla:none", ["INC-5"]),
        ("sla:breached,warning", ["INC-1", "INC-7"]),
        ("-sla:none", ["INC-1", "INC-7", "INC-6", "INC-2", "INC-4", "INC-3"]),
        ("-sla:ok,paused,met", ["INC-1", "INC-7", "INC-5"]),
        ("is:open sla:ok,warning,breached", ["INC-1", "INC-7", "INC-6", "INC-2"]),
        ("is:open -sla:breached", ["INC-7", "INC-6", "INC-2", "INC-3"]),
    ],
)
def test_ls_sla_filter(queue, text, expected):
    assert keys(queue, text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        # soonest deadline first; no deadline (paused, met, no clocks) last, in key order
        ("sort:due", ["INC-1", "INC-7", "INC-6", "INC-2", "INC-3", "INC-4", "INC-5"]),
        ("sort:-due", ["INC-2", "INC-6", "INC-7", "INC-1", "INC-3", "INC-4", "INC-5"]),
        ("is:open sort:due", ["INC-1", "INC-7", "INC-6", "INC-2", "INC-3"]),
        # the default: deadline, then priority, then oldest first
        ("", ["INC-1", "INC-7", "INC-6", "INC-2", "INC-4", "INC-3", "INC-5"]),
        ("sort:prio", ["INC-1", "INC-6", "INC-4", "INC-2", "INC-3", "INC-7", "INC-5"]),
    ],
)
def test_ls_order(queue, text, expected):
    assert keys(queue, text) == expected


@pytest.mark.parametrize(
    "text, span",
    [
        ("sla:late", (4, 8)),
        ("is:open sla:ok,overdue", (15, 22)),
        ("-sla:brached", (5, 12)),
    ],
)
def test_bad_sla_value_points_at_it(queue, text, span):
    with pytest.raises(QueryError) as info:
        keys(queue, text)
    err = info.value
    assert (err.start, err.end) == span
    assert "use one of sla:breached, sla:warning, sla:ok, sla:paused, sla:met, sla:none" in str(err)
    assert err.render().splitlines()[-1] == "  " + " " * span[0] + "^" * (span[1] - span[0])


# ---------------------------------------------------------------- as of now, before the sweep


def test_a_passed_deadline_is_a_breach_before_the_sweep_records_it(desk, actors, clock):
    tickets.create(desk, actors["ada"], title="Checkout down", priority="P1")
    goto(clock, at(9, 20))  # first response was due at 09:15; no sweep yet
    assert Ticket.get_by_id(1).sla == "ok"  # what the row says...
    assert section(show_text(desk, "INC-1"), "Service levels")[0] == (
        "  first response  breached  5m 00s overdue   133% used  was due 2026-11-23 09:15:00 UTC (5 min ago)"
        "  policy P1 major incident"
    )
    assert show_json(desk, "INC-1")["sla"] == "breached"  # ...and what it is now
    assert ls(desk).splitlines()[1].split()[5:] == ["20", "min", "BREACH", "-5m", "Checkout", "down"]
    assert keys(desk, "sla:breached") == ["INC-1"] and keys(desk, "sla:ok") == []
    assert keys(desk, "-sla:breached") == []
    assert json.loads(ls(desk, fmt="json"))[0]["sla"] == "breached"
    sweep(desk)
    assert Ticket.get_by_id(1).sla == "breached"
    assert keys(desk, "sla:breached") == ["INC-1"]


def test_warning_then_met(desk, actors, clock):
    tickets.create(desk, actors["ada"], title="Checkout down", priority="P1")
    goto(clock, at(9, 12))  # 80% of 15 minutes
    sweep(desk)
    assert ls(desk).splitlines()[1].split()[5:] == ["12", "min", "warn", "3m", "Checkout", "down"]
    assert keys(desk, "sla:warning") == ["INC-1"]
    tickets.take(desk, actors["al"], "INC-1")
    tickets.resolve(desk, actors["al"], "INC-1", "fixed")
    assert keys(desk, "sla:met") == ["INC-1"] and keys(desk, "sla:warning") == []
    assert [line[2:31] for line in section(show_text(desk, "INC-1"), "Service levels")] == [
        "first response  met       3m ",
        "resolution      met       3h ",
    ]


# ---------------------------------------------------------------- the command line, end to end


class _Cli:
    def __init__(self, tmp_path, db_url, monkeypatch, capsys, clock: ManualClock, config_text: str):
        config = tmp_path / "config.toml"
        config.write_text(config_text, encoding="utf-8")
        from deskconsole.config import parse_config
        from deskconsole.core.desk import open_desk

        open_desk(db_url, parse_config(config_text, config)).close()  # created by its admin
        self.base = ["--config", str(config), "--db", db_url]
        self.monkeypatch, self.capsys = monkeypatch, capsys
        for var in ("DESKCONSOLE_CONFIG", "DESKCONSOLE_DB"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setattr("deskconsole.cli.context.system_clock", clock)

    def __call__(self, *argv: str, user: str = "ada") -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main([*self.base, *argv], login=user)
        out, err = self.capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    def ok(self, *argv: str, user: str = "ada") -> str:
        code, out, err = self(*argv, user=user)
        assert code == 0, (argv, err)
        return out


def test_cli_end_to_end(tmp_path, db_url, monkeypatch, capsys, config_text):
    clock = ManualClock(START)
    cli = _Cli(tmp_path, db_url, monkeypatch, capsys, clock, config_text + SLA_TOML)
    assert cli.ok("new", "Checkout down", "--priority", "P1").strip() == "INC-1"
    assert cli.ok("new", "Printer jammed").strip() == "INC-2"  # P3: the business-hours policy
    clock.advance(5 * 60)
    cli.ok("reply", "INC-1", "On it", user="al")
    clock.advance(3 * 3600 + 40 * 60)  # 12:45: resolution of INC-1 at 93%, INC-2's first response long overdue
    assert "crossing(s)" in cli.ok("daemon", "--once")

    out = cli.ok("show", "INC-1")
    lines = out.splitlines()
    assert section(lines, "Service levels") == [
        ("  first response  met       10m 00s left      33% used  met 2026-11-23 09:05:00 UTC (3 h ago)"
         "  policy P1 major incident"),
        ("  resolution      warning   15m 00s left      93% used  due 2026-11-23 13:00:00 UTC (in 15 min)"
         "  policy P1 major incident"),
    ]
    assert section(lines, "Notifications") == [
        "  2026-11-23 12:45:00 UTC  queued  ops@example.com  [INC-1] P1 resolution at 90%: Checkout down",
    ]
    t = json.loads(cli.ok("show", "INC-1", "--format", "json"))
    assert [(c["metric"], c["state"], c["left_seconds"], c["percent_used"]) for c in t["clocks"]] == [
        ("first_response", "met", 600, 33), ("resolution", "warning", 900, 93),
    ]
    assert t["clocks"][1]["due_at"] == "2026-11-23T13:00:00+00:00"

    assert cli.ok("ls").splitlines() == [
        "KEY    PRIO  STATUS  ASSIGNEE  TEAM  AGE  SLA         TITLE",
        "INC-2  P3    new     -         ops   3 h  BREACH -2h  Printer jammed",
        "INC-1  P1    new     -         ops   3 h  warn 15m    Checkout down",
    ]
    rows = json.loads(cli.ok("ls", "sla:warning,ok", "--format", "json"))
    assert [(r["key"], r["sla"], r["sla_due"]) for r in rows] == [("INC-1", "warning", "2026-11-23T13:00:00+00:00")]
    assert [r["key"] for r in csv.DictReader(io.StringIO(cli.ok("ls", "-sla:breached", "--format", "csv")))] == ["INC-1"]
    assert [r["key"] for r in json.loads(cli.ok("ls", "sort:-due", "--format", "json"))] == ["INC-1", "INC-2"]

    code, out, err = cli("ls", "sla:late")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        ("deskconsole: unknown sla:late; use one of sla:breached, sla:warning, sla:ok, sla:paused, sla:met,"
         " sla:none (sla:none for tickets without SLA clocks)"),
        "  sla:late",
        "      ^^^^",
    ]


def test_help_mentions_sla_and_due(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "sla:breached" in text and "sort:due" in text
