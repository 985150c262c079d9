"""Who is acting: the OS login (the SSH user), mapped by the config to a role."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from deskconsole.config import ROLES, Config
from deskconsole.core.errors import PermissionDenied

RANK = {role: i for i, role in enumerate(ROLES)}


@dataclass(frozen=True)
class Actor:
    login: str
    name: str
    role: str
    team: str | None = None
    via: str | None = None  # the admin's own login when acting --as someone

    def at_least(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]

    @property
    def is_agent(self) -> bool:
        return self.at_least("agent")


SYSTEM = Actor(login="system", name="deskconsole", role="admin")


def os_login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name at all (some containers)
        return "unknown"


def actor_for(config: Config, login: str) -> Actor:
    agent = config.agents.get(login)
    if agent is None:
        return Actor(login=login, name=login, role="viewer")
    return Actor(login=login, name=agent.name, role=agent.role, team=agent.team)


def resolve_actor(config: Config, login: str | None = None, as_login: str | None = None) -> Actor:
    """The acting identity. An unknown login is a viewer; ``--as`` is for admins only."""
    real = actor_for(config, login or os_login())
    if not as_login or as_login == real.login:
        return real
    if real.role != "admin":
        raise PermissionDenied(
            f"--as is for desk admins; you are {real.login!r} ({real.role}). "
            f"Run the command as yourself, or ask an admin."
        )
    target = actor_for(config, as_login)
    return Actor(login=target.login, name=target.name, role=target.role, team=target.team, via=real.login)
