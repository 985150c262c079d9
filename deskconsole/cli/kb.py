"""``deskconsole kb ...``: the knowledge base (articles ``KB-12``)."""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import asdict
from datetime import date, datetime, time, timedelta, timezone

from deskconsole.cli.context import Context
from deskconsole.cli.output import dumps, escaped, table
from deskconsole.core.clock import ago
from deskconsole.core.keys import record_id
from deskconsole.core.knowledge import articles, from_ticket, kb_search
from deskconsole.core.knowledge.articles import STATES
from deskconsole.core.permissions import require
from deskconsole.core.records.text import terminal_safe, utf8
from deskconsole.errors import NoChange, ValidationError

HELP = "the knowledge base: write, find, publish and retire articles (KB-12)"
EPILOG = """\
articles are Markdown: draft -> published -> retired (revive: back to draft)
  deskconsole kb new "VPN drops every hour" --tags vpn,macos --service vpn   (the body in $EDITOR)
  deskconsole kb new --from INC-42                a draft from a resolved ticket (description, resolution, replies)
  deskconsole kb new --from PRB-3                 a draft from a known error (symptoms, workaround, cause, fix)
  deskconsole kb edit KB-3 [--title T] [--body TEXT|-] [--body-file F] [--tags T] [--service S]
  deskconsole kb search vpn drops                 published articles with every word, most relevant first
  deskconsole kb ls [--state draft]               articles, last changed first, with how often each helped
  deskconsole kb show KB-3 [--version 2]          an article (or an old version of it)
  deskconsole kb history KB-3                     its versions and who changed what
  deskconsole kb publish KB-3 | retire KB-3 | revive KB-3   (leads)
  deskconsole kb suggest INC-42                   the articles the console suggests for a ticket
  deskconsole reply INC-42 --kb KB-3 [TEXT]       reply citing an article (counts as its use)
agents write articles and edit drafts; leads publish, retire, revive and edit published articles
"""
ROW_FIELDS = ("key", "state", "title", "service", "owner", "tags", "used", "updated_at", "review_at")


def add_commands(command, globals_) -> None:
    """Register ``kb`` and its subcommands; ``globals_(parser)`` adds --db/--config/--as."""
    import argparse

    kb = command("kb", None, HELP, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = kb.add_subparsers(dest="kb_command", metavar="SUBCOMMAND", required=True)

    def sc(name, func, help):
        p = sub.add_parser(name, help=help, description=help)
        globals_(p)
        p.set_defaults(func=func)
        return p

    def text_options(p, *, new: bool):
        p.add_argument("--body", metavar="TEXT", help="the Markdown text ('-' reads standard input; none: $EDITOR)")
        p.add_argument("--body-file", metavar="FILE", help="read the text from FILE")
        p.add_argument("--tags", metavar="TAGS", help="comma- or space-separated words" + ("" if new else
                                                                                           " ('' clears them)"))
        p.add_argument("--service", help="the service it is about" + ("" if new else " (none clears it)"))
        p.add_argument("--owner", metavar="LOGIN", help="who keeps it up to date" + (" (default: you)" if new else ""))
        p.add_argument("--review", metavar="DATE", help="when it is due for review: YYYY-MM-DD or 90d"
                       + (f" (default: in {articles.REVIEW_DAYS} days)" if new else ""))

    p = sc("new", cmd_new, "write a draft article; prints its key")
    p.add_argument("title", nargs="?", help="one line: what it answers")
    p.add_argument("--from", dest="from_ticket", metavar="KEY", help="write it from a ticket (e.g. a resolved INC-42)")
    text_options(p, new=True)

    p = sc("edit", cmd_edit, "change an article (a new title or body is a new version)")
    p.add_argument("key")
    p.add_argument("--title")
    text_options(p, new=False)
    p.add_argument("--expect-version", type=int, metavar="N", help="fail unless the article is still at version N")

    p = sc("show", cmd_show, "show an article")
    p.add_argument("key")
    p.add_argument("--version", type=int, metavar="N", help="an old version of its title and body")
    p.add_argument("--format", choices=["text", "markdown", "json"], default="text")

    p = sc("ls", cmd_ls, "list articles, last changed first")
    p.add_argument("--state", default="draft,published", metavar="STATES",
                   help="draft, published, retired, comma-separated, or all (default: draft,published)")
    p.add_argument("--service")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("--limit", type=int, default=100, metavar="N", help="at most N (0: all; default 100)")

    p = sc("search", cmd_search, "find articles by words, most relevant first")
    p.add_argument("words", nargs="+", help='words, "a phrase", prefix*; every one must match')
    p.add_argument("--state", default="published", metavar="STATES", help="as for ls (default: published)")
    p.add_argument("--service")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="at most N (0: all; default 20)")

    p = sc("history", cmd_history, "an article's versions and who changed what")
    p.add_argument("key")
    p.add_argument("--format", choices=["text", "json"], default="text")

    for name, func, help in (("publish", cmd_publish, "publish a draft (leads)"),
                             ("retire", cmd_retire, "retire an article: no longer suggested or cited (leads)"),
                             ("revive", cmd_revive, "bring a retired article back as a draft (leads)")):
        p = sc(name, func, help)
        p.add_argument("key")
        p.add_argument("--expect-version", type=int, metavar="N", help="fail unless the article is still at version N")

    p = sc("suggest", cmd_suggest, "the articles suggested for a ticket")
    p.add_argument("ticket", help="e.g. INC-42")
    p.add_argument("--format", choices=["table", "json"], default="table")


# --------------------------------------------------------------------------- text in
def _read_stdin() -> str:
    if sys.stdin.isatty():
        print("Type the text; end with Ctrl-D on a line of its own:", file=sys.stderr)
    raw = getattr(sys.stdin, "buffer", None)
    return utf8(raw.read()) if raw is not None else sys.stdin.read()


def _given_body(args) -> str | None:
    if args.body is not None and args.body_file is not None:
        raise ValidationError("give the text with --body or --body-file, not both")
    if args.body_file is not None:
        try:
            data = open(args.body_file, "rb").read()
        except OSError as exc:
            raise ValidationError(f"cannot read {args.body_file}: {exc.strerror}") from None
        return utf8(data, args.body_file)
    if args.body == "-":
        return _read_stdin()
    return args.body


def _in_editor(initial: str, what: str) -> str:
    from deskconsole.cli.editor import can_edit, edit_text

    if not can_edit():
        raise ValidationError(f"{what} needs the text: give --body TEXT, --body - (standard input) or --body-file FILE"
                              " (an editor opens only on a terminal)")
    return edit_text(initial)


def _review(text: str | None, now: datetime) -> datetime | None:
    if text is None:
        return None
    text = text.strip()
    days = re.fullmatch(r"\+?(\d{1,4})d", text)
    if days:
        return now + timedelta(days=int(days.group(1)))
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"--review {text[:40]!r} is not a date; write YYYY-MM-DD or a number of days, e.g. 90d")\
            from None
    return datetime.combine(day, time(9, 0), timezone.utc)


def _states(text: str) -> tuple[str, ...] | None:
    if text.strip().lower() == "all":
        return None
    states = tuple(s.strip().lower() for s in text.split(",") if s.strip())
    bad = [s for s in states if s not in STATES]
    if bad or not states:
        raise ValidationError(f"--state {text[:40]!r}: use {', '.join(STATES)} (comma-separated) or all")
    return states


# --------------------------------------------------------------------------- writes
def cmd_new(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    require(actor, "kb_write")  # before an editor opens
    body = _given_body(args)
    review = _review(args.review, desk.now())
    if args.from_ticket:
        with desk.bound():
            tid = record_id(args.from_ticket)  # an incident, or a problem's known error
        draft = from_ticket.draft_from_ticket(desk, tid)
        if body is None:
            from deskconsole.cli.editor import can_edit

            body = _in_editor(draft.body, "kb new") if can_edit() else draft.body
        made = from_ticket.create_from_ticket(desk, actor, tid, title=args.title, body=body, tags=args.tags,
                                              service=args.service, owner=args.owner)
        if review is not None:
            made = articles.edit(desk, actor, made.key, review_at=review)
    else:
        if not args.title:
            raise ValidationError("an article needs a title: deskconsole kb new \"What it answers\" (or --from INC-42)")
        if body is None:
            body = _in_editor(f"# {args.title}\n\n", "kb new")
        made = articles.create(desk, actor, title=args.title, body=body, tags=args.tags, service=args.service,
                               owner=args.owner, review_at=review)
    print(f"{made.key} written (draft)" + (f" from {made.sources[0]}" if made.sources else ""))
    return 0


def cmd_edit(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    require(actor, "kb_write")
    values = {}
    body = _given_body(args)
    if args.title is not None:
        values["title"] = args.title
    if args.tags is not None:
        values["tags"] = args.tags
    if args.service is not None:
        values["service"] = args.service
    if args.owner is not None:
        values["owner"] = args.owner
    if args.review is not None:
        values["review_at"] = _review(args.review, desk.now())
    if body is None and not values:  # nothing given: the body in $EDITOR, as git does
        before = articles.get(desk, args.key)
        body = _in_editor(before.body, "kb edit")
        args.expect_version = args.expect_version or before.version
    if body is not None:
        values["body"] = body
    try:
        after = articles.edit(desk, actor, args.key, expected_version=args.expect_version, **values)
    except NoChange:
        print(f"{args.key.upper()}: nothing to change", file=sys.stderr)
        return 0
    print(f"{after.key} saved (version {after.version}, text version {after.text_version})")
    return 0


def _moved(verb: str, move):
    def run(ctx: Context, args) -> int:
        desk, actor = ctx.open()
        a = move(desk, actor, args.key, expected_version=args.expect_version)
        print(f"{a.key} {verb} (version {a.version})")
        return 0

    return run


cmd_publish = _moved("published", articles.publish)
cmd_retire = _moved("retired", articles.retire)
cmd_revive = _moved("revived as a draft", articles.revive)


# --------------------------------------------------------------------------- reads
def _safe(text: str, *, one_line: bool = False) -> str:
    """Text for the terminal: escaped there, as it is in a pipe."""
    return terminal_safe(text, one_line=one_line) if sys.stdout.isatty() else text


def cmd_show(ctx: Context, args) -> int:
    desk, _ = ctx.open()
    a = articles.get(desk, args.key)
    title, body, note = a.title, a.body, ""
    if args.version is not None:
        v = articles.version(desk, args.key, args.version)
        title, body = v.title, v.body
        note = f"version {v.number} of {a.text_version}, by {v.author} at {v.at:%Y-%m-%d %H:%M} UTC"
    if args.format == "json":
        data = asdict(a)
        if args.version is not None:
            data.update(title=title, body=body, shown_version=args.version)
        print(dumps(data))
        return 0
    if args.format == "markdown":
        sys.stdout.write(_safe(f"# {title}\n\n{body.rstrip()}\n"))
        return 0
    now = desk.now()
    lines = [f"{a.key}  {_safe(title, one_line=True)}"]
    if note:
        lines.append(f"  ({note}; the article is at version {a.text_version}: deskconsole kb show {a.key})")
    state = a.state + (f" since {a.published_at:%Y-%m-%d}" if a.state == "published" and a.published_at else "")
    review = "-" if a.review_at is None else f"{a.review_at:%Y-%m-%d}" + (" (due)" if a.review_due(now) else "")
    for label, value in (("State", state), ("Service", a.service or "-"), ("Owner", a.owner),
                         ("Tags", ", ".join(a.tags) or "-"), ("Review", review),
                         ("Used", f"to resolve {a.used} ticket{'s' if a.used != 1 else ''}"),
                         ("Version", f"{a.version} (text version {a.text_version}; deskconsole kb history {a.key})"),
                         ("Changed", f"{a.updated_at:%Y-%m-%d %H:%M} UTC ({ago(a.updated_at, now)} ago)")):
        lines.append(f"{label:<9} {value}")
    if a.sources:
        lines.append(f"{'Written':<9} from {', '.join(a.sources)}")
    sys.stdout.write("\n".join(lines) + "\n\n" + _safe(body.rstrip()) + "\n")
    return 0


def _print_rows(rows, fmt: str, now: datetime) -> None:
    if fmt == "json":
        print(dumps([{k: getattr(r, k) for k in ROW_FIELDS} for r in rows]))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(ROW_FIELDS)
        for r in rows:
            values = [getattr(r, k) for k in ROW_FIELDS]
            writer.writerow(["" if v is None else " ".join(v) if isinstance(v, tuple)
                             else v.isoformat() if isinstance(v, datetime) else v for v in values])
    else:
        table([(r.key, r.state, r.service or "-", r.owner, str(r.used), ago(r.updated_at, now),
                terminal_safe(r.title, one_line=True)) for r in rows],
              ("KEY", "STATE", "SERVICE", "OWNER", "USED", "CHANGED", "TITLE"))


def cmd_ls(ctx: Context, args) -> int:
    desk, _ = ctx.open()
    rows = kb_search.listing(desk, states=_states(args.state), service=args.service, limit=max(args.limit, 0))
    if not rows and args.format == "table":
        print("no articles; write one with: deskconsole kb new TITLE", file=sys.stderr)
        return 0
    _print_rows(rows, args.format, desk.now())
    return 0


def cmd_search(ctx: Context, args) -> int:
    desk, _ = ctx.open()
    text = " ".join(args.words)
    rows = kb_search.search(desk, text, states=_states(args.state), service=args.service, limit=max(args.limit, 0))
    if not rows and args.format == "table":
        print(f"no articles match {escaped(text)[:80]!r}" + (" (drafts and retired articles: --state all)"
                                                             if args.state == "published" else ""), file=sys.stderr)
        return 0
    _print_rows(rows, args.format, desk.now())
    return 0


def cmd_history(ctx: Context, args) -> int:
    desk, _ = ctx.open()
    versions = articles.history(desk, args.key)
    events = articles.events(desk, args.key)
    if args.format == "json":
        print(dumps({"versions": [{**asdict(v), "characters": len(v.body)} for v in versions],
                     "changes": [asdict(e) for e in events]}))
        return 0
    key = articles.article_key(articles.article_id(args.key))
    print(f"{key}: versions (deskconsole kb show {key} --version N)")
    table([(str(v.number), f"{v.at:%Y-%m-%d %H:%M}", v.author, f"{len(v.body):,}", terminal_safe(v.title, one_line=True))
           for v in versions], ("N", "AT (UTC)", "AUTHOR", "CHARS", "TITLE"))
    print("\nchanges")
    table([(f"{e.at:%Y-%m-%d %H:%M}", e.actor, e.action.removeprefix("kb_"), e.field,
            terminal_safe(f"{e.old} -> {e.new}" if e.old is not None else (e.new or ""), one_line=True))
           for e in events], ("AT (UTC)", "WHO", "ACTION", "FIELD", "CHANGE"))
    return 0


def cmd_suggest(ctx: Context, args) -> int:
    desk, _ = ctx.open()
    found = kb_search.suggest(desk, args.ticket)
    if args.format == "json":
        print(dumps([asdict(s) for s in found]))
        return 0
    if not found:
        print(f"no articles to suggest for {args.ticket.upper()}", file=sys.stderr)
        return 0
    table([(s.key, s.service or "-", str(s.used), "yes" if s.cited else "", terminal_safe(s.title, one_line=True))
           for s in found], ("KEY", "SERVICE", "USED", "CITED", "TITLE"))
    return 0
