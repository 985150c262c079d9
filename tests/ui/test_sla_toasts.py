"""SLA toasts: every crossing at once on a quiet desk, at most one message a
minute on a busy one — the rest told as a digest when the minute is over."""

from __future__ import annotations

from deskconsole.ui.sla_toasts import GAP, SlaToasts


def toasts_at(clock):
    return SlaToasts(now=clock)


def test_a_quiet_desk_hears_each_crossing_at_once(clock):
    t = toasts_at(clock)
    shown = t.add({1: "INC-1 first response breached (policy p1)", 2: "INC-2 resolution at 75% of 4h 00m (policy p2)"})
    assert [(x.title, x.message, x.severity) for x in shown] == [
        ("SLA", "INC-1 first response breached (policy p1)", "error"),
        ("SLA", "INC-2 resolution at 75% of 4h 00m (policy p2)", "warning"),
    ]
    clock.advance(seconds=GAP)
    assert [x.message for x in t.add({3: "INC-3 first response breached (policy p1)"})] == [
        "INC-3 first response breached (policy p1)"]
    assert t.due() == []


def test_a_burst_is_one_summary(clock):
    shown = toasts_at(clock).add({i: f"INC-{i} resolution breached (policy p1)" for i in range(1, 6)})
    assert len(shown) == 1
    assert shown[0].title == "SLA: 5 clocks crossed a threshold"
    assert shown[0].message.startswith("5 breached, 0 in warning — first: INC-1; INC-2; INC-3; INC-4 …")
    assert shown[0].severity == "error"


def test_crossings_within_the_gap_wait_and_come_as_one_digest(clock):
    t = toasts_at(clock)
    assert len(t.add({1: "INC-1 first response at 75% of 15m (policy p1)"})) == 1
    clock.advance(seconds=5)
    assert t.add({2: "INC-2 resolution at 50% of 4h 00m (policy p2)"}) == []
    clock.advance(seconds=5)
    # the same clock went on from 50 % to breached: told once, as breached
    assert t.add({2: "INC-2 resolution breached (policy p2)", 3: "INC-3 resolution at 90% of 8h 00m (policy p3)"}) == []
    clock.advance(seconds=GAP - 20)
    assert t.due() == []  # the minute is not over
    clock.advance(seconds=10)
    digest = t.due()
    assert len(digest) == 1
    assert digest[0].title == "SLA: 2 clocks crossed since 09:00:05 UTC"
    assert digest[0].message.startswith("1 breached, 1 in warning — first: INC-2 …")
    assert digest[0].severity == "error"
    assert t.due() == []  # told once
    clock.advance(seconds=1)
    assert t.add({4: "INC-4 resolution breached (policy p1)"}) == []  # the digest started a new minute


def test_a_held_single_crossing_is_told_as_itself(clock):
    t = toasts_at(clock)
    t.add({1: "INC-1 first response at 75% of 15m (policy p1)"})
    clock.advance(seconds=1)
    t.add({1: "INC-1 first response at 90% of 15m (policy p1)"})
    clock.advance(seconds=GAP)
    assert [(x.title, x.message, x.severity) for x in t.due()] == [
        ("SLA", "INC-1 first response at 90% of 15m (policy p1)", "warning")]


def test_nothing_crossed_shows_nothing(clock):
    t = toasts_at(clock)
    assert t.add({}) == [] and t.due() == []
    assert t.last is None  # an empty sweep does not start a quiet minute
