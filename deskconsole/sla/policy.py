"""SLA policies: the ``[calendars.*]`` and ``[sla]`` sections of the desk config.

:func:`parse_sla` reads the whole parsed TOML document and returns an
:class:`SlaConfig`: the named business calendars (always with the built-in
``24x7``) and the policies, in config order.  A ticket gets the first policy
whose criteria (priority, team, service, category; an absent criterion
matches anything) all match it.

Every mistake raises :class:`PolicyError` with the dotted key
(``sla.policy[2].resolution``) and a message that says what was expected;
``deskconsole.config`` turns it into a ``ConfigError`` naming the file.

Pure stdlib plus :mod:`deskconsole.sla.calendar`: no database, no UI.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time

from .calendar import Calendar, CalendarError

__all__ = [
    "BREACH",
    "DEFAULT_PAUSE_ON",
    "DEFAULT_WARN",
    "METRICS",
    "PAUSABLE_STATUSES",
    "PRIORITIES",
    "Escalation",
    "Policy",
    "PolicyError",
    "SlaConfig",
    "Target",
    "format_duration",
    "parse_duration",
    "parse_sla",
]

METRICS = ("first_response", "resolution")
DEFAULT_WARN = (50, 75, 90)
DEFAULT_PAUSE_ON = ("pending",)
BREACH = 100  # the "threshold" percent that means the deadline itself

PRIORITIES = ("P1", "P2", "P3", "P4")
PAUSABLE_STATUSES = ("new", "assigned", "in_progress", "pending")
FINAL_STATUSES = ("resolved", "closed", "cancelled")
NOTIFY_KEYWORDS = ("assignee", "team", "leads")
ALWAYS = "24x7"
MAX_POLICY_NAME = 64
MAX_TARGET_SECONDS = 8760 * 3600  # a year of hours; beyond that a target is a typo

SLA_KEYS = ("warn", "pause_on", "policy")
POLICY_KEYS = (
    "name", "priority", "team", "service", "category", "calendar",
    "first_response", "resolution", "warn", "pause_on", "escalate",
)
TARGET_KEYS = ("target", "calendar")
ESCALATION_KEYS = ("at", "metric", "notify", "raise_priority", "reassign_team")
CRITERIA = ("priority", "team", "service", "category")

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")  # same rule as config names
_EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_DURATION_RE = re.compile(r"(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?")
_DAYS_RE = re.compile(r"(\d+)\s*(d|days?|w|weeks?)(?![a-z])")
DURATION_FORMS = '"45s", "15m", "4h", "1h30m" or a whole number of minutes'


class PolicyError(ValueError):
    """An invalid ``[calendars.*]`` or ``[sla]`` section.

    ``str(exc)`` (and ``exc.message``) is the message without the key;
    ``exc.key`` is the dotted key, e.g. ``sla.policy[2].resolution``.
    """

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key
        self.message = message


# --------------------------------------------------------------------------
# The typed objects
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    metric: str  # "first_response" | "resolution"
    seconds: int  # > 0: business seconds counted on `calendar`
    calendar: str  # calendar name; "24x7" (built in) = wall-clock time


@dataclass(frozen=True)
class Escalation:
    at: int  # 1..99 = percent of the target used; BREACH (100) = the deadline passed
    metric: str | None  # None = either metric
    notify: tuple[str, ...] = ()  # "assignee", "team", "leads", a login, "team:NAME" or an e-mail address
    raise_priority: str | None = None  # "P1".."P4", or "up" (one step)
    reassign_team: str | None = None  # a team name from [teams]

    def applies_to(self, metric: str) -> bool:
        return self.metric is None or self.metric == metric

    @property
    def at_breach(self) -> bool:
        return self.at == BREACH


@dataclass(frozen=True)
class Policy:
    name: str
    priorities: tuple[str, ...] = ()  # empty = any; same for the three below
    teams: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    calendar: str = ALWAYS
    targets: dict[str, Target] = field(default_factory=dict, hash=False)  # metric -> Target
    warn: tuple[int, ...] = DEFAULT_WARN  # ascending, each 1..99, no duplicates
    pause_on: tuple[str, ...] = DEFAULT_PAUSE_ON
    escalations: tuple[Escalation, ...] = ()

    def matches(self, priority: str | None, team: str | None, service: str | None, category: str | None) -> bool:
        """True if every criterion this policy sets holds (an unset one matches anything)."""
        for allowed, value in (
            (self.priorities, priority),
            (self.teams, team),
            (self.services, service),
            (self.categories, category),
        ):
            if allowed and value not in allowed:
                return False
        return True

    def thresholds(self, metric: str) -> tuple[int, ...]:
        """Ascending percents (< 100) at which something happens for ``metric``:
        the warnings plus the ``at`` of escalations that apply to it.
        Empty when the policy has no target for ``metric``."""
        if metric not in self.targets:
            return ()
        points = set(self.warn)
        points.update(e.at for e in self.escalations if e.at < BREACH and e.applies_to(metric))
        return tuple(sorted(points))

    def escalations_for(self, metric: str, at: int) -> tuple[Escalation, ...]:
        """The escalations (config order) that fire for ``metric`` at percent ``at``
        (``BREACH`` for the deadline)."""
        if metric not in self.targets:
            return ()
        return tuple(e for e in self.escalations if e.at == at and e.applies_to(metric))

    @property
    def catch_all(self) -> bool:
        return not (self.priorities or self.teams or self.services or self.categories)


def _always_calendars() -> dict[str, Calendar]:
    return {ALWAYS: _ALWAYS}


@dataclass(frozen=True)
class SlaConfig:
    calendars: dict[str, Calendar] = field(default_factory=_always_calendars, hash=False)  # always has "24x7"
    policies: tuple[Policy, ...] = ()

    def __post_init__(self):
        if ALWAYS not in self.calendars:
            object.__setattr__(self, "calendars", {ALWAYS: _ALWAYS, **self.calendars})

    def match(
        self, priority: str | None, team: str | None, service: str | None, category: str | None
    ) -> Policy | None:
        """The first policy (config order) matching the ticket, or None (no clocks)."""
        for policy in self.policies:
            if policy.matches(priority, team, service, category):
                return policy
        return None

    def policy(self, name: str) -> Policy | None:
        """The policy called ``name`` (ignoring case), or None."""
        folded = name.strip().casefold()
        for policy in self.policies:
            if policy.name.casefold() == folded:
                return policy
        return None

    def calendar(self, name: str) -> Calendar:
        """The calendar called ``name``; an unknown name gives the 24x7 calendar."""
        return self.calendars.get(name) or self.calendars[ALWAYS]


_ALWAYS = Calendar.always(ALWAYS)


# --------------------------------------------------------------------------
# Durations
# --------------------------------------------------------------------------


def parse_duration(value: object, key: str) -> int:
    """A target duration in seconds: ``"45s"``, ``"15m"``, ``"4h"``, ``"1h30m"``,
    or an integer number of minutes.  Raises :class:`PolicyError` naming ``key``."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        shown = f" ({value!r})" if isinstance(value, float) else ""
        raise PolicyError(key, f"expected a duration such as {DURATION_FORMS}, got {_kind(value)}{shown}")
    if isinstance(value, int):
        seconds = value * 60
        shown = repr(value)
    else:
        text = value.strip()
        shown = repr(value)
        if days := _DAYS_RE.search(text.lower()):
            n = int(days.group(1))
            unit = "weeks" if days.group(2).startswith("w") else "days"
            hours = n * 24 * (7 if unit == "weeks" else 1)
            raise PolicyError(
                key,
                f"{shown}: {unit} are ambiguous in business time (24 hours, or working days?); "
                f'give hours instead, e.g. "{hours}h" (business hours on the calendar)',
            )
        if text.startswith("-"):
            raise PolicyError(key, f"{shown} is negative; expected a duration more than zero, such as {DURATION_FORMS}")
        match = _DURATION_RE.fullmatch(text) if text else None
        if not match or not any(match.groups()):
            hint = f' (a number in quotes needs a unit, e.g. "{text}m")' if text.isdigit() else ""
            raise PolicyError(key, f"{shown} is not a duration; expected {DURATION_FORMS}{hint}")
        h, m, s = (int(g) if g else 0 for g in match.groups())
        seconds = h * 3600 + m * 60 + s
    if seconds <= 0:
        raise PolicyError(key, f"{shown} is not more than zero; expected a duration such as {DURATION_FORMS}")
    if seconds > MAX_TARGET_SECONDS:
        raise PolicyError(key, f"{shown} is longer than a year of hours; expected at most \"8760h\"")
    return seconds


def format_duration(seconds: int) -> str:
    """The config form of a duration: 5400 -> "1h30m", 45 -> "45s"."""
    h, rest = divmod(int(seconds), 3600)
    m, s = divmod(rest, 60)
    out = (f"{h}h" if h else "") + (f"{m}m" if m else "") + (f"{s}s" if s else "")
    return out or "0s"


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------


def parse_sla(
    data: dict,
    *,
    teams: Iterable[str],
    services: Iterable[str],
    categories: Iterable[str],
    agents: Iterable[str],
) -> SlaConfig:
    """Read ``data["calendars"]`` and ``data["sla"]`` (``data`` is the whole
    parsed TOML document) into an :class:`SlaConfig`.  Raises :class:`PolicyError`."""
    return _Parser(
        teams=list(teams), services=list(services), categories=list(categories), agents=list(agents)
    ).parse(data)


class _Parser:
    def __init__(self, *, teams, services, categories, agents):
        self.known = {"team": teams, "service": services, "category": categories}
        self.teams = teams
        self.agents = agents
        self.calendars: dict[str, Calendar] = {}

    # -- sections -----------------------------------------------------------

    def parse(self, data: Mapping) -> SlaConfig:
        self.calendars = self.parse_calendars(_table(data, "calendars", "calendars"))
        sla = _table(data, "sla", "sla")
        _unknown(sla, SLA_KEYS, "sla")
        warn = self.warn(sla["warn"], "sla.warn") if "warn" in sla else DEFAULT_WARN
        pause_on = self.pause_on(sla["pause_on"], "sla.pause_on") if "pause_on" in sla else DEFAULT_PAUSE_ON
        entries = _array_of_tables(sla, "policy", "sla.policy", "sla.policy")

        policies: list[Policy] = []
        seen: dict[str, int] = {}
        catch_all: int | None = None
        for i, body in enumerate(entries):
            key = f"sla.policy[{i}]"
            policy = self.policy(body, key, warn, pause_on)
            folded = policy.name.casefold()
            if folded in seen:
                j = seen[folded]
                raise PolicyError(
                    f"{key}.name",
                    f"{policy.name!r} is already the name of sla.policy[{j}] ({policies[j].name!r}); "
                    "expected a unique name (names are compared ignoring case)",
                )
            seen[folded] = i
            if catch_all is not None:
                first = policies[catch_all]
                raise PolicyError(
                    key,
                    f"policy {policy.name!r} can never match: the catch-all policy {first.name!r} "
                    f"(sla.policy[{catch_all}]) comes before it and matches every ticket; "
                    f"move {policy.name!r} above it, or give {first.name!r} a priority, team, service or category",
                )
            if policy.catch_all:
                catch_all = i
            policies.append(policy)
        return SlaConfig(calendars=self.calendars, policies=tuple(policies))

    def parse_calendars(self, section: Mapping) -> dict[str, Calendar]:
        calendars = {ALWAYS: _ALWAYS}
        for name, body in section.items():
            key = f"calendars.{name}"
            if name == ALWAYS:
                raise PolicyError(
                    key,
                    f'"{ALWAYS}" is the built-in calendar (open all the time, wall-clock) and cannot be '
                    "redefined; give your calendar another name",
                )
            if not _NAME_RE.match(name):
                raise PolicyError(
                    key, f"{name!r} is not a valid calendar name; use lower-case letters, digits, '_', '-' or '.'"
                )
            if not isinstance(body, Mapping):
                raise PolicyError(
                    key, f"expected a table ([calendars.{name}] with timezone, hours, holidays), got {_kind(body)}"
                )
            try:
                calendars[name] = Calendar.from_config(body, name=name)
            except CalendarError as exc:
                raise _from_calendar_error(exc, key) from None
        return calendars

    # -- one policy ---------------------------------------------------------

    def policy(self, body: object, key: str, warn: tuple[int, ...], pause_on: tuple[str, ...]) -> Policy:
        if not isinstance(body, Mapping):
            raise PolicyError(key, f"expected a table ([[sla.policy]]), got {_kind(body)}")
        label = body.get("name")
        label = label.strip() if isinstance(label, str) and label.strip() else None
        try:
            return self._policy(body, key, warn, pause_on)
        except PolicyError as exc:
            if label is None or exc.key == f"{key}.name":
                raise
            raise PolicyError(exc.key, f"{exc.message} (in policy {label!r})") from None

    def _policy(self, body: Mapping, key: str, warn, pause_on) -> Policy:
        _unknown(body, POLICY_KEYS, key)
        name = self.policy_name(body, f"{key}.name")
        criteria = {c: self.criterion(body, c, f"{key}.{c}") for c in CRITERIA}
        calendar = self.calendar_name(body.get("calendar", ALWAYS), f"{key}.calendar")
        targets = {
            metric: self.target(body[metric], metric, f"{key}.{metric}", calendar)
            for metric in METRICS
            if metric in body
        }
        if not targets:
            raise PolicyError(
                key,
                f"policy {name!r} has no targets; expected first_response and/or resolution, "
                'e.g. first_response = "30m"',
            )
        if "warn" in body:
            warn = self.warn(body["warn"], f"{key}.warn")
        if "pause_on" in body:
            pause_on = self.pause_on(body["pause_on"], f"{key}.pause_on")
        escalations = tuple(
            self.escalation(item, f"{key}.escalate[{i}]", targets)
            for i, item in enumerate(_array_of_tables(body, "escalate", f"{key}.escalate", "sla.policy.escalate"))
        )
        return Policy(
            name=name,
            priorities=criteria["priority"],
            teams=criteria["team"],
            services=criteria["service"],
            categories=criteria["category"],
            calendar=calendar,
            targets=targets,
            warn=warn,
            pause_on=pause_on,
            escalations=escalations,
        )

    def policy_name(self, body: Mapping, key: str) -> str:
        if "name" not in body:
            raise PolicyError(key, 'is missing; expected a name for the policy, e.g. name = "P1 major incident"')
        value = body["name"]
        if not isinstance(value, str):
            raise PolicyError(key, f"expected a string, got {_kind(value)}")
        value = value.strip()
        if not value:
            raise PolicyError(key, "is empty; expected a non-empty name")
        if len(value) > MAX_POLICY_NAME:
            raise PolicyError(key, f"is {len(value)} characters long; expected at most {MAX_POLICY_NAME}")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise PolicyError(key, f"{value!r} contains control characters; expected plain text")
        return value

    def criterion(self, body: Mapping, what: str, key: str) -> tuple[str, ...]:
        if what not in body:
            return ()
        values = _strings(body[what], key, f"a {what} name or a list of them")
        if not values:
            raise PolicyError(key, f"is an empty list, which matches nothing; leave {what} out to match any {what}")
        allowed = PRIORITIES if what == "priority" else self.known[what]
        for i, value in enumerate(values):
            if value not in allowed:
                item = key if isinstance(body[what], str) else f"{key}[{i}]"
                section = {"team": "teams", "service": "services", "category": "categories"}.get(what)
                if section is None:
                    raise PolicyError(item, f"{value!r} is not a priority; expected one of {', '.join(PRIORITIES)}")
                raise PolicyError(
                    item, f"{value!r} is not defined in [{section}]; expected one of {_listing(allowed, section)}"
                )
        return _dedupe(values)

    def calendar_name(self, value: object, key: str) -> str:
        if not isinstance(value, str):
            raise PolicyError(key, f"expected a calendar name (string), got {_kind(value)}")
        value = value.strip()
        if value not in self.calendars:
            defined = ", ".join(sorted(self.calendars))
            raise PolicyError(
                key, f"{value!r} is not a calendar; define [calendars.{value}] or use one of {defined}"
            )
        return value

    def target(self, value: object, metric: str, key: str, calendar: str) -> Target:
        if isinstance(value, Mapping):
            _unknown(value, TARGET_KEYS, key)
            if "target" not in value:
                raise PolicyError(f"{key}.target", f"is missing; expected a duration such as {DURATION_FORMS}")
            seconds = parse_duration(value["target"], f"{key}.target")
            if "calendar" in value:
                calendar = self.calendar_name(value["calendar"], f"{key}.calendar")
            return Target(metric, seconds, calendar)
        if isinstance(value, list):
            raise PolicyError(
                key,
                f"expected a duration such as {DURATION_FORMS}, or a table "
                f'{{ target = "4h", calendar = "{ALWAYS}" }}, got a list',
            )
        return Target(metric, parse_duration(value, key), calendar)

    def warn(self, value: object, key: str) -> tuple[int, ...]:
        expected = "a list of percents 1..99, e.g. [50, 75, 90]"
        if not isinstance(value, list):
            raise PolicyError(key, f"expected {expected}, got {_kind(value)}")
        seen: set[int] = set()
        for i, item in enumerate(value):
            item_key = f"{key}[{i}]"
            if isinstance(item, bool) or not isinstance(item, int):
                raise PolicyError(item_key, f"expected a whole percent 1..99, got {_kind(item)}")
            if item == BREACH:
                raise PolicyError(
                    item_key,
                    '100 is the deadline itself, not a warning; expected 1..99 '
                    '(to act on the deadline, add an escalation with at = "breach")',
                )
            if not 1 <= item <= 99:
                raise PolicyError(item_key, f"{item} is out of range; expected a percent 1..99")
            if item in seen:
                raise PolicyError(item_key, f"{item} is listed twice; expected each percent once")
            seen.add(item)
        return tuple(sorted(seen))

    def pause_on(self, value: object, key: str) -> tuple[str, ...]:
        expected = f"a list of statuses from {', '.join(PAUSABLE_STATUSES)} ([] = never pause)"
        if not isinstance(value, list):
            raise PolicyError(key, f"expected {expected}, got {_kind(value)}")
        for i, item in enumerate(value):
            item_key = f"{key}[{i}]"
            if not isinstance(item, str):
                raise PolicyError(item_key, f"expected a status string, got {_kind(item)}")
            if item in FINAL_STATUSES:
                raise PolicyError(
                    item_key,
                    f"{item!r} cannot pause a clock: clocks stop when a ticket is resolved, closed or cancelled; "
                    f"expected one of {', '.join(PAUSABLE_STATUSES)}",
                )
            if item not in PAUSABLE_STATUSES:
                raise PolicyError(item_key, f"{item!r} is not a status; expected one of {', '.join(PAUSABLE_STATUSES)}")
        return _dedupe(value)

    # -- escalations ----------------------------------------------------------

    def escalation(self, body: object, key: str, targets: Mapping[str, Target]) -> Escalation:
        if not isinstance(body, Mapping):
            raise PolicyError(key, f"expected a table ([[sla.policy.escalate]]), got {_kind(body)}")
        _unknown(body, ESCALATION_KEYS, key)
        at = self.at(body, f"{key}.at")
        metric = None
        if "metric" in body:
            metric = body["metric"]
            if not isinstance(metric, str):
                raise PolicyError(f"{key}.metric", f"expected a string, got {_kind(metric)}")
            if metric not in METRICS:
                raise PolicyError(
                    f"{key}.metric", f"{metric!r} is not a metric; expected one of {', '.join(METRICS)} "
                    "(leave metric out for both)"
                )
            if metric not in targets:
                have = ", ".join(targets)
                raise PolicyError(
                    f"{key}.metric",
                    f"the policy has no {metric} target, so this escalation could never fire; "
                    f"expected {have} (the policy's targets), or add a {metric} target to the policy",
                )
        notify = self.notify(body["notify"], f"{key}.notify") if "notify" in body else ()
        raise_priority = None
        if "raise_priority" in body:
            raise_priority = body["raise_priority"]
            if not isinstance(raise_priority, str):
                raise PolicyError(f"{key}.raise_priority", f"expected a string, got {_kind(raise_priority)}")
            if raise_priority not in (*PRIORITIES, "up"):
                raise PolicyError(
                    f"{key}.raise_priority",
                    f"{raise_priority!r} is not allowed; expected one of {', '.join(PRIORITIES)} "
                    '(raise to that priority) or "up" (one step, P4 -> P3 -> P2 -> P1)',
                )
        reassign_team = None
        if "reassign_team" in body:
            reassign_team = body["reassign_team"]
            if not isinstance(reassign_team, str):
                raise PolicyError(f"{key}.reassign_team", f"expected a team name (string), got {_kind(reassign_team)}")
            if reassign_team not in self.teams:
                raise PolicyError(
                    f"{key}.reassign_team",
                    f"{reassign_team!r} is not defined in [teams]; expected one of {_listing(self.teams, 'teams')}",
                )
        if not (notify or raise_priority or reassign_team):
            raise PolicyError(
                key, "has no action; expected at least one of notify (non-empty), raise_priority, reassign_team"
            )
        return Escalation(at=at, metric=metric, notify=notify, raise_priority=raise_priority, reassign_team=reassign_team)

    def at(self, body: Mapping, key: str) -> int:
        expected = 'a percent of the target 1..99, or "breach" for the deadline itself'
        if "at" not in body:
            raise PolicyError(key, f"is missing; expected {expected}")
        value = body["at"]
        if isinstance(value, str):
            if value.strip().lower() == "breach":
                return BREACH
            raise PolicyError(key, f"{value!r} is not allowed; expected {expected}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise PolicyError(key, f"expected {expected}, got {_kind(value)}")
        if value == BREACH:
            raise PolicyError(key, '100 is the deadline itself; use at = "breach" (numbers are 1..99)')
        if not 1 <= value <= 99:
            raise PolicyError(key, f"{value} is out of range; expected {expected}")
        return value

    def notify(self, value: object, key: str) -> tuple[str, ...]:
        expected = (
            'assignee, team, leads, a login from [agents], "team:NAME" or an e-mail address'
        )
        if isinstance(value, str):
            items, keys = [value], [key]
        elif isinstance(value, list):
            items, keys = value, [f"{key}[{i}]" for i in range(len(value))]
        else:
            raise PolicyError(key, f"expected a list of recipients ({expected}), got {_kind(value)}")
        out = []
        for item, item_key in zip(items, keys):
            if not isinstance(item, str):
                raise PolicyError(item_key, f"expected a recipient string ({expected}), got {_kind(item)}")
            item = item.strip()
            if item in NOTIFY_KEYWORDS or item in self.agents:
                out.append(item)
            elif item.startswith("team:"):
                team = item[len("team:"):].strip()
                if team not in self.teams:
                    raise PolicyError(
                        item_key,
                        f"{team!r} is not defined in [teams]; expected team:NAME with one of {_listing(self.teams, 'teams')}",
                    )
                out.append(f"team:{team}")
            elif "@" in item:
                if not _EMAIL_RE.match(item):
                    raise PolicyError(item_key, f"{item!r} is not an e-mail address; expected {expected}")
                out.append(item)
            else:
                hint = f" (did you mean 'team:{item}'?)" if item in self.teams else ""
                raise PolicyError(
                    item_key, f"{item!r} is not an agent, team or e-mail address; expected {expected}{hint}"
                )
        return _dedupe(out)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _from_calendar_error(exc: CalendarError, prefix: str) -> PolicyError:
    """``"calendars.x.hours.mon: msg"`` -> PolicyError("calendars.x.hours.mon", "msg")."""
    text = str(exc)
    if text.startswith(prefix):
        rest, sep, message = text[len(prefix):].partition(": ")
        if sep and (not rest or rest[0] in ".["):
            return PolicyError(prefix + rest, message)
    return PolicyError(prefix, text)


def _table(data: Mapping, name: str, key: str) -> Mapping:
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise PolicyError(key, f"expected a table ([{key}]), got {_kind(value)}")
    return value


def _array_of_tables(data: Mapping, name: str, key: str, header: str) -> list:
    value = data.get(name, [])
    if not isinstance(value, list):
        raise PolicyError(key, f"expected an array of tables ([[{header}]] sections), got {_kind(value)}")
    return value


def _unknown(data: Mapping, allowed: Iterable[str], prefix: str) -> None:
    allowed = sorted(allowed)
    for name in data:
        if name not in allowed:
            import difflib  # only when a name is wrong

            close = difflib.get_close_matches(str(name), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PolicyError(f"{prefix}.{name}", f"unknown key; expected one of {', '.join(allowed)}{hint}")


def _strings(value: object, key: str, expected: str) -> list[str]:
    if isinstance(value, str):
        return [value.strip()]
    if not isinstance(value, list):
        raise PolicyError(key, f"expected {expected}, got {_kind(value)}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise PolicyError(f"{key}[{i}]", f"expected a string, got {_kind(item)}")
        out.append(item.strip())
    return out


def _dedupe(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _listing(names: Iterable[str], section: str) -> str:
    return ", ".join(sorted(names)) or f"(no {section} defined yet)"


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (datetime, date, time)):
        return "a date/time"
    return type(value).__name__
