"""The console's problem actions: open a problem from the marked incidents,
list the open problems, the problem candidates, a problem's workaround (a
known error's shows on its incidents), its state and its resolution.
Each calls the same core function as ``deskconsole problem ...`` on the
write thread; typed text is never lost on a refusal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from deskconsole.core.records import problem_candidates, problem_lifecycle, problems
from deskconsole.core.records.views import detail

if TYPE_CHECKING:
    from deskconsole.ui.app import DeskApp

PROBLEMS_QUERY = "kind:problem is:open"


class ProblemActions:
    """Mixed into :class:`~deskconsole.ui.app.DeskApp`."""

    @work(exclusive=True, group="action")
    async def action_problem_new(self: "DeskApp") -> None:
        """P: a problem from the marked incidents (else the current one)."""
        from deskconsole.ui.screens.text_entry import TextEntryScreen

        incidents = [t for t in await self.targets() if t.kind == "incident"]
        if not incidents:
            self.notify("mark the incidents behind the problem (space, or V for all), then P", title="new problem",
                        severity="warning", timeout=6)
            return
        keys = [t.key for t in incidents]
        shown = ", ".join(keys[:4]) + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")
        title = incidents[0].title
        while True:
            title = await self.push_screen_wait(TextEntryScreen(f"New problem from {shown}: its title", text=title))
            if title is None:
                return
            made = await self.write("new problem", problems.create, self.desk, self.actor, title=title.strip(),
                                    incidents=keys)
            if made is not None:
                self.queue.marks.clear()
                self.notify(f"{made.key} opened from {shown} — p lists the open problems", timeout=6, markup=False)
                self.after_write()
                return

    def action_problems(self: "DeskApp") -> None:
        """p: the open problems in the queue (esc brings the filter back)."""
        self.filter_for_now(PROBLEMS_QUERY)
        self.notify("open problems: W workaround, s state, R resolve — esc brings the filter back", timeout=6)

    def action_problem_candidates(self: "DeskApp") -> None:
        """C: clusters of similar recent incidents with no problem yet; enter
        on one filters the queue to its incidents."""
        from deskconsole.ui.screens.candidates import CandidatesScreen

        def load():
            return self.runner.read(problem_candidates.candidates, self.desk)

        def chosen(query: str | None) -> None:
            if query:
                self.filter_for_now(query)
                self.notify("the cluster's incidents: V marks them all, P opens a problem from them — esc brings "
                            "the filter back", timeout=8)

        self.push_screen(CandidatesScreen(load), chosen)

    @work(exclusive=True, group="action")
    async def action_reply_workaround(self: "DeskApp") -> None:
        """w: a reply to the requester that starts with the known error's workaround."""
        from deskconsole.ui.screens.picker import PickerScreen

        current = self.queue.current
        if current is None or current.kind != "incident":
            return
        t = await self._safe_read(detail, self.desk, current.key, self.desk.now())
        if t is None:
            return
        if not t.workarounds:
            self.notify(f"no known error explains {t.key}: W on a problem sets one (p lists them)",
                        title="workaround", severity="warning", timeout=6)
            return
        chosen = t.workarounds[0]
        if len(t.workarounds) > 1:
            key = await self.push_screen_wait(PickerScreen("Which known error?", [
                (w.key, f"{w.key}  {w.title}") for w in t.workarounds]))
            if key is None:
                return
            chosen = next(w for w in t.workarounds if w.key == key)
        await self.reply_or_note("reply", t.key, f"Reply to the requester of {t.key}", text=workaround_reply(chosen))

    async def current_problem(self: "DeskApp", label: str):
        current = self.queue.current
        if current is None or current.kind != problems.KIND:
            self.notify(f"{label} applies to a problem: p lists the open ones", title=label, severity="warning",
                        timeout=6)
            return None
        return current

    @work(exclusive=True, group="action")
    async def action_workaround(self: "DeskApp") -> None:
        """W: a problem's workaround; saved on a new or investigating problem, it becomes a known error."""
        from deskconsole.ui.screens.text_entry import TextEntryScreen

        current = await self.current_problem("workaround")
        if current is None:
            return
        t = await self._safe_read(detail, self.desk, current.key, self.desk.now())
        if t is None or t.problem is None:
            return
        text = t.problem.workaround
        while True:
            text = await self.push_screen_wait(TextEntryScreen(
                f"{t.key}: the workaround (a known error's shows on every incident it explains)", text=text))
            if text is None:
                return
            if t.status in ("new", "investigating"):
                known = await self.confirm(f"Make {t.key} a known error with this workaround?")
                call = (problems.set_state, self.desk, self.actor, t.key, "known_error") if known else (
                    problems.update, self.desk, self.actor, t.key)
                done = await self.write("workaround", *call, workaround=text, expected_version=t.version)
            else:
                done = await self.write("workaround", problems.update, self.desk, self.actor, t.key, workaround=text,
                                        expected_version=t.version)
            if done is not None:
                self.notify(f"{t.key}: workaround saved", timeout=4)
                self.after_write()
                return

    async def problem_state(self: "DeskApp", current) -> None:
        """s on a problem: its next state (resolving is R)."""
        from deskconsole.ui.screens.picker import PickerScreen

        options = [(s, s.replace("_", " ")) for s in problem_lifecycle.TRANSITIONS.get(current.status, ())
                   if s != "resolved"]
        if not options:
            self.notify(f"{current.key} is {current.status}: R resolves it" if current.status != "closed"
                        else f"{current.key} is closed", severity="warning", timeout=5)
            return
        choice = await self.push_screen_wait(PickerScreen(f"{current.key}: state", options))
        if choice is None:
            return
        if await self.write("state", problems.set_state, self.desk, self.actor, current.key, choice,
                            expected_version=current.version) is not None:
            self.notify(f"{current.key} is now {choice.replace('_', ' ')}", timeout=4)
            self.after_write()

    async def problem_resolve(self: "DeskApp", current) -> None:
        """R on a problem: what fixed it, and whether its open incidents are resolved with it."""
        from deskconsole.ui.screens.text_entry import TextEntryScreen

        fix = ""
        while True:
            fix = await self.push_screen_wait(TextEntryScreen(f"Resolve {current.key}: what fixed it?", text=fix))
            if fix is None:
                return
            cascade = await self.confirm(f"Also resolve the open incidents of {current.key}, each with a note?")
            done = await self.write("resolve", problems.resolve, self.desk, self.actor, current.key, fix,
                                    incidents=cascade, expected_version=current.version)
            if done is not None:
                _, resolved = done
                also = f"; resolved {', '.join(resolved[:4])}" + (" …" if len(resolved) > 4 else "") if resolved else ""
                self.notify(f"{current.key} resolved{also}", timeout=6, markup=False)
                self.after_write()
                return


def workaround_reply(w: problems.Workaround) -> str:
    """The start of a reply that hands a known error's workaround to the requester."""
    return (f"This is a known issue ({w.key}: {w.title}); while it is being fixed, this works around it:\n\n"
            f"{w.workaround}\n")
