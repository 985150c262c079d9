"""Teams, agents, categories and services: mirrored from the config into the
database (so tickets can reference them) and cached for name <-> id lookups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deskconsole.core.errors import NotFound
from deskconsole.core.identity import SYSTEM
from deskconsole.models import Agent, Category, Service, Team

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk


@dataclass
class Directory:
    team_ids: dict[str, int] = field(default_factory=dict)
    team_names: dict[int, str] = field(default_factory=dict)
    agent_ids: dict[str, int] = field(default_factory=dict)
    agent_logins: dict[int, str] = field(default_factory=dict)
    agent_teams: dict[int, int | None] = field(default_factory=dict)
    category_ids: dict[str, int] = field(default_factory=dict)
    category_names: dict[int, str] = field(default_factory=dict)
    service_ids: dict[str, int] = field(default_factory=dict)
    service_names: dict[int, str] = field(default_factory=dict)
    service_teams: dict[int, int | None] = field(default_factory=dict)

    def load(self) -> None:
        self.team_ids = {t.name: t.id for t in Team.select(Team.id, Team.name)}
        self.team_names = {v: k for k, v in self.team_ids.items()}
        agents = list(Agent.select(Agent.id, Agent.login, Agent.team))
        self.agent_ids = {a.login: a.id for a in agents}
        self.agent_logins = {a.id: a.login for a in agents}
        self.agent_teams = {a.id: a.team_id for a in agents}
        self.category_ids = {c.name: c.id for c in Category.select(Category.id, Category.name)}
        self.category_names = {v: k for k, v in self.category_ids.items()}
        services = list(Service.select(Service.id, Service.name, Service.team))
        self.service_ids = {s.name: s.id for s in services}
        self.service_names = {s.id: s.name for s in services}
        self.service_teams = {s.id: s.team_id for s in services}

    # name -> id, with messages that list what exists
    def team(self, name: str) -> int:
        return _lookup(self.team_ids, name, "team")

    def agent(self, login: str) -> int:
        return _lookup(self.agent_ids, login, "agent")

    def category(self, name: str) -> int:
        return _lookup(self.category_ids, name, "category")

    def service(self, name: str) -> int:
        return _lookup(self.service_ids, name, "service")


def _lookup(mapping: dict, name: str, what: str) -> int:
    try:
        return mapping[name]
    except KeyError:
        choices = ", ".join(sorted(mapping)[:20]) or "none are configured"
        more = "" if len(mapping) <= 20 else f" (and {len(mapping) - 20} more)"
        raise NotFound(f"no {what} called {name!r}; known: {choices}{more}") from None


def sync_directory(desk: "Desk") -> bool:
    """Make the database's teams/agents/categories/services match the config.

    Reads first and writes only when something differs, so opening a desk is
    normally read-only. Returns True when it changed anything.
    """
    from deskconsole.core.txn import unit_of_work

    desk.directory.load()
    if not any(_apply(desk, spec, None) for spec in _SPECS):
        return False
    with unit_of_work(desk, SYSTEM, "config") as unit:
        for spec in _SPECS:  # teams first: agents and services point at them
            _apply(desk, spec, unit)
            desk.directory.load()
    return True


def _wanted_teams(desk):
    return {n: {"title": c.title, "email": c.email} for n, c in desk.config.teams.items()}


def _wanted_agents(desk):
    ids = desk.directory.team_ids
    return {
        login: {"name": c.name, "email": c.email, "role": c.role, "team_id": ids.get(c.team) if c.team else None}
        for login, c in desk.config.agents.items()
    }


def _wanted_categories(desk):
    return {n: {"title": t} for n, t in desk.config.categories.items()}


def _wanted_services(desk):
    ids = desk.directory.team_ids
    return {n: {"title": c.title, "team_id": ids.get(c.team) if c.team else None} for n, c in desk.config.services.items()}


# (model, key column, audit label, wanted rows)
_SPECS = (
    (Team, "name", "team", _wanted_teams),
    (Agent, "login", "agent", _wanted_agents),
    (Category, "name", "category", _wanted_categories),
    (Service, "name", "service", _wanted_services),
)


def _apply(desk: "Desk", spec, unit) -> int:
    """Count (unit is None) or make (unit given) the changes for one kind of row."""
    model, key, label, wanted_fn = spec
    wanted = wanted_fn(desk)
    column = getattr(model, key)
    rows = {getattr(r, key): r for r in model.select()}
    changes = 0
    for name, values in wanted.items():
        values = {**values, "active": True}
        row = rows.get(name)
        if row is None:
            changes += 1
            if unit:
                model.insert(**{key: name}, **values).execute()
                unit.audit(None, "config", f"{label}:{name}", None, "added")
            continue
        diff = {k: v for k, v in values.items() if getattr(row, k) != v}
        if diff:
            changes += 1
            if unit:
                model.update(**diff).where(column == name).execute()
                unit.audit(None, "config", f"{label}:{name}", None, _describe(diff))
    for name, row in rows.items():
        if name not in wanted and row.active:
            changes += 1
            if unit:
                model.update(active=False).where(column == name).execute()
                unit.audit(None, "config", f"{label}:{name}", "active", "removed from config")
    return changes


def _describe(diff: dict) -> str:
    return ", ".join(f"{k.removesuffix('_id')}={v}" for k, v in sorted(diff.items()))
