"""The SLA-timer pane: every clock of the selected ticket, ticking each
second, and the most urgent clocks across the current filter.

It draws with the Line API: each second the lines are built again and only
those that differ are marked dirty (``refresh(Region)`` of one line), so a
tick sends the terminal a countdown's line or two, not the whole pane, and
lays nothing out again unless the number of lines changed.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from deskconsole.core.clock import exact_duration
from deskconsole.core.search.queue import UrgentClock
from deskconsole.core.records.text import terminal_safe
from deskconsole.core.records.views import ClockView
from deskconsole.sla import Calendar
from deskconsole.ui.queue_view import countdown

BAR = 12
STATE_STYLE = {"breached": "bold red reverse", "warning": "bold yellow", "running": "green", "ok": "green",
               "paused": "cyan", "met": "dim", "cancelled": "dim"}


def left_now(clock: ClockView, cal: Calendar, now: datetime) -> int:
    """Business seconds left (negative: overdue) at ``now``, for a counting clock."""
    if clock.due_at is None or clock.stopped_at is not None or clock.paused_since is not None:
        return clock.left_seconds
    if now <= clock.due_at:
        return cal.between(now, clock.due_at)
    return -cal.between(clock.due_at, now)


def bar(percent: int, width: int = BAR) -> str:
    filled = min(max(percent, 0), 100) * width // 100
    return "█" * filled + "░" * (width - filled)


class TimersPane(Widget, can_focus=False):
    DEFAULT_CSS = """
    TimersPane { height: auto; min-height: 4; }
    """

    def __init__(self, *, calendars: Callable[[str], Calendar], clock: Callable[[], datetime] | None = None, **kw):
        super().__init__(**kw)
        self.calendars = calendars
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.key: str | None = None
        self.clocks: list[ClockView] = []
        self.urgent: list[UrgentClock] = []

    def on_mount(self) -> None:
        self._lines: list[Text] = []
        self._strips: dict[int, Strip] = {}
        self.set_interval(1.0, self.tick)

    def show(self, key: str | None, clocks: list[ClockView]) -> None:
        self.key, self.clocks = key, clocks
        self.tick()

    def show_urgent(self, urgent: list[UrgentClock]) -> None:
        self.urgent = urgent
        self.tick()

    # ------------------------------------------------------------ Line API
    def tick(self) -> None:
        """Build the lines as of now; repaint the ones that changed."""
        lines = self.render().split("\n", allow_blank=True)
        if lines and not lines[-1].plain:
            lines.pop()
        old = getattr(self, "_lines", [])
        self._lines = lines
        if len(lines) != len(old):
            self._strips.clear()
            self.refresh(layout=True)
            return
        width = self.size.width
        for y, (new, was) in enumerate(zip(lines, old)):
            if new.plain != was.plain or new.spans != was.spans:
                self._strips.pop(y, None)
                self.refresh(Region(0, y, width, 1))

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(len(getattr(self, "_lines", [])), 1)

    def on_resize(self) -> None:
        self._strips.clear()
        # the lines depend on the width (a state on its own line, the urgent list's form):
        # a pane shown for the first time (the compact layout's detail) builds them now, not a tick later
        self.tick()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        strip = self._strips.get(y)
        if strip is None or strip.cell_length != width:
            lines = getattr(self, "_lines", [])
            if y >= len(lines):
                return Strip.blank(width, self.rich_style)
            text = lines[y].copy()
            text.truncate(width, overflow="ellipsis")
            segments = list(text.render(self.app.console))
            strip = Strip(segments).apply_style(self.rich_style).extend_cell_length(width, self.rich_style).crop(0, width)
            self._strips[y] = strip
        return strip

    def render(self) -> Text:
        now = self.clock()
        out = Text()
        out.append(f"SLA {self.key or ''}\n", style="bold")
        if not self.clocks:
            out.append("no clocks\n" if self.key else "no ticket selected\n", style="dim")
        for c in self.clocks:
            cal = self.calendars(c.calendar)
            left = left_now(c, cal, now)
            used = c.target_seconds - left
            pct = used * 100 // c.target_seconds if c.target_seconds else 0
            state = c.state
            if state in ("running", "warning") and left < 0:
                state = "breached"
            word = state.upper() if state == "breached" else state
            # lines are cut at the pane's edge, never wrapped: in a narrow pane the state gets its own line
            gap = "\n  " if self.size.width and self.size.width < 15 + len(word) else ""
            out.append(f"{c.label:<15}" if not gap else c.label, style="bold")
            out.append(f"{gap}{word}\n", style=STATE_STYLE.get(state, ""))
            if c.stopped_at is not None:
                stopped = f"stopped {c.stopped_at:%m-%d %H:%M}"
                if self.size.width and self.size.width < len(stopped) + 10:
                    out.append(f" at {c.stopped_at:%m-%d %H:%M}\n {pct}% used\n", style="dim")
                else:
                    out.append(f"  {stopped} · {pct}% used\n", style="dim")
                continue
            room = self.size.width - 8 if self.size.width else BAR  # "  " + bar + " 100%"
            out.append(f"  {bar(pct, max(min(BAR, room), 4))} {pct}%\n", style=STATE_STYLE.get(state, ""))
            span = f"{exact_duration(left)} left" if left >= 0 else f"{exact_duration(-left)} over"
            due = f"due {c.due_at:%m-%d %H:%M}" if c.due_at and c.paused_since is None else "paused"
            if self.size.width and self.size.width < len(span) + len(due) + 5:
                out.append(f" {span}\n {due}\n")
            else:
                out.append(f"  {span} · {due}\n")
        if self.urgent:
            narrow = bool(self.size.width) and self.size.width < 34
            heading = "Most urgent in this view" if self.size.width >= 26 or not self.size.width else "Most urgent"
            out.append(f"\n{heading}\n", style="bold")
            for u in self.urgent:
                delta = int((u.due_at - now).total_seconds())
                # to the minute, as in the queue: eight lines ticking every second would cost the wire
                state = "breached" if delta < 0 else u.state
                out.append(f"{u.key:<8}" if narrow else f"{u.key:<9}", style=STATE_STYLE.get(state, ""))
                if narrow:  # key, time to the deadline (negative: overdue), which clock
                    which = ("  1st" if u.metric == "first_response" else "  res") if self.size.width >= 19 else ""
                    out.append(f"{countdown(delta):>6}{which}\n")
                    continue
                span = f"in {countdown(delta)}" if delta >= 0 else f"{countdown(-delta)} ago"
                out.append(f" {u.metric.replace('_', ' ')[:10]:<10} {span:<13} ")
                out.append(terminal_safe(u.title, one_line=True)[:40])
                out.append("\n")
        return out
