"""Whole-screen text snapshots of the console at 80x24 and 120x40, and at
80x24 with NO_COLOR, on a deterministic desk (a fixed ManualClock, fixed
tickets, no SLA loop). At 80x24 the queue has the screen to itself and enter
shows the detail and timers in its place: both screens are snapshots.

How a snapshot is taken: the screen is composited exactly as
``App.export_screenshot()`` does it (``Compositor.render_update(full=True,
screen_stack=..., simplify=True)``: every line of the screen, modal screens
over the ones behind them, after Textual's line filters such as NO_COLOR's),
but kept as Rich segments instead of being turned into SVG. The text of
those segments is the snapshot; their styles are checked by the semantic
tests (and, for NO_COLOR, written into the snapshot as an attribute mask,
since without colour the attributes are the whole visual language).

The expected screens live in ``tests/ui/snapshots/`` as plain text, one
screen line per file line (trailing blanks stripped). To regenerate them
after an intended change of the console (or of Textual), run

    DESKCONSOLE_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/ui/test_snapshots.py

which writes the files instead of comparing; review the change with a diff
before keeping it. A mismatch fails with a unified diff of the screens.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.segment import Segment

from deskconsole.core.records import tickets
from deskconsole.core.automation.sweep import sweep
from deskconsole.ui.app import DeskApp
from deskconsole.ui.queue_view import QueueView

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE = os.environ.get("DESKCONSOLE_UPDATE_SNAPSHOTS") == "1"

# The desk on screen, by key; build_desk creates them in this order, minutes apart.
TITLES = {
    "INC-1": "Printer on floor 3 jams on every job",
    "INC-2": "VPN drops every ten minutes for the whole network team",
    "INC-3": "Checkout returns 502",
    "INC-4": "Password reset for a new starter",
    "INC-5": "Mailbox quota warnings",
    "INC-6": "Resolved before the shift began",
}
ORDER = ["INC-3", "INC-1", "INC-2", "INC-4", "INC-5"]  # soonest deadline first; paused last; INC-6 is resolved
STATUS_LINE = "Test desk · al (agent) · 5 tickets · filter: is:open"


def build_desk(desk, actors, clock) -> None:
    """Six tickets at fixed times: a breached P1, two P2/P3 in warning, one in
    progress, one pending (paused), one resolved (not in the open queue)."""
    al = actors["al"]
    tickets.create(desk, al, title=TITLES["INC-1"], priority="P3")
    clock.advance(minutes=2)
    tickets.create(desk, al, title=TITLES["INC-2"], priority="P2", service="vpn")
    clock.advance(minutes=3)
    tickets.create(desk, al, title=TITLES["INC-3"], priority="P1", category="outage",
                   description="Customers cannot pay since the 09:00 deploy.\nRollback is being prepared.")
    clock.advance(minutes=5)
    tickets.create(desk, al, title=TITLES["INC-4"], priority="P4", category="access")
    tickets.take(desk, al, "INC-4")
    tickets.create(desk, al, title=TITLES["INC-5"], priority="P3", service="mail")
    tickets.assign(desk, al, "INC-5", agent="al")
    tickets.set_status(desk, al, "INC-5", "pending")
    tickets.create(desk, al, title=TITLES["INC-6"], priority="P3")
    tickets.resolve(desk, al, "INC-6", "fixed")
    clock.advance(minutes=25)  # 09:35: INC-3's first response (due 09:20) is overdue
    sweep(desk)  # record the warnings once, deterministically (the app's own loop is off)


# ---------------------------------------------------------------- taking a screen
@dataclass
class Screen:
    width: int
    height: int
    lines: list[list[Segment]]  # per screen line, the segments with their styles

    @property
    def text(self) -> list[str]:
        return ["".join(s.text for s in line) for line in self.lines]

    def row_of(self, needle: str) -> int:
        rows = [y for y, line in enumerate(self.text) if needle in line]
        assert rows, f"{needle!r} is not on the screen:\n" + "\n".join(self.text)
        return rows[0]

    def cells(self, y: int):
        """(x, character, style) for every cell of line y."""
        x = 0
        for seg in self.lines[y]:
            for ch in seg.text:
                for _ in range(cell_len(ch)):  # a wide character takes two cells
                    yield x, ch, seg.style
                    x += 1

    def style_at(self, y: int, x: int):
        for cx, _, style in self.cells(y):
            if cx == x:
                return style
        raise IndexError((x, y))


def grab(app: DeskApp) -> Screen:
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens, simplify=True)
    lines = [[seg for strip in line for seg in strip if not seg.control] for line in update.strips]
    width, height = app.size
    return Screen(width, height, lines)


async def settled(app: DeskApp, pilot, expect: str) -> Screen:
    """The screen once the workers are done, ``expect`` shows and two grabs agree."""
    previous = None
    for _ in range(50):
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = grab(app)
        if previous is not None and screen.text == previous.text and expect in "\n".join(screen.text):
            return screen
        previous = screen
    raise AssertionError("the screen never settled:\n" + "\n".join(previous.text))


ATTRS = (("bold", 1), ("dim", 2), ("underline", 4), ("reverse", 8))
MASK_HEADER = "--- attributes per cell (hex: 1 bold, 2 dim, 4 underline, 8 reverse; . plain) ---"


def attribute_mask(screen: Screen) -> list[str]:
    out = []
    for y in range(screen.height):
        line = []
        for _, _, style in screen.cells(y):
            bits = sum(bit for name, bit in ATTRS if style is not None and getattr(style, name))
            line.append(f"{bits:x}" if bits else ".")
        out.append("".join(line))
    return out


def check_snapshot(name: str, lines: list[str]) -> None:
    """Compare ``lines`` with snapshots/NAME (or write it when updating)."""
    path = SNAPSHOTS / name
    actual = "\n".join(line.rstrip() for line in lines) + "\n"
    if UPDATE:
        SNAPSHOTS.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"no snapshot {path}; create it with DESKCONSOLE_UPDATE_SNAPSHOTS=1 "
                    f"and review it. The screen was:\n{actual}", pytrace=False)
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                                            fromfile=f"{name} (expected)", tofile=f"{name} (now on screen)"))
        pytest.fail(f"the console no longer matches snapshots/{name} "
                    f"(if the change is intended: DESKCONSOLE_UPDATE_SNAPSHOTS=1):\n{diff}", pytrace=False)


async def screen_of(desk, actors, clock, size, *, detail: bool = False) -> tuple[DeskApp, Screen]:
    """The console settled at ``size``; with ``detail``, also after enter (the
    compact layout's detail screen): (app, screen) or (app, (queue screen, detail screen))."""
    build_desk(desk, actors, clock)
    app = DeskApp(desk, actors["al"], sweep=False)
    async with app.run_test(size=size) as pilot:
        screen = await settled(app, pilot, expect="SLA INC-3" if size[1] >= 36 else ORDER[-1])
        assert app.query_one(QueueView).has_focus
        if detail:
            await pilot.press("enter")
            screen = (screen, await settled(app, pilot, expect="SLA INC-3"))
    return app, screen


def queue_rows(screen: Screen) -> int:
    """Lines the queue pane has for tickets: from below its header to its bottom border."""
    header = screen.row_of("KEY ")
    bottom = next(y for y in range(header, screen.height) if screen.text[y].startswith("╰"))
    return bottom - header - 1


# ---------------------------------------------------------------- common checks
def check_frame(screen: Screen) -> None:
    """Every screen: its size, the status line on top, the footer at the bottom."""
    text = screen.text
    assert len(text) == screen.height
    for y in range(screen.height):
        assert sum(1 for _ in screen.cells(y)) == screen.width, f"line {y} is not {screen.width} cells: {text[y]!r}"
    # the status line: the whole sentence, nothing cut (only padding after it)
    assert text[0].strip() == STATUS_LINE, text[0]
    # the footer, last line: the keys that matter most
    for key in ("/ Filter", "? Help", "t Take", "r Reply", "^p palette"):
        assert key in text[-1], text[-1]


def check_common(screen: Screen) -> None:
    """A screen with the queue, the detail and the timers (120x40)."""
    check_queue(screen)
    check_side(screen)


def check_queue(screen: Screen) -> None:
    check_frame(screen)
    text = screen.text
    # the queue: header, then the open tickets in deadline order
    header = screen.row_of("KEY ")
    assert text[header].split("│")[1].split()[:5] == ["KEY", "P", "STATUS", "SLA", "TITLE"], text[header]
    keys = [next((k for k in TITLES if f" {k} " in text[y]), None) for y in range(header + 1, header + 1 + len(ORDER))]
    assert keys == ORDER, "\n".join(text)
    assert "INC-6" not in "\n".join(text[header:header + 8])  # resolved: not in is:open
    sla = {k: text[header + 1 + i] for i, k in enumerate(ORDER)}
    assert "BREACH -15m" in sla["INC-3"] and "warn 25m" in sla["INC-1"] and "warn 27m" in sla["INC-2"]
    assert "ok 7h 35m" in sla["INC-4"] and "paused" in sla["INC-5"] and "pending" in sla["INC-5"]
    assert "in progress" in sla["INC-4"]
    # titles are whole, or cut with an ellipsis (never silently mid-word)
    for key, line in sla.items():
        title = TITLES[key]
        assert title in line or any(title[:k] + "…" in line for k in range(8, len(title))), (key, line)
    # the queue header is bold + underlined; the cursor row is in reverse video, edge to edge of the pane
    hx = text[header].index("KEY")
    assert screen.style_at(header, hx).bold and screen.style_at(header, hx).underline
    cy = header + 1
    left, right = text[cy].index("INC-3") - 1, text[cy].index("│", text[cy].index("INC-3")) - 1
    assert all(screen.style_at(cy, x).reverse for x in range(left, right + 1)), "the cursor row is not in reverse"
    assert not screen.style_at(cy + 1, left + 1).reverse  # and only that row


def check_side(screen: Screen) -> None:
    """The detail pane's title and the SLA pane follow the cursor (on INC-3)."""
    check_frame(screen)
    text = screen.text
    title_row = screen.row_of("INC-3  Checkout")  # (the whole title at 80x24; wrapped at 120x40, see there)
    assert screen.style_at(title_row, text[title_row].index("INC-3  C")).bold
    sla_row = screen.row_of("SLA INC-3")
    assert "first response" in text[sla_row + 1] and "BREACHED" in "".join(text[sla_row + 1:sla_row + 3])
    assert "15m 00s over" in "\n".join(text[sla_row:])
    assert "due 11-23 09:20" in "\n".join(text[sla_row:])


# ---------------------------------------------------------------- the tests
async def test_snapshot_80x24(ui_desk, actors, clock, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    _app, (screen, detail) = await screen_of(ui_desk, actors, clock, (80, 24), detail=True)
    # compact layout: the queue alone, from below the status line to above the footer
    check_queue(screen)
    text = screen.text
    assert screen.row_of("KEY ") == 2 and text[1].startswith("╭") and text[-2].startswith("╰")
    assert queue_rows(screen) >= 14, "\n".join(text)
    assert "SLA INC-3" not in "\n".join(text) and "Status     new" not in "\n".join(text)
    assert ": Command" in text[-1] and "a Assign" in text[-1] and "n Note" in text[-1]
    check_snapshot("80x24.txt", text)
    # enter: detail and timers side by side in the queue's place
    check_side(detail)
    text = detail.text
    side_top = detail.row_of("INC-3  Checkout")
    assert side_top == 2 and "KEY " not in "\n".join(text)
    assert "SLA INC-3" in text[side_top]  # timers beside the detail
    assert "│ INC-3  Checkout returns 502 " in text[side_top]  # the detail's title on one line
    assert "Status     new" in "\n".join(text[side_top:])
    assert "Customers cannot pay" in "\n".join(text)  # room for the description too
    check_snapshot("80x24-detail.txt", text)


async def test_snapshot_120x40(ui_desk, actors, clock, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    _app, screen = await screen_of(ui_desk, actors, clock, (120, 40))
    check_common(screen)
    text = screen.text
    # wide layout: queue | detail | timers on the same lines
    top = screen.row_of("KEY ")
    assert "INC-3  Checkout" in text[top] and "SLA INC-3" in text[top]
    assert text[top].index("KEY") < text[top].index("INC-3  Checkout") < text[top].index("SLA INC-3")
    assert "Description" in "\n".join(text) and "Customers cannot pay" in "\n".join(text)
    for key in ("R Resolve", "N New", "q Quit"):
        assert key in text[-1], text[-1]
    check_snapshot("120x40.txt", text)


def _is_grey(color) -> bool:
    if color is None or color.is_default:
        return True
    r, g, b = color.get_truecolor()
    return r == g == b


async def test_snapshot_80x24_no_color(ui_desk, actors, clock, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")  # read by Textual when the App is built
    app, (screen, detail) = await screen_of(ui_desk, actors, clock, (80, 24), detail=True)
    assert app.no_color
    check_queue(screen)
    check_side(detail)
    for shown in (screen, detail):
        check_colourless(shown)
    # the states that colour shows elsewhere read here as words and attributes
    text = screen.text
    header = screen.row_of("KEY ")
    assert "BREACH" in text[header + 1]
    p1 = text[header + 1].index(" P1 ") + 1
    assert screen.style_at(header + 1, p1).bold or screen.style_at(header + 1, p1).reverse
    sla = detail.row_of("first response BREACHED")
    x = detail.text[sla].index("BREACHED")
    assert detail.style_at(sla, x).reverse  # a breach, without colour: reverse video
    check_snapshot("80x24-nocolor.txt", text + [MASK_HEADER] + attribute_mask(screen))
    check_snapshot("80x24-detail-nocolor.txt", detail.text + [MASK_HEADER] + attribute_mask(detail))


def check_colourless(screen: Screen) -> None:
    """Without colour every state must still read: the only text attributes are
    bold, dim, underline and reverse, and no cell carries a hue. (Textual's
    NO_COLOR for a non-ANSI theme is its Monochrome filter: colours become
    greys, so grey levels may remain; anything with a hue is a leak.)"""
    allowed = {"bold", "dim", "underline", "reverse"}
    for y in range(screen.height):
        for x, ch, style in screen.cells(y):
            if style is None:
                continue
            used = {name for name in ("bold", "dim", "italic", "underline", "blink", "blink2", "reverse", "conceal",
                                      "strike", "underline2", "frame", "encircle", "overline") if getattr(style, name)}
            assert used <= allowed, f"line {y} col {x} {ch!r}: {used - allowed} with NO_COLOR"
            assert _is_grey(style.color) and _is_grey(style.bgcolor), f"line {y} col {x} {ch!r}: {style} has a hue"
