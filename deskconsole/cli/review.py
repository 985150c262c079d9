"""``deskconsole review KEY ...`` and ``deskconsole reviews``: post-incident reviews."""

from __future__ import annotations

import sys
from datetime import date, datetime, time, timedelta, timezone

from deskconsole.cli.context import Context
from deskconsole.cli.output import dumps, escaped, table
from deskconsole.core.records import review_actions, reviews
from deskconsole.errors import ValidationError

HELP = "a post-incident review: show (Markdown), edit, add follow-up actions, mark done"
EPILOG = """\
resolving a P1 or P2 asks for a review, due [desk] review_days later (default 5)
  deskconsole review INC-42                       the review as Markdown (the timeline comes from the audit log)
  deskconsole review INC-42 --edit                edit it in $EDITOR (owner, impact, root cause, factors)
  deskconsole review INC-42 --impact "..." --root-cause "..." --factor "..." --factor "..."
  deskconsole review INC-42 --action "Alert on disk at 80%" --action-owner nia --action-due 2026-12-20
  deskconsole review INC-42 --done                done once it states the impact and the root cause
  deskconsole reviews [--overdue|--done|--all]    the reviews to do
"""


def add_commands(command, desk_options) -> None:
    import argparse

    p = command("review", cmd_review, HELP, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("key", help="the ticket, e.g. INC-42")
    p.add_argument("--open", action="store_true", help="open a review of a ticket that was not asked for one")
    p.add_argument("--due-days", type=int, metavar="N", help="with --open: due in N days (default [desk] review_days)")
    p.add_argument("--edit", action="store_true", help="edit it in $EDITOR")
    p.add_argument("--owner", metavar="LOGIN", help="who leads the review")
    p.add_argument("--impact", metavar="TEXT")
    p.add_argument("--root-cause", metavar="TEXT")
    p.add_argument("--factor", action="append", metavar="TEXT", help="a contributing factor (repeat; replaces them all)")
    p.add_argument("--action", metavar="TEXT", help="add a follow-up action (a ticket of its own)")
    p.add_argument("--action-owner", metavar="LOGIN", help="who owns the action (default: you)")
    p.add_argument("--action-due", metavar="DATE", help="when it is due, YYYY-MM-DD (default: in 14 days)")
    p.add_argument("--done", action="store_true", help="mark the review done")
    p.add_argument("--expect-version", type=int, metavar="N", help="fail unless the review is still at version N")
    p.add_argument("--format", choices=["markdown", "json"], default="markdown")

    p = command("reviews", cmd_reviews, "the post-incident reviews to do (or --overdue, --done, --all)")
    group = p.add_mutually_exclusive_group()
    for state in ("overdue", "done", "all"):
        group.add_argument(f"--{state}", dest="state", action="store_const", const=state)
    p.set_defaults(state="due")
    p.add_argument("--format", choices=["table", "json"], default="table")


def cmd_review(ctx: Context, args) -> int:
    desk, actor = ctx.open()
    key = args.key
    said = []
    if args.open:
        reviews.open_review(desk, actor, key, due_days=args.due_days)
        said.append("opened")
    values = {"owner": args.owner, "impact": args.impact, "root_cause": args.root_cause, "factors": args.factor}
    if args.edit:
        from deskconsole.cli.editor import can_edit, edit_text

        if not can_edit():
            raise ValidationError("--edit needs a terminal; give the text with --impact, --root-cause and --factor")
        before = reviews.get(desk, key)
        text = reviews.markdown(before, reviews.timeline(desk, key), desk.config.zone())
        edited = reviews.parse_markdown(edit_text(text))
        values = {**edited, **{k: v for k, v in values.items() if v is not None}}
        args.expect_version = args.expect_version or before.version
    if any(v is not None for v in values.values()):
        before = reviews.get(desk, key)
        after = reviews.update(desk, actor, key, expected_version=args.expect_version, **values)
        said.append("saved" if after.version != before.version else "nothing to change")
    if args.action:
        due = _due(args.action_due, desk.now())
        made = review_actions.add_action(desk, actor, key, args.action, owner=args.action_owner or actor.login, due=due)
        said.append(f"action {made.ticket} for {made.owner}, due {made.due_at.date().isoformat()}")
    if args.done:
        reviews.complete(desk, actor, key)
        said.append("done")
    if said:
        print(f"{key.upper()}: review " + "; ".join(said))
        return 0
    review = reviews.get(desk, key)
    events = reviews.timeline(desk, key)
    if args.format == "json":
        print(dumps({**review.__dict__, "factors": list(review.factors),
                     "actions": [a.__dict__ for a in review.actions],
                     "overdue": review.overdue(desk.now()),
                     "timeline": [e.__dict__ for e in events]}))
    else:
        sys.stdout.write(escaped(reviews.markdown(review, events, desk.config.zone())) if sys.stdout.isatty()
                         else reviews.markdown(review, events, desk.config.zone()))
    return 0


def _due(text: str | None, now: datetime) -> datetime:
    if not text:
        return now + timedelta(days=14)
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"--action-due {text!r} is not a date; write YYYY-MM-DD") from None
    return datetime.combine(day, time(23, 59), timezone.utc)


def cmd_reviews(ctx: Context, args) -> int:
    desk, _ = ctx.open()
    now = desk.now()
    found = reviews.listing(desk, state=args.state, now=now)
    if args.format == "json":
        print(dumps([{"key": r.key, "title": r.title, "priority": r.priority, "state": r.state, "due_at": r.due_at,
                      "overdue": r.overdue(now), "owner": r.owner, "actions": len(r.actions)} for r in found]))
        return 0
    if not found:
        print(f"no {args.state if args.state != 'all' else ''} reviews".replace("  ", " "), file=sys.stderr)
        return 0
    rows = [[r.key, r.priority, ("OVERDUE " if r.overdue(now) else "") + r.state,
             r.due_at.astimezone(desk.config.zone()).strftime("%Y-%m-%d"), r.owner or "-", str(len(r.actions)),
             escaped(r.title)] for r in found]
    table(rows, ["KEY", "P", "STATE", "DUE", "OWNER", "ACTIONS", "TITLE"], flex=6)
    return 0
