"""Where an alert goes: the ``[intake]`` section of the config.

    [intake]
    group_window = "5m"        # alerts of one service within 5 minutes share a ticket ("0m": never)
    resolve = true             # a ticket whose alerts have all cleared is resolved
    resolution_code = "fixed"
    alertmanager_key = "fingerprint"   # or "group": one ticket per Alertmanager group

    [[intake.route]]           # the first route whose labels match wins
    match = { alertname = "VPNDown" }        # these labels equal these values
    match_re = { instance = "vpn-.*" }       # these labels match these regular expressions (the whole value)
    team = "network"
    service = "vpn"
    category = "outage"
    impact = "high"
    urgency = "high"

    [intake.default]           # what an alert no route matches gets
    team = "ops"

Impact and urgency a route leaves out follow the alert's severity
(critical: high/high, error: high/medium, warning: medium/medium, info:
low/low). Every name is checked against the desk's directory when the intake
starts (:func:`check`), so a typo stops it with the key to fix, not the
first alert of an outage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from deskconsole.config import LEVELS, ConfigError
from deskconsole.core.inbound.alert_payloads import AlertEvent
from deskconsole.sla.policy import PolicyError, parse_duration

BY_SEVERITY = {
    "critical": ("high", "high"),
    "error": ("high", "medium"),
    "warning": ("medium", "medium"),
    "info": ("low", "low"),
}
TARGETS = ("team", "service", "category", "impact", "urgency")


@dataclass(frozen=True)
class Route:
    name: str  # "intake.route[2]" or "intake.default": what `intake rules` and the audit show
    match: tuple[tuple[str, str], ...] = ()
    match_re: tuple[tuple[str, re.Pattern], ...] = ()
    team: str | None = None
    service: str | None = None
    category: str | None = None
    impact: str | None = None
    urgency: str | None = None

    def matches(self, labels: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match) and all(
            k in labels and p.fullmatch(labels[k]) for k, p in self.match_re)

    def describe(self) -> str:
        conds = [f"{k} = {v!r}" for k, v in self.match] + [f"{k} ~ /{p.pattern}/" for k, p in self.match_re]
        sets = [f"{t} = {getattr(self, t)}" for t in TARGETS if getattr(self, t)]
        return f"{self.name}: {' and '.join(conds) or 'any alert'} -> {', '.join(sets) or '(the desk defaults)'}"


@dataclass(frozen=True)
class Rules:
    routes: tuple[Route, ...] = ()
    default: Route = field(default_factory=lambda: Route("intake.default"))
    group_window: int = 300  # seconds; 0 = never group
    resolve: bool = True
    resolution_code: str = "fixed"
    by_group: bool = False  # Alertmanager: one ticket per group (groupKey) instead of per alert

    def route(self, event: AlertEvent) -> tuple[Route, dict]:
        """The route ``event`` takes and the ticket fields it gets."""
        route = next((r for r in self.routes if r.matches(event.labels)), self.default)
        values = {t: getattr(route, t) or getattr(self.default, t) for t in TARGETS}
        impact, urgency = BY_SEVERITY.get(event.severity or "", ("medium", "medium"))
        values["impact"] = values["impact"] or impact
        values["urgency"] = values["urgency"] or urgency
        return route, values


def rules(config) -> Rules:
    """The config's ``[intake]`` section, its shape checked (names are
    checked against a desk by :func:`check`)."""
    path = config.path
    data = config.raw.get("intake", {})

    def fail(key, message):
        raise ConfigError(path, key, message)

    if not isinstance(data, dict):
        fail("intake", "expected a table ([intake])")
    allowed = {"group_window", "resolve", "resolution_code", "alertmanager_key", "route", "default"}
    for key in data:
        if key not in allowed:
            fail(f"intake.{key}", f"unknown key; expected one of {', '.join(sorted(allowed))}")
    try:
        window = parse_duration(data.get("group_window", "5m"), "intake.group_window") \
            if data.get("group_window") not in ("0", "0m", "0s", 0) else 0
    except PolicyError as exc:
        fail("intake.group_window", str(exc).split(": ", 1)[-1])
    resolve = data.get("resolve", True)
    if not isinstance(resolve, bool):
        fail("intake.resolve", "expected true or false")
    code = data.get("resolution_code", config.resolution_codes[0])
    if code not in config.resolution_codes:
        fail("intake.resolution_code", f"{code!r} is not a resolution code; use one of {', '.join(config.resolution_codes)}")
    key = data.get("alertmanager_key", "fingerprint")
    if key not in ("fingerprint", "group"):
        fail("intake.alertmanager_key", f"{key!r}: expected \"fingerprint\" (a ticket per alert) or \"group\"")
    raw_routes = data.get("route", [])
    if not isinstance(raw_routes, list):
        fail("intake.route", "expected routes as [[intake.route]] tables")
    routes = tuple(_route(r, f"intake.route[{i + 1}]", fail, matching=True) for i, r in enumerate(raw_routes))
    default = _route(data.get("default", {}), "intake.default", fail, matching=False)
    return Rules(routes, default, window, resolve, code, key == "group")


def _route(body, name: str, fail, *, matching: bool) -> Route:
    if not isinstance(body, dict):
        fail(name, "expected a table")
    allowed = set(TARGETS) | ({"match", "match_re"} if matching else set())
    for key in body:
        if key not in allowed:
            fail(f"{name}.{key}", f"unknown key; expected one of {', '.join(sorted(allowed))}")
    values = {}
    for target in TARGETS:
        value = body.get(target)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            fail(f"{name}.{target}", "expected a name (a string)")
        if target in ("impact", "urgency") and value is not None and value not in LEVELS:
            fail(f"{name}.{target}", f"{value!r}: expected one of {', '.join(LEVELS)}")
        values[target] = value
    match = body.get("match", {})
    match_re = body.get("match_re", {})
    for key, table in (("match", match), ("match_re", match_re)):
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            fail(f"{name}.{key}", "expected a table of label = \"text\", e.g. { alertname = \"VPNDown\" }")
    if matching and not match and not match_re:
        fail(name, "matches nothing: give match = { label = \"value\" } or match_re (or use [intake.default])")
    patterns = []
    for label, text in match_re.items():
        try:
            patterns.append((label, re.compile(text)))
        except re.error as exc:
            fail(f"{name}.match_re.{label}", f"{text!r} is not a regular expression: {exc}")
    return Route(name, tuple(match.items()), tuple(patterns), **values)


def check(found: Rules, directory) -> list[str]:
    """What in ``found`` names no team, service or category of the desk's
    directory: one message each (empty when all is well)."""
    problems = []
    known = {"team": directory.team_ids, "service": directory.service_ids, "category": directory.category_ids}
    for route in (*found.routes, found.default):
        for target, names in known.items():
            value = getattr(route, target)
            if value and value not in names:
                choices = ", ".join(sorted(names)) or "none are defined"
                problems.append(f"{route.name}.{target}: {value!r} is not a {target} of this desk ({choices})")
    return problems
