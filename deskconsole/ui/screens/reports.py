"""The reports screen: the desk's figures, their trend as sparklines, and
the tickets behind any of them a keystroke away.

``ReportsScreen(load)``: ``load(since)`` returns (awaitable) the
:class:`~deskconsole.core.reports.report.Report` for a period; the screen
never touches the desk itself. Dismisses with the query that lists the
tickets behind the chosen line (the console filters its queue with it), or
None.
"""

from __future__ import annotations

from typing import Awaitable, Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Sparkline, Static

from deskconsole.core.reports import text as rt
from deskconsole.core.reports.kpis import AGE_BUCKETS
from deskconsole.core.reports.report import Report
from deskconsole.ui.screens._common import HintLine, MarkedOptionList, TitleLine, literal

PERIODS = ("7d", "30d", "90d")
HINT = "enter: the tickets behind a line · p: period · ?: help · esc: back"


class ReportLines(MarkedOptionList):
    DEFAULT_CSS = """
    ReportLines, ReportLines:focus {
        height: 1fr;
        max-height: 100%;
        border: none;
        padding: 0;
    }
    """


def report_lines(r: Report) -> list[tuple[Text, str | None]]:
    """(line, query behind it) for every line of the screen; headings have no query."""
    out: list[tuple[Text, str | None]] = []

    def heading(title: str) -> None:
        out.append((Text(title, style="bold", end=""), None))

    heading(f"Figures · {r.period.label}")
    for label, value, figure in rt.summary(r.total):
        if figure == "backlog":
            continue
        out.append((literal(f"{label:<25} {value}"), r.behind(figure)))
    due, overdue, done = r.reviews
    out.append((literal(f"{'Post-incident reviews':<25} {due:,} due, {overdue:,} overdue, {done:,} done"), None))
    if r.knowledge is not None:
        k = r.knowledge
        out.append((literal(f"{'Knowledge':<25} {k.published:,} published, {k.drafts:,} drafts, "
                            f"{k.review_due:,} due for review"), None))
    if r.changes is not None:
        c = r.changes
        ended = f"{rt.pct(c.success_rate)} successful of {c.closed:,} closed" if c.closed else "none closed"
        out.append((literal(f"{'Changes':<25} {ended}; {c.caused_incidents:,} incidents caused by changes"),
                    "kind:change status:closed"))
    heading("Backlog: open now, by age")
    for i, ((label, _, _), n) in enumerate(zip(AGE_BUCKETS, r.total.backlog)):
        out.append((literal(f"{label:<25} {n:,}"), r.behind(f"backlog:{i}")))
    for dim, rows in r.compliance:
        if rows:
            heading(f"SLA compliance by {dim}: first response · resolution")
            for row in rows:
                f = row.figures
                out.append((literal(f"{row.label:<25} {rt.pct(f.compliance('first_response')):>7} · "
                                    f"{rt.pct(f.compliance('resolution')):>7}   ({f.breaches:,} breached)"),
                            r.behind("breaches", row.term)))
    heading("Trend flags: well above their own 4-week baseline")
    if not r.flags:
        out.append((Text("  none", end=""), None))
    for f in r.flags:
        ratio = f"{f.ratio:.1f}x" if f.ratio else "new"
        out.append((literal(f"{f.dimension} {f.name}: {f.count:,} in the last {f.window} ({ratio} baseline "
                            f"{f.baseline:g})"), f.query))
    for dim, counts in r.volume:
        if counts:
            heading(f"Created by {dim}")
            for c in counts:
                out.append((literal(f"{c.label:<25} {c.count:,}"), r.behind("created", c.term)))
    return out


class ReportsScreen(ModalScreen[str | None]):
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="reports.close"),
        Binding("p", "period", "Period", id="reports.period"),
        Binding("ctrl+r", "reload", "Again", id="reports.reload"),
        Binding("question_mark", "help", "Help", id="reports.help"),
    ]

    DEFAULT_CSS = """
    ReportsScreen {
        background: $background;
        padding: 0 1;
    }
    ReportsScreen #report-head {
        height: auto;
    }
    ReportsScreen TitleLine {
        margin-bottom: 0;
    }
    ReportsScreen #sparks {
        height: 2;
    }
    ReportsScreen .spark-box {
        width: 1fr;
        height: 2;
    }
    ReportsScreen .spark-label {
        height: 1;
        color: $text-muted;
    }
    ReportsScreen Sparkline {
        height: 1;
        margin-right: 2;
    }
    ReportsScreen HintLine {
        margin-top: 0;
    }
    """

    def __init__(self, load: Callable[[str], Awaitable[Report]], *, since: str = "30d") -> None:
        super().__init__()
        self.load = load
        self.since = since
        self.report: Report | None = None
        self.queries: list[str | None] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="report-head"):
            yield TitleLine("Reports", id="report-title")
            yield Static(literal("reading the figures…"), id="report-state", markup=False)
            with Horizontal(id="sparks"):
                with Vertical(classes="spark-box"):
                    yield Static("", id="created-label", classes="spark-label", markup=False)
                    yield Sparkline([], id="created-spark")
                with Vertical(classes="spark-box"):
                    yield Static("", id="breach-label", classes="spark-label", markup=False)
                    yield Sparkline([], id="breach-spark")
        yield ReportLines(id="report-lines")
        yield HintLine(HINT)

    def on_mount(self) -> None:
        self.query_one(ReportLines).focus()
        self.read()

    def read(self) -> None:
        self.query_one("#report-state", Static).update(literal(f"reading the figures for the last {self.since}…"))
        self.run_worker(self._read(self.since), exclusive=True, group="report")

    async def _read(self, since: str) -> None:
        try:
            report = await self.load(since)
        except Exception as exc:  # the database is away or a figure failed: say so, keep the screen
            self.query_one("#report-state", Static).update(
                literal(f"⚠ could not read the figures: {exc} — ctrl+r tries again, esc goes back"))
            return
        if since == self.since:
            self.show(report)

    def show(self, r: Report) -> None:
        self.report = r
        zone = getattr(r.period.tz, "key", "UTC")
        self.query_one("#report-title", TitleLine).update(literal(f"Reports · {r.query or 'all tickets'} · {r.period.label}"))
        self.query_one("#report-state", Static).update(literal(
            f"{r.total.created:,} created, {r.total.resolved:,} resolved, {r.total.backlog_total:,} open now · "
            f"days in {zone} · read in {r.read_seconds * 1000:,.0f} ms"))
        created = [float(t.created) for t in r.trend]
        breaches = [float(t.breaches) for t in r.trend]
        self.query_one("#created-label", Static).update(literal(
            f"created per {r.trend_unit}: peak {max(created, default=0):,.0f}"))
        self.query_one("#breach-label", Static).update(literal(
            f"breaches per {r.trend_unit}: peak {max(breaches, default=0):,.0f}"))
        self.query_one("#created-spark", Sparkline).data = created
        self.query_one("#breach-spark", Sparkline).data = breaches
        lines = report_lines(r)
        self.queries = [query for _, query in lines]
        view = self.query_one(ReportLines)
        first = next((i for i, q in enumerate(self.queries) if q), None)
        view.set_labels([line for line, _ in lines], highlighted=first)
        for i, query in enumerate(self.queries):
            if query is None:
                view.disable_option_at_index(i)

    def on_option_list_option_selected(self, event: ReportLines.OptionSelected) -> None:
        event.stop()
        index = event.option_index
        if 0 <= index < len(self.queries) and self.queries[index]:
            self.dismiss(self.queries[index])

    def action_period(self) -> None:
        self.since = PERIODS[(PERIODS.index(self.since) + 1) % len(PERIODS)] if self.since in PERIODS else PERIODS[0]
        self.read()

    def action_reload(self) -> None:
        self.read()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_help(self) -> None:
        from deskconsole.ui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen("Reports keys", [
            ("j, k, ↑, ↓", "move between lines"),
            ("enter", "show the tickets behind the line in the queue (esc there brings the old filter back)"),
            ("p", f"next period: {', '.join(PERIODS)}"),
            ("ctrl+r", "read the figures again"),
            ("esc, q", "back to the queue"),
        ], notes=[
            "MTTA: created to first acknowledged, for the tickets acknowledged in the period; MTTR: created to "
            "resolved, for those resolved in it (merged duplicates left out). Business times are the SLA clocks' "
            "own: office hours of the ticket's calendar, without paused time.",
            "SLA compliance counts the clocks decided in the period: met / (met + breached). A hand-off moves a "
            "ticket someone held to another agent or team; ping-pong: tickets handed on 3 times or more.",
            "Every figure is defined in the README, \"Reports: what each figure means\"; the same report is "
            "'deskconsole report' on the command line.",
        ]))
