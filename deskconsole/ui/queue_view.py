"""The queue: a virtualised ticket list (Textual's Line API).

Only the visible window is ever fetched: the widget knows the total, keeps a
small cache of rows by position, and asks for the rows it lacks through the
:class:`QueueView.NeedRows` message (the app fetches them in a worker and
hands them back with :meth:`QueueView.fill`). Rendering a line is pure
string work, so moving the cursor over a million tickets costs the same as
over a hundred.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from deskconsole.core.clock import ago
from deskconsole.core.records.change_text import short_state
from deskconsole.core.records.text import terminal_safe
from deskconsole.core.records.views import TicketSummary

SLA_WORDS = {"breached": "BREACH", "warning": "warn", "ok": "ok", "paused": "paused", "met": "met"}


def countdown(seconds: int) -> str:
    """Time to a deadline for a narrow column: '3h 10m', '12m', '-45m', '2d 4h'."""
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s < 3600:
        return f"{sign}{max(s // 60, 0)}m" if s >= 60 else f"{sign}{s}s"
    if s < 86400 * 2:
        return f"{sign}{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{sign}{s // 86400}d {s % 86400 // 3600}h"


def sla_cell(row: TicketSummary, now: datetime) -> tuple[str, str]:
    """(text, state) of the SLA column: the nearest deadline of a counting clock."""
    state = row.sla_state(now)
    if state is None:
        return "-", "none"
    if state in ("paused", "met"):
        return SLA_WORDS[state], state
    left = row.sla_left(now)
    if left is None:
        return SLA_WORDS.get(state, state), state
    return f"{SLA_WORDS.get(state, state)} {countdown(left)}"[:11], state


# (title, width, getter); width 0 = takes the rest. Narrow screens drop the
# columns at the end of NARROW_DROP first.
COLUMNS: list[tuple[str, int]] = [
    ("KEY", 10), ("P", 3), ("STATUS", 12), ("SLA", 12), ("TITLE", 0), ("ASSIGNEE", 10), ("TEAM", 10), ("AGE", 5),
]
NARROW_DROP = ("TEAM", "ASSIGNEE", "AGE")


class QueueView(ScrollView, can_focus=True, inherit_bindings=False):
    """The ticket queue. ``cursor`` is a position in the query's order.

    It has no scrolling keys of its own (``inherit_bindings=False``): the
    arrows, page and home/end keys reach the app's movement bindings, which
    move the cursor, and the view scrolls to follow it."""

    COMPONENT_CLASSES = {
        "queue--header", "queue--cursor", "queue--marked", "queue--breached", "queue--warning", "queue--ok",
        "queue--paused", "queue--met", "queue--p1", "queue--loading",
    }
    DEFAULT_CSS = """
    QueueView { height: 1fr; overflow-x: hidden; }
    """

    cursor: reactive[int] = reactive(0, always_update=True)

    class NeedRows(Message):
        """The view lacks rows [offset, offset + limit)."""

        def __init__(self, offset: int, limit: int) -> None:
            super().__init__()
            self.offset = offset
            self.limit = limit

    class Selected(Message):
        """The cursor is on another ticket (or none)."""

        def __init__(self, row: TicketSummary | None) -> None:
            super().__init__()
            self.row = row

    def __init__(self, *, clock: Callable[[], datetime] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.total = 0
        self.rows: dict[int, TicketSummary] = {}
        self.marks: set[int] = set()  # ticket ids
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._asked: set[int] = set()  # window starts already requested
        self._painted: dict[int, tuple] = {}  # screen line -> signature of what it shows
        self._selected_id: int | None = None

    # ------------------------------------------------------------ data in
    def reset(self, total: int, *, keep_id: int | None = None, first: list[TicketSummary] | None = None) -> None:
        """A new filter or a refresh: forget cached rows, keep marks. ``first``:
        the first rows, read with the count (no second trip for them)."""
        self.total = total
        self.rows.clear()
        self._asked.clear()
        self.virtual_size = Size(self._width, total + 1)  # +1: the header line
        if self.cursor >= total:
            self.cursor = max(total - 1, 0)
        self._keep_id = keep_id
        self.refresh()
        if first:
            self._asked.add(0)
            self.fill(0, first)  # as rows read apart: the cursor follows ``keep_id``
        self._request_visible()

    def window(self) -> tuple[int, int]:
        """(offset, limit) of the rows a live refresh reads again: the aligned
        windows around what is on screen, as _request_visible asks for them."""
        height = max(self.size.height, 24)
        size = height * 3
        top = int(self.scroll_offset.y)
        start = (max(top - height, 0) // size) * size
        return start, 2 * size

    def swap(self, total: int, offset: int, rows: list[TicketSummary], *, keep_id: int | None = None) -> None:
        """A live refresh (someone changed something): the new count and the
        rows around the screen replace the old ones at once — the queue never
        goes blank — and only lines that now read differently are repainted."""
        if total != self.total:
            self.total = total
            self.virtual_size = Size(self._width, total + 1)
        self.rows = {offset + i: row for i, row in enumerate(rows)}
        height = max(self.size.height, 24)
        self._asked = {offset, offset + height * 3}
        position = next((offset + i for i, row in enumerate(rows) if row.id == keep_id), None)
        if position is not None and position != self.cursor:
            self.cursor = position  # follows its ticket (scrolls if it must)
        elif self.cursor >= total:
            self.cursor = max(total - 1, 0)
        self._repaint_changed()
        self._request_visible()
        self._announce()

    def fill(self, offset: int, rows: list[TicketSummary]) -> None:
        for i, row in enumerate(rows):
            self.rows[offset + i] = row
        keep = getattr(self, "_keep_id", None)
        if keep is not None:
            for i, row in enumerate(rows):
                if row.id == keep:
                    self._keep_id = None
                    if offset + i != self.cursor:
                        self.cursor = offset + i
                    break
        self._repaint_changed()
        self._announce()

    def update_rows(self, fresh: dict[int, TicketSummary]) -> None:
        """Replace cached rows whose tickets changed (same positions)."""
        changed = False
        for pos, row in list(self.rows.items()):
            if row.id in fresh:
                self.rows[pos] = fresh[row.id]
                changed = True
        if changed:
            self._repaint_changed()
            self._announce()

    @property
    def current(self) -> TicketSummary | None:
        return self.rows.get(self.cursor)

    @property
    def has_targets(self) -> bool:
        """Is there anything an action would apply to (marks, or a current ticket)?"""
        return bool(self.marks) or self.current is not None

    # ------------------------------------------------------------ movement
    def move(self, delta: int) -> None:
        if self.total:
            self.cursor = min(max(self.cursor + delta, 0), self.total - 1)

    def move_to(self, position: int) -> None:
        if self.total:
            self.cursor = min(max(position, 0), self.total - 1)

    @property
    def _height(self) -> int:
        """Lines of the view; while it is hidden (the compact layout's detail screen,
        where j/k still move the cursor) the height it had when last shown."""
        if self.size.height:
            self._last_height = self.size.height
        return self.size.height or getattr(self, "_last_height", 0)

    @property
    def page_size(self) -> int:
        return max(self._height - 2, 1)

    def watch_cursor(self, old: int, new: int) -> None:
        self._follow_cursor()
        self._repaint_changed()  # after a scroll every line differs; else the old and new cursor lines
        self._request_visible()
        self._announce()

    # ------------------------------------------------------------ cheap repaints
    def _signature(self, y: int, now: datetime) -> tuple:
        """What line ``y`` shows, as cheap values: equal signatures, equal pixels."""
        index = int(self.scroll_offset.y) + y - 1
        if y == 0 or index >= self.total:
            return (y == 0, index >= self.total, self.size.width)
        row = self.rows.get(index)
        if row is None:
            return (index, None)
        return (index, row, sla_cell(row, now), ago(row.created_at, now), row.id in self.marks,
                index == self.cursor, self.has_focus, self.size.width)

    def _repaint_changed(self) -> None:
        """Mark dirty only the lines whose content changed since they were painted."""
        if not self.is_mounted or not self.size.height:
            return
        now = self.clock()
        painted = self._painted
        width = self.size.width
        for y in range(self.size.height):
            if painted.get(y) != self._signature(y, now):
                painted.pop(y, None)
                self.refresh(Region(0, y, width, 1))

    def tick(self) -> None:
        """Once a second: countdowns and ages that moved on are repainted, nothing else."""
        self._repaint_changed()

    def on_focus(self) -> None:
        self._repaint_changed()

    def on_blur(self) -> None:
        self._repaint_changed()

    def on_mount(self) -> None:
        self.set_interval(1.0, self.tick)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._request_visible()

    def _follow_cursor(self) -> None:
        """Scroll (if need be) so the cursor's line is in view."""
        visible = self._height - 1  # the header takes a line
        if visible < 1:
            return  # not laid out yet: on_resize brings it into view
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False)

    def on_resize(self) -> None:
        self.virtual_size = Size(self._width, self.total + 1)
        if self.size.height:
            self._follow_cursor()
        self._request_visible()

    def _announce(self) -> None:
        row = self.current
        rid = row.id if row else None
        if rid != self._selected_id or row is None:
            self._selected_id = rid
            self.post_message(self.Selected(row))

    def _request_visible(self) -> None:
        if not self.total:
            return
        top = int(self.scroll_offset.y)
        height = max(self.size.height, 24)
        first = max(top - height, 0)
        last = min(top + 2 * height, self.total)
        missing = [i for i in range(first, last) if i not in self.rows]
        if not missing:
            return
        window = height * 3
        start = (missing[0] // window) * window
        if start in self._asked:
            return
        self._asked.add(start)
        self.post_message(self.NeedRows(start, window))
        if missing[-1] >= start + window and start + window not in self._asked:
            self._asked.add(start + window)
            self.post_message(self.NeedRows(start + window, window))

    def toggle_mark(self) -> None:
        row = self.current
        if row:
            self.marks.symmetric_difference_update({row.id})
            self._repaint_changed()

    # ------------------------------------------------------------ rendering
    def _layout(self, width: int) -> list[tuple[str, int]]:
        cols = list(COLUMNS)
        fixed = sum(w + 1 for _, w in cols if w)
        for name in NARROW_DROP:
            if width - fixed >= 24:
                break
            cols = [c for c in cols if c[0] != name]
            fixed = sum(w + 1 for _, w in cols if w)
        title = max(width - fixed, 8)
        return [(n, w or title) for n, w in cols]

    @property
    def _width(self) -> int:
        """Columns for the rows: the pane's, less the scrollbar's when the queue is longer than the pane
        (rows never scroll sideways: a horizontal bar would hide the bottom line)."""
        return self.scrollable_content_region.width

    def render_line(self, y: int) -> Strip:
        self._painted[y] = self._signature(y, self.clock())
        width = self._width
        layout = self._layout(width)
        if y == 0:
            style = self.get_component_rich_style("queue--header")
            text = " ".join(n.ljust(w)[:w] for n, w in layout)
            return Strip([Segment(text.ljust(width)[:width], style)]).simplify()
        index = int(self.scroll_offset.y) + y - 1
        if index >= self.total:
            return Strip.blank(width, self.rich_style)
        row = self.rows.get(index)
        if row is None:
            style = self.get_component_rich_style("queue--loading")
            return Strip([Segment("  …".ljust(width)[:width], style)])
        now = self.clock()
        sla_text, state = sla_cell(row, now)
        mark = "●" if row.id in self.marks else " "
        values = {
            "KEY": f"{mark}{row.key}", "P": row.priority, "STATUS": short_state(row.status), "SLA": sla_text,
            "TITLE": terminal_safe(row.title, one_line=True), "ASSIGNEE": row.assignee or "-", "TEAM": row.team or "-",
            "AGE": ago(row.created_at, now).replace(" ", ""),
        }
        base = self.rich_style
        if row.id in self.marks:
            base = base + self.get_component_rich_style("queue--marked")
        segments = []
        for i, (name, w) in enumerate(layout):
            cell = _fit(values[name], w)
            style = base
            if name == "SLA" and state in ("breached", "warning", "ok", "paused", "met"):
                style = base + self.get_component_rich_style(f"queue--{state}")
            elif name == "P" and row.priority == "P1":
                style = base + self.get_component_rich_style("queue--p1")
            segments.append(Segment(cell, style))
            if i < len(layout) - 1:
                segments.append(Segment(" ", base))
        strip = Strip(segments)
        if index == self.cursor:
            cursor = self.get_component_rich_style("queue--cursor")
            strip = strip.apply_style(cursor) if self.has_focus else strip.apply_style(cursor + Style(dim=True))
        return strip.extend_cell_length(width, base).crop(0, width)


def _fit(text: str, width: int) -> str:
    """Exactly ``width`` cells: cut with an ellipsis, or padded."""
    from rich.cells import cell_len, set_cell_size

    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else text[:width]
    return set_cell_size(text, width)
