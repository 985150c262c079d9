"""Whole-screen text snapshots of the wallboard at 80x24 and 160x45, and at
80x24 with NO_COLOR, on the fixed desk of ``conftest.build_desk`` (a
ManualClock at 09:35, no SLA loop, no ticking of its own).

Taken as in ``tests/ui/test_snapshots.py``: the screen composited exactly as
``App.export_screenshot()`` does it (every line, after Textual's line
filters such as NO_COLOR's), kept as Rich segments; their text is the
snapshot, and for NO_COLOR an attribute mask follows it (without colour the
attributes are the whole visual language). The files live in
``tests/wallboard/snapshots/``, one screen line per file line. After an
intended change:

    DESKCONSOLE_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/wallboard/test_snapshots.py

then review the diff before keeping it.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.segment import Segment

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE = os.environ.get("DESKCONSOLE_UPDATE_SNAPSHOTS") == "1"
ATTRS = (("bold", 1), ("dim", 2), ("underline", 4), ("reverse", 8))
MASK_HEADER = "--- attributes per cell (hex: 1 bold, 2 dim, 4 underline, 8 reverse; . plain) ---"


@dataclass
class Screen:
    width: int
    height: int
    lines: list[list[Segment]]

    @property
    def text(self) -> list[str]:
        return ["".join(s.text for s in line) for line in self.lines]

    def row_of(self, needle: str) -> int:
        rows = [y for y, line in enumerate(self.text) if needle in line]
        assert rows, f"{needle!r} is not on the screen:\n" + "\n".join(self.text)
        return rows[0]

    def cells(self, y: int):
        x = 0
        for seg in self.lines[y]:
            for ch in seg.text:
                for _ in range(cell_len(ch)):
                    yield x, ch, seg.style
                    x += 1

    def style_at(self, y: int, x: int):
        for cx, _, style in self.cells(y):
            if cx == x:
                return style
        raise IndexError((x, y))


def grab(app) -> Screen:
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens, simplify=True)
    lines = [[seg for strip in line for seg in strip if not seg.control] for line in update.strips]
    width, height = app.size
    return Screen(width, height, lines)


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
    path = SNAPSHOTS / name
    actual = "\n".join(line.rstrip() for line in lines) + "\n"
    if UPDATE:
        SNAPSHOTS.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"no snapshot {path}; create it with DESKCONSOLE_UPDATE_SNAPSHOTS=1 and review it. "
                    f"The screen was:\n{actual}", pytrace=False)
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                                            fromfile=f"{name} (expected)", tofile=f"{name} (now on screen)"))
        pytest.fail(f"the wallboard no longer matches snapshots/{name} "
                    f"(if the change is intended: DESKCONSOLE_UPDATE_SNAPSHOTS=1):\n{diff}", pytrace=False)


async def screen_of(new_app, settle, size) -> tuple[object, Screen]:
    app = new_app()
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        previous = None
        for _ in range(20):  # two grabs that agree
            screen = grab(app)
            if previous is not None and screen.text == previous.text:
                break
            previous = screen
            await pilot.pause()
    return app, screen


def check_common(screen: Screen) -> None:
    text = screen.text
    assert len(text) == screen.height
    for y in range(screen.height):
        assert sum(1 for _ in screen.cells(y)) == screen.width, f"line {y} is not {screen.width} cells: {text[y]!r}"
    top = text[0]
    assert top.strip().startswith("Test desk · Overview (1/5)") and top.rstrip().endswith("09:35:00")
    assert "data as of 09:35:00" in top and "▶ next 20s" in top
    for label in ("P1 OPEN", "P2 OPEN", "P3 OPEN", "P4 OPEN", "BREACHED", "AT RISK", "UNASSIGNED", "OLDEST UNACK",
                  "MTTA TODAY", "MTTR TODAY"):
        assert label in "\n".join(text), label
    header = screen.row_of(" KEY ")
    rows = text[header + 1:header + 5]
    assert ["INC-3" in rows[0], "INC-1" in rows[1], "INC-2" in rows[2], "INC-4" in rows[3]] == [True] * 4
    assert "▲" in rows[0] and "BREACH" in rows[0] and "-15m " in rows[0]
    assert "!" in rows[1] and "warn" in rows[1]
    # the breached row's SLA cell is in reverse video; the header is bold and underlined
    y = header + 1
    x = text[y].index("BREACH")
    assert screen.style_at(y, x).reverse and screen.style_at(y, x).bold
    hx = text[header].index("KEY")
    assert screen.style_at(header, hx).bold and screen.style_at(header, hx).underline
    for key in ("q Quit", "space Pause/resume", "n Next page", "? Help"):
        assert key in text[-1], text[-1]


async def test_snapshot_80x24(built, new_app, settle, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    _app, screen = await screen_of(new_app, settle, (80, 24))
    check_common(screen)
    text = screen.text
    assert screen.row_of("AT RISK") > screen.row_of("P1 OPEN")  # two lines of five figures
    assert "STATUS" not in text[screen.row_of(" KEY ")]  # dropped to keep the title
    check_snapshot("80x24.txt", text)


async def test_snapshot_160x45(built, new_app, settle, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    _app, screen = await screen_of(new_app, settle, (160, 45))
    check_common(screen)
    text = screen.text
    assert "╭" in text[screen.row_of("P2 OPEN") - 1]  # figures in boxes on a tall screen
    assert "STATUS" in text[screen.row_of(" KEY ")] and "TEAM" in text[screen.row_of(" KEY ")]
    check_snapshot("160x45.txt", text)


def _is_grey(color) -> bool:
    if color is None or color.is_default:
        return True
    r, g, b = color.get_truecolor()
    return r == g == b


async def test_snapshot_80x24_no_color(built, new_app, settle, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app, screen = await screen_of(new_app, settle, (80, 24))
    assert app.no_color
    check_common(screen)
    allowed = {"bold", "dim", "underline", "reverse", "italic"}
    for y in range(screen.height):
        for x, ch, style in screen.cells(y):
            if style is None:
                continue
            used = {name for name in ("bold", "dim", "italic", "underline", "blink", "blink2", "reverse", "conceal",
                                      "strike", "underline2", "frame", "encircle", "overline") if getattr(style, name)}
            assert used <= allowed, f"line {y} col {x} {ch!r}: {used - allowed} with NO_COLOR"
            assert _is_grey(style.color) and _is_grey(style.bgcolor), f"line {y} col {x} {ch!r}: {style} has a hue"
    # breaches read without colour: the tile in reverse video, the row's SLA cell too, and a glyph and a word
    text = screen.text
    y = screen.row_of("BREACHED")
    assert screen.style_at(y, text[y].index("BREACHED")).reverse
    check_snapshot("80x24-nocolor.txt", text + [MASK_HEADER] + attribute_mask(screen))
