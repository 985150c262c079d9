"""The console's triage actions: each opens a screen for its input, then
calls the same core function as the CLI on the write thread.

Actions apply to the marked tickets, else to the one under the cursor; more
than one ticket, or anything destructive, asks first. A conflict or a
refusal is shown as a message, and typed text is never lost: the screen
opens again with it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

from textual import work

from deskconsole.core.records import links, problems, reviews, tickets
from deskconsole.core.records.service_context import service_context
from deskconsole.core.search import queue as q
from deskconsole.errors import Conflict, DeskError, PermissionDenied
from deskconsole.core.keys import normal_key
from deskconsole.core.records.lifecycle import OPEN
from deskconsole.core.records.views import TicketSummary

if TYPE_CHECKING:
    from deskconsole.ui.app import DeskApp

CONFIRM_FROM = 2  # bulk actions on this many tickets or more ask first
KEY_RE = re.compile(r"^(?:(?:INC|PRB|CHG)-)?\d+$", re.IGNORECASE)
ARTICLE_RE = re.compile(r"^KB-?(\d{1,10})$", re.IGNORECASE)


class TriageActions:
    """Mixed into :class:`~deskconsole.ui.app.DeskApp`."""

    # ------------------------------------------------------------ running writes
    async def write(self: "DeskApp", label: str, fn: Callable, *args, **kwargs):
        """One core write on the write thread; a refusal becomes a message. Returns the outcome or None."""
        try:
            outcome = await self.runner.write(fn, *args, **kwargs)
        except Conflict as exc:
            self.notify(f"{exc} (press ctrl+r to reload)", title=f"{label}: conflict", severity="error", timeout=10)
            return None
        except PermissionDenied as exc:
            self.notify(str(exc), title=f"{label}: not permitted", severity="error", timeout=10)
            return None
        except DeskError as exc:
            self.notify(str(exc), title=label, severity="error", timeout=8)
            return None
        except Exception as exc:  # the database went away mid-write: say so, keep the input
            self.notify(f"{type(exc).__name__}: {exc}; nothing was changed — try again",
                        title=f"{label}: database trouble", severity="error", timeout=10)
            return None
        return outcome

    async def for_each(self: "DeskApp", label: str, targets: list[TicketSummary], fn: Callable) -> int:
        """Run ``fn(ticket)`` on each target; one summary message. Returns how many succeeded."""
        done, failed = 0, []
        for t in targets:
            try:
                await self.runner.write(fn, t)
                done += 1
            except DeskError as exc:
                failed.append(f"{t.key}: {exc}")
            except Exception as exc:
                failed.append(f"{t.key}: {type(exc).__name__}: {exc}")
        if failed:
            more = f" (+{len(failed) - 3} more)" if len(failed) > 3 else ""
            self.notify("\n".join(failed[:3]) + more, title=f"{label}: {done} done, {len(failed)} refused",
                        severity="error", timeout=12)
        elif done:
            keys = ", ".join(t.key for t in targets[:4]) + (" …" if len(targets) > 4 else "")
            self.notify(f"{label}: {keys}", timeout=4)
        self.after_write()
        return done

    def after_write(self: "DeskApp") -> None:
        current = self.queue.current
        self.reload_queue(keep_id=current.id if current else None)
        if current:
            self.load_detail(current.key)

    async def confirm(self: "DeskApp", message: str, *, danger: bool = False) -> bool:
        from deskconsole.ui.screens.confirm import ConfirmScreen

        return bool(await self.push_screen_wait(ConfirmScreen(message, danger=danger)))

    async def targets(self: "DeskApp") -> list[TicketSummary]:
        """The marked tickets — wherever they are in the queue, loaded or not — else
        the current one. A loaded row keeps the version on screen (what the user
        saw, for the conflict check); the others are read afresh."""
        queue = self.queue
        if not queue.marks:
            return [queue.current] if queue.current else []
        loaded = {r.id: r for r in queue.rows.values() if r.id in queue.marks}
        missing = sorted(queue.marks - loaded.keys())
        fresh = await self._safe_read(q.rows_by_id, self.desk, missing) if missing else {}
        if fresh is None:
            return []
        gone = len(missing) - len(fresh)
        if gone:
            self.notify(f"{gone} marked ticket(s) no longer exist; left out", severity="warning")
        rows = {**fresh, **loaded}
        return [rows[i] for i in sorted(rows)]

    async def pick_targets(self: "DeskApp", label: str, *, danger: bool = False) -> list[TicketSummary]:
        targets = await self.targets()
        if not targets:
            self.notify("no ticket selected", title=label, severity="warning")
            return []
        if len(targets) >= CONFIRM_FROM or danger:
            keys = ", ".join(t.key for t in targets[:6]) + (f" and {len(targets) - 6} more" if len(targets) > 6 else "")
            if not await self.confirm(f"{label} {len(targets)} ticket(s): {keys}?", danger=danger):
                return []
        return targets

    # ------------------------------------------------------------ the actions
    @work(exclusive=True, group="action")
    async def action_take(self: "DeskApp") -> None:
        targets = await self.pick_targets("Take")
        await self.for_each("take", targets, lambda t: (
            problems.update(self.desk, self.actor, t.key, assignee=self.actor.login, expected_version=t.version)
            if t.kind == problems.KIND else tickets.take(self.desk, self.actor, t.key, expected_version=t.version)))

    @work(exclusive=True, group="action")
    async def action_ack(self: "DeskApp") -> None:
        targets = await self.pick_targets("Acknowledge")
        await self.for_each("ack", targets,
                            lambda t: tickets.acknowledge(self.desk, self.actor, t.key, expected_version=t.version))

    @work(exclusive=True, group="action")
    async def action_assign(self: "DeskApp") -> None:
        from deskconsole.ui.screens.picker import PickerScreen

        if not self.queue.has_targets:
            self.notify("no ticket selected", title="Assign", severity="warning")
            return
        directory = self.desk.directory  # the desk's own (loaded when it opened), not the config at hand
        options = [(f"agent:{a.login}", f"{a.login} — {a.name}" + (f" ({a.team})" if a.team else ""))
                   for a in directory.agents.values() if a.active and a.role != "viewer"]
        options += [(f"team:{name}", f"team {name} — {t['title']}") for name, t in directory.rows["team"].items()
                    if t["active"]]
        choice = await self.push_screen_wait(PickerScreen("Assign to", options, allow_none="nobody (unassign)"))
        if choice is None:
            return
        targets = await self.pick_targets("Assign")
        if choice == "none":
            change = {"agent": None}
        elif choice.startswith("team:"):
            change = {"team": choice[5:]}
        else:
            change = {"agent": choice[6:]}
        as_problem = {"assignee" if k == "agent" else k: v for k, v in change.items()}

        def fn(t):
            if t.kind == problems.KIND:  # a problem's team and assignee are the same fields, its rules its own
                return problems.update(self.desk, self.actor, t.key, expected_version=t.version, **as_problem)
            return tickets.assign(self.desk, self.actor, t.key, expected_version=t.version, **change)
        await self.for_each("assign", targets, fn)

    @work(exclusive=True, group="action")
    async def action_status(self: "DeskApp") -> None:
        from deskconsole.ui.screens.picker import PickerScreen

        if not self.queue.has_targets:
            return
        current = self.queue.current
        if current is not None and current.kind == problems.KIND and not self.queue.marks:
            await self.problem_state(current)
            return
        if current is not None and current.kind == "change" and not self.queue.marks:
            await self.change_state(current)
            return
        options = [(s, s.replace("_", " ")) for s in OPEN] + [("closed", "closed (a resolved ticket)")]
        choice = await self.push_screen_wait(PickerScreen("Status", options))
        if choice is None:
            return
        targets = await self.pick_targets(f"Set status {choice} on")
        await self.for_each("status", targets,
                            lambda t: tickets.set_status(self.desk, self.actor, t.key, choice, expected_version=t.version))

    @work(exclusive=True, group="action")
    async def action_triage(self: "DeskApp") -> None:
        from deskconsole.core.records.views import detail
        from deskconsole.ui.screens.triage import TriageScreen

        current = self.queue.current
        if current is None:
            return
        t = await self._safe_read(detail, self.desk, current.key, self.desk.now())
        if t is None:
            return
        suggestion = None
        if t.service and t.kind == "incident":  # what its dependents suggest (a hint; the user chooses)
            context = await self._safe_read(service_context, self.desk, t.key, self.desk.now())
            suggestion = context.suggestion.text if context is not None and context.suggestion else None
        result = await self.push_screen_wait(TriageScreen(self.desk.config.matrix, impact=t.impact, urgency=t.urgency,
                                                          suggestion=suggestion))
        if result is None:
            return
        impact, urgency = result
        targets = await self.pick_targets("Set impact/urgency on")
        await self.for_each("impact/urgency", targets, lambda x: tickets.triage(
            self.desk, self.actor, x.key, impact=impact, urgency=urgency, expected_version=x.version))

    @work(exclusive=True, group="action")
    async def action_reply(self: "DeskApp") -> None:
        current = self.queue.current
        if current:
            await self.reply_or_note("reply", current.key, f"Reply to the requester of {current.key}")

    @work(exclusive=True, group="action")
    async def action_note(self: "DeskApp") -> None:
        current = self.queue.current
        if current:
            await self.reply_or_note("note", current.key, f"Internal note on {current.key} (never shown to the requester)")

    @work(exclusive=True, group="action")
    async def action_resolve(self: "DeskApp") -> None:
        from deskconsole.ui.screens.resolve import ResolveScreen

        if not self.queue.has_targets:
            return
        current = self.queue.current
        if current is not None and current.kind == problems.KIND and not self.queue.marks:
            await self.problem_resolve(current)
            return
        note = ""
        while True:
            result = await self.push_screen_wait(ResolveScreen(self.desk.config.resolution_codes, note=note))
            if result is None:
                return
            code, note = result
            targets = await self.pick_targets("Resolve", danger=len(self.queue.marks) > 1)
            if not targets:
                return
            done = await self.for_each("resolve", targets, lambda t: tickets.resolve(
                self.desk, self.actor, t.key, code, note or None, expected_version=t.version))
            asked = [t.key for t in targets if t.priority in reviews.ASKED_FOR] if done == len(targets) else []
            if asked and self.desk.config.review_days:
                self.notify(f"{', '.join(asked[:4])}: a post-incident review is due in {self.desk.config.review_days}"
                            f" days — deskconsole review {asked[0]} (impact, root cause, follow-up actions)",
                            title="post-incident review", timeout=10, markup=False)
            if done == len(targets) or len(targets) > 1:
                return  # a single refused resolve asks again, with the note kept

    @work(exclusive=True, group="action")
    async def action_reopen(self: "DeskApp") -> None:
        targets = await self.pick_targets("Reopen", danger=True)
        await self.for_each("reopen", targets, lambda t: tickets.reopen(self.desk, self.actor, t.key, expected_version=t.version))

    @work(exclusive=True, group="action")
    async def action_link(self: "DeskApp") -> None:
        from deskconsole.ui.screens.link import LinkScreen

        current = self.queue.current
        if current is None:
            return
        result = await self.push_screen_wait(LinkScreen(("relates-to", "duplicate-of", "parent-of", "child-of",
                                                          "caused-by", "causes"), key=current.key))
        if result is None:
            return
        kind, other = result
        if await self.write("link", links.link, self.desk, self.actor, current.key, kind, other) is not None:
            self.notify(f"{current.key} {kind} {other}", timeout=4)
            self.after_write()

    @work(exclusive=True, group="action")
    async def action_merge(self: "DeskApp") -> None:
        from deskconsole.ui.screens.link import LinkScreen

        targets = await self.targets()
        if not targets:
            return
        result = await self.push_screen_wait(LinkScreen((), key=targets[0].key, merge=True))
        if result is None:
            return
        _, into = result
        dups = [t for t in targets if t.key != into]
        names = ", ".join(t.key for t in dups[:6])
        if not dups or not await self.confirm(f"Merge {names} into {into}? They are closed as duplicates.", danger=True):
            return
        await self.for_each("merge", dups, lambda t: links.merge(self.desk, self.actor, t.key, into,
                                                                expected_version=t.version))

    @work(exclusive=True, group="action")
    async def action_new_ticket(self: "DeskApp") -> None:
        from deskconsole.ui.screens.new_ticket import NewTicketScreen

        conf = self.desk.config
        draft = None
        while True:
            values = await self.push_screen_wait(NewTicketScreen(
                teams=list(conf.teams), categories=list(conf.categories), services=list(conf.services),
                matrix=conf.matrix, draft=draft))
            if values is None:
                return
            draft = values
            outcome = await self.write("new ticket", tickets.create, self.desk, self.actor, source="console", **values)
            if outcome is not None:
                self.notify(f"{outcome.key} opened", timeout=5)
                self.after_write()
                return

    # ------------------------------------------------------------ the command line
    def run_command_line(self: "DeskApp", text: str) -> None:
        """``:INC-42`` jumps; ``:take``, ``:assign al``, ``:status pending``, ``:resolve fixed note``,
        ``:reply text``, ``:note text``, ``:filter QUERY``, ``:q``."""
        word, _, rest = text.partition(" ")
        word, rest = word.lower(), rest.strip()
        key = normal_key(text.strip()) if KEY_RE.match(text.strip()) else None
        if key:
            self.jump_to(key)
            return
        article = ARTICLE_RE.match(text.strip())
        if article:
            self.open_article(f"KB-{int(article.group(1))}")
            return
        simple = {"take": self.action_take, "ack": self.action_ack, "reopen": self.action_reopen,
                  "help": self.action_help, "new": self.action_new_ticket, "reload": self.action_reload,
                  "kb": self.action_knowledge}
        if word in ("q", "quit"):
            self.exit()
        elif word in simple and not rest:
            simple[word]()
        elif word == "filter":
            self.set_filter(rest)
        elif word in ("assign", "status", "reply", "note", "resolve") and rest:
            self.command_write(word, rest)
        elif word in ("assign", "status", "reply", "note", "resolve", "link", "merge", "triage"):
            getattr(self, f"action_{word}")()
        else:
            self.notify(f"unknown command {text!r}; press ? for the list", severity="warning")

    @work(exclusive=True, group="action")
    async def command_write(self: "DeskApp", word: str, rest: str) -> None:
        targets = await self.targets()
        if not targets:
            self.notify("no ticket selected", severity="warning")
            return
        d, a = self.desk, self.actor
        if word == "assign":
            fn = lambda t: tickets.assign(d, a, t.key, agent=None if rest == "none" else rest,  # noqa: E731
                                          expected_version=t.version)
        elif word == "status":
            fn = lambda t: tickets.set_status(d, a, t.key, rest, expected_version=t.version)  # noqa: E731
        elif word == "resolve":
            code, _, note = rest.partition(" ")
            fn = lambda t: tickets.resolve(d, a, t.key, code, note or None, expected_version=t.version)  # noqa: E731
        elif word == "reply":
            fn = lambda t: tickets.reply(d, a, t.key, rest, source="console")  # noqa: E731
        else:
            fn = lambda t: tickets.note(d, a, t.key, rest, source="console")  # noqa: E731
        if len(targets) >= CONFIRM_FROM and not await self.confirm(f"{word} on {len(targets)} tickets?"):
            return
        await self.for_each(word, targets, fn)
