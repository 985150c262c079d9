"""``deskconsole admin ...``: the desk's directory and its PostgreSQL roles (desk admins)."""

from __future__ import annotations

import sys

from deskconsole.cli.context import Context
from deskconsole.cli.lazy_commands import subcommands
from deskconsole.core.access import directory, pg_grants
from deskconsole.errors import NoChange
from deskconsole.core.permissions import require
from deskconsole.db import parse_url


def cmd_sync(ctx: Context, args) -> int:
    desk, actor = ctx.open(say=False)  # the differences are this command's output, not a warning
    if not directory.has_say(desk.config):
        raise NoChange(f"{ctx.config_path} names no teams and no agents, so it has nothing to apply to the desk's"
                       " directory; pass the desk's own config with --config")
    # (applying needs a desk admin: the write itself checks, against the database)
    keys = directory.differences(desk) if args.dry_run else directory.apply_config(desk, actor)
    if not keys:
        print("the desk's directory already matches the config")
    else:
        print(("would change: " if args.dry_run else "changed: ") + ", ".join(keys))
    return 0


def cmd_pg_grants(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    require(actor, "config")
    prefix = args.prefix or parse_url(desk.url).dbname or "desk"
    if args.apply:
        pg_grants.apply_grants(desk, actor, prefix)
        names = ", ".join(pg_grants.group_names(prefix).values())
        print(f"applied: group roles {names}; agents with a PostgreSQL role of their own are in their group",
              file=sys.stderr)
        return 0
    sys.stdout.write(pg_grants.grants_sql(desk, prefix))
    return 0


def add_commands(command, globals_) -> None:
    """Register ``admin`` and its subcommands; ``globals_(parser)`` adds --db/--config/--as."""
    admin = command("admin", None, "the desk's directory and its database roles (desk admins)")
    sc = subcommands(admin, "admin_command", globals_)

    p = sc("sync", cmd_sync, "make the desk's directory (teams, agents and roles, categories, services) match "
                             "your config; audited as you")
    p.add_argument("--dry-run", action="store_true", help="only say what would change")
    p = sc("pg-grants", cmd_pg_grants,
           "print (or --apply) the SQL giving PostgreSQL group roles the privileges of the desk's roles")
    p.add_argument("--apply", action="store_true", help="run it on the desk's connection instead of printing it")
    p.add_argument("--prefix", metavar="NAME",
                   help="the group roles' names start with NAME_ (default: the database's name)")

