"""``deskconsole`` with no command: the console (Textual), for the terminal
it runs in. Without a terminal (a pipe, cron) it lists the queue instead."""

from __future__ import annotations

import os
import sys

from deskconsole.cli.context import Context


def cmd_console(ctx: Context, args) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()) and not os.environ.get("DESKCONSOLE_FORCE_CONSOLE"):
        from deskconsole.cli.commands import cmd_ls

        print("deskconsole: not a terminal, so here is the queue as a list ('deskconsole ls --help' for more)",
              file=sys.stderr)
        args.query, args.format, args.limit = ["is:open"], "table", getattr(args, "limit", 50) or 50
        return cmd_ls(ctx, args)
    desk, actor = ctx.open(say=False)  # the console shows its notices itself
    from deskconsole import logs
    from deskconsole.ui.app import DeskApp

    logs.to_file()
    # The SLA loop writes (crossings, escalations): it runs in agents' consoles, never in a viewer's.
    app = DeskApp(desk, actor, filter_text=" ".join(getattr(args, "filter", None) or []) or "is:open",
                  keymap=desk.config.keys, sweep=actor.is_agent, notices=tuple(ctx.notices))
    app.run()
    desk.close()
    return app.return_code or 0
