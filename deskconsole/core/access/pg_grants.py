"""PostgreSQL privileges that mirror the desk's roles, so the server itself
refuses what a role may not do — even to someone who connects with psql.

Four group roles per desk (``PREFIX_viewer``, ``_agent``, ``_lead``,
``_admin``), each a member of the one below it:

- viewer: reads every table, writes none;
- agent and lead: also write the work (tickets, conversations, links, SLA
  clocks), append to the audit log and the change feed — never edit or
  delete them — and cannot touch the directory (teams, agents, roles);
- admin: everything on the desk's tables (the directory, restore).

Agents and leads differ only inside deskconsole (cancelling, taking a ticket
from someone): the server cannot tell those updates apart. Each active agent
of the desk's directory whose login is also a PostgreSQL role is made a
member of the group of its desk role (and of no other); connect with that
role (e.g. peer authentication over the local socket, where the PostgreSQL
role is the OS login) for the server to enforce it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deskconsole.binding import on_desk
from deskconsole.errors import ValidationError
from deskconsole.core.identity import Actor
from deskconsole.models import (
    MODELS, Agent, ApiToken, Approval, AuditEvent, Category, ChangeItem, DeskSetting, FeedEntry, Link, SchemaVersion,
    Service, Team,
)

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

LEVELS = ("viewer", "agent", "lead", "admin")
# the directory and the API tokens: only admins write them (a token row is an identity)
# the directory and the desk's settings (its change policy: who approves what) are the admins'
DIRECTORY = {m._meta.table_name for m in (Team, Agent, Category, Service, SchemaVersion, ApiToken, DeskSetting)}
APPEND_ONLY = {m._meta.table_name for m in (AuditEvent, FeedEntry, Approval)}  # an approval given stays on record
DELETABLE = {m._meta.table_name for m in (Link, ChangeItem)}  # a link, a service a change no longer touches


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def group_names(prefix: str) -> dict[str, str]:
    prefix = prefix.strip()
    if not prefix or len(prefix) > 50 or "\x00" in prefix or "$" in prefix:
        raise ValidationError("--prefix takes a name of 1 to 50 characters without '$' (e.g. the database's name)")
    return {level: f"{prefix}_{level}" for level in LEVELS}


@on_desk
def grants_sql(desk: "Desk", prefix: str) -> str:
    """The script to run with psql: :func:`grant_statements` in one transaction."""
    return f"BEGIN;\n{grant_statements(desk, prefix)}COMMIT;\n"


@on_desk
def grant_statements(desk: "Desk", prefix: str) -> str:
    """The SQL that creates (if missing) and grants the four group roles, and
    puts each directory agent that has a PostgreSQL role of its own in its group."""
    if desk.is_sqlite:
        raise ValidationError("pg-grants is for a desk on PostgreSQL; on SQLite the desk file's mode and group"
                              " decide who may write (see the README's Security section)")
    roles = group_names(prefix)
    r = {level: ident(name) for level, name in roles.items()}
    tables = sorted(m._meta.table_name for m in MODELS)
    work = [t for t in tables if t not in DIRECTORY]
    everyone = ", ".join(r.values())
    out = []
    for name in roles.values():
        out.append(f"DO $grants$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {literal(name)})"
                   f" THEN CREATE ROLE {ident(name)} NOLOGIN; END IF; END $grants$;")
    out += [f"GRANT {r['viewer']} TO {r['agent']};", f"GRANT {r['agent']} TO {r['lead']};",
            f"GRANT {r['lead']} TO {r['admin']};",
            "-- nobody else reads or writes the desk's tables",
            f"REVOKE ALL ON {', '.join(map(ident, tables))} FROM PUBLIC, {everyone};",
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, {everyone};",
            f"GRANT USAGE ON SCHEMA public TO {r['viewer']};",
            f"GRANT SELECT ON {', '.join(map(ident, tables))} TO {r['viewer']};"]
    for table in work:
        privileges = ("INSERT" if table in APPEND_ONLY
                      else "INSERT, UPDATE, DELETE" if table in DELETABLE else "INSERT, UPDATE")
        out.append(f"GRANT {privileges} ON {ident(table)} TO {r['agent']};")
    out += [f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r['agent']};",
            f"GRANT ALL ON {', '.join(map(ident, tables))} TO {r['admin']};",
            f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {r['admin']};",
            "-- the desk's directory: each agent with a PostgreSQL role of the same name, in its role's group"]
    for login, agent in sorted(desk.directory.agents.items()):
        if "$" in login or "\x00" in login:
            out.append(f"-- skipped {login!r}: not a name this script can quote")
            continue
        grant = f" GRANT {r[agent.role]} TO {ident(login)};" if agent.active else ""
        out.append(f"DO $grants$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {literal(login)}) THEN"
                   f" REVOKE {everyone} FROM {ident(login)};{grant} END IF; END $grants$;")
    return "\n".join(out) + "\n"


@on_desk
def apply_grants(desk: "Desk", actor: Actor, prefix: str) -> None:
    """Run :func:`grant_statements` in one audited transaction on the desk's
    own connection (desk admins only; the connection's PostgreSQL role needs
    CREATEROLE and to own the tables)."""
    from deskconsole.core.txn import unit_of_work

    statements = grant_statements(desk, prefix)  # (refuses a SQLite desk before any transaction)
    with unit_of_work(desk, actor, "config") as unit:
        desk.db.execute_sql(statements)
        unit.audit(None, "config", "pg-grants", None, ", ".join(group_names(prefix).values()))
