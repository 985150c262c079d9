"""The commented starter config that ``deskconsole init`` writes."""

from __future__ import annotations

import json

from deskconsole.sla.defaults import DEFAULT_SLA_TOML


def starter_config(login: str, name: str, database: str | None) -> str:
    db_line = f"database = {json.dumps(database)}" if database else (
        '# database = "sqlite:////var/lib/deskconsole/desk.db"   # or "postgresql://desk@db-host/desk"'
    )
    return f'''# deskconsole configuration.
# Identity is the OS login (the SSH user). Logins not listed under [agents]
# can read the desk (role "viewer") but change nothing.
# Roles: viewer (read only), agent (work tickets), lead (also reassign
# others' tickets and cancel), admin (everything, and --as LOGIN).

[desk]
name = "Service desk"
# Where the tickets live. --db and DESKCONSOLE_DB override this; without
# any of them the desk is a SQLite file in the XDG data folder.
{db_line}
# Team for new tickets that name none (must be defined below).
default_team = "ops"
# Priority for new tickets without impact and urgency.
default_priority = "P3"

[teams.ops]
name = "Operations"
email = "ops@example.com"

[agents.{json.dumps(login)}]
name = {json.dumps(name)}
role = "admin"
team = "ops"

# [agents.alice]
# name = "Alice Ng"
# email = "alice@example.com"
# role = "agent"
# team = "ops"

[categories]
outage = "Outage"
degradation = "Performance degradation"
access = "Access request"
hardware = "Hardware"
software = "Software"

# The business services tickets are raised against; team = who owns them;
# depends_on = the services and configuration items it needs (the service map:
# 'deskconsole services', S in the console).
# [services.checkout]
# name = "Checkout"
# team = "ops"
# depends_on = ["payments-db"]

# Configuration items services run on; type: host, database, queue ...
# [cis.payments-db]
# name = "Payments database"
# type = "database"
# team = "ops"

# Priority = impact (rows) x urgency (columns). Levels: high, medium, low.
[priority.matrix]
high = {{ high = "P1", medium = "P2", low = "P3" }}
medium = {{ high = "P2", medium = "P3", low = "P4" }}
low = {{ high = "P3", medium = "P4", low = "P4" }}

[resolution]
codes = ["fixed", "workaround", "no_fault_found", "duplicate", "known_error", "user_error", "cancelled_by_requester"]

''' + DEFAULT_SLA_TOML
