"""The desk's rules for changes (``[changes]``): who forms the CAB, which
approvals each type of change needs, the freeze, blackout and maintenance
windows, and the standard changes' templates.

The config is read into a plain, JSON-able normal form (:func:`normalise`).
That form is what the desk keeps in its database (like its directory: the
config of whoever creates the desk seeds it, a desk admin changes it), and
:func:`ChangePolicy.load` reads it back. Approval rights therefore come from
the desk, never from a config someone passes.

    [changes]
    cab = ["carol", "dave"]
    approvals = { normal = ["owner_lead", "cab"], emergency = ["cab"] }

    [changes.windows.year-end]          # a one-off window, in local time
    kind = "freeze"
    start = 2026-12-19T00:00:00
    end = 2027-01-04T08:00:00
    timezone = "Europe/Berlin"          # else the desk's

    [changes.windows.db-nights]         # a weekly one (may run past midnight)
    kind = "maintenance"
    days = ["sat", "sun"]
    from = "01:00"
    to = "05:00"
    services = ["db-main"]              # else every service

    [changes.templates.restart-web]     # a standard (pre-approved) change
    title = "Rolling restart of the web tier"
    services = ["web"]
    minutes = 30
    implementation = "..."
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from deskconsole.errors import DeskError

TYPES = ("standard", "normal", "emergency")
RISKS = ("low", "medium", "high")
WINDOW_KINDS = ("freeze", "blackout", "maintenance")
# Who may give an approval of each rule (see core.records.change_approvals).
RULES = {
    "owner_lead": "a lead of the team that owns an affected service",
    "cab": "a member of the change advisory board",
    "lead": "any lead",
    "admin": "a desk admin",
}
DEFAULT_APPROVALS = {"standard": [], "normal": ["owner_lead"], "emergency": ["owner_lead"]}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
TEMPLATE_TEXTS = ("description", "implementation", "test", "backout")


class PolicyProblem(DeskError):
    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


# --------------------------------------------------------------------------- config -> normal form


def normalise(section: dict, *, services: dict, agents: dict, teams: dict, zone: str | None) -> dict[str, Any]:
    """The ``[changes]`` table, checked, as the JSON-able form the desk keeps."""
    _only(section, {"cab", "approvals", "windows", "templates"}, "changes")
    cab = _names_list(section.get("cab", []), "changes.cab", agents, "an agent", "agents")
    approvals = {**DEFAULT_APPROVALS}
    given = section.get("approvals", {})
    if not isinstance(given, dict):
        raise PolicyProblem("changes.approvals", "expected a table, e.g. { normal = [\"owner_lead\", \"cab\"] }")
    _only(given, set(TYPES), "changes.approvals")
    for kind, rules in given.items():
        key = f"changes.approvals.{kind}"
        if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
            raise PolicyProblem(key, f"expected a list of rules from {', '.join(RULES)}")
        for rule in rules:
            if rule not in RULES:
                raise PolicyProblem(key, f"{rule!r} is not an approval rule; use {', '.join(RULES)}")
        if "cab" in rules and not cab:
            raise PolicyProblem(key, "asks for a CAB approval but changes.cab names nobody")
        approvals[kind] = list(rules)
    windows = {}
    for name, body in _table(section, "windows", "changes.windows").items():
        windows[name] = _window(name, body, services, zone)
    templates = {}
    for name, body in _table(section, "templates", "changes.templates").items():
        templates[name] = _template(name, body, services)
    out: dict[str, Any] = {"cab": cab, "approvals": approvals}
    if windows:
        out["windows"] = windows
    if templates:
        out["templates"] = templates
    return out


def _only(table: dict, allowed: set, where: str) -> None:
    for key in table:
        if key not in allowed:
            raise PolicyProblem(f"{where}.{key}", f"unknown key; expected one of {', '.join(sorted(allowed))}")


def _table(section: dict, key: str, where: str) -> dict:
    value = section.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise PolicyProblem(where, f"expected tables, one per name: [{where}.NAME]")
    return value


def _names_list(value, key: str, known: dict, what: str, section: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyProblem(key, f"expected a list of names, e.g. [\"{next(iter(known), 'name')}\"]")
    for name in value:
        if name not in known:
            raise PolicyProblem(key, f"{name!r} is not {what}; define [{section}.{name}]")
    return list(dict.fromkeys(value))


def _zone_name(value, key: str, default: str | None) -> str:
    name = default or "UTC"
    if value is not None:
        if not isinstance(value, str):
            raise PolicyProblem(key, "expected an IANA time zone name such as \"Europe/Berlin\"")
        name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PolicyProblem(key, f"{name!r} is not a time zone; give an IANA name such as \"Europe/Berlin\"") from None
    return name


def _local(value, key: str) -> str:
    """A TOML local date-time (``2026-12-19T00:00:00``) or the same as text."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise PolicyProblem(key, f"{value!r} is not a date and time; write 2026-12-19T18:00:00") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if not isinstance(value, datetime):
        raise PolicyProblem(key, "expected a local date and time, e.g. 2026-12-19T18:00:00")
    if value.tzinfo is not None:
        raise PolicyProblem(key, "give the local time without an offset; the window's timezone says whose it is")
    return value.isoformat(timespec="minutes")


def _window(name: str, body: dict, services: dict, zone: str | None) -> dict:
    where = f"changes.windows.{name}"
    _only(body, {"kind", "start", "end", "days", "from", "to", "timezone", "services", "note"}, where)
    kind = body.get("kind")
    if kind not in WINDOW_KINDS:
        raise PolicyProblem(f"{where}.kind", f"expected one of {', '.join(WINDOW_KINDS)}")
    out: dict[str, Any] = {"kind": kind, "timezone": _zone_name(body.get("timezone"), f"{where}.timezone", zone),
                           "services": _names_list(body.get("services", []), f"{where}.services", services,
                                                   "a service or configuration item", "services")}
    if isinstance(body.get("note"), str):
        out["note"] = body["note"].strip()
    once, weekly = "start" in body or "end" in body, "days" in body or "from" in body or "to" in body
    if once == weekly:
        raise PolicyProblem(where, "give either start and end (one window) or days, from and to (every week)")
    if once:
        start, end = _local(body.get("start"), f"{where}.start"), _local(body.get("end"), f"{where}.end")
        if end <= start:
            raise PolicyProblem(f"{where}.end", "must come after start")
        out.update(start=start, end=end)
        return out
    days = body.get("days")
    if not isinstance(days, list) or not days or not all(isinstance(d, str) and d.lower()[:3] in DAYS for d in days):
        raise PolicyProblem(f"{where}.days", f"expected a list of days from {', '.join(DAYS)}")
    for part in ("from", "to"):
        text = body.get(part)
        if isinstance(text, time):
            text = text.strftime("%H:%M")
        if not isinstance(text, str) or not _HHMM.match(text.strip()):
            raise PolicyProblem(f"{where}.{part}", "expected a time of day as \"HH:MM\", e.g. \"02:00\"")
        out[part] = text.strip()
    if out["from"] == out["to"]:
        raise PolicyProblem(f"{where}.to", "must differ from 'from' (a window that runs past midnight ends the next day)")
    out["days"] = sorted({d.lower()[:3] for d in days}, key=DAYS.index)
    return out


def _template(name: str, body: dict, services: dict) -> dict:
    where = f"changes.templates.{name}"
    _only(body, {"title", "services", "risk", "impact", "minutes", *TEMPLATE_TEXTS}, where)
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        raise PolicyProblem(f"{where}.title", "is missing; a template needs the title its changes get")
    out: dict[str, Any] = {"title": title.strip(), "services": _names_list(
        body.get("services", []), f"{where}.services", services, "a service or configuration item", "services")}
    for key, choices in (("risk", RISKS), ("impact", RISKS)):
        value = body.get(key, "low")
        if value not in choices:
            raise PolicyProblem(f"{where}.{key}", f"expected one of {', '.join(choices)}")
        out[key] = value
    minutes = body.get("minutes", 60)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 7 * 24 * 60:
        raise PolicyProblem(f"{where}.minutes", "expected how long the change takes, in minutes (1 to 10080)")
    out["minutes"] = minutes
    for key in TEMPLATE_TEXTS:
        value = body.get(key, "")
        if not isinstance(value, str):
            raise PolicyProblem(f"{where}.{key}", "expected text")
        out[key] = value.strip()
    return out


# --------------------------------------------------------------------------- the desk's policy


@dataclass(frozen=True)
class Window:
    """A freeze, blackout or maintenance window; ``services`` empty: every one."""

    name: str
    kind: str
    zone: str
    services: tuple[str, ...] = ()
    start: str | None = None  # one-off: local "YYYY-MM-DDTHH:MM"
    end: str | None = None
    days: tuple[str, ...] = ()  # weekly: the days it starts on, from and to local "HH:MM"
    start_time: str | None = None
    end_time: str | None = None
    note: str = ""

    def covers(self, services) -> bool:
        """Does the window apply to a change on ``services`` (names)?"""
        return not self.services or bool(set(self.services) & set(services))

    def spans(self, lo: datetime, hi: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The window's occurrences (aware UTC start, end) that overlap [lo, hi).

        Local times are the window's zone's: across a DST change a weekly
        window keeps its wall-clock times, so it is an hour longer or shorter
        that night. A local time the change skips (02:30 on the spring-forward
        night) is read with the offset before the change; a time that happens
        twice is its first occurrence."""
        tz = ZoneInfo(self.zone)
        if self.start is not None:
            s = _utc(datetime.fromisoformat(self.start), tz)
            e = _utc(datetime.fromisoformat(self.end), tz)
            if s < hi and lo < e:
                yield s, e
            return
        begin, finish = time.fromisoformat(self.start_time), time.fromisoformat(self.end_time)
        day = lo.astimezone(tz).date() - timedelta(days=1)
        last = hi.astimezone(tz).date()
        while day <= last:
            if DAYS[day.weekday()] in self.days:
                s = _utc(datetime.combine(day, begin), tz)
                end_day = day + timedelta(days=1) if finish <= begin else day
                e = _utc(datetime.combine(end_day, finish), tz)
                if s < hi and lo < e:
                    yield s, e
            day += timedelta(days=1)

    def describe(self) -> str:
        if self.start is not None:
            when = f"{self.start.replace('T', ' ')} to {self.end.replace('T', ' ')}"
        else:
            when = f"{'/'.join(self.days)} {self.start_time}-{self.end_time}"
        where = ", ".join(self.services) if self.services else "all services"
        return f"{self.kind} {self.name}: {when} {self.zone} ({where})"


def _utc(local: datetime, tz: ZoneInfo) -> datetime:
    return local.replace(tzinfo=tz, fold=0).astimezone(timezone.utc)


@dataclass(frozen=True)
class ChangePolicy:
    cab: tuple[str, ...] = ()
    approvals: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        k: tuple(v) for k, v in DEFAULT_APPROVALS.items()})
    windows: tuple[Window, ...] = ()
    templates: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, data: dict | None) -> "ChangePolicy":
        """The policy from its normal form (None or {}: the defaults)."""
        data = data or {}
        approvals = {**DEFAULT_APPROVALS, **data.get("approvals", {})}
        windows = tuple(
            Window(name, w["kind"], w["timezone"], tuple(w.get("services", ())), w.get("start"), w.get("end"),
                   tuple(w.get("days", ())), w.get("from"), w.get("to"), w.get("note", ""))
            for name, w in sorted(data.get("windows", {}).items()))
        return cls(tuple(data.get("cab", ())), {k: tuple(v) for k, v in approvals.items()}, windows,
                   dict(data.get("templates", {})))

    def rules_for(self, change_type: str) -> tuple[str, ...]:
        return self.approvals.get(change_type, ())
