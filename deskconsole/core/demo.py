"""A realistic demo desk: teams, services, agents and tickets in every state.

Tickets are generated deterministically (a seed) relative to the desk's
clock, and written through the bulk import path, so a million of them take
seconds rather than hours and are audited like any other import.
"""

from __future__ import annotations

import json
import random
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Iterator

from deskconsole.core.identity import SYSTEM
from deskconsole.sla.defaults import DEFAULT_SLA_TOML
from deskconsole.core.transfer import Progress, import_rows

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

TEAMS = {
    "ops": ("Operations", "ops@example.com"),
    "network": ("Network", "network@example.com"),
    "payments": ("Payments", "payments@example.com"),
    "identity": ("Identity & Access", "iam@example.com"),
    "desk": ("Service Desk", "servicedesk@example.com"),
}
AGENTS = {
    # login: (name, role, team)
    "amira": ("Amira Haddad", "lead", "ops"),
    "ben": ("Ben Okafor", "agent", "ops"),
    "chen": ("Chen Wei", "agent", "network"),
    "dana": ("Dana Kowalski", "lead", "network"),
    "eli": ("Eli Navarro", "agent", "payments"),
    "fatima": ("Fatima Zahra", "agent", "payments"),
    "gus": ("Gus Lindqvist", "agent", "identity"),
    "hana": ("Hana Sato", "agent", "desk"),
    "ivo": ("Ivo Petrov", "viewer", "desk"),
}
SERVICES = {
    "checkout": ("Checkout", "payments"),
    "payments-api": ("Payments API", "payments"),
    "vpn": ("Corporate VPN", "network"),
    "wifi": ("Office Wi-Fi", "network"),
    "sso": ("Single sign-on", "identity"),
    "email": ("E-mail", "ops"),
    "k8s": ("Kubernetes platform", "ops"),
    "laptops": ("Laptops & peripherals", "desk"),
}
CATEGORIES = {
    "outage": "Outage", "degradation": "Performance degradation", "access": "Access request",
    "hardware": "Hardware", "software": "Software", "network": "Network", "security": "Security",
}
PROBLEMS = {
    "checkout": ["Checkout returns 502 for {pct}% of requests", "Card payments declined with code 05",
                 "Basket total shows wrong currency"],
    "payments-api": ["Payments API latency p99 above {ms} ms", "Refund webhook not delivered",
                     "Settlement batch stuck since {hh}:00"],
    "vpn": ["VPN drops every {mins} minutes", "Cannot reach VPN gateway from {city} office",
            "VPN client certificate expired"],
    "wifi": ["No Wi-Fi on floor {floor}", "Guest Wi-Fi portal does not load", "Wi-Fi very slow in meeting room {floor}{room}"],
    "sso": ["SSO login loops back to the sign-in page", "MFA push notifications not arriving",
            "New starter cannot log in to SSO"],
    "email": ["Outbound mail queued for {mins} minutes", "Shared mailbox missing for {team}",
              "Calendar invites arrive twice"],
    "k8s": ["Node pool {pool} NotReady", "Deploys to prod stuck in Pending", "Ingress certificate expires in {days} days"],
    "laptops": ["Laptop will not boot after update", "Docking station not detecting monitors", "Request: new keyboard"],
}
CATEGORY_OF = {"checkout": "outage", "payments-api": "degradation", "vpn": "network", "wifi": "network",
               "sso": "access", "email": "software", "k8s": "outage", "laptops": "hardware"}
REPLIES = [
    "Thanks for reporting this, we are looking into it now.",
    "Could you tell us when this started and whether colleagues see it too?",
    "We have identified the cause and are rolling out a fix.",
    "A fix is deployed; please confirm it works for you.",
]
NOTES = [
    "Checked the dashboards: error rate rose at the last deploy.",
    "Paged the owning team; waiting for their on-call.",
    "Rolled back the config change, watching for 15 minutes.",
    "Same symptom as last week, see linked ticket.",
]
PEOPLE = ["Ann Lee", "Raj Patel", "Sofia Rossi", "Tom Becker", "Mia Jensen", "Omar Farouk", "Lena Vogel", "Kai Müller"]
CITIES = ["Berlin", "Lisbon", "Austin", "Osaka"]
# (status, weight): a live desk has more open than closed tickets in view.
STATUS_MIX = [("new", 10), ("assigned", 12), ("in_progress", 22), ("pending", 8), ("resolved", 14),
              ("closed", 30), ("cancelled", 4)]
IMPACT_URGENCY = [("high", "high", 4), ("high", "medium", 8), ("medium", "high", 10), ("medium", "medium", 30),
                  ("medium", "low", 18), ("low", "medium", 18), ("low", "low", 12)]


def demo_config_text(login: str, database: str) -> str:
    """A complete demo config; ``login`` (whoever runs the demo) is its admin."""
    lines = [
        "# deskconsole demo desk: a fictional company's service desk.",  # the first line marks it as the demo's
        "# Safe to delete; 'deskconsole demo --fresh' writes it again.",
        "",
        "[desk]",
        'name = "Demo desk"',
        f"database = {json.dumps(database)}",
        'default_team = "desk"',
        "",
    ]
    for name, (title, email) in TEAMS.items():
        lines += [f"[teams.{name}]", f"name = {json.dumps(title)}", f"email = {json.dumps(email)}", ""]
    agents = {login: ("Demo admin (you)", "admin", "ops"), **{k: v for k, v in AGENTS.items() if k != login}}
    for agent, (name, role, team) in agents.items():
        lines += [f"[agents.{json.dumps(agent)}]", f"name = {json.dumps(name)}", f'role = "{role}"', f'team = "{team}"']
        if agent in AGENTS:
            lines.append(f'email = "{agent}@example.com"')
        lines.append("")
    lines.append("[categories]")
    lines += [f"{k} = {json.dumps(v)}" for k, v in CATEGORIES.items()]
    lines.append("")
    for name, (title, team) in SERVICES.items():
        lines += [f"[services.{name}]", f"name = {json.dumps(title)}", f'team = "{team}"', ""]
    return "\n".join(lines) + "\n" + DEFAULT_SLA_TOML


# A line the demo's config carries while its desk is being built (written
# before the build starts, taken out once it is done): a config with it names
# a desk a killed build left half-made, which the next demo builds again.
UNFINISHED = "# unfinished: a build of {count} tickets (seed {seed}) started here; 'deskconsole demo' builds it again"
_UNFINISHED_RE = re.compile(r"^# unfinished: a build of (\d+) tickets \(seed (-?\d+)\)", re.M)


def unfinished(config_text: str) -> tuple[int, int] | None:
    """(tickets, seed) of the build a demo config says was started and never
    finished; None for a finished demo desk."""
    m = _UNFINISHED_RE.search(config_text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def mark_unfinished(config_text: str, building: tuple[int, int] | None) -> str:
    """``config_text`` saying a build of ``building`` = (tickets, seed) is under
    way (after its first line, which marks it as the demo's), or, with None, without that line."""
    lines = [line for line in config_text.splitlines(keepends=True) if not _UNFINISHED_RE.match(line)]
    if building:
        lines.insert(1, UNFINISHED.format(count=building[0], seed=building[1]) + "\n")
    return "".join(lines)


def generate(desk: "Desk", count: int, *, seed: int = 7) -> Iterator[tuple[int, dict]]:
    """``count`` ticket rows for :func:`import_rows`, spread over the last 60 days."""
    rng = random.Random(seed)
    now = desk.now()
    cfg = desk.config
    by_team: dict[str, list[str]] = {}
    for login, agent in cfg.agents.items():
        if agent.role != "viewer" and agent.team:
            by_team.setdefault(agent.team, []).append(login)
    services = [s for s in cfg.services if s in PROBLEMS] or list(cfg.services)
    statuses = [s for s, _ in STATUS_MIX]
    status_w = [w for _, w in STATUS_MIX]
    iu = [(i, u) for i, u, _ in IMPACT_URGENCY]
    iu_w = [w for *_, w in IMPACT_URGENCY]
    span = 60 * 86400
    # Ticket numbers follow creation time, as on a real desk: INC-1 is the oldest.
    # More tickets are recent than old (a busy week), and what is still open
    # is mostly from the last two days: a live queue, not a graveyard.
    ages = sorted((rng.random() ** 3 for _ in range(count)), reverse=True)
    for n in range(count):
        service = rng.choice(services)
        team = cfg.services[service].team or cfg.default_team
        status = rng.choices(statuses, status_w)[0]
        impact, urgency = rng.choices(iu, iu_w)[0]
        age = ages[n]
        if status in ("new", "assigned", "in_progress", "pending") and age > 0.03 and rng.random() > 0.05:
            status = rng.choice(("resolved", "closed", "closed", "closed"))  # old tickets are mostly done
        created = now - timedelta(seconds=int(age * span) + 60)
        person = rng.choice(PEOPLE)
        title = rng.choice(PROBLEMS.get(service, ["Problem with {team}"])).format(
            pct=rng.randint(2, 60), ms=rng.choice([800, 1200, 3000]), hh=rng.randint(0, 23), mins=rng.randint(2, 30),
            city=rng.choice(CITIES), floor=rng.randint(1, 9), room=rng.choice("ABC"), team=team,
            pool=f"pool-{rng.randint(1, 4)}", days=rng.randint(1, 14),
        )
        holders = by_team.get(team) or []
        assignee = rng.choice(holders) if holders and status != "new" else None
        row = {
            "title": title,
            "description": f"{person} reports: {title.lower()}.\nSeen from {rng.choice(CITIES)}; "
                           f"started about {rng.randint(5, 90)} minutes before this ticket.",
            "requester_name": person,
            "requester_email": person.lower().replace(" ", ".").replace("ü", "ue") + "@example.com",
            "status": status, "impact": impact, "urgency": urgency,
            "category": CATEGORY_OF.get(service) if CATEGORY_OF.get(service) in cfg.categories else None,
            "service": service, "team": team, "assignee": assignee,
            "created_by": "intake", "created_at": created.isoformat(), "source": rng.choice(["mail", "alert", "cli", "console"]),
        }
        t = created
        entries = []
        if status != "new" and assignee:
            t = t + timedelta(seconds=rng.randint(60, 3600))
            row["acknowledged_at"], row["acknowledged_by"] = t.isoformat(), assignee
            entries.append({"kind": "reply", "author": assignee, "author_name": cfg.agents[assignee].name,
                            "at": t.isoformat(), "body": rng.choice(REPLIES)})
            row["first_response_at"] = t.isoformat()
            if rng.random() < 0.5:
                t = t + timedelta(seconds=rng.randint(60, 7200))
                entries.append({"kind": "note", "author": assignee, "author_name": cfg.agents[assignee].name,
                                "at": t.isoformat(), "body": rng.choice(NOTES)})
        if status in ("resolved", "closed"):
            t = t + timedelta(seconds=rng.randint(600, 86400))
            row["resolved_at"], row["resolution_code"] = min(t, now).isoformat(), rng.choice(["fixed", "fixed", "workaround", "no_fault_found"])
            row["resolution_note"] = "Resolved: " + rng.choice(["config rolled back", "capacity added", "user guided", "patched"])
        if status == "closed":
            t = t + timedelta(days=rng.randint(1, 3))
            row["closed_at"] = min(t, now).isoformat()  # nothing is done in the future
        if status == "cancelled":
            t = t + timedelta(seconds=rng.randint(60, 7200))
            row["closed_at"] = t.isoformat()
        row["updated_at"] = min(t, now).isoformat()
        row["entries"] = entries
        yield n + 1, row


def build(desk: "Desk", count: int, *, seed: int = 7, progress: Progress | None = None) -> list[str]:
    """Fill ``desk`` with ``count`` demo tickets through the bulk write path."""
    keys = import_rows(desk, SYSTEM, generate(desk, count, seed=seed), origin="demo", progress=progress,
                       total=count, action="demo")
    return keys
