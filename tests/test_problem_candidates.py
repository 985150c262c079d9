"""Problem candidates: a planted cluster of similar incidents is found, noise
is not, and incidents a problem already explains, merged ones and old ones
are left out."""

from __future__ import annotations

import random

import pytest

from deskconsole.core.records import links, problems, tickets
from deskconsole.core.records.problem_candidates import candidates
from deskconsole.errors import ValidationError

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
         "quebec romeo sierra tango uniform victor whiskey xray yankee zulu amber cobalt ember frost garnet").split()


def _noise(rng: random.Random, n: int) -> list[str]:
    """Titles of three random words each: no two say the same thing."""
    return [" ".join(rng.sample(WORDS, 3)) + f" {i}" for i in range(n)]


def _make(desk, actor, titles, service):
    return [tickets.create(desk, actor, title=t, service=service).key for t in titles]


def test_a_planted_cluster_is_found_and_noise_is_not(desk, actors, clock):
    al = actors["al"]
    rng = random.Random(7)
    _make(desk, al, _noise(rng, 60), "mail")
    planted = _make(desk, al, [
        "Checkout page times out for user 1234", "checkout page times out (user 99)",
        "Checkout page times out again", "CHECKOUT PAGE TIMES OUT!!", "checkout page times out on mobile",
    ], "mail")
    elsewhere = _make(desk, al, ["Checkout page times out"] * 2, "vpn")  # another service, too few
    _make(desk, al, ["Printer jams", "printer jams on floor 2"], "vpn")  # too few
    found = candidates(desk, now=clock())
    assert len(found) == 1, [(c.group, c.words, c.size) for c in found]
    (c,) = found
    assert c.group == "service mail" and set(c.words) == {"checkout", "page", "times"}
    assert sorted(c.incidents) == sorted(planted) and c.sample == "checkout page times out on mobile"
    assert not set(elsewhere) & set(c.incidents)
    # two more on the other service make a cluster of their own
    elsewhere += _make(desk, al, ["checkout page times out today"], "vpn")
    assert {(c.group, c.size) for c in candidates(desk, now=clock())} == {("service mail", 5), ("service vpn", 3)}
    assert [c.size for c in candidates(desk, now=clock(), min_size=4)] == [5]


def test_explained_merged_and_old_incidents_are_left_out(desk, actors, clock):
    al = actors["al"]
    old = _make(desk, al, ["Backup job fails nightly"] * 3, "mail")
    clock.advance(days=8)
    fresh = _make(desk, al, ["Backup job fails nightly"] * 3, "mail")
    assert [sorted(c.incidents) for c in candidates(desk, now=clock())] == [sorted(fresh)]
    assert len(candidates(desk, now=clock(), days=30)[0].incidents) == 6
    problems.create(desk, al, incidents=[fresh[0]])
    assert candidates(desk, now=clock()) == []  # two left: under the minimum
    assert len(candidates(desk, now=clock(), min_size=2)[0].incidents) == 2
    links.merge(desk, al, fresh[1], fresh[2])
    assert candidates(desk, now=clock(), min_size=2) == []
    assert old  # (made before the window)


def test_bad_windows_are_refused(desk):
    with pytest.raises(ValidationError, match="1 to 366 days"):
        candidates(desk, days=0)
    with pytest.raises(ValidationError, match="at least 2"):
        candidates(desk, min_size=1)
