"""The ``deskconsole`` executable.

Start-up time matters for a command typed dozens of times an hour: a desk on
SQLite never needs the PostgreSQL driver, which Peewee would otherwise import
eagerly (about a third of the start-up time). So before anything imports
Peewee, look at which database this run will use and, for SQLite, keep the
driver out of the process.
"""

from __future__ import annotations

import os
import sys


def _database_url(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg == "--db" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--db="):
            return arg[5:]
    if os.environ.get("DESKCONSOLE_DB"):
        return os.environ["DESKCONSOLE_DB"]
    config = None
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            config = argv[i + 1]
        elif arg.startswith("--config="):
            config = arg[9:]
    try:
        import tomllib

        from deskconsole.paths import default_config_path

        path = os.path.expanduser(config) if config else default_config_path()
        with open(path, "rb") as handle:
            return tomllib.load(handle).get("desk", {}).get("database")
    except Exception:  # the real load reports config problems properly
        return None


def run() -> None:
    url = _database_url(sys.argv[1:]) or ""
    if not url.lower().startswith(("postgres", "pgsql")):
        for driver in ("psycopg", "psycopg2"):
            sys.modules.setdefault(driver, None)  # "not installed" for this process
    from deskconsole.cli.main import main

    raise SystemExit(main())
