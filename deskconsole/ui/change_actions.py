"""The console's change actions: the open changes in the queue (c), a
change's next state (s; closing asks how it ended, cancelling asks first),
approving (y) and rejecting (x, with the reason the requester reads), a new
change (ctrl+n) and the week's calendar (L). Each calls the same core
function as ``deskconsole change ...`` on the write thread; the core decides
who may do what and its refusal shows as a message; typed text is never
lost on a refusal."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from textual import work

from deskconsole.core.records import change_calendar, change_lifecycle
from deskconsole.core.records import change_requests as changes
from deskconsole.core.records.change_text import zone_name
from deskconsole.core.records.change_times import parse_length, parse_moment
from deskconsole.core.records.views import detail
from deskconsole.errors import DeskError, ValidationError

if TYPE_CHECKING:
    from deskconsole.ui.app import DeskApp

CHANGES_QUERY = "kind:change is:open"
STATE_WORDS = {
    "draft": "back to draft", "assessment": "assessment (submitted, being assessed)",
    "awaiting_approval": "awaiting approval (ask the approvers)", "scheduled": "scheduled",
    "implementing": "implementing (the work starts now)", "review": "review (the work is done)",
    "closed": "closed (say how it ended)", "cancelled": "cancelled (it will not be done)",
}
OUTCOME_WORDS = {"successful": "successful", "failed": "failed", "backed_out": "backed out (undone)"}


def change_values(form: dict, now: datetime, tz: tzinfo) -> dict:
    """The new-change form's values as ``change_requests.create`` takes them;
    a time or length that does not read raises the core's ValidationError."""
    kind = form.get("kind") or "normal"
    template = kind.split(":", 1)[1] if kind.startswith("template:") else None
    start_text, length_text = (form.get("start") or "").strip(), (form.get("length") or "").strip()
    start = parse_moment(start_text, now, tz, "the start") if start_text else None
    end = None
    if length_text:
        if start is None:
            raise ValidationError("a length needs a start: give when it starts, e.g. 2026-12-10 22:00 or +2h")
        end = start + parse_length(length_text)
    elif start is not None and template is None:
        raise ValidationError("how long will it take? give its length, e.g. 45m or 2h")
    values: dict = {"title": (form.get("title") or "").strip() or None, "start": start, "end": end,
                    "services": [n for n in (form.get("services") or "").replace(",", " ").split() if n]}
    if template is not None:
        values["template"] = template
    else:
        values["type"] = kind
    if form.get("risk"):
        values["risk"] = form["risk"]
    return values


def week_view(desk, week: str | None, tz: tzinfo):
    """(the week, its changes with their collisions, its windows): on the read thread."""
    found = change_calendar.week_of(week, desk.now(), tz)
    return (found, change_calendar.between(desk, found.start, found.end),
            change_calendar.windows_between(desk, found.start, found.end))


class ChangeActions:
    """Mixed into :class:`~deskconsole.ui.app.DeskApp`."""

    def action_changes(self: "DeskApp") -> None:
        """c: the open changes in the queue (esc brings the filter back)."""
        self.filter_for_now(CHANGES_QUERY)
        self.notify("open changes: s state, y approve, x reject, L calendar, ctrl+n new — esc brings the filter back",
                    timeout=6)

    async def current_change(self: "DeskApp", label: str):
        """The change under the cursor, read afresh (its type, approvals, version); None (and why) if not one."""
        current = self.queue.current
        if current is None or current.kind != changes.KIND:
            self.notify(f"{label} applies to a change: c lists the open ones, L shows the calendar", title=label,
                        severity="warning", timeout=6)
            return None
        t = await self._safe_read(detail, self.desk, current.key, self.desk.now())
        if t is None or t.change is None:
            return None
        return t

    async def change_state(self: "DeskApp", current) -> None:
        """s on a change: the states its type may move to from here."""
        from deskconsole.ui.screens.picker import PickerScreen

        t = await self._safe_read(detail, self.desk, current.key, self.desk.now())
        if t is None or t.change is None:
            return
        options = [(s, STATE_WORDS.get(s, s)) for s in change_lifecycle.moves(t.change.type, t.status)]
        if not options:
            self.notify(f"{t.key} is {t.status}, which is final", severity="warning", timeout=5)
            return
        choice = await self.push_screen_wait(PickerScreen(
            f"{t.key} ({t.change.type} change, {t.status.replace('_', ' ')}): move to", options))
        if choice is None:
            return
        outcome = None
        if choice == "closed":
            outcome = await self.push_screen_wait(PickerScreen(f"Close {t.key}: how did it end?",
                                                               list(OUTCOME_WORDS.items())))
            if outcome is None:
                return
        elif choice == "cancelled":
            if not await self.confirm(f"Cancel {t.key}? A cancelled change is final: it cannot be reopened.",
                                      danger=True):
                return
        done = await self.write("state", changes.set_state, self.desk, self.actor, t.key, choice, outcome=outcome,
                                expected_version=t.version)
        if done is not None:
            said = f"closed ({OUTCOME_WORDS[outcome]})" if outcome else choice.replace("_", " ")
            self.notify(f"{t.key} is now {said}", timeout=5, markup=False)
            self.after_write()

    @work(exclusive=True, group="action")
    async def action_change_approve(self: "DeskApp") -> None:
        """y: approve the change under the cursor, with a comment if you like."""
        await self._decide("approve")

    @work(exclusive=True, group="action")
    async def action_change_reject(self: "DeskApp") -> None:
        """x: reject it, saying why (it goes back to draft)."""
        await self._decide("reject")

    async def _decide(self: "DeskApp", decision: str) -> None:
        from deskconsole.ui.screens.text_entry import TextEntryScreen

        label = "approve" if decision == "approve" else "reject"
        t = await self.current_change(label)
        if t is None:
            return
        waiting = [f"{r.rule} ({r.who})" for r in t.change.requirements if r.by is None]
        if decision == "approve":
            title = f"Approve {t.key}: a comment (optional)" + (f" — it waits for {'; '.join(waiting)}" if waiting
                                                                 else "")
        else:
            title = f"Reject {t.key}: why? (required; the requester reads it, and the change goes back to draft)"
        comment = ""
        while True:
            comment = await self.push_screen_wait(TextEntryScreen(
                title, text=comment, required=decision == "reject",
                hint="ctrl+s " + ("approve" if decision == "approve" else "reject") + " · esc cancel"))
            if comment is None:
                return
            done = await self.write(label, changes.decide, self.desk, self.actor, t.key, decision, comment,
                                    expected_version=t.version)
            if done is not None:
                shown = await self._safe_read(detail, self.desk, t.key, self.desk.now())
                state = shown.status.replace("_", " ") if shown else "?"
                left = [r.rule for r in shown.change.requirements if r.by is None] if shown else []
                more = f"; it still waits for {', '.join(left)}" if decision == "approve" and left else ""
                self.notify(f"{t.key} {'approved' if decision == 'approve' else 'rejected'}: it is {state}{more}",
                            timeout=6, markup=False)
                self.after_write()
                return
            if decision == "approve" and not comment.strip():
                return  # nothing typed to keep: the refusal said why

    @work(exclusive=True, group="action")
    async def action_change_new(self: "DeskApp") -> None:
        """ctrl+n (or n in the calendar): raise a change."""
        await self.new_change()

    async def new_change(self: "DeskApp") -> None:
        from deskconsole.ui.screens.change_form import NewChangeScreen

        policy = self.desk.directory.change_policy
        tz = self.desk.config.zone()
        draft, error = None, None
        while True:
            form = await self.push_screen_wait(NewChangeScreen(
                templates=policy.templates, services=sorted(self.desk.directory.service_ids), zone=zone_name(tz),
                draft=draft, error=error))
            if form is None:
                return
            draft = form
            try:
                values = change_values(form, self.desk.now(), tz)
            except ValidationError as exc:
                error = str(exc)
                continue
            try:
                made = await self.runner.write(changes.create, self.desk, self.actor, **values)
            except DeskError as exc:  # the core's word (bad name, not permitted ...): in the form, the rest kept
                error = str(exc)
                continue
            except Exception as exc:  # the database went away mid-write
                error = f"{type(exc).__name__}: {exc}; nothing was changed — try again"
                continue
            self.notify(f"{made.key} raised (draft): s moves it on — c lists the open changes", timeout=6)
            shown = await self._safe_read(detail, self.desk, made.key, self.desk.now())
            if shown is not None and shown.change.collisions:
                self.notify("\n".join(c.message for c in shown.change.collisions[:4]),
                            title=f"{made.key}: {len(shown.change.collisions)} collision(s)", severity="warning",
                            timeout=12, markup=False)
            self.after_write()
            return

    def action_calendar(self: "DeskApp") -> None:
        """L: the week's changes and windows; enter opens a change."""
        from deskconsole.ui.screens.change_calendar import CalendarScreen

        tz = self.desk.config.zone()

        def load(week: str | None):
            return self.runner.read(week_view, self.desk, week, tz)

        def chosen(result) -> None:
            if not result:
                return
            what, key = result
            if what == "new":
                self.action_change_new()
            elif what == "open" and key:
                self.jump_to(key)
                self.action_focus_detail()

        self.push_screen(CalendarScreen(load, tz, self.desk.now), chosen)
