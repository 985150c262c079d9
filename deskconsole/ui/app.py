"""The console: queue, detail and SLA-timer panes, worked with the keyboard.

Every database call runs on :class:`~deskconsole.ui.db_runner.DbRunner`'s
threads and comes back as plain dataclasses; every change goes through the
same ``deskconsole.core`` functions as the CLI. Other people's changes
arrive through the change feed (polled twice a second, cheaply), and the
SLA loop runs here too, so a warning or a breach shows without a key press.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, Static

from deskconsole.core.search import queue as q
from deskconsole.errors import DeskError
from deskconsole.core.outbound.feed import FeedReader
from deskconsole.core.identity import Actor
from deskconsole.core.keys import record_id
from deskconsole.core.search.query import QueryError, as_you_type
from deskconsole.core.automation.sweep import DEFAULT_INTERVAL
from deskconsole.core.records.service_context import map_and_counts, service_context
from deskconsole.core.records.views import detail
from deskconsole.db import damaged, first_line
from deskconsole.db_runner import DbRunner
from deskconsole.ui.change_actions import ChangeActions
from deskconsole.ui.detail_view import DetailPane
from deskconsole.ui.feed_watch import FeedWatch
from deskconsole.ui.knowledge import KnowledgeActions
from deskconsole.ui.palette import DeskCommands
from deskconsole.ui.queue_view import QueueView
from deskconsole.ui.sla_toasts import SlaToasts
from deskconsole.ui.timers_view import TimersPane
from deskconsole.ui.problem_actions import ProblemActions
from deskconsole.ui.triage import TriageActions
from deskconsole.ui.styles import css_path

FEED_POLL = 0.5  # seconds between change-feed polls
MARK_ALL_LIMIT = 1000  # V marks at most this many tickets of the view
JUMP_SCAN = 10_000  # a jump looks this far down the view for its ticket
SHORT_BELOW = 36  # lines: below this (and below 120 columns) the queue takes the whole screen
FIRST_ROWS = 120  # rows read with the first count, before the screen's size is known (3 screens of 40)


class SweepDone(Message):
    """The SLA loop finished a sweep (posted from its thread)."""

    def __init__(self, report) -> None:
        super().__init__()
        self.report = report


class DeskApp(TriageActions, ProblemActions, ChangeActions, KnowledgeActions, App):
    CSS_PATH = css_path()
    TITLE = "deskconsole"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide"), (170, "-xwide")]
    # set on resize only (never on a tick): narrow and short, the queue has the
    # screen to itself and enter shows the detail + timers in its place
    VERTICAL_BREAKPOINTS = [(0, "-short"), (SHORT_BELOW, "-tall")]
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {DeskCommands}

    BINDINGS = [
        Binding("j,down", "cursor(1)", "Down", id="queue.down", show=False),
        Binding("k,up", "cursor(-1)", "Up", id="queue.up", show=False),
        Binding("g,home", "top", "Top", id="queue.top", show=False),
        Binding("G,end", "bottom", "Bottom", id="queue.bottom", show=False),
        Binding("ctrl+f,pagedown", "page(1)", "Page down", id="queue.page_down", show=False),
        Binding("ctrl+b,pageup", "page(-1)", "Page up", id="queue.page_up", show=False),
        Binding("enter", "focus_detail", "Open detail", id="pane.detail", show=False),
        Binding("escape", "back", "Back", id="pane.back", show=False),
        Binding("slash", "filter", "Filter", id="bar.filter"),
        Binding("colon", "command_line", "Command", id="bar.command"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("space", "mark", "Mark", id="queue.mark", show=False),
        Binding("V", "mark_all", "Mark all", id="queue.mark_all", show=False),
        Binding("t", "take", "Take", id="ticket.take"),
        Binding("a", "assign", "Assign", id="ticket.assign"),
        Binding("A", "ack", "Ack", id="ticket.ack", show=False),
        Binding("s", "status", "Status", id="ticket.status", show=False),
        Binding("i", "triage", "Impact/urgency", id="ticket.triage", show=False),
        Binding("r", "reply", "Reply", id="ticket.reply"),
        Binding("n", "note", "Note", id="ticket.note"),
        Binding("l", "link", "Link", id="ticket.link", show=False),
        Binding("m", "merge", "Merge", id="ticket.merge", show=False),
        Binding("R", "resolve", "Resolve", id="ticket.resolve"),
        Binding("o", "reopen", "Reopen", id="ticket.reopen", show=False),
        Binding("N", "new_ticket", "New", id="ticket.new"),
        Binding("F", "reports", "Reports", id="app.reports", show=False),
        Binding("p", "problems", "Problems", id="app.problems", show=False),
        Binding("P", "problem_new", "Problem from marked", id="ticket.problem", show=False),
        Binding("C", "problem_candidates", "Problem candidates", id="app.candidates", show=False),
        Binding("W", "workaround", "Workaround", id="problem.workaround", show=False),
        Binding("w", "reply_workaround", "Reply with workaround", id="ticket.reply_workaround", show=False),
        Binding("c", "changes", "Changes", id="app.changes", show=False),
        Binding("y", "change_approve", "Approve change", id="change.approve", show=False),
        Binding("x", "change_reject", "Reject change", id="change.reject", show=False),
        Binding("ctrl+n", "change_new", "New change", id="change.new", show=False),
        Binding("L", "calendar", "Change calendar", id="app.calendar", show=False),
        Binding("K", "knowledge", "Knowledge base", id="app.knowledge", show=False),
        Binding("S", "services", "Service map", id="app.services", show=False),
        Binding("ctrl+r", "reload", "Reload", id="app.reload", show=False),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(self, desk, actor: Actor, *, filter_text: str = q.DEFAULT_FILTER, sweep: bool = True,
                 sla_interval: float = DEFAULT_INTERVAL, feed_poll: float = FEED_POLL,
                 keymap: dict[str, str] | None = None, notices: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.notices = notices  # said once the screen is up (e.g. a config that is not in force)
        self.desk = desk
        self.actor = actor
        self.spec = q.QueueSpec(filter_text, actor.login)
        self.runner = DbRunner(desk.db)
        # the first rows are read while Textual starts the screen (SQLite works outside the GIL)
        self._first_read = self.runner.read_ahead(q.count_and_page, desk, self.spec, 0, FIRST_ROWS, desk.now())
        self.feed: FeedReader | None = None
        self.feed_poll = feed_poll
        self.sweep_enabled = sweep
        self.sla_interval = sla_interval
        self.loop = None
        self.live_started = False  # the feed watch and the SLA loop start once the first rows are read
        self.sla_toasts = SlaToasts(now=desk.now)
        self.feed_watch: FeedWatch | None = None
        self.keymap = keymap or {}
        self.selected_key: str | None = None
        self.db_trouble: str | None = None
        self.bar_mode: str | None = None  # "filter" | "command" while the bar is open
        self.jump_return: str | None = None  # the filter a jump to a hidden ticket replaced (esc restores it)

    # ------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Static("", id="status", markup=False)
        with Horizontal(id="panes"):
            yield QueueView(id="queue", clock=self.desk.now)
            with Vertical(id="side"):
                yield DetailPane(id="detail")
                yield TimersPane(id="timers", calendars=self.desk.config.sla.calendar, clock=self.desk.now)
        yield Static("", id="banner", markup=False)
        yield Input(id="bar", compact=True)
        yield Static("", id="bar-error", markup=False)
        yield Footer()

    @property
    def queue(self) -> QueueView:
        return self.query_one(QueueView)

    async def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        self.query_one("#bar", Input).display = False
        self.query_one("#bar-error").display = False
        self.query_one("#banner").display = False
        self.main_screen = self.screen
        self.query_one(DetailPane).zone = self.desk.config.zone()  # a change's window in the desk's time
        self.watch(self.main_screen, "focused", self._focus_moved, init=False)
        self.queue.focus()
        self.reload_queue()  # the first rows first: the feed, the urgent list and the SLA loop follow them

    async def start_live(self) -> None:
        """After the first rows are on screen: the change feed, the urgent
        list's refresh, (in an agent's console) the SLA loop, whose first
        sweep would otherwise compete with the first reads, and the notices."""
        if self.live_started:
            return
        self.live_started = True
        self.feed = await self._safe_read(FeedReader, self.desk.db)
        self.feed_watch = FeedWatch(self, self.desk, self.poll_feed, self.feed_poll)
        self.feed_watch.start()
        self.set_interval(30, self.refresh_urgent)
        if self.sweep_enabled:
            self.start_sla_loop()
        for notice in self.notices:
            self.notify(notice, severity="warning", timeout=20, markup=False)

    def start_sla_loop(self) -> None:
        from deskconsole.scheduler import SlaLoop

        # post_message is thread-safe and never waits: a sweep finishing while
        # the app shuts down must not wait for the event loop it is stopping.
        self.loop = SlaLoop(self.desk, interval=self.sla_interval,
                            on_sweep=lambda report: self.post_message(SweepDone(report)))
        self.loop.start()

    async def on_unmount(self) -> None:
        if self.loop is not None:
            self.loop.stop()
        if self.feed_watch is not None:
            self.feed_watch.stop()
        self.runner.close()

    def update_status(self, total: int | None = None) -> None:
        if total is not None:
            self._total = total
        who = f"{self.actor.login} ({self.actor.role})"
        marks = f" · {len(self.queue.marks)} marked" if self.queue.marks else ""
        text = f"{self.desk.config.desk_name} · {who} · {getattr(self, '_total', 0):,} tickets · filter: {self.spec.text or '(all)'}{marks}"
        if text != getattr(self, "_status_text", None):  # an unchanged line costs nothing on the wire
            self._status_text = text
            self.query_one("#status", Static).update(text, layout=False)

    # ------------------------------------------------------------ reading
    async def _safe_read(self, fn, *args, ahead=None):
        """A read that reports trouble in the banner instead of dying; None on failure, and
        when the console closed while it ran (its widgets are gone then). ``ahead``:
        a read already started (``DbRunner.read_ahead``) to wait for instead."""
        try:
            result = await (self.runner.result(ahead) if ahead is not None else self.runner.read(fn, *args))
        except Exception as exc:
            if not self.is_running:  # the console closed while the read ran: no widget is left to tell
                return None
            if isinstance(exc, DeskError):
                raise
            # database gone, locked for long, server down, file damaged
            then = ("the desk file is damaged — an admin can put the last backup in its place"
                    " (deskconsole restore BACKUP --yes); retrying" if damaged(exc) else "retrying")
            self.show_trouble(f"database trouble: {first_line(exc)} — {then}; nothing you typed is lost")
            return None
        if not self.is_running:
            return None
        self.clear_trouble()
        return result

    def show_trouble(self, text: str) -> None:
        self.db_trouble = text
        banner = self.query_one("#banner", Static)
        banner.update(text)
        banner.display = True

    def clear_trouble(self) -> None:
        if self.db_trouble:
            self.db_trouble = None
            self.query_one("#banner").display = False
            self.notify("database back", timeout=3)

    @work(exclusive=True, group="count")
    async def reload_queue(self, keep_id: int | None = None) -> None:
        now = self.desk.now()
        size = max(self.queue.size.height, 24) * 3  # the window the queue asks for first
        first, self._first_read = self._first_read, None
        if first is not None and keep_id is None:  # the console's first load: read while the screen was made
            found = await self._safe_read(None, ahead=first)
        elif self.queue.scroll_offset.y < size // 3:  # at the top: its rows come with the count, in one read
            found = await self._safe_read(q.count_and_page, self.desk, self.spec, 0, size, now)
        else:  # further down: the count, then the rows on screen (the queue asks for them)
            total = await self._safe_read(q.count, self.desk, self.spec, now)
            found = None if total is None else (total, None)
        if found is not None:
            total, first = found
            self.queue.reset(total, keep_id=keep_id, first=first)
            self.update_status(total)
            self.refresh_urgent()
        if not self.live_started:  # also when the read failed: the feed watch notices the database come back
            self.run_worker(self.start_live(), group="live")

    @on(QueueView.NeedRows)
    def on_need_rows(self, message: QueueView.NeedRows) -> None:
        self.fetch_rows(message.offset, message.limit)

    @work(group="rows")
    async def fetch_rows(self, offset: int, limit: int) -> None:
        rows = await self._safe_read(q.page, self.desk, self.spec, offset, limit, self.desk.now())
        if rows is None:
            self.queue._asked.discard(offset)  # ask again on the next move
            return
        self.queue.fill(offset, rows)

    @on(QueueView.Selected)
    def on_selected(self, message: QueueView.Selected) -> None:
        self.selected_key = message.row.key if message.row else None
        self.load_detail(self.selected_key)

    @work(exclusive=True, group="detail")
    async def load_detail(self, key: str | None) -> None:
        pane, timers = self.query_one(DetailPane), self.query_one(TimersPane)
        if key is None:
            pane.show(None, self.desk.now(), message="No tickets match this filter" if not self.queue.total else None)
            timers.show(None, [])
            return
        try:
            t = await self._safe_read(detail, self.desk, key, self.desk.now())
        except DeskError as exc:
            pane.show(None, self.desk.now(), message=str(exc))
            return
        if t is None:
            return
        pane.show(t, self.desk.now())
        timers.show(t.key, t.clocks)
        if t.service and t.kind == "incident":
            self.load_service(t.key)  # after the detail, on the read thread
        self.load_suggestions(t.key)

    @work(exclusive=True, group="service")
    async def load_service(self, key: str) -> None:
        """The ticket's service in the map (neighbours, their open incidents, the
        impact suggestion), read after its detail and shown in it."""
        try:
            found = await self.runner.read(service_context, self.desk, key, self.desk.now())
        except Exception:  # no map is no loss: the detail stands
            return
        if self.is_running and self.selected_key == key and found is not None:
            self.query_one(DetailPane).show_service(key, found)

    @work(exclusive=True, group="urgent")
    async def refresh_urgent(self) -> None:
        urgent = await self._safe_read(q.most_urgent, self.desk, self.spec, self.desk.now())
        if urgent is not None:
            self.query_one(TimersPane).show_urgent(urgent)

    # ------------------------------------------------------------ live
    async def poll_feed(self) -> bool:
        """Read what changed since the last poll and show it; False if the database could not be read."""
        if self.feed is None:
            self.feed = await self._safe_read(FeedReader, self.desk.db)
            return self.feed is not None
        changes = await self._safe_read(self.feed.poll)
        if changes:
            self.apply_changes(changes.tickets)
            if any(action.startswith("kb_") for _, action, _ in changes.actions):
                self.knowledge_changed()
        return self.db_trouble is None

    def apply_changes(self, ticket_ids: set[int]) -> None:
        """Other people's (or our own) changes: refresh counts and rows, keep
        the cursor on the same ticket and the marks as they are."""
        current = self.queue.current
        self.refresh_live(current.id if current else None)
        if current and current.id in ticket_ids:
            self.load_detail(current.key)

    @work(exclusive=True, group="live")
    async def refresh_live(self, keep_id: int | None) -> None:
        """The count and the rows around the screen in one read, swapped in
        at once: the queue never blanks, unchanged lines are not repainted."""
        now = self.desk.now()
        offset, limit = self.queue.window()
        result = await self._safe_read(q.count_and_page, self.desk, self.spec, offset, limit, now)
        if result is None:
            return
        total, rows = result
        self.queue.swap(total, offset, rows, keep_id=keep_id)
        self.update_status(total)
        self.refresh_urgent()

    @on(SweepDone)
    def on_sweep(self, message: "SweepDone") -> None:
        report = message.report
        if report.crossings:
            self.apply_changes(set())
        # every sweep (each few seconds) also tells what waited for the quiet minute to end
        self.show_toasts(self.sla_toasts.add(report.latest) + self.sla_toasts.due())

    def show_toasts(self, toasts) -> None:
        for t in toasts:
            self.notify(t.message, title=t.title, severity=t.severity, timeout=t.timeout)

    # ------------------------------------------------------------ movement
    def action_cursor(self, delta: int) -> None:
        self.queue.move(delta)

    def action_top(self) -> None:
        self.queue.move_to(0)

    def action_bottom(self) -> None:
        self.queue.move_to(self.queue.total - 1)

    def action_page(self, direction: int) -> None:
        self.queue.move(direction * self.queue.page_size)

    @property
    def compact(self) -> bool:
        """Narrow and short (e.g. 80x24): the queue alone, the detail + timers on enter."""
        return self.main_screen.has_class("-narrow") and self.main_screen.has_class("-short")

    def _focus_moved(self, widget) -> None:
        """The detail + timers show in the queue's place (in the compact layout) while
        the focus is in them; back in the queue, the queue shows again. (A dialog
        or the bar taking the focus changes nothing.)"""
        if widget is None:
            return
        if widget is self.queue:
            self.main_screen.remove_class("-detail-open")
        elif self.main_screen.query_one("#side") in widget.ancestors_with_self:
            self.main_screen.add_class("-detail-open")

    def action_focus_detail(self) -> None:
        if self.bar_mode is None:
            self.main_screen.add_class("-detail-open")  # before the focus moves: no frame without either pane
            self.query_one(DetailPane).focus()

    def action_back(self) -> None:
        """esc: closes the bar; from the detail, back to the queue; in the queue,
        the filter a jump replaced comes back."""
        if self.bar_mode is not None:
            self.close_bar()
            return
        if self.queue.has_focus and self.jump_return is not None:
            current = self.queue.current
            self.set_filter(self.jump_return, keep_id=current.id if current else None)
        self.main_screen.remove_class("-detail-open")
        self.queue.focus()

    def action_mark(self) -> None:
        self.queue.toggle_mark()
        self.queue.move(1)
        self.update_status()

    @work(exclusive=True, group="marks")
    async def action_mark_all(self) -> None:
        """Mark every ticket of the view (up to MARK_ALL_LIMIT), wherever it is
        in the queue; when they all are marked already, clear the marks."""
        found = await self._safe_read(q.ids, self.desk, self.spec, self.desk.now(), MARK_ALL_LIMIT + 1)
        if found is None:
            return
        view = set(found[:MARK_ALL_LIMIT])
        if view and view <= self.queue.marks:
            self.queue.marks.clear()
        else:
            if len(found) > MARK_ALL_LIMIT:
                self.notify(f"marked the first {MARK_ALL_LIMIT:,} of {self.queue.total:,}; narrow the filter (/) "
                            "to act on the rest", severity="warning", timeout=8)
            self.queue.marks |= view
        self.queue.refresh()
        self.update_status()

    def action_reload(self) -> None:
        current = self.queue.current
        self.reload_queue(keep_id=current.id if current else None)

    # ------------------------------------------------------------ filter and command bar
    def action_filter(self) -> None:
        self.open_bar("filter", self.spec.text)

    def action_command_line(self) -> None:
        self.open_bar("command", "")

    def open_bar(self, mode: str, text: str) -> None:
        bar = self.query_one("#bar", Input)
        self.bar_mode = mode
        bar.placeholder = "query, e.g. is:open prio:P1,P2 team:ops  (enter: keep · esc: undo)" if mode == "filter" \
            else "INC-42 to jump, or: take, ack, assign LOGIN, status S, resolve CODE, reply TEXT, q"
        bar.border_title = mode
        bar.value = text
        bar.display = True
        self._bar_before = self.spec.text
        bar.focus()

    def close_bar(self, *, undo: bool = True) -> None:
        if self.bar_mode == "filter" and undo and self.spec.text != self._bar_before:
            self.set_filter(self._bar_before)
        self.bar_mode = None
        self.query_one("#bar", Input).display = False
        self.query_one("#bar-error").display = False
        self.queue.focus()

    def bar_error(self, text: str | None) -> None:
        err = self.query_one("#bar-error", Static)
        err.update(text or "")
        err.display = bool(text)

    @on(Input.Changed, "#bar")
    def on_bar_changed(self, event: Input.Changed) -> None:
        if self.bar_mode != "filter":
            return
        spec = q.QueueSpec(event.value, self.actor.login)
        try:
            spec.check()
        except QueryError as exc:
            self.bar_error(f"⚠ {exc.render()}")
            return
        self.bar_error(None)
        self.set_timer(0.15, lambda v=event.value: self._apply_if_current(v))

    def _apply_if_current(self, value: str) -> None:
        if self.bar_mode == "filter" and self.query_one("#bar", Input).value == value:
            self.set_filter(as_you_type(value))  # the word being typed is a prefix: "dis" finds "Disk"

    def set_filter(self, text: str, *, keep_id: int | None = None) -> None:
        if text == self.spec.text:
            return
        self.jump_return = None
        self.spec = q.QueueSpec(text, self.actor.login)
        self.queue.cursor = 0
        self.reload_queue(keep_id=keep_id)

    def filter_for_now(self, text: str) -> str:
        """Filter the queue by ``text`` until esc brings back the filter the
        user had (kept through several such filters); returns that filter."""
        before = self.jump_return if self.jump_return is not None else self.spec.text
        self.set_filter(text)
        self.jump_return = before
        return before

    # ------------------------------------------------------------ jumping to a key
    def jump_to(self, key: str) -> None:
        """``:INC-42`` and the palette's "Go to": make the ticket the current one,
        so the detail shows it and every action applies to it. In the view, the
        cursor moves to it, loaded or not. Hidden by the filter, the filter
        becomes ``key:INC-42`` (esc in the queue brings the old one back).
        A key with no ticket says so and moves nothing."""
        for pos, row in self.queue.rows.items():
            if row.key == key:
                self.queue.move_to(pos)
                return
        self.locate(key)

    @work(exclusive=True, group="jump")
    async def locate(self, key: str) -> None:
        found = await self._safe_read(_locate, self.desk, self.spec, key, self.desk.now())
        if found is None:
            return
        tid, position, in_view = found
        exists = tid is not None
        if not exists:
            self.notify(f"{key} does not exist", severity="warning", timeout=4)
        elif position is not None:
            self.queue._keep_id = tid  # the cursor follows it should the view move meanwhile
            self.queue.move_to(position)
        else:
            before = self.filter_for_now(f"key:{key}")
            where = f"far down this view (past the first {JUMP_SCAN:,})" if in_view else f"outside the filter {before!r}"
            self.notify(f"{key} is {where}; showing it alone — esc brings the filter back", timeout=6, markup=False)

    @on(Input.Submitted, "#bar")
    def on_bar_submitted(self, event: Input.Submitted) -> None:
        if self.bar_mode == "filter":
            try:
                q.QueueSpec(event.value, self.actor.login).check()
            except QueryError as exc:
                self.bar_error(f"⚠ {exc.render()}")  # the text stays for fixing
                return
            self.set_filter(as_you_type(event.value))  # what enter keeps is what the queue showed
            self.close_bar(undo=False)
        elif self.bar_mode == "command":
            text = event.value.strip()
            self.close_bar(undo=False)
            if text:
                self.run_command_line(text)

    # ------------------------------------------------------------ reports
    def action_reports(self) -> None:
        """F: the figures (MTTA, MTTR, SLA compliance, backlog, trends); enter on a
        line filters the queue to the tickets behind it (esc brings the filter back)."""
        from deskconsole.core.reports.report import build
        from deskconsole.ui.screens.reports import ReportsScreen

        def load(since: str):
            return self.runner.read(build, self.desk, self.actor.login, "", since=since)

        def drill(query: str | None) -> None:
            if not query:
                return
            self.filter_for_now(query)
            self.notify(f"the tickets behind it: {query} — esc brings the filter back", timeout=6, markup=False)

        self.push_screen(ReportsScreen(load), drill)

    # ------------------------------------------------------------ the service map
    def action_services(self) -> None:
        """S: the service map as a tree; enter on a service filters the queue to
        its open incidents (esc brings the filter back)."""
        from deskconsole.ui.screens.services import ServicesScreen

        def load():
            return self.runner.read(map_and_counts, self.desk)

        def chosen(query: str | None) -> None:
            if query:
                self.filter_for_now(query)
                self.notify(f"{query} — esc brings the filter back", timeout=6, markup=False)

        self.push_screen(ServicesScreen(load), chosen)

    # ------------------------------------------------------------ help
    def action_help(self) -> None:
        """The keys live right now (after the user's keymap), for the focused pane."""
        from deskconsole.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen("deskconsole keys", self.live_keys(), notes=[
            "Actions apply to the marked tickets (space, V), else to the one under the cursor.",
            "ctrl+p opens the command palette: every action, and jumping to a ticket.",
            "/ filters live as you type; the word being typed is a prefix (\"dis\" finds \"Disk\"), and words "
            "search titles, descriptions, replies and notes.",
            f"On a small terminal (under 120 columns and {SHORT_BELOW} lines, e.g. 80x24) the queue takes the "
            "whole screen: enter opens the ticket's detail and SLA timers full-screen (j/k still move to the "
            "next ticket, the arrows scroll), esc closes them.",
            "Changes: c lists the open ones; on a change s moves it on (closing asks how it ended), y approves, "
            "x rejects (with the reason); ctrl+n raises one; L is the week's calendar of changes and windows.",
            "Keys can be remapped in the config's [keys] section by binding id, e.g. \"ticket.take\" = \"T\".",
        ]))

    def live_keys(self) -> list[tuple[str, str]]:
        """(keys, description) for every enabled binding of the focused chain,
        keys of one action joined (``j, ↓``): the desk's own in their order,
        then Textual's (focus, copy, quit)."""
        order = {binding.id: n for n, binding in enumerate(self.BINDINGS)}
        grouped: dict[tuple[str, str], tuple[int, list[str]]] = {}
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not active.enabled or not binding.description:
                continue
            rank = order.get(binding.id, len(order)) if binding.id else len(order)
            _, keys = grouped.setdefault((binding.action, binding.description), (rank, []))
            keys.append(binding.key_display or self.get_key_display(binding))
        ranked = sorted(grouped.items(), key=lambda item: item[1][0])
        return [(", ".join(dict.fromkeys(keys)), description) for (_, description), (_, keys) in ranked]


def _locate(desk, spec: q.QueueSpec, key: str, now: datetime) -> tuple[int | None, int | None, bool]:
    """(the record's id, None when there is none; its position in the view if
    in its first JUMP_SCAN rows; it is in the view further down). On the read thread."""
    try:
        with desk.bound():
            tid = record_id(key)
    except DeskError:
        return None, None, False
    ids = q.ids(desk, spec, now, JUMP_SCAN)
    if tid in ids:
        return tid, ids.index(tid), True
    found = q.rows_by_id(desk, [tid])
    if not found or found[tid].key != key:
        return None, None, False
    in_view = len(ids) == JUMP_SCAN and q.count(desk, q.QueueSpec(f"{spec.text} key:{key}", spec.login), now) > 0
    return tid, None, in_view


def css_file() -> Path:
    return Path(css_path())
