"""The service map: which services and configuration items depend on which.

Read from the desk's own directory rows (``desk.directory.rows["service"]``,
kept by ``deskconsole admin sync``), never from a config at hand; only active
rows count, and a dependency on a retired one is left out. Upstream of X is
what X depends on (and what that depends on, ...); downstream is what depends
on X. The config refuses cycles, so the map is a directed acyclic graph; a
service shared by two paths (a diamond) is counted once.

:func:`suggest_impact` turns the number of dependents into an impact
suggestion for an incident. It only suggests: nothing here writes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from deskconsole.errors import NotFound

if TYPE_CHECKING:
    from deskconsole.core.access.directory import Directory

LEVELS = ("high", "medium", "low")  # impact levels, the highest first
HIGH_FROM = 3  # this many services and items depending on one (directly or not): suggest high impact
MEDIUM_FROM = 1  # ... this many: medium
REASON_NAMES = 5  # dependents named in a suggestion's reason


@dataclass(frozen=True)
class MapEntry:
    """One active service or configuration item."""

    name: str
    title: str
    kind: str  # "service", or the item's type (host, database, queue ...)
    team: str | None
    depends_on: tuple[str, ...]  # direct, active ones only, sorted

    @property
    def is_item(self) -> bool:
        return self.kind != "service"


@dataclass(frozen=True)
class Related:
    """A service or item up- or downstream of another, ``depth`` steps away
    (1: direct) by the shortest path; ``via``: the direct neighbour it is
    reached through (None when direct)."""

    name: str
    title: str
    kind: str
    team: str | None
    depth: int
    via: str | None = None


@dataclass(frozen=True)
class MapNode:
    """The map as a tree for display: a service and, below it, what it depends
    on. A service met again further down is shown once more with ``seen``
    set and no children (its dependencies are listed where it first appears)."""

    entry: MapEntry
    children: tuple["MapNode", ...] = ()
    seen: bool = False


@dataclass(frozen=True)
class ImpactSuggestion:
    """A higher impact suggested for an incident on ``service``, and why."""

    level: str  # high | medium
    service: str
    dependents: tuple[str, ...]  # every service and item depending on it, nearest first
    reason: str  # "7 services depend on db-main: checkout, web, …"

    @property
    def text(self) -> str:
        return f"suggested: {self.level} — {self.reason}"


@dataclass
class ServiceMap:
    entries: dict[str, MapEntry] = field(default_factory=dict)  # name -> entry, in name order
    dependents: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> what depends on it directly

    @classmethod
    def from_directory(cls, directory: "Directory") -> "ServiceMap":
        rows = directory.rows.get("service", {})
        return cls.from_rows(rows.values(), directory.team_names)

    @classmethod
    def from_rows(cls, rows, team_names: dict[int, str] | None = None) -> "ServiceMap":
        """From the service table's rows (dicts of its columns); ``team_names``: team id -> name."""
        team_names = team_names or {}
        active = {r["name"]: r for r in rows if r.get("active", True)}
        entries: dict[str, MapEntry] = {}
        down: dict[str, list[str]] = {name: [] for name in active}
        for name in sorted(active):
            r = active[name]
            deps = tuple(sorted(d for d in set((r.get("depends_on") or "").split()) if d in active and d != name))
            entries[name] = MapEntry(name, r.get("title") or name, r.get("kind") or "service",
                                     team_names.get(r.get("team")), deps)
            for d in deps:
                down[d].append(name)
        return cls(entries, {name: tuple(sorted(v)) for name, v in down.items()})

    # ------------------------------------------------------------ lookups
    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def entry(self, name: str) -> MapEntry:
        try:
            return self.entries[name]
        except KeyError:
            known = sorted(self.entries)
            listed = ", ".join(known[:30]) + (f" (and {len(known) - 30} more)" if len(known) > 30 else "")
            raise NotFound(f"no service or configuration item called {name!r} on this desk; known: "
                           f"{listed or 'none (define [services.NAME] in the config, then deskconsole admin sync)'}"
                           ) from None

    def upstream(self, name: str, *, transitive: bool = True) -> list[Related]:
        """What ``name`` depends on (directly, or also through others), nearest first."""
        return self._walk(name, lambda n: self.entries[n].depends_on, transitive)

    def downstream(self, name: str, *, transitive: bool = True) -> list[Related]:
        """What depends on ``name`` (directly, or also through others), nearest first."""
        return self._walk(name, lambda n: self.dependents.get(n, ()), transitive)

    def _walk(self, name: str, step, transitive: bool) -> list[Related]:
        self.entry(name)
        found: dict[str, Related] = {}
        todo = deque((n, 1, None) for n in step(name))
        while todo:
            n, depth, via = todo.popleft()
            if n in found or n == name:
                continue
            e = self.entries[n]
            found[n] = Related(n, e.title, e.kind, e.team, depth, via)
            if transitive:
                todo.extend((m, depth + 1, via or n) for m in step(n))
        return sorted(found.values(), key=lambda r: (r.depth, r.name))

    def related(self, names: Iterable[str]) -> set[str]:
        """``names``, what they depend on and what depends on them, directly or
        further (not sideways: two services that only share a database are not
        related through it). Names not on the map stand for themselves."""
        out = set(names)
        for name in list(out):
            if name in self.entries:
                out.update(r.name for r in self.upstream(name))
                out.update(r.name for r in self.downstream(name))
        return out

    # ------------------------------------------------------------ the tree
    def roots(self) -> list[str]:
        """What nothing depends on: the tops of the tree."""
        return [n for n in self.entries if not self.dependents.get(n)]

    def tree(self) -> list[MapNode]:
        """The map top-down: each root with what it depends on below it."""
        shown: set[str] = set()

        def node(name: str) -> MapNode:
            e = self.entries[name]
            if name in shown and e.depends_on:
                return MapNode(e, (), True)
            shown.add(name)
            return MapNode(e, tuple(node(d) for d in e.depends_on))

        return [node(r) for r in self.roots()]

    # ------------------------------------------------------------ impact
    def suggest_impact(self, name: str, current: str | None = None) -> ImpactSuggestion | None:
        """The impact an incident on ``name`` would get from the services and
        items depending on it (:data:`HIGH_FROM` or more: high; :data:`MEDIUM_FROM`
        or more: medium), when that is higher than ``current`` (or there is
        none). None when nothing depends on it or ``current`` is as high."""
        if name not in self.entries:
            return None
        dependents = self.downstream(name)
        count = len(dependents)
        level = "high" if count >= HIGH_FROM else "medium" if count >= MEDIUM_FROM else None
        if level is None or (current in LEVELS and LEVELS.index(current) <= LEVELS.index(level)):
            return None
        return ImpactSuggestion(level, name, tuple(r.name for r in dependents), dependents_reason(name, dependents))


def dependents_reason(name: str, dependents: list[Related]) -> str:
    """``"7 services depend on db-main: checkout, web, …"`` (items counted apart:
    ``"2 services and 1 item depend on ..."``); the direct ones are named first."""
    services = sum(1 for r in dependents if r.kind == "service")
    items = len(dependents) - services
    parts = []
    if services:
        parts.append(f"{services} service{'s' if services != 1 else ''}")
    if items:
        parts.append(f"{items} item{'s' if items != 1 else ''}")
    verb = "depends" if len(dependents) == 1 else "depend"
    names = ", ".join(r.name for r in dependents[:REASON_NAMES]) + (", …" if len(dependents) > REASON_NAMES else "")
    return f"{' and '.join(parts)} {verb} on {name}: {names}"


def service_map(desk) -> ServiceMap:
    """The desk's map, from its directory as loaded when it opened."""
    return ServiceMap.from_directory(desk.directory)
