"""The demo desk's changes: a change policy for its config, and a month of
changes around "now" written through the core as its people would — raised,
approved, carried out, some failed or backed out and linked to the incidents
they caused, some still waiting for approval, and one that collides."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from deskconsole.binding import on_desk
from deskconsole.core.clock import ManualClock
from deskconsole.core.identity import Actor
from deskconsole.core.records import change_requests as changes
from deskconsole.core.records import links

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

def policy_toml(now: datetime) -> str:
    """The demo's [changes]: its freeze starts ten days from ``now`` and lasts two weeks."""
    first = (now + timedelta(days=10)).date()
    return POLICY_TOML.replace("FREEZE_START", f"{first}T00:00:00").replace(
        "FREEZE_END", f"{first + timedelta(days=14)}T08:00:00")


POLICY_TOML = """
[changes]
cab = ["amira", "dana"]
approvals = { normal = ["lead", "cab"], emergency = ["cab"] }

[changes.windows.trading-freeze]
kind = "freeze"
start = FREEZE_START
end = FREEZE_END
note = "Year-end trading: emergency changes only"

[changes.windows.payments-nights]
kind = "maintenance"
days = ["tue", "thu"]
from = "22:00"
to = "02:00"
services = ["checkout", "payments-api"]

[changes.windows.network-weekend]
kind = "maintenance"
days = ["sat", "sun"]
from = "06:00"
to = "10:00"
services = ["vpn", "wifi"]

[changes.templates.restart-ingress]
title = "Rolling restart of the ingress controllers"
services = ["k8s"]
minutes = 30
risk = "low"
implementation = "kubectl rollout restart deploy/ingress -n edge; watch the 5xx rate"
backout = "none needed: pods come back on their own"

[changes.templates.rotate-vpn-certs]
title = "Rotate the VPN gateway certificates"
services = ["vpn"]
minutes = 60
risk = "medium"
implementation = "Install the new chain on both gateways, one at a time"
test = "Connect from each office"
backout = "Reinstall the old chain (kept for 30 days)"
"""

WORK = [  # (title, services, type, risk, hours)
    ("Upgrade the payments API to 4.2", ["payments-api"], "normal", "high", 2),
    ("Add a node pool for batch jobs", ["k8s"], "normal", "medium", 3),
    ("Move checkout to the new card processor", ["checkout", "payments-api"], "normal", "high", 4),
    ("Patch the Wi-Fi controllers", ["wifi"], "normal", "medium", 2),
    ("Renew the SSO signing certificate", ["sso"], "normal", "high", 1),
    ("Raise the mail relay's queue limits", ["email"], "normal", "low", 1),
    ("Upgrade the VPN gateways", ["vpn"], "normal", "high", 3),
    ("Enable HTTP/3 on the ingress", ["k8s"], "normal", "medium", 2),
    ("Hotfix the basket total rounding", ["checkout"], "emergency", "high", 1),
    ("Block a credential-stuffing source", ["sso"], "emergency", "medium", 1),
]
PEOPLE = {"ops": "ben", "network": "chen", "payments": "eli", "identity": "gus"}
TEAM_OF = {"checkout": "payments", "payments-api": "payments", "vpn": "network", "wifi": "network",
           "sso": "identity", "email": "ops", "k8s": "ops"}


def _actor(login: str, role: str = "agent", team: str = "ops") -> Actor:
    return Actor(login=login, name=login.capitalize(), role=role, team=team)


@on_desk
def build(desk: "Desk", incidents: list[str], *, seed: int = 7) -> list[str]:
    """Write the demo's changes (a few weeks back to two weeks ahead); links
    some of ``incidents`` to the changes that caused them. Returns their keys."""
    rng = random.Random(seed)
    now = desk.now()
    real = desk.clock
    keys: list[str] = []
    amira, dana = _actor("amira", "lead", "ops"), _actor("dana", "lead", "network")
    try:
        for n in range(24):
            title, services, kind, risk, hours = WORK[n % len(WORK)]
            if n >= len(WORK):
                title = f"{title} (stage {n // len(WORK) + 1})"
            who = _actor(PEOPLE[TEAM_OF[services[0]]], team=TEAM_OF[services[0]])
            start = (now + timedelta(days=rng.uniform(-21, 14))).replace(minute=0, second=0, microsecond=0)
            past = start + timedelta(hours=hours) < now
            clock = ManualClock(min(start - timedelta(days=3), now))
            desk.clock = clock
            key = changes.create(desk, who, title=title, type=kind, services=services, risk=risk,
                                 start=None if kind == "emergency" else start,
                                 end=None if kind == "emergency" else start + timedelta(hours=hours),
                                 implementation="1. Announce in #changes\n2. Apply\n3. Watch the dashboards",
                                 test_plan="Synthetic checks green for 15 minutes",
                                 backout="Redeploy the previous release").key
            keys.append(key)
            if kind == "emergency":
                _emergency(desk, clock, who, dana, key, start, past, now)
                continue
            stage = rng.random()
            if not past and stage < 0.3:
                continue  # still a draft
            changes.set_state(desk, who, key, "assessment")
            changes.set_state(desk, who, key, "awaiting_approval")
            if not past and stage < 0.5:
                continue  # waiting for its approvals
            clock.advance(3600)
            changes.decide(desk, amira, key, "approve", "Fine by ops")
            changes.decide(desk, dana, key, "approve", "CAB: go")
            if not past:
                continue
            clock.set(start)
            changes.set_state(desk, who, key, "implementing")
            clock.set(start + timedelta(hours=hours))
            changes.set_state(desk, who, key, "review")
            outcome = rng.choices(("successful", "failed", "backed_out"), (8, 1, 1))[0]
            clock.advance(1800)
            changes.set_state(desk, who, key, "closed", outcome=outcome)
            if outcome != "successful" and incidents:
                desk.clock = real
                for incident in rng.sample(incidents, min(2, len(incidents))):
                    links.link(desk, amira, incident, "caused-by", key)
        desk.clock = real
        # a standard change and one that collides, coming up
        ben = _actor("ben")
        at = (now + timedelta(days=2)).replace(hour=6, minute=0, second=0, microsecond=0)
        keys.append(changes.create(desk, ben, template="restart-ingress", start=at).key)
        keys.append(changes.create(desk, ben, title="Upgrade the cluster's CNI plugin", services=["k8s"],
                                   start=at, end=at + timedelta(hours=2), risk="high").key)
    finally:
        desk.clock = real
    return keys


def _emergency(desk, clock, who, approver, key, start, past, now) -> None:
    clock.set(min(start, now))
    changes.set_state(desk, who, key, "implementing")
    if not past:
        return
    clock.set(start + timedelta(hours=1))
    changes.set_state(desk, who, key, "review")
    changes.decide(desk, approver, key, "approve", "Right call; write up the post-incident review")
    changes.set_state(desk, who, key, "closed", outcome="successful")


__all__ = ["policy_toml", "build"]
