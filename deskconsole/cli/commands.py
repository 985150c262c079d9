"""Ticket commands: each opens the desk, calls one core function, prints the result."""

from __future__ import annotations

import sys

from deskconsole.cli.context import Context
from deskconsole.cli.output import print_detail, print_tickets
from deskconsole.core.records import links, tickets
from deskconsole.errors import ValidationError
from deskconsole.core.search.query import count_tickets, select_tickets
from deskconsole.core.records.text import utf8
from deskconsole.core.records.views import SUMMARY_COLUMNS, detail, summary


def _text(value: str) -> str:
    """``-`` reads the text from standard input (for long replies and pipes).

    Standard input is read as bytes and must be UTF-8, whatever the locale
    says: a Latin-1 file piped in is refused with the offset of its first bad
    byte instead of being stored as mojibake or failing later."""
    if value != "-":
        return value
    if sys.stdin.isatty():
        print("Type the text; end with Ctrl-D on a line of its own:", file=sys.stderr)
    raw = getattr(sys.stdin, "buffer", None)
    return utf8(raw.read()) if raw is not None else sys.stdin.read()


def _done(outcome, verb: str) -> int:
    print(f"{outcome.key} {verb} (version {outcome.version})")
    return 0


def cmd_new(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    name, email = _requester(args.requester, args.requester_email)
    outcome = tickets.create(
        desk, actor, title=args.title, description=_text(args.description or ""),
        requester_name=name, requester_email=email, impact=args.impact, urgency=args.urgency,
        priority=args.priority, team=args.team, category=args.category, service=args.service,
        assignee=args.assignee, source="cli",
    )
    print(outcome.key)
    return 0


def _requester(value: str | None, email: str | None) -> tuple[str | None, str | None]:
    """``"Ann Lee <ann@example.com>"``, ``ann@example.com`` or ``Ann Lee``."""
    if not value:
        return None, email
    value = value.strip()
    if value.endswith(">") and "<" in value:
        name, _, addr = value[:-1].rpartition("<")
        return name.strip() or None, email or addr.strip()
    if "@" in value and " " not in value:
        return None, email or value
    return value, email


def cmd_ls(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    text = " ".join(args.query)
    now = desk.now()
    query = select_tickets(desk, text, actor_login=actor.login, now=now)
    limit = args.limit
    page = query.select(*SUMMARY_COLUMNS)
    rows = list(page.limit(limit) if limit else page)
    shown = print_tickets((summary(desk, t) for t in rows), args.format, now)
    if args.format == "table" and (shown == 0 or shown == limit):
        total = count_tickets(desk, text, actor_login=actor.login, now=now) if shown == limit else 0
        where = f" match {text!r}" if text else " on this desk"
        if total > shown:
            print(f"{shown:,} of {total:,} tickets; --limit {total} (or 0) shows them all", file=sys.stderr)
        elif shown == 0:
            print(f"no tickets{where}", file=sys.stderr)
    return 0


def cmd_show(ctx: Context, args) -> int:
    from deskconsole.core.records.service_context import service_context

    desk, _ = ctx.open()
    now = desk.now()
    t = detail(desk, args.key, now)
    service = service_context(desk, t.key, now) if t.service and t.kind == "incident" else None
    print_detail(t, args.format, now, tz=desk.config.zone(), service=service)
    return 0


def cmd_take(ctx, args):
    desk, actor = ctx.open()
    return _done(tickets.take(desk, actor, args.key, expected_version=args.expect_version), f"taken by {actor.login}")


def cmd_ack(ctx, args):
    desk, actor = ctx.open()
    return _done(tickets.acknowledge(desk, actor, args.key, expected_version=args.expect_version), "acknowledged")


def cmd_assign(ctx, args):
    desk, actor = ctx.open()
    if args.agent is None and args.team is None:
        raise ValidationError("say whom to assign to: deskconsole assign KEY AGENT, --team TEAM, or AGENT none to unassign")
    agent = tickets.UNSET if args.agent is None else (None if args.agent.lower() in ("none", "-") else args.agent)
    team = tickets.UNSET if args.team is None else (None if args.team.lower() in ("none", "-") else args.team)
    outcome = tickets.assign(desk, actor, args.key, team=team, agent=agent, expected_version=args.expect_version)
    return _done(outcome, "assigned")


def cmd_triage(ctx, args):
    desk, actor = ctx.open()
    fields = {k: getattr(args, k) for k in ("category", "service", "impact", "urgency", "priority")}
    given = {k: (None if v.lower() in ("none", "-") and k in ("category", "service") else v)
             for k, v in fields.items() if v is not None}
    if not given:
        raise ValidationError("give at least one of --impact, --urgency, --priority, --category, --service")
    return _done(tickets.triage(desk, actor, args.key, expected_version=args.expect_version, **given), "triaged")


def cmd_status(ctx, args):
    desk, actor = ctx.open()
    outcome = tickets.set_status(desk, actor, args.key, args.status, expected_version=args.expect_version)
    return _done(outcome, f"is now {args.status}")


def cmd_reply(ctx, args):
    desk, actor = ctx.open()
    if args.kb:
        from deskconsole.core.knowledge import citing

        outcome = citing.cite(desk, actor, args.key, args.kb, _text(args.text or ""), key_only=args.key_only,
                              expected_version=args.expect_version)
        return _done(outcome, f"replied citing {args.kb.upper()}")
    if args.text is None:
        raise ValidationError("say what to reply: deskconsole reply KEY TEXT ('-' reads standard input),"
                              " or cite an article with --kb KB-N")
    return _done(tickets.reply(desk, actor, args.key, _text(args.text), expected_version=args.expect_version), "replied")


def cmd_note(ctx, args):
    desk, actor = ctx.open()
    return _done(tickets.note(desk, actor, args.key, _text(args.text), expected_version=args.expect_version), "noted")


def cmd_link(ctx, args):
    desk, actor = ctx.open()
    outcome = links.link(desk, actor, args.key, args.kind, args.other, remove=args.remove,
                         expected_version=args.expect_version)
    return _done(outcome, "unlinked" if args.remove else f"linked ({args.kind} {args.other.upper()})")


def cmd_merge(ctx, args):
    desk, actor = ctx.open()
    outcome = links.merge(desk, actor, args.duplicate, args.target, expected_version=args.expect_version)
    return _done(outcome, f"merged into {args.target.upper()}")


def cmd_resolve(ctx, args):
    desk, actor = ctx.open()
    note = _text(args.note) if args.note else None
    return _done(tickets.resolve(desk, actor, args.key, args.code, note, expected_version=args.expect_version), "resolved")


def cmd_close(ctx, args):
    desk, actor = ctx.open()
    return _done(tickets.close(desk, actor, args.key, expected_version=args.expect_version), "closed")


def cmd_reopen(ctx, args):
    desk, actor = ctx.open()
    reason = _text(args.reason) if args.reason else None
    return _done(tickets.reopen(desk, actor, args.key, reason, expected_version=args.expect_version), "reopened")


def cmd_cancel(ctx, args):
    desk, actor = ctx.open()
    return _done(tickets.cancel(desk, actor, args.key, _text(args.reason), expected_version=args.expect_version), "cancelled")
