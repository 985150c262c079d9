"""The wallboard's widgets: headline tiles in big digits, a ticket list whose
SLA countdowns tick every second, the top line with the clock, and help.

Ticking is cheap by construction: :meth:`TicketBoard.tick` works out which
cells' text changed since the last paint and repaints only those cells
(``refresh(region)``, never a relayout), and the clock repaints its own few
cells. An idle board therefore sends the terminal a few dozen bytes a
second, not a screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Region
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Digits, Static

from deskconsole.core.reports.board import ResolvedTicket
from deskconsole.core.clock import ago, exact_duration
from deskconsole.core.records.text import terminal_safe
from deskconsole.core.records.views import TicketSummary
from deskconsole.ui.queue_view import SLA_WORDS


def plain(text: str) -> Text:
    """Our own or the desk's text as literal ``Text``: never markup, controls escaped."""
    return Text(terminal_safe(text, one_line=True), end="")


def big_count(n: int) -> str:
    """A count for five digit cells: 12345, then 123k."""
    return str(n) if n < 100_000 else f"{n // 1000}k"


def big_duration(seconds: int | None) -> str:
    """h:mm for the big digits ('0:07', '12:30'); days past 99 hours; '-' for none."""
    if seconds is None:
        return "-"
    seconds = max(int(seconds), 0)
    hours, minutes = seconds // 3600, seconds % 3600 // 60
    if hours < 100:
        return f"{hours}:{minutes:02d}"
    return f"{seconds // 86400}D"


SECONDS_WITHIN = 600  # countdowns tick to the second within 10 minutes of their deadline (either side)


def signed_left(seconds: int) -> str:
    """Time to a deadline: to the second within 10 minutes of it ('9m 05s',
    '-3m 10s'), to the minute further out ('42m', '-25m', '4h 30m').

    From across a room nobody acts on the seconds of a deadline an hour
    away, and a busy board whose every row ticked each second would keep
    the terminal busy: the rows near their deadline tick, the rest move once
    a minute."""
    far = abs(int(seconds))
    if far >= 3600:
        text = exact_duration(far)
    elif far >= SECONDS_WITHIN:
        text = f"{far // 60}m"
    else:
        text = exact_duration(far)
    return text if seconds >= 0 else "-" + text


def changed_span(old: str, new: str, width: int) -> tuple[int, int]:
    """(offset, length) of the part of a cell that differs: a countdown going
    from '12m 05s' to '12m 04s' repaints one character, not the cell."""
    if len(old) != len(new) or len(new) > width or not new.isascii() or not old.isascii():
        return 0, width  # wide or shifting text: the whole cell
    lo = next(i for i, (a, b) in enumerate(zip(old, new)) if a != b)
    hi = next(i for i in range(len(new) - 1, -1, -1) if old[i] != new[i])
    return lo, hi - lo + 1


# --------------------------------------------------------------------------- tiles
class Tile(Widget):
    """One headline figure: a label, the value in big digits, a note below.

    ``-alert`` (e.g. breaches now) shows in reverse video, so it reads on a
    monochrome screen too; the note then says why in words."""

    DEFAULT_CSS = """
    Tile { height: auto; }
    Tile > .tile--label { height: 1; width: 100%; text-style: bold; }
    Tile > Digits { width: 100%; }
    Tile > .tile--note { height: 1; width: 100%; }
    """

    def __init__(self, label: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.label = label
        self.value = ""
        self.note = ""
        self.alert = False

    def compose(self) -> ComposeResult:
        yield Static(plain(self.label), classes="tile--label", markup=False)
        yield Digits("", classes="tile--value")
        yield Static("", classes="tile--note", markup=False)

    def show(self, value: str, note: str = "", *, alert: bool = False) -> None:
        """Repaint only what changed (a figure that did not move costs nothing)."""
        if value != self.value:
            self.value = value
            self.query_one(Digits).update(value)
        if note != self.note:
            self.note = note
            self.query_one(".tile--note", Static).update(plain(note))
        if alert != self.alert:
            self.alert = alert
            self.set_class(alert, "-alert")


# --------------------------------------------------------------------------- the top line
class Ticker(Widget):
    """A few cells of text that change every second (the clock, a countdown):
    repainting it touches only its own cells."""

    DEFAULT_CSS = """
    Ticker { width: auto; height: 1; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.text = ""

    def set(self, text: str) -> None:
        if text != self.text:
            resize = cell_len(text) != cell_len(self.text)
            self.text = text
            self.refresh(layout=resize)

    def render(self) -> Text:
        return plain(self.text)

    def get_content_width(self, container, viewport) -> int:
        return cell_len(self.text)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(-(-cell_len(self.text) // max(width, 1)), 1)


# --------------------------------------------------------------------------- the list
@dataclass(frozen=True)
class Column:
    name: str
    width: int  # 0 = takes the rest
    live: bool = False  # its text moves with the clock


# The column that moves with the clock comes first, at the widget's left
# edge: Textual writes a repainted cell from the start of the widget's strip
# on that line, so a first-column countdown costs a dozen bytes a tick where
# one in the middle of the line would resend everything to its left.
URGENT_COLUMNS = [
    Column("DUE IN", 11, live=True), Column("", 1), Column("KEY", 9), Column("P", 3), Column("SLA", 7),
    Column("STATUS", 12), Column("TEAM", 10), Column("ASSIGNEE", 10), Column("TITLE", 0),
]
RESOLVED_COLUMNS = [
    Column("RESOLVED", 11, live=True), Column("", 1), Column("KEY", 9), Column("P", 3), Column("TOOK", 9),
    Column("SLA", 9), Column("CODE", 14), Column("ASSIGNEE", 10), Column("TITLE", 0),
]
# Narrow screens drop these first (in this order), keeping the title readable.
DROP_FIRST = ("STATUS", "TEAM", "CODE", "ASSIGNEE", "TOOK")
MIN_TITLE = 20


class TicketBoard(Widget):
    """The page's list: urgent tickets (or breaches) with live countdowns, or
    the recently resolved. Rendered line by line (the Line API) from plain
    rows; :meth:`tick` repaints just the cells whose text moved."""

    COMPONENT_CLASSES = {
        "board--header", "board--breached", "board--breached-cell", "board--warning", "board--ok",
        "board--paused", "board--met", "board--dim", "board--empty",
    }
    DEFAULT_CSS = """
    TicketBoard { height: 1fr; }
    """

    def __init__(self, *, clock: Callable[[], datetime], **kwargs) -> None:
        super().__init__(**kwargs)
        self.clock = clock
        self.kind = "urgent"
        self.tickets: tuple[TicketSummary, ...] = ()
        self.resolved: tuple[ResolvedTicket, ...] = ()
        self.empty_text = "loading…"
        self._painted: dict[int, tuple[str, ...]] = {}  # screen line -> cell texts as last painted
        self.state_changed = False  # a row crossed into another SLA state since the data was read

    # ------------------------------------------------------------ data in
    def show_tickets(self, kind: str, rows: Iterable[TicketSummary], empty: str) -> None:
        self._replace(kind, tuple(rows), (), empty)

    def show_resolved(self, rows: Iterable[ResolvedTicket], empty: str) -> None:
        self._replace("resolved", (), tuple(rows), empty)

    def _replace(self, kind: str, tickets: tuple, resolved: tuple, empty: str) -> None:
        """New data: repaint only the lines whose ticket changed (a refresh that
        found the same tickets costs the terminal nothing)."""
        old = self.resolved if self.kind == "resolved" else self.tickets
        new = resolved if kind == "resolved" else tickets
        same_shape = kind == self.kind and len(old) == len(new) and empty == self.empty_text
        self.kind, self.tickets, self.resolved, self.empty_text = kind, tickets, resolved, empty
        self.state_changed = False
        if not same_shape or not self.is_mounted:
            self._painted.clear()
            self.refresh()
            return
        for i, (a, b) in enumerate(zip(old, new)):
            if a != b:
                self._painted.pop(i + 1, None)
                self.refresh(Region(0, i + 1, self.size.width, 1))

    @property
    def rows_shown(self) -> int:
        return max(min(len(self.resolved if self.kind == "resolved" else self.tickets), self.size.height - 1), 0)

    # ------------------------------------------------------------ layout of the columns
    def columns(self, width: int | None = None) -> list[tuple[Column, int, int]]:
        """(column, x, width) for the current width."""
        width = self.size.width if width is None else width
        cols = list(RESOLVED_COLUMNS if self.kind == "resolved" else URGENT_COLUMNS)
        for name in DROP_FIRST:
            fixed = sum(c.width + 1 for c in cols if c.width)
            if width - fixed >= MIN_TITLE:
                break
            cols = [c for c in cols if c.name != name]
        fixed = sum(c.width + 1 for c in cols if c.width)
        out, x = [], 0
        for c in cols:
            w = c.width or max(width - fixed, 1)
            out.append((c, x, w))
            x += w + 1
        return out

    # ------------------------------------------------------------ cells
    def cells(self, index: int, now: datetime) -> tuple[dict[str, str], str]:
        """(text per column, row state) for row ``index`` as of ``now``."""
        if self.kind == "resolved":
            r = self.resolved[index]
            sla = {"breached": "BREACHED", "met": "met"}.get(r.sla or "", "-")
            return {
                "": "▲" if r.sla == "breached" else " ", "KEY": r.key, "P": r.priority,
                "RESOLVED": (ago(r.resolved_at, now) + " ago").rjust(10), "TOOK": exact_duration(r.seconds_to_resolve),
                "SLA": sla, "CODE": r.resolution_code or "-", "ASSIGNEE": r.assignee or "-",
                "TITLE": terminal_safe(r.title, one_line=True),
            }, ("breached" if r.sla == "breached" else "met")
        t = self.tickets[index]
        state = t.sla_state(now) or "none"
        left = t.sla_left(now)
        mark = {"breached": "▲", "warning": "!"}.get(state, " ")
        return {
            "": mark, "KEY": t.key, "P": t.priority, "SLA": SLA_WORDS.get(state, "-"),
            "DUE IN": (signed_left(left) if left is not None else "-").rjust(10), "STATUS": t.status.replace("_", " "),
            "TEAM": t.team or "-", "ASSIGNEE": t.assignee or "-", "TITLE": terminal_safe(t.title, one_line=True),
        }, state

    def _texts(self, y: int, now: datetime) -> tuple[str, ...] | None:
        index = y - 1
        if index < 0 or index >= (len(self.resolved) if self.kind == "resolved" else len(self.tickets)):
            return None
        values, state = self.cells(index, now)
        return (state, *(values[c.name] for c, _, _ in self.columns()))

    # ------------------------------------------------------------ ticking
    def tick(self, now: datetime) -> int:
        """Repaint the cells whose text changed since they were painted; returns how many.

        A row that changes state (a deadline passing) is repainted whole and
        raises :attr:`state_changed`, so the app re-reads the figures."""
        cols = self.columns()
        dirty = 0
        for y in range(1, self.rows_shown + 1):
            before = self._painted.get(y)
            now_texts = self._texts(y, now)
            if before is None or now_texts is None or before == now_texts:
                continue
            if before[0] != now_texts[0]:  # another state: restyle the whole line
                self.state_changed = True
                self.refresh(Region(0, y, self.size.width, 1))
                dirty += 1
                continue
            for i, (_, x, w) in enumerate(cols):
                if before[i + 1] != now_texts[i + 1]:
                    lo, n = changed_span(before[i + 1], now_texts[i + 1], w)
                    self.refresh(Region(x + lo, y, n, 1))
                    dirty += 1
        return dirty

    # ------------------------------------------------------------ rendering
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        cols = self.columns(width)
        if y == 0:
            style = base + self.get_component_rich_style("board--header")
            text = " ".join(fit(c.name.rjust(w - 1) if c.live else c.name, w) for c, _, w in cols)
            return Strip([Segment(fit(text, width), style)])
        count = len(self.resolved) if self.kind == "resolved" else len(self.tickets)
        if count == 0:
            if y == 1:
                style = base + self.get_component_rich_style("board--empty")
                return Strip([Segment(fit("  " + self.empty_text, width), style)])
            return Strip.blank(width, base)
        texts = self._texts(y, self.clock())
        if texts is None:
            self._painted.pop(y, None)
            return Strip.blank(width, base)
        self._painted[y] = texts
        state = texts[0]
        row_style = base
        if state == "breached":
            row_style = base + self.get_component_rich_style("board--breached")
        segments = []
        for i, (c, _, w) in enumerate(cols):
            style = row_style
            if c.name == "SLA":
                if state == "breached":
                    style = row_style + self.get_component_rich_style("board--breached-cell")
                elif state in ("warning", "ok", "paused", "met"):
                    style = row_style + self.get_component_rich_style(f"board--{state}")
            elif c.name in ("TOOK", "CODE", "RESOLVED") or (c.name == "DUE IN" and state == "paused"):
                style = row_style + self.get_component_rich_style("board--dim")
            segments.append(Segment(fit(texts[i + 1], w), style))
            if i < len(cols) - 1:
                segments.append(Segment(" ", row_style))
        return Strip(segments).extend_cell_length(width, base).crop(0, width)


def fit(text: str, width: int) -> str:
    """Exactly ``width`` cells: cut with an ellipsis, or padded."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    return set_cell_size(text, width)


# --------------------------------------------------------------------------- help
class BoardHelp(ModalScreen[None]):
    """The board's keys (read from the live bindings, after any remapping)."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="board-help.close")]
    DEFAULT_CSS = """
    BoardHelp { align: center middle; }
    BoardHelp > Vertical {
        width: 70; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $panel; padding: 0 1;
    }
    BoardHelp .help--title { text-style: bold; margin-bottom: 1; }
    BoardHelp VerticalScroll { height: auto; max-height: 16; }
    BoardHelp .help--hint { margin-top: 1; color: $text-muted; }
    """

    def __init__(self, keys: list[tuple[str, str]], notes: list[str]) -> None:
        super().__init__()
        self.keys = keys
        self.notes = notes

    def compose(self) -> ComposeResult:
        width = max((cell_len(k) for k, _ in self.keys), default=4) + 2
        with Vertical():
            yield Static(plain("Wallboard keys"), classes="help--title", markup=False)
            with VerticalScroll():
                lines = Text()
                for keys, what in self.keys:
                    lines.append(fit(keys, width), style="bold")
                    lines.append(terminal_safe(what, one_line=True) + "\n")
                for note in self.notes:
                    lines.append("\n" + terminal_safe(note, one_line=True) + "\n")
                yield Static(lines, markup=False)
            yield Static(plain("esc, q or ? close this help"), classes="help--hint", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)


__all__ = ["BoardHelp", "Column", "Ticker", "TicketBoard", "Tile", "big_count", "big_duration", "fit", "plain",
           "signed_left"]
