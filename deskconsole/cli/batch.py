"""``deskconsole batch [FILE|-]``: its arguments. Light to import (the parser
is built for every command); the running is in ``cli.batch_run``."""

from __future__ import annotations


def cmd_batch(ctx, args) -> int:
    from deskconsole.cli.batch_run import run_batch

    return run_batch(ctx, args)


def add_command(command) -> None:
    """Register ``batch`` with ``command(name, func, help)`` (see ``cli.main``)."""
    p = command("batch", cmd_batch, "run many commands, one per line, in one process on one open desk;"
                                    " one JSON result per line")
    p.add_argument("file", nargs="?", default="-", metavar="FILE", help="the commands ('-', the default, reads"
                   " standard input); blank lines and lines starting with # are skipped")
    p.add_argument("--stop-on-error", action="store_true", help="stop at the first line that fails")
    p.add_argument("--atomic", action="store_true",
                   help="all or nothing: every line in one transaction, rolled back at the first failure")
