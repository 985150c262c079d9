"""``deskconsole wallboard [--team T] [--query Q] [--rotate SECONDS] [--web HOST:PORT]``:
a read-only, self-running board for a shared screen (a TV, a tmux pane).

The board always runs as a viewer, whoever starts it. With ``--web`` it is
served to browsers instead (textual-serve; each browser gets its own board
process), on the loopback interface unless ``--web-public`` says otherwise.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
import sys
from pathlib import Path

from deskconsole.cli.context import Context

DEFAULT_WEB_HOST = "127.0.0.1"
MIN_ROTATE = 3.0


def add_arguments(p) -> None:
    """The sub-command's options (the parser itself is made by ``cli.main``)."""
    p.add_argument("--team", metavar="T", help="only this team's tickets (no per-team pages then)")
    p.add_argument("--query", "-q", metavar="Q", default="",
                   help="narrow every figure and list by a query, e.g. 'prio:P1,P2' or 'service:vpn'")
    p.add_argument("--rotate", type=float, default=20.0, metavar="SECONDS",
                   help="seconds each page stays up (default 20; 0 = no rotation, turn pages with n/p)")
    p.add_argument("--report", action="append", metavar="PANEL", choices=("trend", "compliance", "flags"),
                   help="add a report panel to the rotation (the last 7 days): trend, compliance or flags; repeat")
    p.add_argument("--no-sweep", action="store_true",
                   help="do not run the SLA loop in the board (a daemon or a console does it)")
    p.add_argument("--web", metavar="HOST:PORT",
                   help="serve the board to browsers at HOST:PORT instead (e.g. 8080 or 127.0.0.1:8080; "
                        "needs deskconsole[web])")
    p.add_argument("--web-public", action="store_true",
                   help="allow --web on an address other than loopback (the board has no login)")


def cmd_wallboard(ctx: Context, args) -> int:
    if args.rotate != 0 and args.rotate < MIN_ROTATE:
        print(f"deskconsole: --rotate {args.rotate:g} is too fast to read; give at least {MIN_ROTATE:g} seconds, "
              "or 0 for no rotation", file=sys.stderr)
        return 2
    if args.web:
        return _serve(ctx, args)
    desk, pages, actor = _open(ctx, args)  # a bad config, team or query is reported first
    in_browser = bool(os.environ.get("TEXTUAL_DRIVER"))  # a textual-serve child: no tty, and that is fine
    if not in_browser and not (sys.stdin.isatty() and sys.stdout.isatty()) \
            and not os.environ.get("DESKCONSOLE_FORCE_CONSOLE"):
        desk.close()
        print("deskconsole: the wallboard needs a terminal; run it in one (or in tmux), or serve it to a browser "
              "with --web HOST:PORT", file=sys.stderr)
        return 2
    from deskconsole import logs
    from deskconsole.ui.wallboard import WallboardApp

    logs.to_file()
    app = WallboardApp(desk, actor, pages, rotate=args.rotate, sweep=not args.no_sweep, keymap=desk.config.keys)
    app.run()
    desk.close()
    return app.return_code or 0


def _open(ctx: Context, args):
    """The desk, the pages and the board's (viewer) actor; a bad team or query is refused here."""
    from deskconsole.core.reports import board
    from deskconsole.errors import DeskError

    desk, real = ctx.open()
    # The pages are the desk's own teams (its directory), whatever the config at hand lists.
    from dataclasses import replace

    from deskconsole.config import TeamConf

    teams = {name: TeamConf(name, row["title"], row["email"])
             for name, row in desk.directory.rows["team"].items() if row["active"]}
    config = replace(desk.config, teams=teams)
    if args.team and args.team not in config.teams:
        names = ", ".join(sorted(config.teams)) or "(none defined)"
        desk.close()
        raise DeskError(f"--team {args.team!r} is not a team of this desk; teams: {names}")
    actor = board.board_actor(desk, ctx.login)
    args.no_sweep = args.no_sweep or not real.is_agent  # the SLA loop writes: an agent's board runs it, a viewer's never
    pages = board.pages(config, team=args.team, query=args.query or "", reports=tuple(args.report or ()))
    try:
        for page in pages:
            board.check_scope(desk, page.scope, actor.login)
    except DeskError:
        desk.close()
        raise
    return desk, pages, actor


def parse_web(value: str) -> tuple[str, int]:
    """``8080``, ``:8080``, ``127.0.0.1:8080``, ``[::1]:8080`` -> (host, port)."""
    text = value.strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "", text
    host = host.strip("[]") or DEFAULT_WEB_HOST
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--web {value!r}: expected HOST:PORT or PORT, e.g. 127.0.0.1:8080")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _serve(ctx: Context, args) -> int:
    try:
        host, port = parse_web(args.web)
    except ValueError as exc:
        print(f"deskconsole: {exc}", file=sys.stderr)
        return 2
    if not is_loopback(host) and not args.web_public:
        print(f"deskconsole: --web {args.web} would show the desk to anyone who can reach {host}; the board is "
              "read-only but has no login. Add --web-public if that is what you want, or use 127.0.0.1",
              file=sys.stderr)
        return 2
    try:
        from textual_serve.server import Server
    except ImportError:
        print("deskconsole: --web needs textual-serve; install it with: pip install 'deskconsole[web]'",
              file=sys.stderr)
        return 1
    desk, pages, _ = _open(ctx, args)  # refuse a bad config, team or query before serving anything
    desk.close()
    command = [sys.executable, "-m", "deskconsole", "--config", str(Path(ctx.config_path).resolve())]
    if ctx.db_url:
        command += ["--db", ctx.db_url]
    command += ["wallboard", "--rotate", f"{args.rotate:g}"]
    if args.team:
        command += ["--team", args.team]
    if args.query:
        command += ["--query", args.query]
    for panel in args.report or ():
        command += ["--report", panel]
    if args.no_sweep:
        command.append("--no-sweep")
    public = host if host not in ("0.0.0.0", "::") else _hostname()
    url = f"http://{'[' + public + ']' if ':' in public else public}:{port}"
    print(f"deskconsole wallboard: serving {len(pages)} page(s) at {url} (Ctrl-C stops it)", file=sys.stderr,
          flush=True)
    server = Server(shlex.join(command), host=host, port=port, title="deskconsole wallboard", public_url=url)
    server.serve()
    return 0


def _hostname() -> str:
    import socket

    return socket.getfqdn() or "localhost"
