"""Every reference case in /work/shared/sla against the calendars of its README.

The calendars are parsed at test time from the README's ```toml block (not
copied into the project), so the test follows the shared spec as it changes.
"""

from __future__ import annotations

import json
import re
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from deskconsole.sla import Calendar

# tests/sla/<this file> -> parents[2] is the project root; shared/ is its sibling.
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "sla"
README = SHARED / "README.md"
CASES = SHARED / "business_hours_cases.jsonl"

if not (README.is_file() and CASES.is_file()):
    pytest.skip(
        f"shared SLA reference data not found: expected {README} and {CASES}",
        allow_module_level=True,
    )


def readme_calendar_tables() -> dict[str, dict]:
    """The ``[calendars.*]`` tables of the README's ```toml block."""
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1, f"expected exactly one ```toml block in {README}"
    return tomllib.loads(blocks[0])["calendars"]


def load_cases() -> list[tuple[int, dict]]:
    lines = CASES.read_text(encoding="utf-8").splitlines()
    return [(n, json.loads(line)) for n, line in enumerate(lines, 1) if line.strip()]


TABLES = readme_calendar_tables()
CALS = {name: Calendar.from_config(table, name=name) for name, table in TABLES.items()}
ALL_CASES = load_cases()


def test_reference_data_is_complete():
    """Guard against a silently empty parametrisation."""
    assert len(ALL_CASES) == 400
    assert set(TABLES) == {
        "weekdays_9_17", "24x7", "weekdays_9_17_holidays", "berlin_office", "newyork_extended",
    }
    assert {case["calendar"] for _, case in ALL_CASES} <= set(CALS)


@pytest.mark.parametrize(
    "case",
    [pytest.param(case, id=f"L{n:03d}-{case['calendar']}") for n, case in ALL_CASES],
)
def test_reference_case(case):
    cal = CALS[case["calendar"]]
    start = datetime.fromisoformat(case["start"])
    expected = datetime.fromisoformat(case["expected_due"])
    seconds = case["seconds"]

    due = cal.add(start, seconds)
    assert due == expected
    assert due.utcoffset() == timedelta(0)
    assert cal.between(start, expected) == seconds
    if seconds:  # "earliest": one second earlier, one business second is still missing
        assert cal.between(start, expected - timedelta(seconds=1)) == seconds - 1


def test_builtin_always_matches_readme_24x7():
    always = Calendar.always()
    for _, case in ALL_CASES:
        if case["calendar"] == "24x7":
            start = datetime.fromisoformat(case["start"])
            assert always.add(start, case["seconds"]) == datetime.fromisoformat(case["expected_due"])
