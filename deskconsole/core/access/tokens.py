"""API tokens: how a program (an alert source, an integration) proves which
desk identity it acts as.

A desk admin makes one with ``deskconsole token add NAME [--for LOGIN]``;
the secret is printed once and only its SHA-256 is stored, so a copy of the
database (or a viewer reading it) holds nothing that opens the door. A token
acts as ``intake`` (the alert intake's own limited identity) or as a
directory agent, with the role the directory gives that agent at each write.
Revoking takes effect at the listener's next token refresh (seconds).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from deskconsole.binding import on_desk
from deskconsole.errors import NotFound, ValidationError
from deskconsole.core.identity import INTAKE, Actor, actor_for
from deskconsole.core.permissions import require
from deskconsole.core.txn import unit_of_work
from deskconsole.models import ApiToken

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

PREFIX = "dkt_"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class TokenInfo:
    name: str
    login: str
    created_at: object
    created_by: str
    revoked: bool


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@on_desk
def add(desk: "Desk", actor: Actor, name: str, login: str = "intake") -> str:
    """A new token ``name`` acting as ``login``; returns its secret (shown once)."""
    if not NAME_RE.match(name or ""):
        raise ValidationError(f"{name!r} is not a token name; use lower-case letters, digits, '_', '.' or '-'"
                              " (up to 64), e.g. alertmanager-prod")
    if login != INTAKE.login and login not in desk.directory.agents:
        raise ValidationError(f"{login!r} is not an agent of this desk; a token acts as 'intake' or as an agent"
                              " ('deskconsole admin sync' adds agents)")
    secret = PREFIX + secrets.token_urlsafe(32)
    with unit_of_work(desk, actor, "config") as unit:
        if ApiToken.select().where(ApiToken.name == name).exists():
            raise ValidationError(f"a token named {name!r} exists already; revoke it first or pick another name")
        ApiToken.insert(name=name, login=login, secret_hash=digest(secret), created_at=unit.now,
                        created_by=actor.login).execute()
        unit.audit(None, "token", name, None, f"acts as {login}")
    return secret


@on_desk
def revoke(desk: "Desk", actor: Actor, name: str) -> None:
    with unit_of_work(desk, actor, "config") as unit:
        row = ApiToken.get_or_none((ApiToken.name == name) & ApiToken.revoked_at.is_null())
        if row is None:
            raise NotFound(f"no live token named {name!r}; 'deskconsole token list' shows them")
        ApiToken.update(revoked_at=unit.now).where(ApiToken.id == row.id).execute()
        unit.audit(None, "token", name, f"acts as {row.login}", "revoked")


@on_desk
def listed(desk: "Desk", actor: Actor) -> list[TokenInfo]:
    require(actor, "config")
    return [TokenInfo(t.name, t.login, t.created_at, t.created_by, t.revoked_at is not None)
            for t in ApiToken.select().order_by(ApiToken.name)]


@on_desk
def live(desk: "Desk") -> dict[str, tuple[str, str]]:
    """Every live token's digest -> (its name, the login it acts as)."""
    return {t.secret_hash: (t.name, t.login) for t in ApiToken.select().where(ApiToken.revoked_at.is_null())}


def check(known: dict[str, tuple[str, str]], presented: str) -> tuple[str, str] | None:
    """(name, login) of the live token ``presented`` is, or None. Every stored
    digest is compared, each in constant time, so the answer's timing says
    nothing about how close a guess came."""
    wanted = digest(presented)
    found = None
    for stored, who in known.items():
        if hmac.compare_digest(stored, wanted):
            found = who
    return found


@on_desk
def acting(desk: "Desk", login: str) -> Actor:
    """The identity a token acts as: the intake, or the agent as the directory has it now."""
    return INTAKE if login == INTAKE.login else actor_for(desk, login)
