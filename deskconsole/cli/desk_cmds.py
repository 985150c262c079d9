"""Commands about the desk as a whole: init, demo, import, export."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from deskconsole.cli.context import Context
from deskconsole.cli.progress import ProgressBar
from deskconsole.config import load_config, parse_config
from deskconsole.core.archive import demo, transfer
from deskconsole.core.desk import open_desk
from deskconsole.errors import DeskError, ValidationError
from deskconsole.core.identity import article
from deskconsole.core.search.query import select_tickets
from deskconsole.db import connect, parse_url
from deskconsole.paths import config_dir, data_dir, write_private
from deskconsole.starter import starter_config


def _write_new(path: Path, text: str, force: bool) -> None:
    if path.exists() and not force:
        raise DeskError(f"{path} already exists; keep it, or pass --force to replace it (the old one is kept as .bak)")
    if path.exists():
        path.replace(path.with_name(path.name + ".bak"))
    write_private(path, text)  # 0600 (0660 in a desk group's folder), folders 0700, whatever the umask


def cmd_init(ctx: Context, args) -> int:
    text = starter_config(ctx.login, ctx.login, ctx.db_url)
    config = parse_config(text, ctx.config_path)  # the template itself must be valid
    _write_new(ctx.config_path, text, args.force)
    url = ctx.url_for(config)
    desk, actor = ctx.open(create=True)  # a new desk's directory is this config's: its writer is the admin
    print(f"wrote {ctx.config_path} ({ctx.login} is its admin)")
    if actor.role != "admin":
        print(f"the desk at {url} already existed, with its own directory, in which {ctx.login} is"
              f" {article(actor.role)} {actor.role}; ask one of its admins to add you")
        return 0
    print(f"desk ready: {url}")
    print("next: edit the config to add your teams and agents, then 'deskconsole new \"Title\"'")
    return 0


DEMO_MARKER = "# deskconsole demo desk"


def cmd_demo(ctx: Context, args) -> int:
    """Build (or reuse) the demo desk and show its queue.

    The demo never touches the desk named by DESKCONSOLE_DB/DESKCONSOLE_CONFIG:
    only an explicit --db/--config on this command line moves it. It only
    ever replaces SQLite files that are its own demo desk, and goes into a
    PostgreSQL database only while that holds no tickets. Its config says
    when a build is under way: a build that was stopped (killed, a power cut)
    is built again by the next demo, never shown as if it were whole.
    """
    started = time.monotonic()  # the build's time: making the desk as well as filling it
    if args.tickets < 0 or args.tickets > 5_000_000:
        raise ValidationError("--tickets takes a number from 0 to 5,000,000")
    config_path = Path(args.config).expanduser() if getattr(args, "config", None) else config_dir() / "demo.toml"
    default_db = data_dir() / "demo.db"
    given_db = getattr(args, "db", None)
    url = given_db or f"sqlite:///{default_db}"
    building = (args.tickets, args.seed)
    existing = 0
    config = None
    if config_path.exists():
        _check_demo_config(config_path)
        config = load_config(config_path)
        url = given_db or config.database or url  # --fresh rebuilds it where it is
        stopped = demo.unfinished(config_path.read_text(encoding="utf-8"))
        if args.fresh or given_db not in (None, config.database):  # (or somewhere else: built anew there)
            config = None
        elif stopped:
            building = stopped
            if _rebuild_stopped(config_path, url, building):
                config = None
    if config is not None:
        desk = ctx.track(open_desk(url, config))
        from deskconsole.models import Ticket

        existing = Ticket.select().count()
        if existing:
            incidents = Ticket.select().where(Ticket.number.is_null()).count()  # problems, changes: records of their own
            print(f"using the demo desk at {url} ({incidents:,} tickets); --fresh builds a new one", file=sys.stderr)
        elif building[0]:
            _mark_building(config_path, building)
    else:
        _check_replaceable(config_path, url, default_db)
        text = demo.demo_config_text(ctx.login, url)
        _write_new(config_path, demo.mark_unfinished(text, building if building[0] else None), force=True)
        if url.startswith("sqlite:///"):
            _remove_sqlite(Path(url[len("sqlite:///"):]))
        config = load_config(config_path)
        desk = ctx.track(open_desk(url, config))
    if not existing and building[0]:
        bar = ProgressBar("building demo desk", start=started)
        keys = demo.build(desk, building[0], seed=building[1], progress=bar)
        demo.build_changes(desk, keys, seed=building[1])
        _mark_building(config_path, None)  # only now: a build stopped before this is built again
        bar.finish(f"demo desk: {_plural(len(keys), 'ticket')} at {url}")
    print(f"config: {config_path}   (use it with: export DESKCONSOLE_CONFIG={config_path})", file=sys.stderr)
    if not args.no_console:
        from deskconsole.cli.console import cmd_console

        desk.close()
        ctx.config_path, ctx.db_url, ctx.as_login = config_path, url, None
        args.filter, args.limit = ["is:open"], 40
        return cmd_console(ctx, args)
    return 0


def _mark_building(config_path: Path, building: tuple[int, int] | None) -> None:
    """Say in the demo's config that a build of ``building`` is under way (None: that it is done)."""
    text = config_path.read_text(encoding="utf-8")
    write_private(config_path, demo.mark_unfinished(text, building))


def _rebuild_stopped(config_path: Path, url: str, building: tuple[int, int]) -> bool:
    """The demo desk at ``url`` was being built when its build stopped: whether
    to build it again (True), or the build had committed and only its mark was
    left (False: the mark is taken off). The import is one transaction, so the
    desk holds either no tickets or all of them; anything else is not what the
    demo left there, and is refused."""
    info = parse_url(url)
    held = _tickets_in(url) if info.backend != "sqlite" or Path(info.path).exists() else 0
    if held not in (0, building[0]):
        raise DeskError(f"{info.describe()} holds {_plural(held, 'ticket')}, not the {building[0]:,} a stopped demo"
                        f" build was making, so the demo leaves it alone; keep it, give the demo another --db, or"
                        f" build a new demo desk in its place with: deskconsole demo --fresh")
    if held and info.backend != "sqlite":  # a PostgreSQL database is never emptied: it is whole
        _mark_building(config_path, None)
        return False
    print(f"the demo desk at {url} was left unfinished (a build of {_plural(building[0], 'ticket')} was stopped);"
          f" building it again", file=sys.stderr)
    return True


def _check_demo_config(config_path: Path) -> None:
    if not config_path.read_text(encoding="utf-8", errors="replace").startswith(DEMO_MARKER):
        raise DeskError(f"{config_path} is not a demo config; give the demo its own: --config demo.toml")


def _check_replaceable(config_path: Path, url: str, default_db: Path) -> None:
    """Refuse to overwrite anything that is not a demo desk. A SQLite file is
    replaced only when it is the demo's own; a PostgreSQL database (which may
    well be a team's shared desk) is never emptied: the demo goes only into
    one that holds no tickets."""
    if config_path.exists():
        _check_demo_config(config_path)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        ours = path == default_db or (
            config_path.exists() and load_config(config_path).database == url
        )
        if path.exists() and path.stat().st_size and not ours:
            raise DeskError(f"{path} exists and is not this demo's desk; give the demo another --db")
    elif parse_url(url).backend == "postgresql":  # (postgres:// and postgresql:// alike)
        held = _tickets_in(url)
        if held:
            raise DeskError(f"{parse_url(url).describe()} already holds {_plural(held, 'ticket')}: the demo is built"
                            " only in an empty database and never empties one; create one for it (createdb"
                            " deskconsole_demo) and give --db postgresql://HOST/deskconsole_demo")
    elif not url.startswith("sqlite"):
        raise DeskError("the demo builds a SQLite desk (--db sqlite:///PATH, or no --db) or goes into an empty"
                        " PostgreSQL database (--db postgresql://...)")


def _tickets_in(url: str) -> int:
    """Incidents in the database at ``url`` (0 when it has no desk in it yet);
    the demo's changes, written after its incidents, are records of their own."""
    db = connect(url)
    try:
        if not db.table_exists("ticket"):
            return 0
        kinds = any(c.name == "number" for c in db.get_columns("ticket"))  # a desk from before the record base: none
        return db.execute_sql("SELECT COUNT(*) FROM ticket" + (" WHERE number IS NULL" if kinds else "")).fetchone()[0]
    finally:
        db.close()


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _remove_sqlite(path: Path) -> None:
    for suffix in ("-wal", "-shm", ""):  # the log first: never an old -wal beside a new file
        target = path.with_name(path.name + suffix)
        if target.exists():
            target.unlink()


def cmd_import(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    fmt = args.format or ("csv" if args.file.lower().endswith(".csv") else "jsonl")
    bar = ProgressBar(f"importing {args.file}")
    # No row count up front (reading the file twice cost ~0.4 s per 100,000
    # rows): the import estimates the total from the bytes read so far.
    keys = transfer.import_file(desk, actor, args.file, fmt, progress=bar)
    span = f" ({keys[0]} .. {keys[-1]})" if keys else ""
    bar.finish(f"imported {_plural(len(keys), 'ticket')}{span}")
    return 0


def cmd_export(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    query = select_tickets(desk, " ".join(args.query), actor_login=actor.login, now=desk.now())
    total = query.count()
    bar = ProgressBar("exporting")
    fmt = args.format or ("csv" if args.output and args.output.endswith(".csv") else "jsonl")
    target = Path(args.output) if args.output else None
    partial = target.with_name(target.name + ".partial") if target else None
    try:  # write beside the target and rename at the end: a failed export leaves the old file alone
        out = open(partial, "w", encoding="utf-8", newline="") if partial else sys.stdout
    except OSError as exc:
        raise DeskError(f"cannot write {args.output}: {exc.strerror}; choose another -o path") from None
    try:
        rows = transfer.export_rows(desk, query, with_conversation=fmt == "jsonl")

        def counted():
            for n, row in enumerate(rows, 1):
                if n % 1000 == 0:
                    bar(n, total)
                yield row

        writer = transfer.write_csv if fmt == "csv" else transfer.write_jsonl
        count = writer(counted(), out)
    except BaseException:
        if partial:
            out.close()
            partial.unlink(missing_ok=True)
        raise
    if partial:
        out.close()
        partial.replace(target)
    bar.finish(f"exported {_plural(count, 'ticket')}" + (f" to {args.output}" if args.output else ""))
    return 0
