"""The wallboard: a read-only, self-running view of the desk for a shared screen.

It shows a rotation of pages (overview, each team, breaches, recently
resolved), each with its headline figures in big digits and a list of
tickets whose SLA countdowns tick every second. Nobody has to touch it:

- **read-only by construction**: the board's actor is a viewer whoever runs
  it; it loads none of the console's editing screens, has no command
  palette, and its only keys quit, pause or turn the pages, and show help;
- **live**: it polls the change feed (``PRAGMA data_version`` on SQLite,
  microseconds) and re-reads the page when something changed, at most every
  ``min_refresh`` seconds, and anyway every ``refresh_every`` seconds; it runs
  the desk's SLA loop like a console (``sweep=False`` leaves that to a daemon);
- **cheap to watch**: a second's tick repaints only the cells whose text
  moved (the clock, the countdowns under an hour) — no relayout;
- **stale, not dead**: when the database cannot be read, the board keeps the
  last data, says how old it is and why, and recovers by itself (the read
  connection is dropped and opened again on the next try).

Every "now" comes from the desk's clock, so a test (or a simulation of a
long run) moves time by hand.
"""

from __future__ import annotations

from datetime import datetime

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal
from textual.message import Message
from textual.widgets import Footer, Static

from deskconsole.core.reports import board
from deskconsole.core.reports.board import BoardPage, Snapshot
from deskconsole.core.clock import exact_duration
from deskconsole.core.outbound.feed import FeedReader
from deskconsole.core.identity import Actor
from deskconsole.core.automation.sweep import DEFAULT_INTERVAL
from deskconsole.db import first_line, is_sqlite
from deskconsole.db_runner import DbRunner
from deskconsole.ui.feed_watch import FeedWatch
from deskconsole.ui.styles import css_path
from deskconsole.ui.wallboard.widgets import BoardHelp, Ticker, TicketBoard, Tile, big_count, big_duration, plain

DEFAULT_ROTATE = 20.0  # seconds a page stays up
FEED_POLL = 1.0  # seconds between change-feed polls
REFRESH_EVERY = 30.0  # seconds: re-read the page even when nothing was written (deadlines pass on their own)
MIN_REFRESH = 2.0  # seconds: at most one read per this, however busy the desk
BUSY_TIMEOUT_MS = 3000  # a board waits this long for a locked SQLite file, then shows stale data

TILES = [
    ("P1", "P1 OPEN"), ("P2", "P2 OPEN"), ("P3", "P3 OPEN"), ("P4", "P4 OPEN"),
    ("breached", "BREACHED"), ("at_risk", "AT RISK"), ("unassigned", "UNASSIGNED"),
    ("oldest", "OLDEST UNACK"), ("mtta", "MTTA TODAY"), ("mttr", "MTTR TODAY"),
]
CAPTIONS = {
    "urgent": ("Most urgent: nearest SLA deadline first", "No open ticket has a running SLA clock"),
    "breaches": ("Breached now: longest overdue first", "No breaches now"),
    "resolved": ("Recently resolved: newest first", "Nothing resolved yet"),
    "report": ("The last 7 days", ""),
}
REPORT_REFRESH = 300.0  # seconds: a report page is read again at most this often (it reads more than a list)


class SweepDone(Message):
    """The SLA loop finished a sweep (posted from its thread)."""

    def __init__(self, crossings: int) -> None:
        super().__init__()
        self.crossings = crossings


class WallboardApp(App):
    CSS_PATH = css_path("wallboard.tcss")
    TITLE = "deskconsole wallboard"
    ENABLE_COMMAND_PALETTE = False  # the palette lists actions; a board offers none
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide"), (200, "-huge")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]

    BINDINGS = [
        Binding("q", "quit", "Quit", id="board.quit"),
        Binding("space", "toggle_rotation", "Pause/resume", id="board.pause"),
        Binding("n,right", "next_page", "Next page", id="board.next"),
        Binding("p,left", "previous_page", "Previous page", id="board.previous"),
        Binding("question_mark", "help", "Help", id="board.help"),
    ]

    def __init__(self, desk, actor: Actor, pages: list[BoardPage], *, rotate: float = DEFAULT_ROTATE,
                 sweep: bool = True, sla_interval: float = DEFAULT_INTERVAL, feed_poll: float = FEED_POLL,
                 refresh_every: float = REFRESH_EVERY, min_refresh: float = MIN_REFRESH,
                 busy_timeout_ms: int = BUSY_TIMEOUT_MS, keymap: dict[str, str] | None = None,
                 ticking: bool = True) -> None:
        super().__init__()
        if actor.role != "viewer":
            raise ValueError("the wallboard runs as a viewer; make its actor with core.reports.board.board_actor")
        if not pages:
            raise ValueError("a wallboard needs at least one page")
        self.desk = desk
        self.actor = actor
        self.pages = list(pages)
        self.index = 0
        self.rotate = max(float(rotate), 0.0)
        self.paused = self.rotate == 0
        self.sweep_enabled = sweep
        self.sla_interval = sla_interval
        self.feed_poll = feed_poll
        self.refresh_every = refresh_every
        self.min_refresh = min_refresh
        self.busy_timeout_ms = busy_timeout_ms
        self.keymap = keymap or {}
        self.ticking = ticking
        self.runner = DbRunner(desk.db)
        self.feed: FeedReader | None = None
        self.loop = None
        self.feed_watch: FeedWatch | None = None
        self.snapshots: dict[str, Snapshot] = {}  # page id -> its last good read (one per page, never more)
        self.dirty: set[str] = set()  # pages whose snapshot predates a change
        self.page_since: datetime = desk.now()
        self.trouble: str | None = None  # why the last read failed (None: the data is fresh)
        self.trouble_since: datetime | None = None
        self.reads = 0
        self.failures = 0
        self._reading = False
        self._again = False
        self._last_read = -1e9  # event-loop time of the last read started

    # ------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            yield Static("", id="title", markup=False)
            yield Ticker(id="asof")
            yield Ticker(id="rotation")
            yield Ticker(id="clock")
        yield Ticker(id="stale")
        with Container(id="tiles"):
            for tid, label in TILES:
                yield Tile(label, id=f"tile-{tid}")
        yield Static("", id="caption", markup=False)
        yield TicketBoard(id="list", clock=self.desk.now)
        yield Static("", id="panel")
        yield Footer(show_command_palette=False)

    @property
    def page(self) -> BoardPage:
        return self.pages[self.index]

    @property
    def ticket_list(self) -> TicketBoard:
        return self.query_one(TicketBoard)

    async def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        self.query_one("#stale").display = False
        self.query_one("#panel").display = False
        self.show_page()
        self.tick()
        if self.ticking:
            self._start_ticking()
            self.feed_watch = FeedWatch(self, self.desk, self.poll_feed, self.feed_poll)
            self.feed_watch.start()
            self.set_interval(self.refresh_every, self.reload)
        if self.sweep_enabled:
            self.start_sla_loop()

    def _start_ticking(self) -> None:
        """Tick each second, just after the second turns (the clock then never skips one)."""
        now = self.desk.now()
        delay = 1.0 - now.microsecond / 1e6 + 0.02
        self.set_timer(delay, lambda: (self.tick(), self.set_interval(1.0, self.tick)))

    def start_sla_loop(self) -> None:
        from deskconsole.scheduler import SlaLoop

        self.loop = SlaLoop(self.desk, interval=self.sla_interval,
                            on_sweep=lambda report: self.post_message(SweepDone(report.crossings)))
        self.loop.start()

    async def on_unmount(self) -> None:
        if self.loop is not None:
            self.loop.stop()
        if self.feed_watch is not None:
            self.feed_watch.stop()
        self.runner.close()

    # ------------------------------------------------------------ pages
    def action_next_page(self) -> None:
        self.turn(1)

    def action_previous_page(self) -> None:
        self.turn(-1)

    def action_toggle_rotation(self) -> None:
        if self.rotate == 0:
            self.notify("rotation is off (--rotate 0): n and p turn the pages", timeout=4)
            return
        self.paused = not self.paused
        self.page_since = self.desk.now()  # resuming gives the page its full time
        self.tick()

    def turn(self, step: int) -> None:
        self.index = (self.index + step) % len(self.pages)
        self.page_since = self.desk.now()
        self.show_page()
        self.tick()

    def show_page(self) -> None:
        """Put the current page up: its last data at once (if any), fresh data after a read."""
        page = self.page
        title = f"{self.desk.config.desk_name} · {page.title}"
        if len(self.pages) > 1:
            title += f" ({self.index + 1}/{len(self.pages)})"
        if page.query:
            title += f" · {page.query}"
        self._set_static("#title", title)
        snap = self.snapshots.get(page.id)
        if snap is not None:
            self.show(snap)
        else:
            caption, _ = CAPTIONS[page.kind]
            self._set_static("#caption", caption)
            self._show_area(page.kind == "report")
            if page.kind == "report":
                self.query_one("#panel", Static).update(plain("reading the report…"))
            else:
                self.ticket_list.show_tickets("urgent" if page.kind != "resolved" else "resolved", (), "loading…")
        if page.kind == "report":  # a report changes slowly and costs more: not on every write (see reload)
            self.reload()
        elif snap is None or page.id in self.dirty or self._older_than(snap, self.refresh_every):
            self.reload()

    def _show_area(self, report: bool) -> None:
        """Below the figures: a report's panel, or the list of tickets."""
        self.query_one("#panel").display = report
        self.ticket_list.display = not report

    def _older_than(self, snap: Snapshot, seconds: float) -> bool:
        return (self.desk.now() - snap.at).total_seconds() >= seconds

    # ------------------------------------------------------------ reading
    def reload(self) -> None:
        """Read the current page again (coalesced: one read at a time, at most every ``min_refresh`` s;
        a report page at most every ``REPORT_REFRESH`` s, whatever was written)."""
        snap = self.snapshots.get(self.page.id)
        if self.page.kind == "report" and snap is not None and not self._older_than(snap, REPORT_REFRESH):
            return
        if self._reading:
            self._again = True
            return
        wait = self._last_read + self.min_refresh - self._loop_time()
        if wait > 0:
            if not self._again:
                self._again = True
                self.set_timer(wait, self._reload_later)
            return
        self._reading = True
        self._last_read = self._loop_time()
        self.run_worker(self._read(self.page), group="read")

    def _reload_later(self) -> None:
        self._again = False
        self.reload()

    def _loop_time(self) -> float:
        import asyncio

        return asyncio.get_running_loop().time()

    def _read_in_thread(self, page: BoardPage) -> Snapshot:
        if is_sqlite(self.desk.db):
            self.desk.db.execute_sql(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        return board.snapshot(self.desk, page, self.actor.login, self.desk.now())

    async def _read(self, page: BoardPage) -> None:
        try:
            snap = await self.runner.read(self._read_in_thread, page)
        except Exception as exc:  # database gone, locked for long, server down: stay up, say so
            if self.is_running:  # (a board that closed while the read ran has no widget left to tell)
                await self._failed(exc)
        else:
            if not self.is_running:  # the board closed while the read ran: its widgets are gone
                return
            self.reads += 1
            self.snapshots[page.id] = snap
            self.dirty.discard(page.id)
            self._recovered()
            if page.id == self.page.id:
                self.show(snap)
        finally:
            self._reading = False
        if self._again:
            self._again = False
            self.reload()

    async def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        now = self.desk.now()
        if self.trouble is None:
            self.trouble_since = now
        self.trouble = first_line(exc)
        self.feed = None  # read the feed afresh once the database is back
        try:  # the next read opens a new connection (a restarted server, a replaced file)
            await self.runner.read(self._drop_connection)
        except Exception:
            pass
        self.query_one("#stale").display = True
        self.tick()

    def _drop_connection(self) -> None:
        if not self.desk.db.is_closed():
            self.desk.db.close()

    def _recovered(self) -> None:
        if self.trouble is not None:
            self.trouble = None
            self.trouble_since = None
            self.query_one("#stale").display = False
            self.tick()

    async def poll_feed(self) -> bool:
        """Ask the change feed whether anything changed; re-read if so. Also
        the retry while the database is unreadable (False: it still is)."""
        if self._reading:
            return True
        try:
            if self.feed is None:
                self.feed = await self.runner.read(FeedReader, self.desk.db)
                self.changed()  # whatever happened while we could not see it
                return True
            changes = await self.runner.read(self.feed.poll)
        except Exception as exc:
            await self._failed(exc)
            return False
        if changes:
            self.changed()
        return True

    def changed(self) -> None:
        """The desk changed: every page's data is old now; the one on screen is re-read."""
        self.dirty.update(p.id for p in self.pages)
        self.reload()

    def on_sweep_done(self, message: SweepDone) -> None:
        if message.crossings:
            self.changed()

    # ------------------------------------------------------------ showing
    def show(self, snap: Snapshot) -> None:
        f = snap.figures
        now = self.desk.now()
        for prio in board.PRIORITIES:
            n, b = f.open_by_priority.get(prio, 0), f.breached_by_priority.get(prio, 0)
            self.tile(prio).show(big_count(n), f"{b} breached" if b else "none breached", alert=prio == "P1" and b > 0)
        self.tile("breached").show(big_count(f.breached), "▲ act now" if f.breached else "none now",
                                   alert=f.breached > 0)
        self.tile("at_risk").show(big_count(f.at_risk), "in warning")
        self.tile("unassigned").show(big_count(f.unassigned), "nobody holds")
        self._show_oldest(snap, now)
        self.tile("mtta").show(big_duration(f.mtta_seconds), f"{f.acked_today} acked")
        self.tile("mttr").show(big_duration(f.mttr_seconds), f"{f.resolved_today} resolved")
        caption, empty = CAPTIONS[snap.page.kind]
        shown = len(snap.resolved) if snap.page.kind == "resolved" else len(snap.tickets)
        self._show_area(snap.page.kind == "report")
        if snap.page.kind == "report":
            from deskconsole.ui.wallboard.report_panel import panel

            r = snap.report
            count = f"{r.total.created:,} created, {r.total.resolved:,} resolved, {r.total.breaches:,} breaches"
            self.query_one("#panel", Static).update(panel(r, snap.page.id.split(":", 1)[1]))
            shown = 1
        elif snap.page.kind == "resolved":
            count = f"{f.resolved_today:,} resolved today"
            self.ticket_list.show_resolved(snap.resolved, empty)
        else:
            count = f"{snap.listed:,} in all"
            self.ticket_list.show_tickets(snap.page.kind, snap.tickets, empty)
        self._set_static("#caption", f"{caption} · {count}" if shown else caption)
        zone = self.desk.config.zone()
        self.query_one("#asof", Ticker).set(f"data as of {snap.at.astimezone(zone):%H:%M:%S}")

    def _set_static(self, selector: str, text: str) -> None:
        """Update a line of text only when it changes (an update lays the screen out again)."""
        widget = self.query_one(selector, Static)
        if getattr(widget, "_board_text", None) != text:
            widget._board_text = text
            widget.update(plain(text))

    def tile(self, tid: str) -> Tile:
        return self.query_one(f"#tile-{tid}", Tile)

    def _show_oldest(self, snap: Snapshot, now: datetime) -> None:
        oldest = snap.figures.oldest_unacked
        if oldest is None:
            self.tile("oldest").show("-", "none waiting")
        else:
            self.tile("oldest").show(big_duration(board.age_of(oldest.created_at, now)),
                                     f"{oldest.key} {oldest.priority}")

    def tick(self) -> None:
        """Once a second: the clock, the rotation, the countdowns, the staleness — cells only."""
        now = self.desk.now()
        zone = self.desk.config.zone()
        self.query_one("#clock", Ticker).set(f"{now.astimezone(zone):%H:%M:%S}")
        if len(self.pages) > 1 and not self.paused and (now - self.page_since).total_seconds() >= self.rotate:
            self.turn(1)
            return
        rotation = self.query_one("#rotation", Ticker)
        if len(self.pages) < 2 or self.rotate == 0:
            rotation.set("")
        elif self.paused:
            rotation.set("‖ paused")
        else:
            left = max(int(self.rotate - (now - self.page_since).total_seconds()), 0)
            rotation.set(f"▶ next {left:>2}s")
        snap = self.snapshots.get(self.page.id)
        if snap is not None:
            self._show_oldest(snap, now)
        board_list = self.ticket_list
        board_list.tick(now)
        if board_list.state_changed:  # a deadline passed on screen: the figures moved too
            board_list.state_changed = False
            self.dirty.add(self.page.id)
            self.reload()
        stale = self.query_one("#stale", Ticker)
        if self.trouble is not None:
            since = snap.at if snap is not None else self.trouble_since
            age = exact_duration(int((now - since).total_seconds())) if since else "?"
            asof = f"data as of {since.astimezone(zone):%H:%M:%S}" if snap is not None else "no data yet"
            stale.set(f"⚠ STALE: {asof}, {age} old · the database cannot be read ({self.trouble}) · "
                      "retrying by itself")

    # ------------------------------------------------------------ help
    def action_help(self) -> None:
        self.push_screen(BoardHelp(self.live_keys(), notes=[
            "The wallboard only shows the desk: it runs as a viewer and changes nothing.",
            f"Pages turn every {self.rotate:g} s." if self.rotate else "Rotation is off (--rotate 0).",
            "Keys can be remapped in the config's [keys] section by binding id, e.g. \"board.next\" = \"l\".",
        ]))

    def live_keys(self) -> list[tuple[str, str]]:
        """(keys, what they do) for the board's bindings as they are now (after a keymap)."""
        grouped: dict[str, list[str]] = {}
        descriptions: dict[str, str] = {}
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not binding.description:
                continue
            grouped.setdefault(binding.action, []).append(self.get_key_display(binding))
            descriptions[binding.action] = binding.description
        return [(", ".join(dict.fromkeys(keys)), descriptions[action]) for action, keys in grouped.items()]
