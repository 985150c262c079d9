"""Problem candidates: clusters of similar incidents that no problem explains yet.

Incidents created in a window (default the last 7 days), not merged and
not linked to a problem, are grouped by service (or, with none, by
category); within a group, incidents whose titles say the same thing — the
same words once numbers, host names' digits and the commonest words are
left out (:func:`deskconsole.core.records.problems.words`), or word sets
that share at least :data:`SIMILAR` of their words — form a cluster. A
cluster of at least ``min_size`` incidents is a candidate, biggest first.

One indexed range read of the window's incidents (``created_at``) and the
clustering in memory: a week of a million-ticket desk is ~80,000 rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from deskconsole.binding import on_desk
from deskconsole.core.keys import ticket_key
from deskconsole.core.records.kinds import incidents, of_kind
from deskconsole.core.records.problems import KIND, LINK, words
from deskconsole.errors import ValidationError
from deskconsole.models import Link, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

SIMILAR = 0.6  # Jaccard similarity of two title word sets that join their clusters
FREQUENT = 500  # a word in more of a group's distinct titles than this does not pair them
MAX_DAYS = 366


@dataclass(frozen=True)
class Candidate:
    group: str  # "service vpn", "category network"
    words: tuple[str, ...]  # the words every incident of the cluster has
    incidents: list[str] = field(default_factory=list)  # keys, newest first
    first_at: datetime | None = None
    last_at: datetime | None = None
    sample: str = ""  # the newest incident's title

    @property
    def size(self) -> int:
        return len(self.incidents)


@on_desk
def candidates(desk: "Desk", *, now: datetime | None = None, days: int = 7, min_size: int = 3,
               limit: int = 20) -> list[Candidate]:
    """The clusters of at least ``min_size`` similar incidents created in the
    last ``days`` days that have no problem yet, biggest first."""
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(f"the window is 1 to {MAX_DAYS} days, not {days}")
    if min_size < 2:
        raise ValidationError("a cluster has at least 2 incidents")
    now = now or desk.now()
    explained = (Link.select(Link.source)
                 .where((Link.kind == LINK) & Link.target.in_(Ticket.select(Ticket.id).where(of_kind(KIND)))))
    query = (Ticket.select(Ticket.id, Ticket.title, Ticket.service, Ticket.category, Ticket.created_at)
             .where((Ticket.created_at > now - timedelta(days=days)) & (Ticket.created_at <= now)
                    & Ticket.merged_into.is_null() & incidents() & Ticket.id.not_in(explained))
             .order_by(Ticket.created_at.desc(), Ticket.id.desc()))
    d = desk.directory
    said: dict[str, frozenset] = {}  # a title's words (titles repeat: each is read once)
    # group -> words -> [(id, title, created)], newest first (as read)
    groups: dict[str, dict[frozenset, list[tuple]]] = defaultdict(lambda: defaultdict(list))
    names: dict[tuple, str | None] = {}
    # plain rows from the driver: a week of a big desk is hundreds of thousands of them
    for tid, title, service, category, created in desk.db.execute_sql(*query.sql()):
        where = (service, category)
        group = names.get(where)
        if where not in names:
            group = names[where] = (f"service {d.service_names.get(service, service)}" if service is not None else
                                    f"category {d.category_names.get(category, category)}" if category is not None
                                    else None)  # neither: nothing says they are about the same thing
        if group is None:
            continue
        ws = said.get(title)
        if ws is None:
            ws = said[title] = words(title)
        if ws:
            groups[group][ws].append((tid, title, created))
    found = []
    for group, by_words in groups.items():
        for cluster in _clusters(by_words):
            members = [m for ws in cluster for m in by_words[ws]]
            if len(members) >= min_size:
                members.sort(key=lambda m: (str(m[2]), m[0]), reverse=True)
                common = frozenset.intersection(*cluster)
                found.append(Candidate(group, tuple(sorted(common)), [ticket_key(m[0]) for m in members],
                                       _instant(members[-1][2]), _instant(members[0][2]), members[0][1]))
    found.sort(key=lambda c: (-c.size, -c.last_at.timestamp(), c.group))
    return found[:limit]


def _instant(value) -> datetime:
    """A timestamp as the driver gave it (SQLite: the stored text) as an aware datetime."""
    return Ticket.created_at.python_value(value)


def _clusters(by_words: dict[frozenset, list]) -> list[list[frozenset]]:
    """The word sets joined into clusters: equal sets are one already; two
    sets join when they share :data:`SIMILAR` of their words (union-find over
    the pairs that share a word)."""
    sets = list(by_words)
    parent = list(range(len(sets)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    having: dict[str, list[int]] = defaultdict(list)
    for i, ws in enumerate(sets):
        for w in ws:
            having[w].append(i)
    for i, ws in enumerate(sets):
        seen = set()
        for w in ws:
            if len(having[w]) > FREQUENT:  # in too many titles to say two are alike (and pairs would be many)
                continue
            for j in having[w]:
                if j <= i or j in seen:
                    continue
                seen.add(j)
                other = sets[j]
                if len(ws & other) >= SIMILAR * len(ws | other):
                    parent[root(j)] = root(i)
    out: dict[int, list[frozenset]] = defaultdict(list)
    for i, ws in enumerate(sets):
        out[root(i)].append(ws)
    return list(out.values())
