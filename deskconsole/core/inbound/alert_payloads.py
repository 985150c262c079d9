"""What monitoring tools send, as :class:`AlertEvent` values.

Three shapes are understood, each as its sender writes it:

* Prometheus Alertmanager's webhook (``version`` "4"): ``alerts[]`` with
  ``status``, ``labels``, ``annotations``, ``startsAt``, ``endsAt``,
  ``fingerprint``; ``groupKey`` and ``truncatedAlerts`` around them.
* PagerDuty Events API v2: ``routing_key``, ``event_action`` (trigger,
  acknowledge, resolve), ``dedup_key``, ``payload`` with ``summary``,
  ``severity``, ``source``, ``component``, ``group``, ``class``,
  ``custom_details``.
* A plain JSON ticket: ``title``, ``description``, ``dedup_key``, ``status``
  (trigger, acknowledge, resolve), ``severity``, ``labels``.

Anything else — not JSON, the wrong types, a missing field — is a
:class:`PayloadError` naming the field, and nothing is stored.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from deskconsole.errors import DeskError
from deskconsole.core.records.validate import LINE_BREAK, SURROGATE

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
MAX_ALERTS = 1000  # in one Alertmanager post (it sends far fewer; max_alerts caps it on its side)
MAX_KEY = 255  # PagerDuty's limit on a dedup_key, kept for every source
MAX_LABELS = 64
MAX_LABEL = 1024
MAX_DETAILS = 16_000  # characters of description kept from one event


class PayloadError(DeskError):
    """The body is not an event this intake understands; says which field and why."""


@dataclass(frozen=True)
class AlertEvent:
    source: str  # alertmanager | pagerduty | generic
    action: str  # trigger | acknowledge | resolve
    dedup_key: str
    summary: str  # the ticket's title
    details: str = ""  # its description
    labels: dict[str, str] = field(default_factory=dict)  # what routing rules match on
    severity: str | None = None
    at: datetime | None = None  # when the sender says it happened


def parse_json(body: bytes) -> object:
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PayloadError(f"the body is not UTF-8 (byte {exc.start}); send JSON in UTF-8") from None
    except json.JSONDecodeError as exc:
        raise PayloadError(f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise PayloadError("the body is JSON nested too deeply") from None


# ------------------------------------------------------------------ Alertmanager


def alertmanager(doc: object, *, by_group: bool = False) -> tuple[list[AlertEvent], int]:
    """The events of one Alertmanager webhook post, and how many alerts it
    says it left out (``truncatedAlerts``). With ``by_group`` an alert's
    dedup key is its group's (``groupKey``), so a group is one ticket."""
    doc = _object(doc, "the body")
    version = doc.get("version")
    if version is not None and version != "4":
        raise PayloadError(f"Alertmanager webhook version {version!r} is not supported; this intake reads version \"4\"")
    alerts = doc.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError("'alerts' must be a list of alerts (is this an Alertmanager webhook?)")
    if len(alerts) > MAX_ALERTS:
        raise PayloadError(f"{len(alerts)} alerts in one post; at most {MAX_ALERTS} (set max_alerts in Alertmanager)")
    group_key = _optional_str(doc, "groupKey", "the body", limit=4096)
    if by_group and not group_key:
        raise PayloadError("'groupKey' is missing, and this intake groups Alertmanager alerts by it")
    truncated = doc.get("truncatedAlerts", 0)
    if not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0:
        raise PayloadError("'truncatedAlerts' must be a whole number")
    events = []
    for i, raw in enumerate(alerts):
        where = f"alerts[{i}]"
        alert = _object(raw, where)
        status = alert.get("status")
        if status not in ("firing", "resolved"):
            raise PayloadError(f"{where}.status must be \"firing\" or \"resolved\", not {status!r}")
        labels = _labels(alert.get("labels"), f"{where}.labels", required=True)
        annotations = _labels(alert.get("annotations", {}), f"{where}.annotations")
        fingerprint = _optional_str(alert, "fingerprint", where, limit=MAX_KEY)
        if by_group:
            key = "am-group:" + _digest(group_key)
        else:
            key = "am:" + (fingerprint or _digest(json.dumps(labels, sort_keys=True)))
        starts = _time(alert.get("startsAt"), f"{where}.startsAt")
        ends = _time(alert.get("endsAt"), f"{where}.endsAt")
        name = labels.get("alertname", "alert")
        headline = annotations.get("summary") or _first_line(annotations.get("description", "")) or name
        title = headline if name in headline else f"{name}: {headline}"
        lines = [annotations["description"]] if annotations.get("description") else []
        lines += [f"{k} = {v}" for k, v in sorted(labels.items())]
        for extra in ("runbook_url", "dashboard"):
            if annotations.get(extra):
                lines.append(f"{extra}: {annotations[extra]}")
        if isinstance(alert.get("generatorURL"), str) and alert["generatorURL"]:
            lines.append(f"source: {alert['generatorURL'][:MAX_LABEL]}")
        events.append(AlertEvent(
            source="alertmanager", action="trigger" if status == "firing" else "resolve", dedup_key=key,
            summary=_title(title), details=_details("\n".join(lines)),
            labels=labels,
            severity=_severity(labels.get("severity")), at=ends if status == "resolved" else starts,
        ))
    return events, truncated


# ------------------------------------------------------------------ PagerDuty


def pagerduty(doc: object) -> tuple[AlertEvent, str]:
    """One PagerDuty Events API v2 event, and its routing_key."""
    doc = _object(doc, "the event")
    routing_key = doc.get("routing_key")
    if not isinstance(routing_key, str) or not routing_key:
        raise PayloadError("'routing_key' is missing or not a string")
    action = doc.get("event_action")
    if action not in ACTIONS:
        raise PayloadError(f"'event_action' must be one of trigger, acknowledge, resolve; not {action!r}")
    key = _optional_str(doc, "dedup_key", "the event", limit=MAX_KEY)
    if action != "trigger":
        if not key:
            raise PayloadError(f"'dedup_key' is required to {action} an event")
        return AlertEvent(source="pagerduty", action=action, dedup_key=key, summary=""), routing_key
    payload = _object(doc.get("payload"), "'payload'")
    summary = _required_str(payload, "summary", "payload", limit=1024)
    source = _required_str(payload, "source", "payload", limit=MAX_LABEL)
    severity = payload.get("severity")
    if severity not in SEVERITIES:
        raise PayloadError(f"payload.severity must be one of {', '.join(SEVERITIES)}; not {severity!r}")
    labels = {"source": source, "severity": severity}
    for name in ("component", "group", "class"):
        value = _optional_str(payload, name, "payload", limit=MAX_LABEL)
        if value:
            labels[name] = value
    lines = [f"{k} = {v}" for k, v in labels.items()]
    if "custom_details" in payload:
        lines.append(json.dumps(payload["custom_details"], indent=2, ensure_ascii=False, sort_keys=True))
    return AlertEvent(
        source="pagerduty", action="trigger", dedup_key=key or uuid.uuid4().hex, summary=_title(summary),
        details=_details("\n".join(lines)), labels=labels, severity=severity,
        at=_time(payload.get("timestamp"), "payload.timestamp"),
    ), routing_key


# ------------------------------------------------------------------ generic


def generic(doc: object) -> AlertEvent:
    """A plain JSON ticket from a script or a tool with a custom webhook."""
    doc = _object(doc, "the body")
    action = doc.get("status", "trigger")
    if action not in ACTIONS:
        raise PayloadError(f"'status' must be one of trigger, acknowledge, resolve; not {action!r}")
    key = _optional_str(doc, "dedup_key", "the body", limit=MAX_KEY)
    labels = _labels(doc.get("labels", {}), "labels")
    severity = doc.get("severity")
    if severity is not None and severity not in SEVERITIES:
        raise PayloadError(f"'severity' must be one of {', '.join(SEVERITIES)}; not {severity!r}")
    if severity:
        labels.setdefault("severity", severity)
    if action != "trigger":
        if not key:
            raise PayloadError(f"'dedup_key' is required to {action} an alert")
        return AlertEvent(source="generic", action=action, dedup_key=key, summary="", labels=labels)
    title = _required_str(doc, "title", "the body", limit=1024)
    description = doc.get("description", "")
    if not isinstance(description, str):
        raise PayloadError("'description' must be a string")
    _storable(description, "'description'")
    return AlertEvent(
        source="generic", action="trigger", dedup_key=key or uuid.uuid4().hex, summary=_title(title),
        details=_details(description), labels=labels, severity=severity,
    )


# ------------------------------------------------------------------ checks


def _object(value: object, where: str) -> dict:
    if not isinstance(value, dict):
        raise PayloadError(f"{where} must be a JSON object, not {_kind(value)}")
    return value


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number")


def _required_str(doc: dict, name: str, where: str, *, limit: int) -> str:
    value = _optional_str(doc, name, where, limit=limit)
    if not value or not value.strip():
        raise PayloadError(f"{_at(where, name)} is missing or empty")
    return value


def _optional_str(doc: dict, name: str, where: str, *, limit: int) -> str | None:
    value = doc.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{_at(where, name)} must be a string, not {_kind(value)}")
    _storable(value, _at(where, name))
    if len(value) > limit:
        raise PayloadError(f"{_at(where, name)} is {len(value)} characters long; at most {limit}")
    return value


def _at(where: str, name: str) -> str:
    return f"'{name}'" if where in ("the body", "the event") else f"{where}.{name}"


def _storable(text: str, where: str) -> None:
    """Text every backend stores: no NUL, no lone surrogate (JSON can spell both)."""
    if "\x00" in text:
        raise PayloadError(f"{where} contains a NUL character")
    if SURROGATE.search(text):
        raise PayloadError(f"{where} contains a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text")


def _labels(value: object, where: str, *, required: bool = False) -> dict[str, str]:
    value = _object(value, where)
    if required and not value:
        raise PayloadError(f"{where} is empty; an alert needs at least its alertname")
    if len(value) > MAX_LABELS:
        raise PayloadError(f"{where} has {len(value)} entries; at most {MAX_LABELS}")
    labels = {}
    for name, text in value.items():
        if not isinstance(text, str):
            raise PayloadError(f"{where}.{name} must be a string, not {_kind(text)}")
        if len(name) > 128 or len(text) > MAX_DETAILS:
            raise PayloadError(f"{where}.{name[:40]} is too long")
        _storable(name, where)
        _storable(text, f"{where}.{name[:40]}")
        labels[name] = text
    return labels


def _time(value: object, where: str) -> datetime | None:
    """An RFC 3339 time; Alertmanager's "0001-01-01T00:00:00Z" means none."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{where} must be an RFC 3339 time string, not {_kind(value)}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    if "." in text:  # Go writes up to nine fractional digits; Python reads six
        head, _, rest = text.partition(".")
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = head + "." + rest[:min(digits, 6)] + rest[digits:]
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise PayloadError(f"{where} is not an RFC 3339 time: {value[:64]!r}") from None
    if at.tzinfo is None:
        raise PayloadError(f"{where} has no time zone: {value[:64]!r}")
    if at.year <= 1:
        return None
    return at.astimezone(timezone.utc)


def _severity(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().lower()
    return {"page": "critical", "high": "error", "warn": "warning", "low": "info", "none": "info"}.get(
        value, value if value in SEVERITIES else None)


def _title(text: str) -> str:
    """One line of at most 300 characters (a ticket title); control
    characters stay data, shown escaped wherever a title is printed."""
    line = _first_line(text) or "(no summary)"
    return line[:299] + "…" if len(line) > 300 else line


def _details(text: str) -> str:
    return text if len(text) <= MAX_DETAILS else text[:MAX_DETAILS] + f"\n… ({len(text)} characters; cut)"


def _first_line(text: str) -> str:
    return next((line.strip() for line in LINE_BREAK.split(text) if line.strip()), "")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
