"""Console benchmark: the real console (`python -m deskconsole`) under a
pseudo-terminal, on a large SQLite demo desk.

    python bench/console.py [--tickets 1000000] [--runs 5] [--moves 30] [--filters 5]
                            [--idle 30] [--workdir DIR] [--quiet-gap] [-v]

The console runs exactly as a user starts it (`python -m deskconsole --db URL
--config PATH`) on a 120x40 pty (TIOCSWINSZ, COLUMNS/LINES) with
TERM=xterm-256color, XDG_* and DESKCONSOLE_LOG in the workdir, NO_COLOR and
COLORTERM unset. The script plays the terminal: it reads everything the
console writes, keeps a small screen model (characters and SGR styles per
cell) and times *frames*. By default it answers Textual's synchronized-output
query (DECRQM 2026) as kitty, WezTerm, iTerm2, foot or Windows Terminal do,
so every frame arrives between ESC[?2026h and ESC[?2026l and a frame's time
is the moment its last byte was read from the pty master. With --quiet-gap
it does not answer (a plain xterm) and a frame ends when the output has been
quiet for --gap ms. Parsing frames costs Python time, so it is paused while
a key's answer is being timed (the reader thread only reads and timestamps).

Figures (medians over the runs / presses, with min, p90, max):
  1. start -> first frame with the queue header (KEY) and a ticket row (INC-),
     over --runs fresh processes (also: first frame of anything);
  2. `j`: from writing the key to the first frame that repaints the queue with
     the highlighted row moved (or the list scrolled); then to the frame in
     which the SLA pane shows another ticket (the detail follows through a
     database read). Presses made while the queue was being reloaded in the
     background (it shows '…' rows then) are reported apart;
  3. the same for page down (ctrl+f, from the top), plus: rows filled (no '…'
     placeholder left in the queue);
  4. filter change: `/` opens the bar holding the current filter; the extra
     terms of --query are typed (or backspaced away, going back to `is:open`)
     --type-gap ms a key (faster than the 150 ms debounce, so only the last
     value should apply; intermediate values that did apply are reported),
     timed from the last key to the frame whose status line shows the new
     filter and total, and to the frame with the new rows; reported as
     measured and minus the 150 ms debounce;
  5. VmRSS (and VmHWM) of the console process after start and after the moves;
  6. bytes written to the terminal per second while idle (no keys) over --idle
     seconds, SLA timers ticking; what the frames repaint, how many changed
     nothing on screen, and how long the queue showed no rows.
Then `q`, and the time until the process is gone (killed after 15 s, said so).

--profile FILE runs the console under cProfile (its main thread) instead;
the figures of such a run are not the console's own.

Prints one line per figure and a JSON summary last.
"""

from __future__ import annotations

import argparse
import atexit
import fcntl
import json
import queue
import os
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

COLS, ROWS = 120, 40
VERBOSE = False
DEBOUNCE = 0.150  # the console applies a typed filter 150 ms after the last key
SYNC_REPLY = b"\x1b[?2026;2$y"  # "mode 2026 known, currently reset": synchronized output supported

# one escape sequence: CSI, OSC, DCS/APC/PM/SOS, charset designation, or a two-byte escape
_ESC = re.compile(
    r"(\x1b(?:\[[0-?]*[ -/]*[@-~]"
    r"|\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|[P_^X][^\x1b]*\x1b\\"
    r"|[()*+#][ -~]"
    r"|[ -Z\\-~]))"
)
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
SYNC_END = b"\x1b[?2026l"
SYNC_QUERY = b"\x1b[?2026$p"


@dataclass
class Frame:
    t: float  # perf_counter when its last byte was read from the pty
    rows: list[str]
    styles: list[list[str]]  # SGR parameters per cell
    touched: dict[int, tuple[int, int]]  # row -> (first col, last col) written in this frame
    nbytes: int


class Terminal:
    """The pty master side. A reader thread only reads, timestamps and cuts the
    output into frames (at ESC[?2026l, or at a quiet gap); a second thread
    feeds the frames to a small screen model and publishes snapshots. Parsing
    costs a few ms of Python per frame, so while a key's response is being
    timed the parser is held (:meth:`hold`) and catches up afterwards: on two
    cores it would otherwise take CPU and the GIL from the timing thread."""

    def __init__(self, master: int, *, answer_sync: bool, gap: float) -> None:
        self.fd = master
        self.answer_sync = answer_sync
        self.gap = gap
        self.chars = [[" "] * COLS for _ in range(ROWS)]
        self.style = [[""] * COLS for _ in range(ROWS)]
        self.row = self.col = 0
        self.saved = (0, 0)
        self.sgr = ""
        self.touched: dict[int, tuple[int, int]] = {}
        self.frames: list[Frame] = []
        self.chunks: list[tuple[float, int]] = []  # (time read, bytes)
        self.synced = False  # saw a synchronized-output frame end
        self.unknown: dict[str, int] = {}  # queries/sequences we ignored, for the report
        self.cond = threading.Condition()
        self.closed = False
        self.cut = 0  # frames cut by the reader (parsed frames lag behind while held)
        self.gate = threading.Event()
        self.gate.set()
        self._carry = ""
        self._stop = False
        self._raw: "queue.SimpleQueue[tuple[float, bytes] | None]" = queue.SimpleQueue()
        self.reader = threading.Thread(target=self._read, name="pty-reader", daemon=True)
        self.parser = threading.Thread(target=self._parse, name="pty-parser", daemon=True)
        self.reader.start()
        self.parser.start()

    # ------------------------------------------------------------ reading (no parsing here: timing only)
    def _read(self) -> None:
        pending = bytearray()
        searched = 0
        last = 0.0
        while not self._stop:
            timeout = self.gap if (pending and not self.synced) else 0.05
            try:
                ready, _, _ = select.select([self.fd], [], [], timeout)
            except (OSError, ValueError):
                break
            if not ready:
                if pending and not self.synced:  # quiet gap: the frame is over
                    self._cut(last, bytes(pending))
                    pending.clear()
                    searched = 0
                continue
            try:
                data = os.read(self.fd, 1 << 16)
            except OSError:  # EIO: the child closed the slave side
                break
            if not data:
                break
            last = time.perf_counter()
            with self.cond:
                self.chunks.append((last, len(data)))
            pending += data
            if self.answer_sync and SYNC_QUERY in pending[max(searched - len(SYNC_QUERY), 0):]:
                os.write(self.fd, SYNC_REPLY)
            while True:
                at = pending.find(SYNC_END, max(searched - len(SYNC_END), 0))
                if at < 0:
                    searched = len(pending)
                    break
                self.synced = True
                end = at + len(SYNC_END)
                self._cut(last, bytes(pending[:end]))
                del pending[:end]
                searched = 0
        if pending:
            self._cut(last, bytes(pending))
        self._raw.put(None)

    def _cut(self, t: float, data: bytes) -> None:
        with self.cond:
            self.cut += 1
        self._raw.put((t, data))

    def _parse(self) -> None:
        while True:
            item = self._raw.get()
            if item is None:
                break
            self.gate.wait()
            t, data = item
            self._feed(data.decode("utf-8", "replace"))
            self._end_frame(t, len(data))
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def _feed(self, text: str) -> None:
        parts = _ESC.split(self._carry + text)
        self._carry = ""
        last = len(parts) - 1
        for i, part in enumerate(parts):
            if not part:
                continue
            if i & 1:  # an escape sequence
                self._escape(part)
                continue
            if "\x1b" in part:  # an escape the pattern does not know, or cut off at the end
                head, _, tail = part.partition("\x1b")
                if i == last and len(tail) < 64:
                    self._carry = "\x1b" + tail
                    part = head
                else:
                    part = part.replace("\x1b", "")
            if _CONTROLS.search(part):
                for piece in re.split(r"([\x00-\x1f\x7f])", part):
                    if len(piece) == 1 and _CONTROLS.match(piece):
                        self._control(piece)
                    elif piece:
                        self._text(piece)
            else:
                self._text(part)

    def _escape(self, seq: str) -> None:
        if seq[1] == "[":
            final = seq[-1]
            body = seq[2:-1]
            if final == "m":
                self.sgr = "" if body in ("", "0") else (f"{self.sgr};{body}" if self.sgr else body)
            elif final == "H" or final == "f":
                r, _, c = body.partition(";")
                self.row = min(max((int(r) if r.isdigit() else 1) - 1, 0), ROWS - 1)
                self.col = min(max((int(c) if c.isdigit() else 1) - 1, 0), COLS - 1)
            else:
                self._csi(body, final)
        elif seq == "\x1b7":
            self.saved = (self.row, self.col)
        elif seq == "\x1b8":
            self.row, self.col = self.saved
        elif seq[1] in "]P":
            self.unknown[seq[:8]] = self.unknown.get(seq[:8], 0) + 1

    def _csi(self, body: str, final: str) -> None:
        if body[:1] in ("?", ">", "<", "="):
            if final == "p" and body.endswith("$") and body != "?2026$":
                key = f"CSI {body}{final}"
                self.unknown[key] = self.unknown.get(key, 0) + 1
            return
        nums = [int(p) if p.isdigit() else 0 for p in body.split(";")] if body else []
        first = nums[0] if nums else 0
        if final == "A":
            self.row = max(self.row - (first or 1), 0)
        elif final == "B":
            self.row = min(self.row + (first or 1), ROWS - 1)
        elif final == "C":
            self.col = min(self.col + (first or 1), COLS - 1)
        elif final == "D":
            self.col = max(self.col - (first or 1), 0)
        elif final == "G":
            self.col = min(max((first or 1) - 1, 0), COLS - 1)
        elif final == "J" and first in (2, 3):
            for r in range(ROWS):
                self.chars[r] = [" "] * COLS
                self.style[r] = [""] * COLS
                self.touched[r] = (0, COLS - 1)
        elif final == "K":
            start, end = {0: (self.col, COLS), 1: (0, self.col + 1), 2: (0, COLS)}.get(first, (self.col, COLS))
            self.chars[self.row][start:end] = [" "] * (end - start)
            self.style[self.row][start:end] = [self.sgr] * (end - start)
            a, b = self.touched.get(self.row, (start, end - 1))
            self.touched[self.row] = (min(a, start), max(b, end - 1))

    def _text(self, text: str) -> None:
        row, col = self.row, self.col
        if not 0 <= row < ROWS:
            return
        if text.isascii():
            cells = list(text)
        else:
            cells = []
            for ch in text:
                if unicodedata.combining(ch):
                    continue
                cells.append(ch)
                if unicodedata.east_asian_width(ch) in ("W", "F"):
                    cells.append("")
        end = min(col + len(cells), COLS)
        if end > col:
            self.chars[row][col:end] = cells[: end - col]
            self.style[row][col:end] = [self.sgr] * (end - col)
            first, last = self.touched.get(row, (col, end - 1))
            self.touched[row] = (min(first, col), max(last, end - 1))
        self.col = min(col + len(cells), COLS)

    def _control(self, ch: str) -> None:
        if ch == "\r":
            self.col = 0
        elif ch == "\n":
            self.row = min(self.row + 1, ROWS - 1)
        elif ch == "\x08":
            self.col = max(self.col - 1, 0)

    def _end_frame(self, t: float, nbytes: int) -> None:
        frame = Frame(t, ["".join(r) for r in self.chars], [r[:] for r in self.style], self.touched, nbytes)
        self.touched = {}
        with self.cond:
            self.frames.append(frame)
            self.cond.notify_all()

    # ------------------------------------------------------------ driving
    def hold(self) -> None:
        """Stop parsing (frames are still read and timed) until :meth:`release`."""
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()

    def sync(self, timeout: float = 10.0) -> None:
        """Release the parser and wait until every frame cut so far is parsed."""
        self.release()
        deadline = time.monotonic() + timeout
        with self.cond:
            target = self.cut
            while len(self.frames) < target and not self.closed and time.monotonic() < deadline:
                self.cond.wait(0.05)

    def press(self, data: bytes) -> tuple[float, int]:
        """Write a key; (time written, index of the next frame)."""
        with self.cond:
            index = self.cut
        t = time.perf_counter()
        os.write(self.fd, data)
        return t, index

    def wait(self, pred, since: int, timeout: float) -> tuple[Frame | None, int]:
        """The first frame from index ``since`` on that satisfies ``pred`` (and its index)."""
        self.release()
        deadline = time.monotonic() + timeout
        i = since
        with self.cond:
            while True:
                while i < len(self.frames):
                    if pred(self.frames[i]):
                        return self.frames[i], i
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    return None, i
                self.cond.wait(left)

    def quiet(self, seconds: float, limit: float = 10.0) -> bool:
        """Wait until no output for ``seconds`` (at most ``limit``)."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            with self.cond:
                last = self.chunks[-1][0] if self.chunks else 0.0
            idle = time.perf_counter() - last
            if idle >= seconds:
                return True
            time.sleep(min(seconds - idle, 0.05) + 0.001)
        return False

    def last_frame(self) -> Frame | None:
        with self.cond:
            return self.frames[-1] if self.frames else None

    def stop(self) -> None:
        self._stop = True
        self.reader.join(timeout=2)
        self.parser.join(timeout=5)


# ---------------------------------------------------------------- screen reading
@dataclass
class Layout:
    header: int  # screen row of the queue header
    key_col: int  # column of "KEY" (the mark cell; the key starts one to the right)
    p_col: int
    bottom: int  # first screen row below the queue's rows
    side_col: int  # first column right of the queue (the detail pane's border)
    timers_col: int  # the SLA pane's left border


def find_layout(frame: Frame) -> Layout | None:
    for r, text in enumerate(frame.rows):
        if " STATUS " in text and "KEY" in text:
            key_col = text.index("KEY")
            p = re.search(r"(?<= )P(?= )", text[key_col:])
            bottom = r + 1
            while bottom < ROWS and frame.rows[bottom][key_col - 1:key_col] not in ("╰", "└", "+", "─"):
                bottom += 1
            corners = [i for i, c in enumerate(frame.rows[r - 1]) if c in "╭┌"] if r else []
            side = corners[1] if len(corners) > 1 else COLS // 2
            timers = corners[-1] if len(corners) > 2 else side
            return Layout(r, key_col, key_col + (p.start() if p else 11), bottom, side, timers)
    return None


def row_key(frame: Frame, lay: Layout, r: int) -> str:
    m = re.match(r"INC-\d+", frame.rows[r][lay.key_col + 1:lay.key_col + 12])
    return m.group(0) if m else ""


def has_data(frame: Frame) -> bool:
    lay = find_layout(frame)
    return lay is not None and any(row_key(frame, lay, r) for r in range(lay.header + 1, lay.bottom))


def cursor_of(frame: Frame, lay: Layout) -> tuple[int, str] | None:
    """(screen row, ticket key) of the highlighted row: the one queue row whose
    key cell is styled unlike the others."""
    col = lay.key_col + 1
    rows = [r for r in range(lay.header + 1, lay.bottom) if row_key(frame, lay, r)]
    if not rows:
        return None
    counts: dict[str, int] = {}
    for r in rows:
        counts[frame.styles[r][col]] = counts.get(frame.styles[r][col], 0) + 1
    odd = [r for r in rows if counts[frame.styles[r][col]] == 1]
    if len(odd) == 1 and len(rows) > 2:
        return odd[0], row_key(frame, lay, odd[0])
    return None


def loading_rows(frame: Frame, lay: Layout) -> int:
    return sum(1 for r in range(lay.header + 1, lay.bottom)
               if frame.rows[r][lay.key_col:lay.key_col + 6].strip() == "…")


def status_total(frame: Frame) -> tuple[int, str, bool] | None:
    """(total, filter, cut): the status line's figures; ``cut`` when a
    notification toast (drawn from its ▌ edge) covers the end of the line."""
    text, toast, _ = frame.rows[0].partition("▌")
    m = re.search(r"([\d,]+) tickets · filter: (.*?)(?: · \d+ marked)?\s*$", text)
    return (int(m.group(1).replace(",", "")), m.group(2).rstrip(), bool(toast)) if m else None


def shows_filter(frame: Frame, query: str, before: tuple | None) -> bool:
    s = status_total(frame)
    if s is None:
        return False
    if s[2]:  # a toast hides the end of the filter: accept a matching prefix with a new total
        return query.startswith(s[1]) and before is not None and s[0] != before[0]
    return s[1] == query


def sla_pane_shows(frame: Frame, key: str) -> bool:
    pat = re.compile(rf"SLA {re.escape(key)}(?!\d)")
    return any(pat.search(text) for text in frame.rows)


# ---------------------------------------------------------------- process
def rss_kb(pid: int) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return out


def sla_log(path: Path, pid: int) -> tuple[int, int] | None:
    """(sweeps, crossings) the console ``pid`` logged."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    hits = re.findall(rf"\[{pid}\] sweep: \d+ clock\(s\) moved, (\d+) crossing", text)
    return (len(hits), sum(int(h) for h in hits)) if hits else None


def child_env(work: Path) -> dict[str, str]:
    # An installed deskconsole has its bytecode compiled (pip does it): the console may write and read
    # it, whatever PYTHONDONTWRITEBYTECODE says (as cli_latency.py), or every start compiles ~70 of
    # our modules from source. PYTHONPYCACHEPREFIX, if set, keeps that bytecode out of the tree.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DESKCONSOLE_", "TEXTUAL")) and k not in ("NO_COLOR", "COLORTERM", "FORCE_COLOR")
           and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(TERM="xterm-256color", COLUMNS=str(COLS), LINES=str(ROWS), XDG_CONFIG_HOME=str(work / "cfg"),
               XDG_DATA_HOME=str(work / "data"), XDG_STATE_HOME=str(work / "state"),
               DESKCONSOLE_LOG=str(work / "console.log"))
    return env


_LIVE: list["Console"] = []


def _kill_leftovers() -> None:
    """On any exit of this script: no console of ours is left running."""
    for con in _LIVE:
        if con.proc.poll() is None:
            print(f"killing console pid {con.proc.pid} left running", file=sys.stderr)
            con.proc.kill()
            con.proc.wait()


atexit.register(_kill_leftovers)


class Console:
    def __init__(self, cmd: list[str], env: dict, cwd: Path, args) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.term = Terminal(master, answer_sync=not args.quiet_gap, gap=args.gap / 1000)
        self.master = master
        self.layout: Layout | None = None
        self.workdir = cwd

        def controlling_tty() -> None:  # after setsid (start_new_session): the pty becomes the ctty
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                                     start_new_session=True, preexec_fn=controlling_tty, close_fds=True)
        os.close(slave)
        _LIVE.append(self)

    def quit(self, timeout: float = 15.0) -> dict:
        """Press q; wait for the process. Kills it (and says so) if it stays."""
        t, _ = self.term.press(b"q")
        killed = None
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            killed = "SIGTERM"
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                killed = "SIGKILL"
                self.proc.kill()
                self.proc.wait()
        elapsed = time.perf_counter() - t
        self.term.stop()
        os.close(self.master)
        return {"quit_s": elapsed, "killed": killed, "returncode": self.proc.returncode}


# ---------------------------------------------------------------- the desk
def ensure_desk(work: Path, n: int, env: dict, exe: list[str]) -> tuple[Path, Path]:
    stem = "big" if n == 1_000_000 else f"desk-{n}"
    db, config = work / f"{stem}.db", work / f"{stem}.toml"
    done = work / f"{stem}.done"
    if db.exists() and config.exists():
        note = "" if done.exists() else " — no .done marker: built outside this script, or unfinished?"
        print(f"desk: reusing {db} ({db.stat().st_size / 1e6:,.0f} MB){note}")
        return db, config
    print(f"desk: building {n:,} tickets into {db} (takes minutes for a million)...", flush=True)
    start = time.perf_counter()
    subprocess.run([*exe, "--config", str(config), "--db", f"sqlite:///{db}", "demo", "--fresh", "--no-console",
                    "--tickets", str(n)], env=env, check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=open(work / f"{stem}.build.log", "w"))
    print(f"desk: built in {time.perf_counter() - start:.0f} s")
    done.write_text(f"{n}\n")
    return db, config


# ---------------------------------------------------------------- measurements
def ms(x: float | None) -> float | None:
    return None if x is None else round(x * 1000, 1)


def spread(values: list[float]) -> str:
    if not values:
        return "no samples"
    v = sorted(values)
    p90 = v[min(len(v) - 1, int(len(v) * 0.9))]
    return (f"median {statistics.median(v) * 1000:.1f} ms (min {v[0] * 1000:.1f}, p90 {p90 * 1000:.1f}, "
            f"max {v[-1] * 1000:.1f}, n={len(v)})")


def startup(con: Console, timeout: float) -> dict:
    term = con.term
    first, _ = term.wait(lambda f: True, 0, timeout)
    data, _ = term.wait(has_data, 0, timeout)
    if data is None:
        last = term.last_frame()
        sys.exit("the console never showed a queue with tickets; last screen:\n"
                 + ("\n".join(last.rows) if last else "(nothing)"))
    con.layout = find_layout(data)
    return {"first_any_s": first.t - con.t0, "first_data_s": data.t - con.t0}


def touches_queue(frame: Frame, lay: Layout) -> bool:
    """Did this frame write into the queue's key column (a queue repaint, not a tick of the SLA pane)?"""
    return any(lay.header < r < lay.bottom and a <= lay.key_col + 10 and b >= lay.key_col
               for r, (a, b) in frame.touched.items())


def detail_key(frame: Frame) -> str | None:
    for text in frame.rows:
        m = re.search(r"SLA (INC-\d+)", text)
        if m:
            return m.group(1)
    return None


def moves(con: Console, key: bytes, count: int, timeout: float, settle: float, window: float = 0.5) -> dict:
    """Press ``key`` ``count`` times; per press: time to the queue repaint that
    moves the cursor (or scrolls), to the rows being filled (no '…' left) and
    to the SLA pane showing another ticket (the detail follows a database read).

    A press is *clean* when the queue showed rows before it and no '…'
    placeholder appeared until its repaint, i.e. no background reload of the
    queue (after an SLA crossing or someone's change) was under way; presses
    during a reload are reported apart. A press is *undone* when, once things
    settle, the cursor is back where it was (a reload put it back)."""
    term = con.term
    out = {"repaint": [], "clean": [], "during_reload": [], "filled": [], "detail": [], "misses": 0, "hidden": 0,
           "undone": 0}
    short = min(timeout, 10.0)
    streak = 0
    for _ in range(count):
        if streak >= 2:  # two presses without a repaint: the end of the queue
            break
        term.sync()
        frame = term.last_frame()
        lay = find_layout(frame) or con.layout
        before = (row_key(frame, lay, lay.header + 1), cursor_of(frame, lay))
        before_detail = detail_key(frame)
        was_loading = loading_rows(frame, lay) > 0
        term.hold()  # no parsing while the console answers the key
        t, idx = term.press(key)
        time.sleep(window)
        moved, i = term.wait(lambda f: touches_queue(f, lay)
                             and (row_key(f, lay, lay.header + 1), cursor_of(f, lay)) != before, idx, timeout)
        if moved is None:
            out["misses"] += 1
            streak += 1
            continue
        streak = 0
        out["repaint"].append(moved.t - t)
        with term.cond:
            reload = was_loading or any(loading_rows(f, lay) for f in term.frames[idx:i])
        out["during_reload" if reload else "clean"].append(moved.t - t)
        done, _ = term.wait(lambda f: loading_rows(f, lay) == 0 and row_key(f, lay, lay.header + 1) != "", i, short)
        if done is not None:
            out["filled"].append(done.t - t)
        shown, _ = term.wait(lambda f: detail_key(f) not in (None, before_detail), i, short)
        if shown is not None:
            out["detail"].append(shown.t - t)
        term.quiet(0.05, limit=2)
        term.sync()
        last = term.last_frame()
        if cursor_of(last, lay) is None and loading_rows(last, lay) == 0:
            out["hidden"] += 1
        if (row_key(last, lay, lay.header + 1), cursor_of(last, lay)) == before and before[1] is not None:
            out["undone"] += 1
        if VERBOSE:
            print(f"    {key!r}: repaint {ms(moved.t - t)} ms{' (reload under way)' if reload else ''}, "
                  f"filled {ms(done.t - t) if done else None} ms, detail {ms(shown.t - t) if shown else None} ms, "
                  f"cursor {before[1]} -> {cursor_of(last, lay)}", flush=True)
        time.sleep(settle)
    return out


def type_filter(con: Console, query: str, previous: str | None, gap: float, timeout: float) -> dict:
    """Open the bar (it holds the current filter), edit it into ``query`` the
    way a user would (append the extra terms, or backspace them away), and
    time the console's answer from the last key."""
    term = con.term
    term.sync()
    before = status_total(term.last_frame())
    current = previous if previous is not None else (before[1] if before and not before[2] else None)
    was_loading = loading_rows(term.last_frame(), con.layout) > 0
    t, idx = term.press(b"/")
    # the bar opens holding the current filter, all of it selected once the bar has
    # the focus (typing then replaces it); wait for it, then ctrl+e: to the end
    if current:
        term.wait(lambda f: any(f.rows[r].startswith(" " + current) or f.rows[r].startswith(current)
                                for r in range(ROWS - 4, ROWS - 1)), idx, 10)
    else:
        term.wait(lambda f: True, idx, 2)
    time.sleep(0.3)
    term.press(b"\x05")  # ctrl+e
    time.sleep(0.3)
    if current is not None and query.startswith(current):
        keys = [c.encode() for c in query[len(current):]]
    elif current is not None and current.startswith(query):
        keys = [b"\x7f"] * (len(current) - len(query))  # backspace
    else:
        keys = [b"\x15", *[c.encode() for c in query]]  # ctrl+u clears the bar, then the query
    term.sync()
    t_last = 0.0
    term.hold()  # no parsing while typing and while the console answers
    for k in keys:
        t_last, idx_last = term.press(k)
        time.sleep(gap)
    time.sleep(1.0)
    # status line: new filter and its total
    status, i = term.wait(lambda f: shows_filter(f, query, before), idx_last, timeout)
    result = {"query": query, "before": before}
    if status is None:
        result["error"] = "status line never showed the new filter"
        term.sync()
        last = term.last_frame()
        dump = con.workdir / f"filter_failed_{int(time.time())}.txt"
        dump.write_text("\n".join(last.rows) + "\n", encoding="utf-8")
        result["error"] += f" (screen in {dump}; status line: {last.rows[0].rstrip()!r})"
        t, idx = term.press(b"\r")  # close the bar whatever it shows, so later keys reach the queue
        term.wait(lambda f: True, idx, 2)
        term.quiet(0.3, limit=5)
        return result
    result["status_s"] = status.t - t_last
    with term.cond:
        result["during_reload"] = was_loading or any(loading_rows(f, con.layout) for f in term.frames[idx_last:i])
    result["total"] = status_total(status)[0]
    # intermediate values must not have been applied (typing was faster than the debounce)
    stray = {s[1] for f in term.frames[idx:i]
             if (s := status_total(f)) and not s[2] and s[1] not in (query, current)}
    if stray:
        result["stray_filters"] = sorted(stray)
    lay = find_layout(status)
    rows, _ = term.wait(lambda f: loading_rows(f, lay) == 0 and (has_data(f) or ((s := status_total(f)) is not None and s[0] == 0)), i, timeout)
    if rows is not None:
        result["rows_s"] = rows.t - t_last
        if query.startswith("is:open prio:P1"):
            prios = {rows.rows[r][lay.p_col:lay.p_col + 2] for r in range(lay.header + 1, lay.bottom)
                     if row_key(rows, lay, r)}
            result["priorities_shown"] = sorted(prios)
    t, idx = term.press(b"\r")  # keep it; the bar closes
    term.wait(lambda f: True, idx, 2)
    term.quiet(0.3, limit=5)
    return result


def idle(con: Console, seconds: float, lay: Layout) -> dict:
    term = con.term
    with term.cond:
        c0, f0 = len(term.chunks), len(term.frames)
    start = time.perf_counter()
    time.sleep(seconds)
    end = time.perf_counter()
    with term.cond:
        chunks = [n for t, n in term.chunks[c0:] if start <= t < end]
        frames = [f for f in term.frames[f0:] if start <= f.t < end]
    term.sync()
    with term.cond:
        before = term.frames[f0 - 1] if f0 else None
    queue_frames = sum(1 for f in frames if any(r > lay.header and a < lay.side_col for r, (a, b) in f.touched.items()))
    status_frames = sum(1 for f in frames if 0 in f.touched)
    ticks = [f for f in frames if f.touched and all(a >= lay.timers_col for a, b in f.touched.values())]
    unchanged = 0  # frames that changed no character and no style on the screen
    for f in frames:
        if before is not None and f.rows == before.rows and f.styles == before.styles:
            unchanged += 1
        before = f
    rows_per_frame = [len(f.touched) for f in frames]
    # how long the queue showed '…' placeholders instead of rows, and how often it went blank
    blank, reloads, state, since = 0.0, 0, bool(before and loading_rows(before, lay)), start
    for f in frames:
        now_loading = loading_rows(f, lay) > 0
        if state:
            blank += f.t - since
        if now_loading and not state:
            reloads += 1
        state, since = now_loading, f.t
    if state:
        blank += end - since
    return {
        "queue_blank_s": blank,
        "queue_blank_share": blank / (end - start),
        "queue_went_blank": reloads,
        "tick_only_frames": len(ticks),
        "tick_only_bytes": sum(f.nbytes for f in ticks),
        "unchanged_frames": unchanged,
        "seconds": end - start,
        "bytes": sum(chunks),
        "bytes_per_s": sum(chunks) / (end - start),
        "frames": len(frames),
        "bytes_per_frame_median": statistics.median([f.nbytes for f in frames]) if frames else 0,
        "rows_per_frame_median": statistics.median(rows_per_frame) if rows_per_frame else 0,
        "frames_touching_queue": queue_frames,
        "frames_touching_status": status_frames,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5, help="fresh console processes for the start-up figure")
    ap.add_argument("--moves", type=int, default=30, help="presses of j and of ctrl+f")
    ap.add_argument("--filters", type=int, default=8, help="filter changes each way")
    ap.add_argument("--query", default="is:open prio:P1")
    ap.add_argument("--type-gap", type=float, default=50.0,
                    help="ms between typed keys of a filter (faster than the 150 ms debounce)")
    ap.add_argument("--idle", type=float, default=30.0, help="seconds of idle traffic to count")
    ap.add_argument("--workdir")
    ap.add_argument("--quiet-gap", action="store_true",
                    help="do not answer the synchronized-output query; cut frames at a quiet gap instead")
    ap.add_argument("--gap", type=float, default=5.0, help="quiet gap in ms (with --quiet-gap)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for any one frame")
    ap.add_argument("--profile", metavar="FILE",
                    help="run the console under cProfile (main thread) and write the stats to FILE; "
                         "the figures are then not the console's own")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every press")
    args = ap.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    sys.setswitchinterval(0.0005)  # the pty reader thread gets the GIL promptly

    work = Path(args.workdir or tempfile.mkdtemp(prefix="deskbench-console-"))
    for sub in ("cfg", "data", "state"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    env = child_env(work)
    exe = [sys.executable, "-m", "deskconsole"]
    db, config = ensure_desk(work, args.tickets, env, exe)
    cmd = [*exe, "--db", f"sqlite:///{db}", "--config", str(config)]
    if args.profile:  # cProfile of the console's main thread (the event loop), written when it quits
        cmd = [sys.executable, "-m", "cProfile", "-o", str(Path(args.profile).resolve()), *cmd[1:]]
    print(f"console: {' '.join(cmd)}  ({COLS}x{ROWS}, TERM=xterm-256color, "
          f"frames {'by quiet gap of %g ms' % args.gap if args.quiet_gap else 'by synchronized-output marks'})")
    figures: dict = {"tickets": args.tickets, "cols": COLS, "rows": ROWS,
                     "frames_by": "quiet_gap" if args.quiet_gap else "sync_marks"}

    # 1. start-up, over fresh processes; RSS after start; the last process does the rest
    starts, rss_start, quits = [], [], []
    for run in range(args.runs):
        con = Console(cmd, env, work, args)
        s = startup(con, args.timeout)
        con.term.quiet(1.0, limit=20)
        time.sleep(1.0)
        rss_start.append(rss_kb(con.proc.pid))
        starts.append(s)
        print(f"  run {run + 1}: first frame {s['first_any_s'] * 1000:.0f} ms, queue with tickets "
              f"{s['first_data_s'] * 1000:.0f} ms, VmRSS {rss_start[-1].get('VmRSS', 0) / 1024:.0f} MB", flush=True)
        if run < args.runs - 1:
            quits.append(con.quit())
    data_times = [s["first_data_s"] for s in starts]
    figures["first_data_s"] = statistics.median(data_times)
    figures["first_data_s_all"] = [round(x, 3) for x in data_times]
    figures["first_any_s"] = statistics.median(s["first_any_s"] for s in starts)
    figures["rss_start_mb"] = statistics.median(r.get("VmRSS", 0) for r in rss_start) / 1024
    print(f"start -> first frame with the queue and tickets: {spread(data_times)} (target < 1000 ms)")
    print(f"  start -> first frame of anything: median {figures['first_any_s'] * 1000:.0f} ms")
    print(f"RSS after start: median {figures['rss_start_mb']:.0f} MB (target < 200 MB)")

    term = con.term
    term.sync()
    lay = con.layout
    figures["total_open"] = (status_total(term.last_frame()) or (0, ""))[0]
    print(f"  queue: {figures['total_open']:,} tickets in the default filter; header on row {lay.header}, "
          f"{lay.bottom - lay.header - 1} rows visible")

    # 2. cursor moves, 3. page down (from the top)
    def report_moves(name: str, tag: str, r: dict, target: str) -> None:
        n = len(r["repaint"]) + r["misses"]
        print(f"{name} -> queue repaint: {spread(r['repaint'])}{target}")
        print(f"  presses with no queue reload under way: {spread(r['clean'])}")
        print(f"  presses during a background reload (queue showed '…'): {spread(r['during_reload'])}")
        print(f"  {name} -> rows filled (no '…'): {spread(r['filled'])}")
        print(f"  {name} -> SLA pane shows another ticket: {spread(r['detail'])}")
        print(f"  {n} presses: {r['misses']} without a repaint, {r['undone']} undone by a reload, "
              f"highlighted row off screen after {r['hidden']}")
        for k in ("repaint", "clean", "during_reload", "filled", "detail"):
            figures[f"{tag}_{k}_ms"] = ms(statistics.median(r[k])) if r[k] else None
            figures[f"{tag}_{k}_p90_ms"] = ms(sorted(r[k])[min(len(r[k]) - 1, int(len(r[k]) * 0.9))]) if r[k] else None
        figures[f"{tag}_repaint_ms_all"] = [ms(x) for x in r["repaint"]]
        figures[f"{tag}_presses"], figures[f"{tag}_misses"] = n, r["misses"]
        figures[f"{tag}_undone"], figures[f"{tag}_cursor_hidden"] = r["undone"], r["hidden"]
        figures[f"{tag}_during_reload"] = len(r["during_reload"])

    m = moves(con, b"j", args.moves, args.timeout, 0.25)
    report_moves("j", "j", m, " (target <= 20 ms)")
    t, idx = term.press(b"g")
    term.wait(lambda f: touches_queue(f, lay), idx, 10)
    term.quiet(0.3, limit=10)
    p = moves(con, b"\x06", args.moves, args.timeout, 0.25)
    report_moves("ctrl+f", "pgdn", p, "")

    # 4. filter changes, alternately to --query and back to is:open
    to_q, back, stray = [], [], []
    previous: str | None = "is:open"  # the console starts on it
    for _ in range(args.filters):
        for query, bucket in ((args.query, to_q), ("is:open", back)):
            r = type_filter(con, query, previous, args.type_gap / 1000, args.timeout)
            previous = query if "error" not in r else None
            if "error" in r:
                print(f"  filter {query!r}: {r['error']}")
                continue
            bucket.append(r)
            stray += r.get("stray_filters", [])
    for name, bucket in ((args.query, to_q), ("is:open", back)):
        if not bucket:
            continue
        st = [r["status_s"] for r in bucket]
        rw = [r["rows_s"] for r in bucket if "rows_s" in r]
        tag = "to" if name == args.query else "back to"
        print(f"filter {tag} '{name}' ({bucket[0]['total']:,} tickets), from the last key:")
        print(f"  -> status line with the new total: {spread(st)}; minus the 150 ms debounce: "
              f"median {(statistics.median(st) - DEBOUNCE) * 1000:.1f} ms (target < 100 ms)")
        print(f"  -> new rows painted: {spread(rw)}; minus the debounce: median "
              f"{(statistics.median(rw) - DEBOUNCE) * 1000:.1f} ms" if rw else "  -> new rows: not seen")
        clean = [r["status_s"] for r in bucket if not r.get("during_reload")]
        busy = [r["status_s"] for r in bucket if r.get("during_reload")]
        print(f"  status line, changes with no queue reload under way: {spread(clean)}; during a reload: {spread(busy)}")
        prefix = "filter" if name == args.query else "filter_back"
        figures[f"{prefix}_status_clean_ms"] = ms(statistics.median(clean)) if clean else None
        figures[f"{prefix}_during_reload"] = len(busy)
        figures[f"{prefix}_total"] = bucket[0]["total"]
        figures[f"{prefix}_status_ms"] = ms(statistics.median(st))
        figures[f"{prefix}_status_minus_debounce_ms"] = ms(statistics.median(st) - DEBOUNCE)
        figures[f"{prefix}_status_ms_all"] = [ms(x) for x in st]
        if rw:
            figures[f"{prefix}_rows_ms"] = ms(statistics.median(rw))
            figures[f"{prefix}_rows_minus_debounce_ms"] = ms(statistics.median(rw) - DEBOUNCE)
        if name == args.query and "priorities_shown" in bucket[-1]:
            print(f"  priorities on screen after the filter: {', '.join(bucket[-1]['priorities_shown'])}")
    if stray:
        print(f"  note: intermediate filter values were applied: {sorted(set(stray))}")
        figures["stray_filters"] = sorted(set(stray))

    # 5. RSS after the moves
    rss_after = rss_kb(con.proc.pid)
    figures["rss_after_mb"] = rss_after.get("VmRSS", 0) / 1024
    figures["hwm_mb"] = rss_after.get("VmHWM", 0) / 1024
    print(f"RSS after the moves and filters: {figures['rss_after_mb']:.0f} MB (peak VmHWM "
          f"{figures['hwm_mb']:.0f} MB; target < 200 MB)")

    # 6. idle wire traffic
    term.quiet(0.5, limit=10)
    time.sleep(2.0)
    idle_r = idle(con, args.idle, lay)
    figures["idle_kb_per_s"] = idle_r["bytes_per_s"] / 1024
    figures["idle"] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in idle_r.items()}
    print(f"idle for {idle_r['seconds']:.0f} s: {idle_r['bytes']:,} bytes = {figures['idle_kb_per_s']:.2f} KB/s "
          f"(target < 1 KB/s); {idle_r['frames']} frames, median {idle_r['bytes_per_frame_median']:,.0f} bytes "
          f"and {idle_r['rows_per_frame_median']:g} rows each; {idle_r['frames_touching_queue']} touched the queue, "
          f"{idle_r['frames_touching_status']} the status line")
    print(f"  of which SLA-pane ticks alone: {idle_r['tick_only_frames']} frames, {idle_r['tick_only_bytes']:,} bytes "
          f"= {idle_r['tick_only_bytes'] / idle_r['seconds'] / 1024:.2f} KB/s; frames that changed nothing on screen: "
          f"{idle_r['unchanged_frames']}")
    figures["idle_ticks_kb_per_s"] = idle_r["tick_only_bytes"] / idle_r["seconds"] / 1024
    print(f"  the queue went blank ('…' rows, a reload) {idle_r['queue_went_blank']} times and showed no rows for "
          f"{idle_r['queue_blank_s']:.1f} s of {idle_r['seconds']:.0f} s ({idle_r['queue_blank_share'] * 100:.0f} %)")

    # quit
    q = con.quit()
    quits.append(q)
    figures["quit_s_median"] = statistics.median(x["quit_s"] for x in quits)
    figures["killed"] = [x["killed"] for x in quits if x["killed"]]
    print(f"q -> process gone: median {figures['quit_s_median'] * 1000:.0f} ms over {len(quits)} quits; "
          + (f"KILLED: {figures['killed']}" if figures["killed"] else "all exited by themselves"))
    sweeps = sla_log(work / "console.log", con.proc.pid)
    if sweeps:
        figures["sla_sweeps"], figures["sla_crossings"] = sweeps
        print(f"  (SLA loop in the measured console: {sweeps[0]} sweeps moved clocks, {sweeps[1]} crossings; a sweep with "
              f"crossings reloads the queue)")
    if term.unknown:
        print(f"  (sequences not answered: {term.unknown})")
    screen = work / "last_screen.txt"
    last = term.last_frame()
    if last:
        screen.write_text("\n".join(last.rows) + "\n", encoding="utf-8")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
