"""Problem candidates: clusters of similar recent incidents that no problem
explains yet. ``CandidatesScreen(load)``: ``load()`` returns (awaitable)
the clusters; the screen never touches the desk. Dismisses with the query
that lists a cluster's incidents (the console filters its queue with it:
``V`` marks them all, ``P`` opens a problem from them), or None."""

from __future__ import annotations

from typing import Awaitable, Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static

from deskconsole.core.records.problem_candidates import Candidate
from deskconsole.ui.screens._common import HintLine, MarkedOptionList, TitleLine, literal

HINT = "enter: its incidents in the queue (then V, P) · ctrl+r: again · ?: help · esc: back"
SHOWN_KEYS = 150  # a cluster's incidents put in the queue's filter (key:INC-1,INC-2,...)


def cluster_query(c: Candidate) -> str:
    """The query that lists the cluster's incidents (its newest ones, for a very big cluster)."""
    return "key:" + ",".join(c.incidents[:SHOWN_KEYS])


def cluster_line(c: Candidate) -> Text:
    """Two lines: size, group and the words they share; then the newest title."""
    head = literal(f"{c.size:>4} incidents · {c.group} · {' '.join(c.words) or '-'}")
    head.append("\n")
    head.append_text(literal(f"     newest: {c.sample}", style="dim"))
    return head


class CandidateLines(MarkedOptionList):
    DEFAULT_CSS = """
    CandidateLines, CandidateLines:focus {
        height: 1fr;
        max-height: 100%;
        border: none;
        padding: 0;
    }
    """


class CandidatesScreen(ModalScreen["str | None"]):
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="candidates.close"),
        Binding("ctrl+r", "reload", "Again", id="candidates.reload"),
        Binding("question_mark", "help", "Help", id="candidates.help"),
    ]

    DEFAULT_CSS = """
    CandidatesScreen {
        background: $background;
        padding: 0 1;
    }
    """

    def __init__(self, load: Callable[[], Awaitable[list[Candidate]]]) -> None:
        super().__init__()
        self.load = load
        self.found: list[Candidate] = []

    def compose(self) -> ComposeResult:
        yield TitleLine("Problem candidates: similar incidents with no problem yet", id="candidates-title")
        yield Static(literal("looking for clusters…"), id="candidates-state", markup=False)
        yield CandidateLines(id="candidate-lines")
        yield HintLine(HINT)

    def on_mount(self) -> None:
        self.query_one(CandidateLines).focus()
        self.read()

    def read(self) -> None:
        self.run_worker(self._read(), exclusive=True, group="candidates")

    async def _read(self) -> None:
        try:
            found = await self.load()
        except Exception as exc:  # the database is away: say so, keep the screen
            self.query_one("#candidates-state", Static).update(
                literal(f"⚠ could not read the incidents: {exc} — ctrl+r tries again, esc goes back"))
            return
        self.found = list(found)
        state = (f"{len(self.found)} cluster(s) of 3 or more similar incidents in the last 7 days, biggest first"
                 if self.found else "no cluster of 3 or more similar incidents without a problem in the last 7 days")
        self.query_one("#candidates-state", Static).update(literal(state))
        self.query_one(CandidateLines).set_labels([cluster_line(c) for c in self.found],
                                                  highlighted=0 if self.found else None)

    def on_option_list_option_selected(self, event: CandidateLines.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self.found):
            self.dismiss(cluster_query(self.found[event.option_index]))

    def action_reload(self) -> None:
        self.read()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_help(self) -> None:
        from deskconsole.ui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen("Problem candidates keys", [
            ("j, k, ↑, ↓", "move between clusters"),
            ("enter", "show the cluster's incidents in the queue (esc there brings the old filter back)"),
            ("ctrl+r", "look again"),
            ("esc, q", "back to the queue"),
        ], notes=[
            "A cluster is 3 or more incidents of the last 7 days on one service (or, without one, one category) "
            "whose titles say the same thing, that are not merged and not linked to a problem.",
            "In the queue, V marks them all and P opens a problem from the marked incidents; "
            "'deskconsole problem candidates --days 30 --min 5' widens the search.",
        ]))
