"""The desk's directory: teams, agents (with their roles), categories and
services, kept in the desk's own database.

The database is where rights come from. The first directory comes from the
config of whoever creates the desk (:func:`seed_directory`); after that only a
desk admin changes it (:func:`apply_config`, audited as that admin's login).
Anyone else's config changes nothing: :func:`differences` names what it would
have changed, so the command can say so. Opening a desk never writes here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deskconsole.binding import on_desk
from deskconsole.errors import NotFound
from deskconsole.core.identity import SYSTEM, Actor
from deskconsole.models import Agent, Category, DeskSetting, Service, Team

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk


@dataclass(frozen=True)
class AgentEntry:
    login: str
    name: str
    role: str
    team: str | None
    active: bool
    email: str | None = None


@dataclass
class Directory:
    team_ids: dict[str, int] = field(default_factory=dict)
    team_names: dict[int, str] = field(default_factory=dict)
    agent_ids: dict[str, int] = field(default_factory=dict)
    agent_logins: dict[int, str] = field(default_factory=dict)
    agent_teams: dict[int, int | None] = field(default_factory=dict)
    agents: dict[str, AgentEntry] = field(default_factory=dict)
    category_ids: dict[str, int] = field(default_factory=dict)
    category_names: dict[int, str] = field(default_factory=dict)
    service_ids: dict[str, int] = field(default_factory=dict)
    service_names: dict[int, str] = field(default_factory=dict)
    service_teams: dict[int, int | None] = field(default_factory=dict)
    rows: dict[str, dict[str, dict]] = field(default_factory=dict)  # label -> name -> the row's columns
    _change_policy: object = field(default=None, repr=False)

    def load(self) -> None:
        self.rows = {label: {getattr(r, key): r.__data__ for r in model.select().order_by(model.id)}
                     for model, key, label, _ in _SPECS}
        teams, agents = self.rows["team"], self.rows["agent"]
        self.team_ids = {name: r["id"] for name, r in teams.items()}
        self.team_names = {v: k for k, v in self.team_ids.items()}
        self.agent_ids = {login: r["id"] for login, r in agents.items()}
        self.agent_logins = {v: k for k, v in self.agent_ids.items()}
        self.agent_teams = {r["id"]: r["team"] for r in agents.values()}
        self.agents = {login: AgentEntry(login, r["name"], r["role"], self.team_names.get(r["team"]), r["active"],
                                         r["email"]) for login, r in agents.items()}
        self.category_ids = {name: r["id"] for name, r in self.rows["category"].items()}
        self.category_names = {v: k for k, v in self.category_ids.items()}
        services = self.rows["service"]
        self.service_ids = {name: r["id"] for name, r in services.items()}
        self.service_names = {v: k for k, v in self.service_ids.items()}
        self.service_teams = {r["id"]: r["team"] for r in services.values()}
        self._change_policy = None

    @property
    def change_policy(self):
        """The desk's change policy (CAB, approvals, windows, templates): its
        own, kept with the directory, never a passed config's."""
        if self._change_policy is None:
            from deskconsole.change_policy import ChangePolicy

            row = self.rows.get("setting", {}).get("changes")
            self._change_policy = ChangePolicy.load(json.loads(row["value"]) if row and row["active"] else None)
        return self._change_policy

    @property
    def empty(self) -> bool:
        return not any(self.rows.values())

    def team_email(self, name: str | None) -> str | None:
        """The team's own address (None: no such team, or it has none)."""
        row = self.rows.get("team", {}).get(name) if name else None
        return row.get("email") if row else None

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


# ------------------------------------------------------------------ config -> database
@on_desk
def seed_directory(desk: "Desk") -> bool:
    """A new desk's first directory, from the config of whoever creates it.
    Does nothing once the desk has a directory. Returns True when it wrote."""
    desk.directory.load()
    if not desk.directory.empty:
        return False
    _write(desk, SYSTEM)
    return True


@on_desk
def apply_config(desk: "Desk", actor: Actor) -> list[str]:
    """Make the desk's directory match ``desk.config``: for desk admins only
    (by the database), audited as ``actor``. Returns what changed."""
    desk.directory.load()
    changed = differences(desk)
    if changed:
        _write(desk, actor)
    return changed


def has_say(config) -> bool:
    """Whether a config speaks for the directory at all: one that names no
    teams and no agents (a personal config: a database, keys) has no say."""
    return bool(config.agents or config.teams)


@on_desk
def differences(desk: "Desk") -> list[str]:
    """Where the config's directory and the desk's differ, as config keys:
    ``agents.bob`` (new or absent) or ``agents.bob.role`` (a value)."""
    out: list[str] = []
    for spec in _SPECS:
        out.extend(_changes(desk, spec))
    return out


def _write(desk: "Desk", actor: Actor) -> None:
    from deskconsole.core.txn import unit_of_work

    with unit_of_work(desk, actor, "config") as unit:
        for spec in _SPECS:  # teams first: agents and services point at them
            _apply(desk, spec, unit)
            desk.directory.load()


def _wanted_teams(desk):
    return {n: {"title": c.title, "email": c.email} for n, c in desk.config.teams.items()}


def _wanted_agents(desk):
    ids = desk.directory.team_ids
    return {
        login: {"name": c.name, "email": c.email, "role": c.role, "team": ids.get(c.team) if c.team else None}
        for login, c in desk.config.agents.items()
    }


def _wanted_categories(desk):
    return {n: {"title": t} for n, t in desk.config.categories.items()}


def _wanted_services(desk):
    ids = desk.directory.team_ids
    return {n: {"title": c.title, "team": ids.get(c.team) if c.team else None, "kind": c.kind,
                "depends_on": " ".join(sorted(c.depends_on))} for n, c in desk.config.services.items()}


def _wanted_settings(desk):
    return {"changes": {"value": json.dumps(desk.config.changes, sort_keys=True)}}


# (model, key column, audit label, wanted rows); the labels are also the config's section names less the "s"
_SPECS = (
    (Team, "name", "team", _wanted_teams),
    (Agent, "login", "agent", _wanted_agents),
    (Category, "name", "category", _wanted_categories),
    (Service, "name", "service", _wanted_services),
    (DeskSetting, "name", "setting", _wanted_settings),
)
_CONFIG_KEYS = {"title": "name"}  # a column's name in the config, where the two differ


def _plan(desk: "Desk", spec):
    """What the config would change in the rows of one kind: ``(name, new,
    columns)`` — the columns to set (all of them for a new row), or None for
    a row the config no longer has. Both reading the differences and writing
    them go by this one comparison."""
    _, _, label, wanted_fn = spec
    rows = desk.directory.rows.get(label, {})
    wanted = wanted_fn(desk)
    for name, values in wanted.items():
        values = {**values, "active": True}
        row = rows.get(name)
        columns = values if row is None else {k: v for k, v in values.items() if row[k] != v}
        if columns:
            yield name, row is None, columns
    for name, row in rows.items():
        if row["active"] and name not in wanted:
            yield name, False, None


def _changes(desk: "Desk", spec) -> list[str]:
    """The config keys where the config's rows of one kind differ from the database's."""
    label = spec[2]
    if label == "setting":  # one whole section each ([changes])
        return [name for name, _, _ in _plan(desk, spec)]
    section = "categories" if label == "category" else f"{label}s"
    out = []
    for name, new, columns in _plan(desk, spec):
        if new or columns is None or "active" in columns:  # added, removed or brought back: the whole entry
            out.append(f"{section}.{name}")
        else:
            out.extend(f"{section}.{name}.{_CONFIG_KEYS.get(k, k)}" for k in columns)
    return out


def _apply(desk: "Desk", spec, unit) -> None:
    model, key, label, _ = spec
    column = getattr(model, key)
    for name, new, columns in list(_plan(desk, spec)):
        if new:
            model.insert(**{key: name}, **columns).execute()
            unit.audit(None, "config", f"{label}:{name}", None, "added")
        elif columns is None:
            model.update(active=False).where(column == name).execute()
            unit.audit(None, "config", f"{label}:{name}", "active", "removed from config")
        else:
            model.update(**columns).where(column == name).execute()
            unit.audit(None, "config", f"{label}:{name}", None, _describe(columns, desk))


def _describe(diff: dict, desk: "Desk") -> str:
    names = desk.directory.team_names
    return ", ".join(f"{k}={names.get(v, v) if k == 'team' else v}" for k, v in sorted(diff.items()))
