"""Who is acting: the real login of the process (its real uid, i.e. the SSH
user), with the role the desk's own directory gives that login.

Nothing the user can set decides either: not LOGNAME/USER (which
``getpass.getuser()`` trusts), and not a config file (anyone can pass one).
The roles live in the desk's database, where only a desk admin changes them.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from deskconsole.binding import on_desk
from deskconsole.config import ROLES
from deskconsole.errors import PermissionDenied

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

RANK = {role: i for i, role in enumerate(ROLES)}


@dataclass(frozen=True)
class Actor:
    login: str
    name: str
    role: str
    team: str | None = None
    via: str | None = None  # the admin's own login when acting --as someone
    internal: bool = False  # the desk's own engines (SLA loop, demo builder): no login, no directory entry
    only: frozenset[str] | None = None  # an engine limited to these actions (the alert intake), whatever its role

    def at_least(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]

    @property
    def is_agent(self) -> bool:
        return self.at_least("agent")


SYSTEM = Actor(login="system", name="deskconsole", role="admin", internal=True)
# Logins the desk's own engines write in the audit log: an OS account of that
# name would read as the engine in every history, so it may not act.
RESERVED_LOGINS = frozenset({"system", "sla", "intake"})
# The intake (alerts and mail): opens tickets, notes repeats and clears,
# acknowledges and resolves what its alerts say, adds a requester's mail and
# reopens on it, links a recurrence to the ticket before — and nothing else
# (no assigning, closing, merging or cancelling).
INTAKE = Actor(login="intake", name="Intake", role="agent", internal=True,
               only=frozenset({"create", "note", "ack", "resolve", "link", "inbound", "reopen"}))


class UnknownUser(PermissionDenied):
    """The process's real uid has no login name."""


def os_login() -> str:
    """The real login: the name of this process's real uid in the password
    database. LOGNAME, USER and the like are never read — anyone can set them."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        raise UnknownUser(
            f"your user id {uid} has no login name (no entry in the password database), and deskconsole acts only"
            f" for a known login; run it as your own user, or ask the host's admin to add an account for uid {uid}"
        ) from None


@on_desk
def actor_for(desk: "Desk", login: str) -> Actor:
    """``login`` as the desk's directory knows it. A login the directory does
    not know, or one it has deactivated, is a viewer."""
    if login in RESERVED_LOGINS:
        raise PermissionDenied(
            f"the login {login!r} is the name the desk's own engine writes in the history, so it cannot act on a"
            f" desk; run deskconsole as another user"
        )
    agent = desk.directory.agents.get(login)
    if agent is None or not agent.active:
        return Actor(login=login, name=agent.name if agent else login, role="viewer")
    return Actor(login=login, name=agent.name, role=agent.role, team=agent.team)


@on_desk
def resolve_actor(desk: "Desk", login: str, as_login: str | None = None) -> Actor:
    """The acting identity. ``--as`` is for desk admins (by the desk's own
    directory) only; the history then names both."""
    real = actor_for(desk, login)
    if not as_login or as_login == real.login:
        return real
    if real.role != "admin":
        raise PermissionDenied(
            f"--as is for desk admins; the desk knows you, {real.login!r}, as {article(real.role)} {real.role}."
            f" Run the command as yourself, or ask a desk admin."
        )
    target = actor_for(desk, as_login)
    return replace(target, via=real.login)


def article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
