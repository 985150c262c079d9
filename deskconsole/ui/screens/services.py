"""The service map as a tree: at the top what nothing depends on, below each
service what it depends on. ``ServicesScreen(load)``: ``load()`` returns
(awaitable) the map and each service's open incidents; the screen never
touches the desk. Dismisses with the query that lists the chosen service's
open incidents (the console filters its queue with it), or None."""

from __future__ import annotations

from typing import Awaitable, Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static, Tree

from deskconsole.core.access.service_map import MapEntry, MapNode, ServiceMap
from deskconsole.ui.screens._common import HintLine, TitleLine, literal

HINT = "enter: open incidents in the queue · space, h, l: fold · ?: help · esc: back"
EXPAND_ALL_UP_TO = 300  # services and items: a bigger map opens with its top level only


def service_query(name: str) -> str:
    """The query that lists a service's open incidents."""
    return f"service:{name} is:open"


def node_label(node: MapNode, counts: dict[str, int]) -> Text:
    """``db-main (database) · ops · 2 open  Main database`` (``↑ see above`` for one shown before)."""
    e = node.entry
    label = literal(e.name, style="bold")
    if e.is_item:
        label.append_text(literal(f" ({e.kind})"))
    open_ = counts.get(e.name, 0)
    if open_:
        label.append_text(literal(f" · {open_} open", style="bold"))
    label.append_text(literal(f" · {e.team or 'no team'}", style="dim"))
    if node.seen:
        label.append_text(literal("  ↑ its dependencies: above", style="dim"))
    elif e.title and e.title != e.name:
        label.append_text(literal(f"  {e.title}", style="dim"))
    return label


def entry_line(e: MapEntry, smap: ServiceMap, counts: dict[str, int]) -> str:
    """The highlighted service in one line: what it needs and what needs it."""
    needed = smap.downstream(e.name)
    needs = smap.upstream(e.name)
    shown = ", ".join(r.name for r in needed[:4]) + (", …" if len(needed) > 4 else "")
    return (f"{e.name}: {counts.get(e.name, 0)} open · depends on {len(needs)} · "
            f"needed by {len(needed)}{': ' + shown if needed else ''}")


class ServiceTree(Tree):
    """The map's tree, with the desk's movement keys."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g,home", "scroll_home", "Top", show=False),
        Binding("G,end", "scroll_end", "Bottom", show=False),
        Binding("l,right", "unfold", "Unfold", show=False),
        Binding("h,left", "fold", "Fold", show=False),
    ]

    DEFAULT_CSS = """
    ServiceTree {
        height: 1fr;
        background: $background;
        padding: 0;
    }
    """

    def action_scroll_home(self) -> None:
        self.move_cursor_to_line(0)

    def action_scroll_end(self) -> None:
        self.move_cursor_to_line(max(self.last_line, 0))

    def action_unfold(self) -> None:
        node = self.cursor_node
        if node is not None and node.allow_expand and not node.is_expanded:
            node.expand()
        elif node is not None and node.children:
            self.action_cursor_down()

    def action_fold(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.is_expanded and node.children:
            node.collapse()
        elif node.parent is not None and not node.parent.is_root:
            self.move_cursor(node.parent)


class ServicesScreen(ModalScreen["str | None"]):
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="services.close"),
        Binding("ctrl+r", "reload", "Again", id="services.reload"),
        Binding("question_mark", "help", "Help", id="services.help"),
    ]

    DEFAULT_CSS = """
    ServicesScreen {
        background: $background;
        padding: 0 1;
    }
    ServicesScreen #services-title {
        margin-bottom: 0;
    }
    ServicesScreen #services-line {
        height: auto;
        width: 100%;
    }
    """

    def __init__(self, load: Callable[[], Awaitable[tuple[ServiceMap, dict[str, int]]]]) -> None:
        super().__init__()
        self.load = load
        self.map: ServiceMap | None = None
        self.counts: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        yield TitleLine("Service map: each service above what it depends on", id="services-title")
        yield Static(literal("reading the map…"), id="services-state", markup=False)
        tree: ServiceTree = ServiceTree("services", id="service-tree")
        tree.show_root = False
        tree.auto_expand = False
        tree.guide_depth = 3
        yield tree
        yield Static("", id="services-line", markup=False)
        yield HintLine(HINT)

    def on_mount(self) -> None:
        self.query_one(ServiceTree).focus()
        self.read()

    def read(self) -> None:
        self.run_worker(self._read(), exclusive=True, group="services")

    async def _read(self) -> None:
        state = self.query_one("#services-state", Static)
        try:
            smap, counts = await self.load()
        except Exception as exc:  # the database is away: say so, keep the screen
            state.update(literal(f"⚠ could not read the map: {exc} — ctrl+r tries again, esc goes back"))
            return
        self.map, self.counts = smap, dict(counts)
        items = sum(1 for e in smap.entries.values() if e.is_item)
        if not len(smap):
            state.update(literal("this desk has no services: define [services.NAME] and [cis.NAME] in the config, "
                                 "then deskconsole admin sync"))
        else:
            state.update(literal(f"{len(smap) - items} services, {items} configuration items · "
                                 f"{sum(self.counts.values())} open incidents on them"))
        self.fill(smap)

    def fill(self, smap: ServiceMap) -> None:
        tree = self.query_one(ServiceTree)
        keep = tree.cursor_node.data if tree.cursor_node is not None else None
        tree.clear()
        expand = len(smap) <= EXPAND_ALL_UP_TO

        def add(parent, node: MapNode) -> None:
            label = node_label(node, self.counts)
            if node.children:
                branch = parent.add(label, data=node.entry.name, expand=expand)
                for child in node.children:
                    add(branch, child)
            else:
                parent.add_leaf(label, data=node.entry.name)

        for node in smap.tree():
            add(tree.root, node)
        tree.root.expand()
        line = 0
        if keep is not None:
            for n, tree_line in enumerate(tree._tree_lines):
                if tree_line.node.data == keep:
                    line = n
                    break
        tree.move_cursor_to_line(line)
        self.show_line()

    def show_line(self) -> None:
        node = self.query_one(ServiceTree).cursor_node
        box = self.query_one("#services-line", Static)
        if node is None or self.map is None or node.data not in self.map:
            box.update("")
            return
        box.update(literal(entry_line(self.map.entry(node.data), self.map, self.counts)))

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        event.stop()
        self.show_line()

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        event.stop()
        if event.node.data:
            self.dismiss(service_query(event.node.data))

    @property
    def selected(self) -> str | None:
        node = self.query_one(ServiceTree).cursor_node
        return node.data if node is not None else None

    def action_reload(self) -> None:
        self.read()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_help(self) -> None:
        from deskconsole.ui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen("Service map keys", [
            ("j, k, ↑, ↓", "move"),
            ("g, G", "first, last"),
            ("l, →", "unfold (then into it)"),
            ("h, ←", "fold, or up to the service above"),
            ("space", "fold or unfold"),
            ("enter", "the service's open incidents in the queue (esc there brings the old filter back)"),
            ("ctrl+r", "read the map again"),
            ("esc, q", "back to the queue"),
        ], notes=[
            "Each service is shown above what it depends on; at the top is what nothing depends on. "
            "Configuration items (hosts, databases, queues ...) show their type.",
            "A service met again further down says so; its dependencies are listed where it first appears.",
            "The map is the desk's own: [services.NAME] and [cis.NAME] with depends_on in the config, "
            "kept in the desk by 'deskconsole admin sync'. 'deskconsole services NAME' prints one service's "
            "upstream and downstream.",
        ]))
