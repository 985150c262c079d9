"""Webhooks out: JSON posts to team channels (Slack, Mattermost, Teams
workflows, anything that takes a Slack-style ``text``), through the outbox.

    [[webhook]]
    name = "ops-slack"
    url_file = "/etc/deskconsole/ops-slack.url"   # mode 600: the URL is the secret (or url = "...")
    team = "ops"                                  # only this team's tickets (left out: every team)
    events = ["p1", "warning", "breach"]          # the default

An event queues one outbox row per matching webhook, in the transaction of
the change (a P1 created) or of the sweep that recorded the crossing (the
first warning of a clock, its breach). The row names the webhook, never its
URL: whoever can read the desk's tables cannot post to the channel. The
daemon's drain resolves the name from its own config and posts
``{"text": ..., "event": ..., "ticket": {...}}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from deskconsole.config import ConfigError
from deskconsole.core.bulk import insert_one
from deskconsole.core.keys import ticket_key
from deskconsole.models import Outbox

if TYPE_CHECKING:
    from deskconsole.core.txn import Unit

EVENTS = ("p1", "warning", "breach")


@dataclass(frozen=True)
class Webhook:
    name: str
    url: str | None
    url_file: str | None
    team: str | None
    events: tuple[str, ...]

    def target(self) -> str:
        """The URL (read from ``url_file`` when it is there)."""
        if self.url_file:
            from deskconsole.paths import read_secret

            return read_secret(self.url_file, "webhook URL", 8).decode("utf-8").strip()
        return self.url or ""


def webhooks(config) -> tuple[Webhook, ...]:
    raw = config.raw.get("webhook", [])
    path = config.path

    def fail(key, message):
        raise ConfigError(path, key, message)

    if not isinstance(raw, list):
        fail("webhook", "expected [[webhook]] tables")
    out, names = [], set()
    for i, body in enumerate(raw):
        where = f"webhook[{i + 1}]"
        if not isinstance(body, dict):
            fail(where, "expected a table")
        unknown = set(body) - {"name", "url", "url_file", "team", "events"}
        if unknown:
            fail(f"{where}.{sorted(unknown)[0]}", "unknown key; expected name, url or url_file, team, events")
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or name in names:
            fail(f"{where}.name", "every webhook needs a name of its own (what the outbox and the log call it)")
        names.add(name)
        url, url_file = body.get("url"), body.get("url_file")
        if (url is None) == (url_file is None):
            fail(where, "give the address as url = \"https://...\" or url_file = \"PATH\" (one of them)")
        if url is not None and (not isinstance(url, str) or not url.startswith(("https://", "http://"))):
            fail(f"{where}.url", "expected an http:// or https:// address")
        events = body.get("events", list(EVENTS))
        if not isinstance(events, list) or not events or any(e not in EVENTS for e in events):
            fail(f"{where}.events", f"expected a list of {', '.join(EVENTS)}")
        team = body.get("team")
        if team is not None and team not in config.teams:
            fail(f"{where}.team", f"{team!r} is not a team of the config")
        out.append(Webhook(name, url, url_file, team, tuple(events)))
    return tuple(out)


def ticket_fields(directory, values: dict) -> dict:
    """What a webhook says of a ticket, from its column values (ids become names)."""
    return {"title": values.get("title"), "priority": values.get("priority"), "status": values.get("status"),
            "team": directory.team_names.get(values.get("team")), "service": directory.service_names.get(values.get("service")),
            "assignee": directory.agent_logins.get(values.get("assignee"))}


def queue(unit: "Unit", tid: int, event: str, text: str, ticket: dict) -> int:
    """Queue ``event`` for every webhook that wants it for this ticket's team; how many."""
    team = ticket.get("team")
    queued = 0
    for hook in webhooks(unit.desk.config):
        if event not in hook.events or (hook.team and hook.team != team):
            continue
        body = {"text": text, "event": event, "ticket": {"key": ticket_key(tid), **ticket},
                "desk": unit.desk.config.desk_name}
        insert_one(Outbox, {"created_at": unit.now, "ticket": tid, "channel": "webhook", "kind": event,
                            "recipients": hook.name, "subject": text[:300], "body": json.dumps(body, default=str),
                            "state": "queued", "attempts": 0})
        queued += 1
    if queued:
        unit.audit(tid, "webhook", event, None, text[:300])
    return queued
