"""A realistic demo desk: teams, services, agents and tickets in every state.

Tickets are generated deterministically (a seed) relative to the desk's
clock, and written through the bulk import path, so a million of them take
seconds rather than hours and are audited like any other import. They make
a shift in progress: open tickets mostly from the last hours, a few whose
first response falls due minutes after the build, some waiting (pending),
and 90 days of finished tickets behind them for the reports.
"""

from __future__ import annotations

import json
import random
import re
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from typing import TYPE_CHECKING, Iterator

from deskconsole.binding import on_desk
from deskconsole.core import report_facts
from deskconsole.core.identity import SYSTEM
from deskconsole.sla.defaults import DEFAULT_SLA_TOML
from deskconsole.core.bulk import insert_rows
from deskconsole.core.keys import ticket_id
from deskconsole.core.archive import demo_changes
from deskconsole.core.archive.transfer import Progress, import_rows
from deskconsole.models import AuditEvent, Rating, Review

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
# What each service needs (the service map): other services and configuration items.
DEPENDS_ON = {
    "checkout": ["payments-api", "sso", "k8s"],
    "payments-api": ["k8s", "pg-main", "mq-payments"],
    "sso": ["k8s", "pg-main"],
    "vpn": ["sso", "vpn-gw"],
    "wifi": ["wlan-ctl"],
    "email": ["sso", "mail-relay"],
    "k8s": ["k8s-nodes"],
}
# Configuration items: (title, type, owner team, what it depends on).
CIS = {
    "pg-main": ("Main PostgreSQL cluster", "database", "ops", ["db-hosts"]),
    "mq-payments": ("Payments message queue", "queue", "payments", ["k8s-nodes"]),
    "db-hosts": ("Database hosts", "host", "ops", []),
    "k8s-nodes": ("Kubernetes node pool", "host", "ops", []),
    "mail-relay": ("Mail relay", "host", "ops", []),
    "vpn-gw": ("VPN gateways", "host", "network", []),
    "wlan-ctl": ("Wi-Fi controller", "host", "network", []),
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
SOURCES = ["mail", "alert", "cli", "console"]
RESOLUTIONS = ["fixed", "fixed", "workaround", "no_fault_found"]
RESOLUTION_NOTES = ["config rolled back", "capacity added", "user guided", "patched"]
IMPACT_URGENCY = [("high", "high", 4), ("high", "medium", 8), ("medium", "high", 10), ("medium", "medium", 30),
                  ("medium", "low", 18), ("low", "medium", 18), ("low", "low", 12)]


def demo_config_text(login: str, database: str, now: datetime | None = None) -> str:
    """A complete demo config; ``login`` (whoever runs the demo) is its admin;
    its change freeze starts ten days after ``now`` (default: now)."""
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
        lines += [f"[services.{name}]", f"name = {json.dumps(title)}", f'team = "{team}"']
        if DEPENDS_ON.get(name):
            lines.append(f"depends_on = {json.dumps(DEPENDS_ON[name])}")
        lines.append("")
    for name, (title, kind, team, depends) in CIS.items():
        lines += [f"[cis.{name}]", f"name = {json.dumps(title)}", f'type = "{kind}"', f'team = "{team}"']
        if depends:
            lines.append(f"depends_on = {json.dumps(depends)}")
        lines.append("")
    return "\n".join(lines) + "\n" + DEFAULT_SLA_TOML + demo_changes.policy_toml(now or datetime.now(timezone.utc))


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


MINUTE, HOUR, DAY = 60, 3600, 86400
OPEN = ("new", "assigned", "in_progress", "pending")
# The desk's past, oldest first: (oldest age, newest age, share of the tickets,
# what became of them, by weight). A live shift: most open tickets are from
# the last hours, fewer from the last three days, and what is older and still
# open waits on someone (pending, its clocks paused); behind them 90 days of
# finished tickets for the reports ("done": resolved, and closed once it has
# been resolved for a day or more).
HISTORY = [
    (90 * DAY, 30 * DAY, 0.22, {"done": 93, "cancelled": 7}),
    (30 * DAY, 14 * DAY, 0.16, {"done": 93, "cancelled": 7}),
    (14 * DAY, 3 * DAY, 0.20, {"done": 83, "cancelled": 5, "pending": 12}),
    (3 * DAY, DAY, 0.13, {"done": 50, "cancelled": 4, "pending": 12, "in_progress": 22, "assigned": 12}),
    (DAY, 8 * HOUR, 0.10, {"done": 30, "cancelled": 3, "pending": 10, "in_progress": 35, "assigned": 17, "new": 5}),
    (8 * HOUR, 0, 0.19, {"done": 12, "cancelled": 2, "pending": 6, "in_progress": 35, "assigned": 25, "new": 20}),
]
TOP_OPEN_FOR = 12 * HOUR  # a ticket of the top priority older than this is done: majors are not left open for days
LIVE_LEAD = (1 * MINUTE, 10 * MINUTE)  # live tickets' first responses fall due this long after the build
VARIANTS = 97  # ready-made titles and reporters per service (drawn once, not per ticket)


def live_count(count: int) -> int:
    """How many of ``count`` demo tickets are new ones whose first response
    falls due in the first minutes after the build: a few, more on a bigger desk."""
    return max(min(4, count // 4), count // 500)


@on_desk
def generate(desk: "Desk", count: int, *, seed: int = 7, now: datetime | None = None) -> Iterator[tuple[int, dict]]:
    """``count`` ticket rows for :func:`import_rows`: a shift in progress at
    ``now`` (the desk's clock, read here, before the first row).

    Ticket numbers follow creation time, as on a real desk (INC-1 is the
    oldest), without holding the tickets in memory: ticket ``j`` of ``m``
    gets the ``(j + random) / m`` quantile of the creation times that
    :data:`HISTORY` describes. The newest few (:func:`live_count`) are new
    tickets whose first response falls due 1-10 minutes after ``now``, so
    warnings and breaches fire while one watches. Nothing lies after ``now``.
    """
    return _Shift(desk, count, seed, now or desk.now()).rows()


# What happened after the tickets, for the reports: some resolutions are
# reopened once, some tickets are handed from one agent to another, a share
# of requesters rate the resolution (mostly well), and resolved majors (the
# top two priorities) of the last weeks have their post-incident review —
# done for most of the older ones, due or overdue for the rest.
REOPENED = 0.05
HANDED_ON = 0.08
RATED = 0.3
SCORES = ((1, 3), (2, 5), (3, 12), (4, 35), (5, 45))
REVIEWED_FOR = 21 * DAY
REVIEW_DAYS = 5
REVIEWS_DONE = 0.7
REVIEW_TEXT = {  # what a done review of the demo says
    "impact": "Users of the service saw errors or could not work until it was resolved.",
    "root_cause": "A change went out without a canary and broke the service under load.",
    "factors": "The alert fired late (10% errors for 15 minutes)\nThe runbook did not cover the rollback",
}


class _Shift:
    """What :func:`generate` draws from: the desk's teams, services and SLA targets."""

    def __init__(self, desk: "Desk", count: int, seed: int, now: datetime):
        self.rng = random.Random(seed)
        self.count, self.now = count, now
        self.cfg = cfg = desk.config
        self.by_team: dict[str, list[str]] = {}
        for login, agent in cfg.agents.items():
            if agent.role != "viewer" and agent.team:
                self.by_team.setdefault(agent.team, []).append(login)
        self.services = [s for s in cfg.services if s in PROBLEMS] or list(cfg.services)
        self.iu = [(i, u) for i, u, _ in IMPACT_URGENCY]
        self.iu_cum = list(accumulate(w for *_, w in IMPACT_URGENCY))
        self.priority = {(i, u): cfg.priority_for(i, u) for i, u in self.iu}
        self.top = cfg.priority_for("high", "high")
        self._targets: dict[tuple, tuple[int, int]] = {}
        self.variants = {service: [self._variant(service) for _ in range(VARIANTS)] for service in self.services}
        self.position = 0  # the row being made (its ticket is the position-th of the import)
        self.after: dict[str, list[tuple]] = {"ratings": [], "handoffs": [], "reviews": []}

    def _variant(self, service: str) -> tuple[str, str, str, str]:
        """(title, description, reporter, reporter's e-mail) of one ticket about ``service``."""
        rng = self.rng
        team = self.team_of(service)
        title = rng.choice(PROBLEMS.get(service, ["Problem with {team}"])).format(
            pct=rng.randint(2, 60), ms=rng.choice([800, 1200, 3000]), hh=rng.randint(0, 23), mins=rng.randint(2, 30),
            city=rng.choice(CITIES), floor=rng.randint(1, 9), room=rng.choice("ABC"), team=team,
            pool=f"pool-{rng.randint(1, 4)}", days=rng.randint(1, 14),
        )
        person = rng.choice(PEOPLE)
        description = (f"{person} reports: {title.lower()}.\nSeen from {rng.choice(CITIES)}; "
                       f"started about {rng.randint(5, 90)} minutes before this ticket.")
        email = person.lower().replace(" ", ".").replace("ü", "ue") + "@example.com"
        return title, description, person, email

    def team_of(self, service: str) -> str:
        return self.cfg.services[service].team or self.cfg.default_team

    def category_of(self, service: str) -> str | None:
        category = CATEGORY_OF.get(service)
        return category if category in self.cfg.categories else None

    def targets(self, priority: str, service: str) -> tuple[int, int, float, float]:
        """(first response, resolution) targets of the policy the ticket falls
        under, in business seconds, and for each how many wall-clock seconds a
        business second takes on its calendar (over the last week: 1 round the
        clock, about 4 for office hours)."""
        found = self._targets.get((priority, service))
        if found is None:
            policy = self.cfg.sla.match(priority, self.team_of(service), service, self.category_of(service))
            given = policy.targets if policy else {}
            fr, res = given.get("first_response"), given.get("resolution")
            found = self._targets[(priority, service)] = (
                fr.seconds if fr else 4 * HOUR, max(res.seconds if res else 3 * DAY, fr.seconds if fr else 0),
                self._wall(fr.calendar if fr else None), self._wall(res.calendar if res else None))
        return found

    def _wall(self, calendar: str | None) -> float:
        if calendar is None:
            return 1.0
        week = self.cfg.sla.calendar(calendar).between(self.now - timedelta(days=7), self.now)
        return min(7 * DAY / week, 10.0) if week else 10.0

    def live(self) -> list[tuple[float, str, str]]:
        """The live tickets, oldest first: (age in seconds, service, urgency).
        Each is a new high-impact ticket (the top priority, every third one
        the next) created so that its first-response clock, on the calendar
        of its policy, has 1-10 minutes left; where that calendar is closed
        (a P2 out of office hours) it is just a new ticket of a few minutes."""
        rng, now, live = self.rng, self.now, []
        n = live_count(self.count)
        lo, hi = LIVE_LEAD
        for i in range(n):
            service = rng.choice(self.services)
            urgency = "medium" if i % 3 == 2 else "high"
            lead = lo + (hi - lo) * (i + rng.random()) / n
            policy = self.cfg.sla.match(self.priority[("high", urgency)], self.team_of(service), service,
                                        self.category_of(service))
            target = policy.targets.get("first_response") if policy else None
            need = int(target.seconds - lead) if target else 0
            age = float(rng.randint(2 * MINUTE, 12 * MINUTE))
            if need > 0:
                created = now - timedelta(seconds=need)
                if self.cfg.sla.calendar(target.calendar).between(created, now) == need:
                    age = float(need)
            live.append((age, service, urgency))
        live.sort(reverse=True)
        return live

    def rows(self) -> Iterator[tuple[int, dict]]:
        rng = self.rng
        live = self.live()
        m = self.count - len(live)
        newest = live[0][0] if live else 2 * MINUTE  # the history ends where the live tickets begin
        bands = []
        start = 0.0
        for oldest, youngest, share, fates in HISTORY:
            kinds = list(fates)
            bands.append((start, start + share, oldest, max(youngest, newest), kinds, list(accumulate(fates.values()))))
            start += share
        b, last = 0, len(bands) - 1
        services, iu, iu_cum, choices, rand = self.services, self.iu, self.iu_cum, rng.choices, rng.random
        for j in range(m):
            self.position = j
            u = (j + rand()) / m  # ascending: the oldest ticket first
            while b < last and u >= bands[b][1]:
                b += 1
            begin, end, oldest, youngest, kinds, cum = bands[b]
            age = oldest - (oldest - youngest) * min((u - begin) / (end - begin), 1.0)
            impact, urgency = choices(iu, cum_weights=iu_cum)[0]
            kind = choices(kinds, cum_weights=cum)[0]
            yield j + 1, self.row(age, kind, rng.choice(services), impact, urgency)
        for j, (age, service, urgency) in enumerate(live, m + 1):
            self.position = j - 1
            yield j, self.row(age, "new", service, "high", urgency)

    def row(self, age: float, kind: str, service: str, impact: str, urgency: str) -> dict:
        """One ticket created ``age`` seconds before now; ``kind`` is a status or "done"."""
        rng, cfg = self.rng, self.cfg
        priority = self.priority[(impact, urgency)]
        if priority == self.top and age > TOP_OPEN_FOR and kind in OPEN:
            kind = "done"
        fr, res, fr_wall, res_wall = self.targets(priority, service)
        team = self.team_of(service)
        title, description, person, email = rng.choice(self.variants[service])
        holders = self.by_team.get(team)
        assignee = rng.choice(holders) if holders and kind != "new" else None
        created = self.now - timedelta(seconds=age)
        row = {
            "title": title, "description": description, "requester_name": person, "requester_email": email,
            "impact": impact, "urgency": urgency, "priority": priority, "category": self.category_of(service),
            "service": service, "team": team, "assignee": assignee, "created_by": "intake",
            "created_at": created.isoformat(), "source": rng.choice(SOURCES),
        }
        entries = []
        # When things happened, in seconds after creation; none after now (age).
        acked = last = resolved = closed = None
        if kind == "done":
            # about one in ten takes longer than its target (one in eight answered late)
            resolved = min(_log_uniform(rng, max(10 * MINUTE, res * 0.08), res * 1.3) * res_wall,
                           age * (0.3 + 0.68 * rng.random()))
            if assignee:
                acked = min(_log_uniform(rng, MINUTE, fr * 1.5) * fr_wall, resolved * 0.5)
            closed = resolved + (1 + 2 * rng.random()) * DAY
            kind = "closed" if closed <= age else "resolved"
            if kind == "resolved":
                closed = None
        elif kind == "cancelled":
            closed = min(_log_uniform(rng, 5 * MINUTE, DAY), age * rng.random())
            if assignee and rng.random() < 0.5:
                acked = closed * rng.random()
        elif kind == "pending":  # answered in time and paused before its resolution target (in wall time: surely)
            if assignee:
                acked = min(_log_uniform(rng, MINUTE, fr * 0.6), age * 0.4)
                last = acked + min(_log_uniform(rng, 5 * MINUTE, res * 0.5), (age - acked) * 0.9)
        elif kind != "new" and assignee:
            acked = min(_log_uniform(rng, MINUTE, fr * 1.5) * fr_wall, age * (0.1 + 0.8 * rng.random()))
        row["status"] = kind
        if acked is not None:
            at = (created + timedelta(seconds=acked)).isoformat()
            row["acknowledged_at"] = row["first_response_at"] = at
            row["acknowledged_by"] = assignee
            name = cfg.agents[assignee].name
            entries.append({"kind": "reply", "author": assignee, "author_name": name, "at": at,
                            "body": REPLIES[0]})
            until = next(t for t in (resolved, last, closed, age) if t is not None)  # its last event so far
            if rng.random() < 0.5:
                noted = acked + (until - acked) * rng.random()
                entries.append({"kind": "note", "author": assignee, "author_name": name,
                                "at": (created + timedelta(seconds=noted)).isoformat(), "body": rng.choice(NOTES)})
                last = max(last or 0.0, noted)
            if kind == "pending":
                entries.append({"kind": "reply", "author": assignee, "author_name": name,
                                "at": (created + timedelta(seconds=until)).isoformat(), "body": REPLIES[1]})
            last = max(last or 0.0, acked, until if kind == "pending" else 0.0)
        if resolved is not None:
            self._aftermath(row, created, resolved, acked, age, priority, assignee, team, email, entries)
            row["resolved_at"] = (created + timedelta(seconds=resolved)).isoformat()
            row["resolution_code"] = rng.choice(RESOLUTIONS)
            row["resolution_note"] = "Resolved: " + rng.choice(RESOLUTION_NOTES)
            last = resolved
        if closed is not None:
            row["closed_at"] = (created + timedelta(seconds=closed)).isoformat()
            last = closed
        row["updated_at"] = (created + timedelta(seconds=last)).isoformat() if last else row["created_at"]
        row["entries"] = entries
        return row

    def _aftermath(self, row, created, resolved, acked, age, priority, assignee, team, email, entries) -> None:
        """A done ticket's reopen, hand-offs, rating and review (see REOPENED...)."""
        rng, at = self.rng, lambda seconds: created + timedelta(seconds=seconds)
        if rng.random() < REOPENED and acked is not None:
            row["reopen_count"] = 1
            entries.append({"kind": "note", "author": assignee, "author_name": self.cfg.agents[assignee].name,
                            "at": at(acked + (resolved - acked) * 0.9).isoformat(),
                            "body": "Reopened: the requester says it is back."})
        others = [a for a in self.by_team.get(team, []) if a != assignee]
        if others and rng.random() < HANDED_ON:
            for n in range(rng.choice((1, 1, 2, 3))):
                self.after["handoffs"].append((self.position, at(resolved * (n + 1) / 5), rng.choice(others), assignee))
        if email and rng.random() < RATED:
            score = rng.choices([s for s, _ in SCORES], cum_weights=list(accumulate(w for _, w in SCORES)))[0]
            rated = resolved + min(rng.random() * DAY, (age - resolved) * 0.9)
            self.after["ratings"].append((self.position, score, at(rated), email))
        if priority in ("P1", "P2") and age - resolved < REVIEWED_FOR:
            since = (age - resolved) / DAY
            done = since > REVIEW_DAYS * 0.6 and rng.random() < REVIEWS_DONE
            self.after["reviews"].append((self.position, at(resolved), done, assignee))


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    """A duration between ``low`` and ``high``, as likely in each doubling:
    most work is quick, some takes long (resolution times have a long tail)."""
    return low * (high / low) ** rng.random() if high > low else low

@on_desk
def build(desk: "Desk", count: int, *, seed: int = 7, progress: Progress | None = None) -> list[str]:
    """Fill ``desk`` with ``count`` demo tickets through the bulk write path."""
    shift = _Shift(desk, count, seed, desk.now())
    keys = import_rows(desk, SYSTEM, shift.rows(), origin="demo", progress=progress, total=count, action="demo")
    _write_aftermath(desk, shift, keys)
    return keys


@on_desk
def build_changes(desk: "Desk", keys: list[str], *, seed: int = 7) -> list[str]:
    """The demo's changes around now, after its incidents (``keys``: the
    recent ones are those a failed change may have caused)."""
    return demo_changes.build(desk, keys[-400:], seed=seed)


def _write_aftermath(desk: "Desk", shift: "_Shift", keys: list[str]) -> None:
    """The ratings, hand-offs and reviews the shift drew, onto the imported tickets (one transaction)."""
    ids = [ticket_id(k) for k in keys]
    after = shift.after
    now = shift.now
    with desk.transaction():
        insert_rows(Rating, ("ticket", "score", "at", "source", "rated_by"),
                    [(ids[i], score, at, "mail", email) for i, score, at, email in after["ratings"]])
        insert_rows(AuditEvent, ("ticket", "at", "actor", "via", "action", "field", "old", "new"),
                    [(ids[i], at, "intake", None, "assign", "assignee", before, holder)
                     for i, at, before, holder in after["handoffs"]])
        rows = []
        for i, resolved, done, owner in after["reviews"]:
            due = resolved + timedelta(days=REVIEW_DAYS)
            text = REVIEW_TEXT if done else dict.fromkeys(REVIEW_TEXT, "")
            rows.append((ids[i], "done" if done else "due", due, owner, text["impact"], text["root_cause"], text["factors"],
                         resolved, "intake", min(due, now) if done else resolved, min(due, now) if done else None, 1))
        report_facts.touch(desk, [ids[i] for i, *_ in after["ratings"]] + [ids[i] for i, *_ in after["handoffs"]])
        insert_rows(Review, ("ticket", "state", "due_at", "owner", "impact", "root_cause", "factors", "created_at",
                             "created_by", "updated_at", "done_at", "version"), rows)
