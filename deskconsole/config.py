"""The desk's TOML configuration, read into typed, validated objects.

Every error names the file, the key and what was expected; nothing here
raises a traceback at a user for a typo.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deskconsole.errors import DeskError
from deskconsole.sla.policy import PolicyError, SlaConfig, parse_sla

ROLES = ("viewer", "agent", "lead", "admin")
LEVELS = ("high", "medium", "low")
PRIORITIES = ("P1", "P2", "P3", "P4")
DEFAULT_MATRIX = {
    "high": {"high": "P1", "medium": "P2", "low": "P3"},
    "medium": {"high": "P2", "medium": "P3", "low": "P4"},
    "low": {"high": "P3", "medium": "P4", "low": "P4"},
}
DEFAULT_RESOLUTION_CODES = (
    "fixed",
    "workaround",
    "no_fault_found",
    "duplicate",
    "known_error",
    "user_error",
    "cancelled_by_requester",
)
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


class ConfigError(DeskError):
    def __init__(self, path: Path | str | None, key: str | None, message: str):
        where = str(path) if path else "config"
        text = f"{where}: {key}: {message}" if key else f"{where}: {message}"
        super().__init__(text)
        self.path = path
        self.key = key


@dataclass(frozen=True)
class TeamConf:
    name: str
    title: str
    email: str | None = None


@dataclass(frozen=True)
class AgentConf:
    login: str
    name: str
    role: str
    email: str | None = None
    team: str | None = None


@dataclass(frozen=True)
class ServiceConf:
    """A service (``[services.NAME]``) or a configuration item it runs on
    (``[cis.NAME]``: a host, a database, a queue ...), with its owner team
    and what it depends on. Services and items share one name space."""

    name: str
    title: str
    team: str | None = None
    kind: str = "service"  # "service", or a configuration item's type
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    desk_name: str = "Service desk"
    database: str | None = None
    default_team: str | None = None
    default_priority: str = "P3"
    timezone: str | None = None  # the desk's days (see zone()); None = UTC
    teams: dict[str, TeamConf] = field(default_factory=dict)
    agents: dict[str, AgentConf] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)
    services: dict[str, ServiceConf] = field(default_factory=dict)  # and configuration items ([cis])
    changes: dict[str, Any] = field(default_factory=dict)  # [changes], normalised (deskconsole.change_policy)
    matrix: dict[str, dict[str, str]] = field(default_factory=lambda: DEFAULT_MATRIX)
    resolution_codes: tuple[str, ...] = DEFAULT_RESOLUTION_CODES
    sla: SlaConfig = field(default_factory=SlaConfig)  # calendars (always with 24x7) and policies
    auto_close_days: int = 0  # resolved tickets close after this many business days; 0 = never
    auto_close_calendar: str = "24x7"  # whose working days count
    review_days: int = 5  # a resolved P1/P2's post-incident review is due this many days later; 0 = none asked
    keys: dict[str, str] = field(default_factory=dict)  # console key remapping: binding id -> keys
    raw: dict[str, Any] = field(default_factory=dict)  # whole file, for sections read elsewhere (sla, calendars)

    def priority_for(self, impact: str, urgency: str) -> str:
        return self.matrix[impact][urgency]

    def zone(self):
        """The desk's time zone (``[desk] timezone``; UTC when none is set):
        whose days the query language's dates, the wallboard's "today" and
        the reports' days are."""
        from datetime import timezone
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.timezone) if self.timezone else timezone.utc


KNOWN_SECTIONS = {
    "desk", "teams", "agents", "categories", "services", "cis", "priority", "resolution", "sla", "calendars", "keys",
    "intake", "mail", "webhook", "changes",
}


def load_config(path: Path | str) -> Config:
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            path, None, "no such file; run 'deskconsole init' to write a starter config, or pass --config PATH"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(path, None, "is not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(path, None, f"cannot be read: {exc.strerror}") from None
    return parse_config(text, path)


def parse_config(text: str, path: Path | str | None = None) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, None, f"is not valid TOML: {exc}") from None
    return _Reader(path).read(data)


class _Reader:
    def __init__(self, path):
        self.path = path

    def fail(self, key: str, message: str):
        raise ConfigError(self.path, key, message)

    def table(self, data: dict, key: str, full: str) -> dict:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.fail(full, f"expected a table ([{full}]), got {_kind(value)}")
        return value

    def string(self, data: dict, key: str, full: str, *, required=False, default=None, choices=None):
        if key not in data:
            if required:
                self.fail(full, "is missing; expected a string")
            return default
        value = data[key]
        if not isinstance(value, str):
            self.fail(full, f"expected a string, got {_kind(value)}")
        value = value.strip()
        if required and not value:
            self.fail(full, "is empty; expected a non-empty string")
        if choices and value not in choices:
            self.fail(full, f"{value!r} is not allowed; expected one of {', '.join(choices)}")
        return value

    def name(self, name: str, full: str) -> str:
        if not NAME_RE.match(name):
            self.fail(full, f"{name!r} is not a valid name; use lower-case letters, digits, '_', '-' or '.'")
        return name

    def unknown(self, data: dict, allowed: set, prefix: str):
        for key in data:
            if key not in allowed:
                where = f"{prefix}.{key}" if prefix else key
                self.fail(where, f"unknown key; expected one of {', '.join(sorted(allowed))}")

    def email(self, data: dict, key: str, full: str):
        value = self.string(data, key, full)
        if value and not EMAIL_RE.match(value):
            self.fail(full, f"{value!r} is not an e-mail address")
        return value or None

    def read(self, data: dict) -> Config:
        self.unknown(data, KNOWN_SECTIONS, "")
        desk = self.table(data, "desk", "desk")
        self.unknown(desk, {"name", "database", "default_team", "default_priority", "timezone", "auto_close_days",
                            "auto_close_calendar", "review_days"}, "desk")
        close_days = desk.get("auto_close_days", 0)
        if not isinstance(close_days, int) or isinstance(close_days, bool) or not 0 <= close_days <= 365:
            self.fail("desk.auto_close_days", "expected a whole number of business days, 0 (never) to 365")
        close_calendar = self.string(desk, "auto_close_calendar", "desk.auto_close_calendar", default="24x7")
        review_days = desk.get("review_days", 5)
        if not isinstance(review_days, int) or isinstance(review_days, bool) or not 0 <= review_days <= 90:
            self.fail("desk.review_days", "expected a whole number of days, 0 (no reviews asked) to 90")

        teams = {}
        for name, body in self.table(data, "teams", "teams").items():
            full = f"teams.{name}"
            self.name(name, full)
            if not isinstance(body, dict):
                self.fail(full, f"expected a table, got {_kind(body)}")
            self.unknown(body, {"name", "email"}, full)
            teams[name] = TeamConf(
                name=name,
                title=self.string(body, "name", f"{full}.name", default=name),
                email=self.email(body, "email", f"{full}.email"),
            )

        agents = {}
        for login, body in self.table(data, "agents", "agents").items():
            full = f"agents.{login}"
            if not login.strip() or any(c.isspace() or ord(c) < 32 for c in login):
                self.fail(full, "a login cannot be empty or contain spaces or control characters")
            if not isinstance(body, dict):
                self.fail(full, f"expected a table, got {_kind(body)}")
            self.unknown(body, {"name", "email", "role", "team"}, full)
            team = self.string(body, "team", f"{full}.team")
            if team is not None and team not in teams:
                self.fail(f"{full}.team", f"{team!r} is not a team; define [teams.{team}] or use one of {_names(teams)}")
            agents[login] = AgentConf(
                login=login,
                name=self.string(body, "name", f"{full}.name", default=login),
                role=self.string(body, "role", f"{full}.role", default="agent", choices=ROLES),
                email=self.email(body, "email", f"{full}.email"),
                team=team,
            )

        categories = {}
        for name, title in self.table(data, "categories", "categories").items():
            full = f"categories.{name}"
            self.name(name, full)
            if not isinstance(title, str):
                self.fail(full, f"expected a display name (string), got {_kind(title)}")
            categories[name] = title.strip() or name

        services = {}
        for section in ("services", "cis"):
            for name, body in self.table(data, section, section).items():
                full = f"{section}.{name}"
                self.name(name, full)
                if name in services:
                    self.fail(full, f"{name!r} is already a service; services and configuration items share names")
                services[name] = self.service(section, name, body, teams)
        self.dependencies(services)

        default_team = self.string(desk, "default_team", "desk.default_team")
        if default_team is not None and default_team not in teams:
            self.fail("desk.default_team", f"{default_team!r} is not a team; use one of {_names(teams)}")

        try:
            sla = parse_sla(data, teams=teams, services=services, categories=categories, agents=agents)
        except PolicyError as exc:
            self.fail(exc.key, exc.message)

        if close_calendar not in sla.calendars:
            self.fail("desk.auto_close_calendar", f"{close_calendar!r} is not a calendar; use one of "
                      f"{', '.join(sorted(sla.calendars))} (or define [calendars.{close_calendar}])")
        return Config(
            path=Path(self.path) if self.path else None,
            desk_name=self.string(desk, "name", "desk.name", default="Service desk"),
            database=self.string(desk, "database", "desk.database"),
            default_team=default_team,
            default_priority=self.string(desk, "default_priority", "desk.default_priority", default="P3", choices=PRIORITIES),
            timezone=self.zone(desk, "timezone", "desk.timezone"),
            teams=teams,
            agents=agents,
            categories=categories,
            services=services,
            changes=self.changes(data, services=services, agents=agents, teams=teams,
                                 zone=self.zone(desk, "timezone", "desk.timezone")),
            matrix=self.matrix(self.table(data, "priority", "priority")),
            resolution_codes=self.codes(self.table(data, "resolution", "resolution")),
            sla=sla,
            auto_close_days=close_days,
            auto_close_calendar=close_calendar,
            review_days=review_days,
            keys=self.keys(self.table(data, "keys", "keys")),
            raw=data,
        )

    def service(self, section: str, name: str, body, teams) -> ServiceConf:
        full = f"{section}.{name}"
        if not isinstance(body, dict):
            self.fail(full, f"expected a table, got {_kind(body)}")
        is_item = section == "cis"
        self.unknown(body, {"name", "team", "depends_on"} | ({"type"} if is_item else set()), full)
        team = self.string(body, "team", f"{full}.team")
        if team is not None and team not in teams:
            self.fail(f"{full}.team", f"{team!r} is not a team; use one of {_names(teams)}")
        kind = "service"
        if is_item:
            kind = self.string(body, "type", f"{full}.type", required=True)
            if not NAME_RE.match(kind) or kind == "service":
                self.fail(f"{full}.type", f"{kind!r} is not a configuration item type; use a word such as "
                          "host, database or queue")
        depends = body.get("depends_on", [])
        if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
            self.fail(f"{full}.depends_on", f"expected a list of service or item names, got {_kind(depends)}")
        return ServiceConf(name, self.string(body, "name", f"{full}.name", default=name), team, kind,
                           tuple(dict.fromkeys(d.strip() for d in depends)))

    def dependencies(self, services: dict[str, ServiceConf]) -> None:
        """Every ``depends_on`` names a known service or item, never itself,
        and no chain of them comes back to where it started."""
        def full(name):
            return f"{'services' if services[name].kind == 'service' else 'cis'}.{name}.depends_on"

        for name, conf in services.items():
            for other in conf.depends_on:
                if other == name:
                    self.fail(full(name), f"{name!r} cannot depend on itself")
                if other not in services:
                    self.fail(full(name), f"{other!r} is not a service or configuration item; define "
                              f"[services.{other}] or [cis.{other}]")
        state: dict[str, int] = {}  # 1: on the path being walked, 2: done

        def walk(name, path):
            state[name] = 1
            for other in services[name].depends_on:
                if state.get(other) == 1:
                    cycle = path[path.index(other):] + [other]
                    self.fail(full(name), "the dependencies go round in a circle: " + " -> ".join(cycle))
                if other not in state:
                    walk(other, path + [other])
            state[name] = 2

        for name in services:
            if name not in state:
                walk(name, [name])

    def changes(self, data: dict, **known) -> dict[str, Any]:
        from deskconsole.change_policy import PolicyProblem, normalise

        try:
            return normalise(self.table(data, "changes", "changes"), **known)
        except PolicyProblem as exc:
            self.fail(exc.key, exc.message)

    def matrix(self, section: dict) -> dict:
        self.unknown(section, {"matrix"}, "priority")
        if "matrix" not in section:
            return DEFAULT_MATRIX
        matrix = self.table(section, "matrix", "priority.matrix")
        result = {}
        for impact in LEVELS:
            row = matrix.get(impact)
            key = f"priority.matrix.{impact}"
            if not isinstance(row, dict):
                self.fail(key, "is missing or not a table; expected { high = \"P1\", medium = \"P2\", low = \"P3\" }")
            self.unknown(row, set(LEVELS), key)
            result[impact] = {}
            for urgency in LEVELS:
                result[impact][urgency] = self.string(row, urgency, f"{key}.{urgency}", required=True, choices=PRIORITIES)
        self.unknown(matrix, set(LEVELS), "priority.matrix")
        return result

    def zone(self, data: dict, key: str, full: str) -> str | None:
        """An IANA time zone name such as "Europe/Berlin" (or "UTC")."""
        name = self.string(data, key, full)
        if name is None:
            return None
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            self.fail(full, f"{name!r} is not a time zone; give an IANA name such as \"Europe/Berlin\" or \"UTC\"")
        return name

    def keys(self, section: dict) -> dict[str, str]:
        """``"ticket.take" = "T"`` or ``"queue.down" = "j,down"``; ids are checked by the console."""
        for binding, keys in section.items():
            if not isinstance(keys, str) or not keys.strip():
                self.fail(f"keys.{binding}", f"expected keys as a string, e.g. \"T\" or \"j,down\"; got {_kind(keys)}")
        return {binding: keys.strip() for binding, keys in section.items()}

    def codes(self, section: dict) -> tuple[str, ...]:
        self.unknown(section, {"codes"}, "resolution")
        if "codes" not in section:
            return DEFAULT_RESOLUTION_CODES
        codes = section["codes"]
        if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
            self.fail("resolution.codes", "expected a non-empty list of strings, e.g. [\"fixed\", \"workaround\"]")
        for i, code in enumerate(codes):
            self.name(code, f"resolution.codes[{i}]")
        if "duplicate" not in codes:
            codes = [*codes, "duplicate"]  # merging needs it
        return tuple(codes)


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def _names(mapping: dict) -> str:
    return ", ".join(sorted(mapping)) or "(no teams defined yet)"
