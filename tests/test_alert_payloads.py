"""What monitoring tools send, read as alert events: Alertmanager v4,
PagerDuty Events v2 and plain JSON, and every malformed shape refused with
the field it is about."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from deskconsole.core.inbound import alert_payloads as p
from deskconsole.core.inbound.alert_payloads import PayloadError


def am_alert(**over):
    alert = {
        "status": "firing",
        "labels": {"alertname": "DiskFull", "instance": "db01:9100", "severity": "critical", "service": "mail"},
        "annotations": {"summary": "Disk full on db01", "description": "/var at 100%", "runbook_url": "https://rb/1"},
        "startsAt": "2026-12-06T07:00:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
        "fingerprint": "1a30ba71cca2921f",
    }
    alert.update(over)
    return alert


def am_post(*alerts, **over):
    doc = {"receiver": "desk", "status": "firing", "alerts": list(alerts) or [am_alert()],
           "groupLabels": {"alertname": "DiskFull"}, "commonLabels": {}, "commonAnnotations": {},
           "externalURL": "http://am:9093", "version": "4", "groupKey": '{}:{alertname="DiskFull"}',
           "truncatedAlerts": 0}
    doc.update(over)
    return doc


def test_an_alertmanager_post_becomes_events():
    events, truncated = p.alertmanager(am_post(am_alert(), am_alert(status="resolved", fingerprint="ff",
                                                                     endsAt="2026-12-06T08:00:00+01:00")))
    assert truncated == 0
    first, second = events
    assert (first.source, first.action, first.dedup_key) == ("alertmanager", "trigger", "am:1a30ba71cca2921f")
    assert first.summary == "DiskFull: Disk full on db01"
    assert "/var at 100%" in first.details and "instance = db01:9100" in first.details
    assert "runbook_url: https://rb/1" in first.details
    assert first.labels["service"] == "mail" and first.severity == "critical"
    assert first.at == datetime(2026, 12, 6, 7, 0, 0, 123456, tzinfo=timezone.utc)  # nanoseconds read
    assert (second.action, second.dedup_key) == ("resolve", "am:ff")
    assert second.at == datetime(2026, 12, 6, 7, 0, tzinfo=timezone.utc)  # endsAt, in UTC


def test_alertmanager_by_group_keys_every_alert_of_a_group_alike():
    events, _ = p.alertmanager(am_post(am_alert(), am_alert(fingerprint="other")), by_group=True)
    assert len({e.dedup_key for e in events}) == 1 and events[0].dedup_key.startswith("am-group:")
    with pytest.raises(PayloadError, match="groupKey"):
        p.alertmanager(am_post(groupKey=None), by_group=True)


def test_alertmanager_without_a_fingerprint_keys_by_its_labels():
    a = am_alert()
    del a["fingerprint"]
    (one,), _ = p.alertmanager(am_post(a))
    (two,), _ = p.alertmanager(am_post(dict(a, labels=dict(reversed(list(a["labels"].items()))))))
    assert one.dedup_key == two.dedup_key != "am:"


def test_truncated_alerts_are_reported():
    assert p.alertmanager(am_post(truncatedAlerts=12))[1] == 12


@pytest.mark.parametrize("doc, message", [
    ([], "must be a JSON object, not a list"),
    ({"version": "3", "alerts": []}, "version '3' is not supported"),
    ({"version": "4"}, "'alerts' must be a list"),
    ({"version": "4", "alerts": {"a": 1}}, "'alerts' must be a list"),
    ({"version": "4", "alerts": [1]}, r"alerts\[0\] must be a JSON object"),
    ({"version": "4", "alerts": [{"status": "burning", "labels": {"a": "b"}}]}, r"alerts\[0\].status"),
    ({"version": "4", "alerts": [{"status": "firing", "labels": {}}]}, "at least its alertname"),
    ({"version": "4", "alerts": [{"status": "firing", "labels": {"a": 1}}]}, r"labels.a must be a string"),
    ({"version": "4", "alerts": [{"status": "firing", "labels": {"a": "b"}, "startsAt": "yesterday"}]},
     "not an RFC 3339 time"),
    ({"version": "4", "alerts": [{"status": "firing", "labels": {"a": "b"}, "startsAt": "2026-12-06T07:00:00"}]},
     "no time zone"),
    ({"version": "4", "alerts": [{"status": "firing", "labels": {"a": "b\u0000"}}]}, "NUL"),
    ({"version": "4", "alerts": [{"status": "firing", "labels": {"a": "\ud800"}}]}, "surrogate"),
    ({"version": "4", "alerts": [{"status": "firing", "labels": {"a": "b"}, "fingerprint": 7}]}, "fingerprint must be"),
    ({"version": "4", "alerts": [], "truncatedAlerts": "3"}, "truncatedAlerts"),
    ({"version": "4", "alerts": [{"status": "firing", "labels": {"a": "b"}}] * 1001}, "at most 1000"),
])
def test_malformed_alertmanager_posts_say_what_is_wrong(doc, message):
    with pytest.raises(PayloadError, match=message):
        p.alertmanager(doc)


def pd_event(**over):
    event = {"routing_key": "dkt_x", "event_action": "trigger", "dedup_key": "srv01/cpu",
             "payload": {"summary": "CPU at 99% on srv01", "source": "srv01", "severity": "warning",
                         "component": "nginx", "group": "web", "class": "cpu", "timestamp": "2026-12-06T07:00:00Z",
                         "custom_details": {"load": [9.1, 8.7], "note": "ünïcode"}}}
    event.update(over)
    return event


def test_a_pagerduty_trigger_becomes_an_event():
    event, key = p.pagerduty(pd_event())
    assert key == "dkt_x"
    assert (event.action, event.dedup_key, event.summary, event.severity) == (
        "trigger", "srv01/cpu", "CPU at 99% on srv01", "warning")
    assert event.labels == {"source": "srv01", "severity": "warning", "component": "nginx", "group": "web",
                            "class": "cpu"}
    assert '"note": "ünïcode"' in event.details


def test_a_pagerduty_trigger_without_a_dedup_key_gets_one():
    one, _ = p.pagerduty(pd_event(dedup_key=None))
    two, _ = p.pagerduty(pd_event(dedup_key=None))
    assert one.dedup_key and one.dedup_key != two.dedup_key


def test_pagerduty_acknowledge_and_resolve_need_only_the_key():
    event, _ = p.pagerduty({"routing_key": "k", "event_action": "resolve", "dedup_key": "srv01/cpu"})
    assert (event.action, event.dedup_key) == ("resolve", "srv01/cpu")
    with pytest.raises(PayloadError, match="dedup_key' is required to acknowledge"):
        p.pagerduty({"routing_key": "k", "event_action": "acknowledge"})


@pytest.mark.parametrize("over, message", [
    ({"routing_key": None}, "routing_key"),
    ({"event_action": "explode"}, "event_action"),
    ({"payload": None}, "'payload' must be a JSON object"),
    ({"payload": {"source": "s", "severity": "info"}}, "payload.summary is missing"),
    ({"payload": {"summary": "s", "severity": "info"}}, "payload.source is missing"),
    ({"payload": {"summary": "s", "source": "s", "severity": "catastrophic"}}, "payload.severity"),
    ({"payload": {"summary": "x" * 1025, "source": "s", "severity": "info"}}, "at most 1024"),
    ({"dedup_key": "k" * 256}, "at most 255"),
    ({"dedup_key": ["a"]}, "dedup_key' must be a string, not a list"),
])
def test_malformed_pagerduty_events_say_what_is_wrong(over, message):
    with pytest.raises(PayloadError, match=message):
        p.pagerduty(pd_event(**over))


def test_a_plain_json_alert():
    event = p.generic({"title": "Backup job failed\nsecond line", "description": "exit 3", "dedup_key": "backup",
                       "severity": "error", "labels": {"service": "mail"}})
    assert (event.action, event.summary, event.details, event.severity) == (
        "trigger", "Backup job failed", "exit 3", "error")
    assert event.labels == {"service": "mail", "severity": "error"}
    assert p.generic({"status": "resolve", "dedup_key": "backup"}).action == "resolve"
    with pytest.raises(PayloadError, match="'title' is missing"):
        p.generic({"description": "no title"})
    with pytest.raises(PayloadError, match="'dedup_key' is required to resolve"):
        p.generic({"status": "resolve"})


def test_titles_are_one_line_of_at_most_300_characters():
    event = p.generic({"title": "\n\n  " + "x" * 1000})
    assert len(event.summary) == 300 and "\n" not in event.summary
    escape = p.generic({"title": "\x1b[31mred\x1b[0m alert"})
    assert escape.summary == "\x1b[31mred\x1b[0m alert"  # kept as data; printing escapes it


@pytest.mark.parametrize("body, message", [
    (b"\xff\xfe", "not UTF-8"),
    (b"{nope", "not JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "not JSON|nested too deeply"),
])
def test_bodies_that_are_not_json(body, message):
    with pytest.raises(PayloadError, match=message):
        p.parse_json(body)


def test_a_body_round_trips_through_json():
    doc = am_post()
    assert p.parse_json(json.dumps(doc).encode()) == doc
