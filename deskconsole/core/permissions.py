"""Which role may do what. Checked in the core, never only in a screen."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from deskconsole.binding import on_desk
from deskconsole.errors import PermissionDenied
from deskconsole.core.identity import Actor, article

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

MIN_ROLE = {
    "create": "agent",
    "triage": "agent",
    "assign": "agent",
    "take": "agent",
    "ack": "agent",
    "status": "agent",
    "reply": "agent",
    "note": "agent",
    "link": "agent",
    "merge": "agent",
    "resolve": "agent",
    "close": "agent",
    "reopen": "agent",
    "cancel": "lead",
    "reassign": "lead",  # take a ticket away from another agent
    "import": "admin",
    "config": "admin",
    "backup": "admin",
    "restore": "admin",
    "sla": "admin",  # the SLA engine's own writes (sweep, escalations)
    "sweep": "agent",  # run the SLA loop (the daemon): it writes crossings and escalations
    "inbound": "agent",  # a requester's mail joins the conversation (the mail intake)
    "intake": "agent",  # run the alert intake: it opens and updates tickets as 'intake'
    "review": "agent",  # write post-incident reviews and their follow-up actions
    "problem": "agent",  # open, work and resolve problems (resolving their incidents needs "resolve" too)
    "kb_write": "agent",  # write knowledge articles and edit drafts
    "kb_cite": "agent",  # cite an article on a ticket
    "kb_publish": "lead",  # publish, retire and revive articles, and edit published ones
    "change": "agent",  # raise, plan and carry out changes
    "change_approve": "agent",  # approve or reject a change: the change policy's rules say who, per change
}

WHAT = {
    "reassign": "reassign a ticket that another agent holds",
    "cancel": "cancel tickets",
    "import": "import tickets",
    "config": "change the desk's configuration",
    "backup": "back up the desk",
    "restore": "restore the desk from a backup",
    "sweep": "run the SLA loop (it records warnings, breaches and escalations)",
    "intake": "run the alert intake (it opens and updates tickets as 'intake')",
    "problem": "work on problems",
    "kb_write": "write knowledge articles",
    "kb_cite": "cite knowledge articles on tickets",
    "kb_publish": "publish, retire or revive knowledge articles, or edit a published one",
    "change": "raise or work on changes",
    "change_approve": "approve or reject changes",
}


def require(actor: Actor, action: str) -> None:
    needed = MIN_ROLE[action]
    if actor.only is not None and action not in actor.only:
        raise PermissionDenied(f"{actor.name} ({actor.login}) may only {', '.join(sorted(actor.only))}; not {action}")
    if actor.at_least(needed):
        return
    what = WHAT.get(action, f"{action} tickets" if action in ("create", "triage", "assign", "take") else action)
    raise PermissionDenied(
        f"{actor.login} is {article(actor.role)} {actor.role} on this desk and cannot {what}; that needs the"
        f" {needed} role. Roles live in the desk's own directory: ask a desk admin to give {actor.login} the role"
        f" (agents.{actor.login}.role in their config, then 'deskconsole admin sync')."
    )


@on_desk
def role_now(desk: "Desk", actor: Actor) -> Actor:
    """``actor`` with the role the database gives its login now (inside a
    write transaction): a console left open after an admin took a role away
    loses it at its next write. With ``--as``, the admin behind it must still
    be an admin too. The desk's own engines are not in the directory."""
    if actor.internal:
        return actor
    logins = [actor.login] + ([actor.via] if actor.via else [])
    marks = ", ".join([desk.db.param] * len(logins))  # one indexed lookup on each write: plain SQL, no query builder
    roles = dict(desk.db.execute_sql(f"SELECT login, role FROM agent WHERE login IN ({marks}) AND active",
                                     logins).fetchall())
    role = roles.get(actor.login, "viewer") if not actor.via or roles.get(actor.via) == "admin" else "viewer"
    return actor if role == actor.role else replace(actor, role=role)
