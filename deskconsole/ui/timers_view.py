"""The SLA-timer pane: every clock of the selected ticket, ticking each
second, and the most urgent clocks across the current filter.

Ticking repaints this widget only (``refresh()`` without layout), so the
rest of the screen is not laid out again and the terminal gets only the
changed cells.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from rich.text import Text
from textual.widget import Widget

from deskconsole.core.clock import exact_duration
from deskconsole.core.queue import UrgentClock
from deskconsole.core.text import terminal_safe
from deskconsole.core.views import ClockView
from deskconsole.sla import Calendar

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


def bar(percent: int) -> str:
    filled = min(max(percent, 0), 100) * BAR // 100
    return "█" * filled + "░" * (BAR - filled)


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
        self.set_interval(1.0, self.refresh)

    def show(self, key: str | None, clocks: list[ClockView]) -> None:
        self.key, self.clocks = key, clocks
        self.refresh(layout=True)

    def show_urgent(self, urgent: list[UrgentClock]) -> None:
        changed = len(urgent) != len(self.urgent)
        self.urgent = urgent
        self.refresh(layout=changed)

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
            out.append(f"{c.label:<15}", style="bold")
            out.append(f"{state.upper() if state == 'breached' else state}\n", style=STATE_STYLE.get(state, ""))
            if c.stopped_at is not None:
                out.append(f"  stopped {c.stopped_at:%m-%d %H:%M} · {pct}% used\n", style="dim")
                continue
            out.append(f"  {bar(pct)} {pct}%\n", style=STATE_STYLE.get(state, ""))
            span = f"{exact_duration(left)} left" if left >= 0 else f"{exact_duration(-left)} over"
            due = f"due {c.due_at:%m-%d %H:%M}" if c.due_at and c.paused_since is None else "paused"
            out.append(f"  {span} · {due}\n")
        if self.urgent:
            out.append("\nMost urgent in this view\n", style="bold")
            for u in self.urgent:
                delta = int((u.due_at - now).total_seconds())
                span = f"in {exact_duration(delta)}" if delta >= 0 else f"{exact_duration(-delta)} ago"
                state = "breached" if delta < 0 else u.state
                out.append(f"{u.key:<9}", style=STATE_STYLE.get(state, ""))
                out.append(f" {u.metric.replace('_', ' ')[:10]:<10} {span:<13} ")
                out.append(terminal_safe(u.title, one_line=True)[:40])
                out.append("\n")
        return out
