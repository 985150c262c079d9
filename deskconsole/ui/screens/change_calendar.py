"""The change calendar: a week of changes and of the change policy's freeze,
blackout and maintenance windows, a day at a time (Monday to Sunday in the
desk's time zone), with collisions marked.

``CalendarScreen(load, tz, clock)``: ``load(week)`` returns (awaitable) a
:class:`~deskconsole.core.records.change_calendar.Week`, its changes and its
windows for ``week`` (an ISO day in it, or None for this week); the screen
never touches the desk. Dismisses ``("open", "CHG-3")`` (enter on a change),
``("new", None)`` (n: a new change) or None (esc)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import Awaitable, Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from deskconsole.core.records.change_calendar import CalendarEntry, Week, WindowSpan
from deskconsole.core.records.change_text import hours, on_day, short_state, zone_name
from deskconsole.core.records.text import terminal_safe
from deskconsole.ui.screens._common import HintLine, TitleLine, literal

HINT = "j/k move · enter open · h/l week · t this week · n new · ? help · esc back"

Loaded = tuple[Week, list[CalendarEntry], list[WindowSpan]]


def _safe(text: str) -> str:
    return terminal_safe(text or "", one_line=True)


def week_lines(week: Week, entries: list[CalendarEntry], windows: list[WindowSpan], tz: tzinfo, today: date,
               selected: int | None) -> tuple[Text, list[tuple[str, int]]]:
    """The week as text, and its changes as (key, line) in the order shown: a
    change over several days shows on each. ``selected``: the index (in
    that list) of the change under the cursor, marked ``›`` and reversed."""
    lines: list[Text] = []
    picks: list[tuple[str, int]] = []
    for offset in range(7):
        day = week.first_day + timedelta(days=offset)
        day_windows = [w for w in windows if on_day(day, w.start, w.end, tz)]
        day_entries = [e for e in entries if on_day(day, e.start, e.end, tz)]
        head = Text(f"{day:%a %d %b}", style="bold underline")
        if day == today:
            head.append(" · today", style="bold")
        if not day_windows and not day_entries:
            head.append(" · nothing planned", style="dim")
        lines.append(head)
        shown = sorted([(w.start, 0, w) for w in day_windows] + [(e.start, 1, e) for e in day_entries],
                       key=lambda item: (item[0], item[1]))
        for _, _, item in shown:
            if isinstance(item, WindowSpan):
                where = ", ".join(item.services) or "all services"
                line = Text(f"    {hours(day, item.start, item.end, tz)}  ", style="dim")
                line.append(f"{item.kind.upper():<11} ", style="dim" if item.kind == "maintenance" else "bold")
                line.append(f"{_safe(item.name)} ({_safe(where)})", style="dim")
                lines.append(line)
                continue
            e = item
            index = len(picks)
            picks.append((e.key, len(lines)))
            on = index == selected
            line = Text("› " if on else "  ")
            line.append("! " if e.collisions else "  ", style="bold")
            line.append(f"{hours(day, e.start, e.end, tz)}  {e.key:<7} {e.type:<9} {short_state(e.status):<12} "
                        f"{', '.join(e.services) or '-'}  ")
            line.append(_safe(e.title))
            if on:
                line.stylize("reverse")
            lines.append(line)
            if e.collisions:  # what it runs into, in a word each (the detail says it in full)
                lines.append(Text("      ⚠ " + " · ".join(f"{c.kind} {_safe(c.what)}" for c in e.collisions),
                                  style="bold"))
    return Text("\n").join(lines), picks


def summary(week: Week, entries: list[CalendarEntry], windows: list[WindowSpan]) -> str:
    flagged = sum(1 for e in entries if e.collisions)
    parts = [f"{len(entries)} change{'s' if len(entries) != 1 else ''}"]
    if flagged:
        parts.append(f"{flagged} with collisions (!)")
    parts.append(f"{len(windows)} window{'s' if len(windows) != 1 else ''}")
    return " · ".join(parts)


class WeekBody(Static):
    DEFAULT_CSS = """
    WeekBody { width: 100%; height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    """


class CalendarScreen(ModalScreen["tuple[str, str | None] | None"]):
    BINDINGS = [
        Binding("j,down", "move(1)", "Next change", id="calendar.down", show=False),
        Binding("k,up", "move(-1)", "Previous change", id="calendar.up", show=False),
        Binding("h,left", "week(-1)", "Previous week", id="calendar.previous"),
        Binding("l,right", "week(1)", "Next week", id="calendar.next"),
        Binding("t", "this_week", "This week", id="calendar.today"),
        Binding("enter", "open", "Open the change", id="calendar.open"),
        Binding("n", "new", "New change", id="calendar.new"),
        Binding("ctrl+r", "reload", "Reload", id="calendar.reload"),
        Binding("question_mark", "help", "Help", id="calendar.help"),
        Binding("escape,q", "close", "Back", id="calendar.close"),
    ]

    DEFAULT_CSS = """
    CalendarScreen {
        background: $background;
        padding: 0 1;
    }
    CalendarScreen #calendar-title { margin-bottom: 0; }
    CalendarScreen #calendar-state { width: 100%; height: 1; color: $text-muted; }
    CalendarScreen #calendar-body { height: 1fr; width: 100%; }
    CalendarScreen HintLine { margin-top: 0; }
    """

    def __init__(self, load: Callable[[str | None], Awaitable[Loaded]], tz: tzinfo,
                 clock: Callable[[], datetime]) -> None:
        super().__init__()
        self.load = load
        self.tz = tz
        self.clock = clock
        self.week: Week | None = None
        self.entries: list[CalendarEntry] = []
        self.windows: list[WindowSpan] = []
        self.picks: list[tuple[str, int]] = []
        self.selected: int | None = None
        self.asked: str | None = None  # the week asked for (a day in it; None: this week)

    def compose(self) -> ComposeResult:
        yield TitleLine("Change calendar", id="calendar-title")
        yield Static(literal("reading the week…"), id="calendar-state", markup=False)
        with VerticalScroll(id="calendar-body"):
            yield WeekBody("", id="calendar-week", markup=False)
        yield HintLine(HINT)

    def on_mount(self) -> None:
        self.query_one("#calendar-body").focus()
        self.read(None)

    # ---------------------------------------------------------------- reading
    def read(self, week: str | None) -> None:
        self.asked = week
        self.run_worker(self._read(week), exclusive=True, group="calendar")

    async def _read(self, week: str | None) -> None:
        try:
            found = await self.load(week)
        except Exception as exc:  # the database is away: say so, keep the screen
            self.query_one("#calendar-state", Static).update(
                literal(f"⚠ could not read the calendar: {exc} — ctrl+r tries again, esc goes back"))
            return
        key = self.selected_key
        self.week, self.entries, self.windows = found
        last = self.week.first_day + timedelta(days=6)
        self.query_one("#calendar-title", TitleLine).update(literal(
            f"Change calendar · week {self.week.label} · {self.week.first_day:%a %d %b} - {last:%a %d %b %Y}"
            f" · {zone_name(self.tz)}"))
        self.query_one("#calendar-state", Static).update(literal(summary(self.week, self.entries, self.windows)))
        self.selected = None
        self._paint()
        keys = [k for k, _ in self.picks]
        if self.picks:
            self.selected = keys.index(key) if key in keys else 0
            self._paint()

    # ---------------------------------------------------------------- showing
    @property
    def selected_key(self) -> str | None:
        if self.selected is None or not (0 <= self.selected < len(self.picks)):
            return None
        return self.picks[self.selected][0]

    @property
    def today(self) -> date:
        return self.clock().astimezone(self.tz).date()

    def _paint(self) -> None:
        if self.week is None:
            return
        text, self.picks = week_lines(self.week, self.entries, self.windows, self.tz, self.today, self.selected)
        self.query_one("#calendar-week", WeekBody).update(text)
        if self.selected is not None:
            self._follow(self.picks[self.selected][1])

    def _follow(self, line: int) -> None:
        body = self.query_one("#calendar-body", VerticalScroll)
        height = body.scrollable_content_region.height
        if not height:
            self.call_after_refresh(self._follow, line)
            return
        top = int(body.scroll_offset.y)
        if line < top + 1:
            body.scroll_to(y=max(line - 1, 0), animate=False)  # the day's heading with it when it fits
        elif line >= top + height:
            body.scroll_to(y=line - height + 1, animate=False)

    # ---------------------------------------------------------------- keys
    def action_move(self, delta: int) -> None:
        if not self.picks:
            return
        current = 0 if self.selected is None else self.selected
        self.selected = max(0, min(len(self.picks) - 1, current + delta))
        self._paint()

    def action_week(self, delta: int) -> None:
        if self.week is None:
            return
        self.read((self.week.first_day + timedelta(weeks=delta)).isoformat())

    def action_this_week(self) -> None:
        self.read(None)

    def action_reload(self) -> None:
        self.read(self.asked)

    def action_open(self) -> None:
        key = self.selected_key
        if key is None:
            self.notify("no change this week: h/l go to another week, n raises one", severity="warning", timeout=5)
            return
        self.dismiss(("open", key))

    def action_new(self) -> None:
        self.dismiss(("new", None))

    def action_close(self) -> None:
        self.dismiss(None)

    def action_help(self) -> None:
        from deskconsole.ui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen("Change calendar keys", [
            ("j, k, ↓, ↑", "next / previous change of the week"),
            ("h, l, ←, →", "previous / next week"),
            ("t", "this week"),
            ("enter", "open the change in the detail pane (s, y, x act on it there)"),
            ("n", "raise a new change"),
            ("ctrl+r", "read the week again"),
            ("esc, q", "back to the queue"),
        ], notes=[
            f"Days run Monday to Sunday in the desk's time zone ({zone_name(self.tz)}); a window that runs on "
            "from the day before or into the next shows '..' for that end.",
            "! marks a change whose window runs into something: a freeze or blackout window on its services, "
            "a service's maintenance windows it keeps out of, or another open change on the same or a connected "
            "service. The ⚠ lines under it say what; they warn, they refuse nothing.",
            "Windows: FREEZE and BLACKOUT (no changes on the services they cover), MAINTENANCE (when its "
            "services may be changed). 'deskconsole change policy' lists them all.",
        ]))
