"""The detail pane: one ticket's fields, description, conversation, links
and audit timeline, built as Rich ``Text`` — ticket text is data, never markup."""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from deskconsole.core.clock import ago
from deskconsole.core.records.change_text import near_text
from deskconsole.core.records.text import terminal_safe
from deskconsole.core.records.views import TicketDetail
from deskconsole.ui.change_view import change_warnings, fields_of_change, render_change

SHOW_CHARS = 20_000  # of one description or entry; the CLI's `show` prints all of it
AUDIT_SHOWN = 30


def _safe(text: str | None, limit: int = SHOW_CHARS) -> str:
    text = terminal_safe(text or "")
    if len(text) > limit:
        return text[:limit] + f"\n… ({len(text):,} characters; 'deskconsole show' prints all of it)"
    return text


def _when(at: datetime | None, now: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC ({ago(at, now)} ago)" if at else "-"


def _neighbour(r) -> str:
    notes = [n for n in ("" if r.kind == "service" else r.kind, f"{r.open_incidents} open" if r.open_incidents else "")
             if n]
    return r.name + (f" ({', '.join(notes)})" if notes else "")


SHOWN_NEIGHBOURS = 6  # of each side, in the pane; 'deskconsole services NAME' lists them all


def render_service(c) -> Text:
    """The ticket's service in the map: what it depends on, what depends on it
    (with their open incidents) and the impact suggested, with its reason."""
    out = Text()
    out.append("\nService map", style="bold underline")
    what = "" if c.kind == "service" else f"{c.kind}, "
    out.append(f"  {what}{c.open_incidents} open\n", style="dim")
    if c.suggestion is not None:
        out.append(f"⚑ Impact {c.suggestion.text}\n", style="bold")
    for label, related in (("Depends on", c.upstream), ("Needed by", c.downstream)):
        if related:
            shown = ", ".join(_neighbour(r) for r in related[:SHOWN_NEIGHBOURS])
            more = f" and {len(related) - SHOWN_NEIGHBOURS} more" if len(related) > SHOWN_NEIGHBOURS else ""
            out.append(f"{label:<10} ", style="dim")
            out.append(shown + more + "\n")
    if c.changes:
        out.append("Changes (48 h back, 24 h ahead)\n", style="dim")
        for e in c.changes:
            out.append("! " if e.collisions else "  ", style="bold")
            out.append(f"{near_text(e, c.at)}: ")
            out.append(_safe(e.title, 120) + "\n")
    return out


def render_detail(t: TicketDetail, now: datetime, service=None, tz: tzinfo = timezone.utc) -> Text:
    out = Text()
    out.append(f"{t.key}  ", style="bold")
    out.append(_safe(t.title, 300), style="bold")
    out.append("\n")
    if t.change is not None:  # what its window runs into, before anything else
        out.append_text(change_warnings(t.change))
    fields = [
        ("Status", t.status.replace("_", " ")), ("Priority", t.priority),
        ("Impact", t.impact or "-"), ("Urgency", t.urgency or "-"),
        ("Team", t.team or "-"), ("Assignee", t.assignee or "nobody"),
        ("Category", t.category or "-"), ("Service", t.service or "-"),
        ("Requester", _safe(f"{t.requester_name or ''} <{t.requester_email}>" if t.requester_email else t.requester_name or "-", 200)),
        ("Created", _when(t.created_at, now)), ("Updated", _when(t.updated_at, now)),
        ("Version", str(t.version)),
    ]
    if t.resolution_code:
        fields.append(("Resolution", f"{t.resolution_code}: {_safe(t.resolution_note, 500)}" if t.resolution_note else t.resolution_code))
    if t.merged_into:
        fields.append(("Merged into", t.merged_into))
    if t.kind != "incident":  # an incident's own: no impact matrix, requester or SLA for a problem
        fields = [f for f in fields if f[0] not in ("Impact", "Urgency", "Requester")]
    if t.problems:
        fields.append(("Problems", ", ".join(t.problems)))
    if t.problem is not None and t.problem.known_error_at:
        fields.append(("Known err.", _when(t.problem.known_error_at, now)))
    if t.change is not None:  # a change's own fields first; its window in the desk's time zone (tz)
        fields = fields_of_change(fields, t.change, tz)
    for name, value in fields:
        out.append(f"{name:<10} ", style="dim")
        out.append(value)
        out.append("\n")
    if service is not None and not service.empty:
        out.append_text(render_service(service))
    for w in t.workarounds:  # first thing under the fields: what to try right now
        how = "linked" if w.linked else "matches this ticket"
        out.append(f"\n⚑ Known error {w.key} ({how}): ", style="bold")
        out.append(_safe(w.title, 120), style="bold")
        out.append("\n  Workaround: ")
        out.append(Text("\n  ").join(Text(line) for line in _safe(w.workaround, 2000).split("\n")))
        out.append("\n")
    if t.problem is not None:  # what a problem is about comes before its description
        for label, text in (("Workaround", t.problem.workaround), ("Root cause", t.problem.root_cause),
                            ("Fix", t.problem.fix)):
            out.append(f"\n{label}\n", style="bold underline")
            out.append(_safe(text) or "(none yet)")
            out.append("\n")
        out.append(f"\nIncidents ({len(t.problem.incidents)})\n", style="bold underline")
        out.append(", ".join(t.problem.incidents) or "(none linked: l links one, or P from the marked incidents)")
        out.append("\n")
    if t.change is not None:  # its approvals, decisions, plans and incidents
        out.append_text(render_change(t.change, tz))
    out.append("\nDescription\n", style="bold underline")
    out.append(_safe(t.description) or "(none)")
    out.append("\n")
    if t.entries:
        out.append(f"\nConversation ({len(t.entries)})\n", style="bold underline")
        for e in t.entries:
            if e.kind == "reply":
                out.append("▶ reply ", style="bold")
            elif e.kind == "email":
                out.append("◀ mail from requester ", style="bold")
            else:
                out.append("✎ internal note ", style="bold italic")
            out.append(f"{_safe(e.author_name, 80)} · {_when(e.at, now)}\n", style="dim")
            body = Text(_safe(e.body))
            if e.kind == "note":
                body.stylize("italic")
                out.append("  │ ")
                out.append_text(Text("\n  │ ").join(Text(line, style="italic") for line in body.plain.split("\n")))
            else:
                out.append("  ")
                out.append_text(Text("\n  ").join(Text(line) for line in body.plain.split("\n")))
            out.append("\n")
    if t.links or t.merged:
        out.append("\nLinks\n", style="bold underline")
        for link in t.links:
            out.append(f"{link.kind.replace('_', ' ')} {link.other} ({link.status}) {_safe(link.title, 120)}\n")
        for key in t.merged:
            out.append(f"merged here: {key}\n")
    if t.alerts:
        out.append("\nAlerts\n", style="bold underline")
        for a in t.alerts:
            out.append(f"{a.status:<8} x{a.count:<4} since {a.first_at:%m-%d %H:%M} ", style="dim")
            out.append(f"{_safe(a.summary, 120)}\n")
    if t.ratings:
        out.append("\nRating\n", style="bold underline")
        for r in t.ratings:
            out.append(f"{r.score}/5 by {_safe(r.by or '-', 60)} · {_when(r.at, now)}\n")
    if t.attachments:
        out.append("\nAttachments\n", style="bold underline")
        for a in t.attachments:
            out.append(f"{_safe(a.filename, 80)} ({a.size:,} bytes{'' if a.kept else ', not kept'})\n")
    if t.notifications:
        out.append("\nNotifications\n", style="bold underline")
        for n in t.notifications:
            out.append(f"{n.created_at:%m-%d %H:%M} {n.state:<6} ", style="dim")
            out.append(f"{_safe(n.recipients, 60)}: {_safe(n.subject, 160)}\n")
    if t.audit:
        out.append("\nHistory\n", style="bold underline")
        for a in t.audit[-AUDIT_SHOWN:]:
            what = a.action if not a.field else f"{a.action} {a.field}"
            change = f"{_safe(a.old, 80)} → {_safe(a.new, 120)}" if a.old else _safe(a.new, 160)
            out.append(f"{a.at:%m-%d %H:%M} {a.actor:<8} ", style="dim")
            out.append(f"{what}: {change}\n")
    return out


def render_suggestions(found) -> Text:
    """The articles suggested for the ticket (published; its service's first)."""
    out = Text()
    out.append("\nSuggested articles", style="bold underline")
    out.append("  (K: knowledge base · reply/note: ctrl+o inserts one)\n", style="dim")
    for s in found:
        out.append(f"{s.key} ", style="bold")
        out.append(_safe(s.title, 200))
        notes = [n for n in ("same service" if s.same_service else "", f"used {s.used}×" if s.used else "",
                             "cited here" if s.cited else "") if n]
        if notes:
            out.append(f"  ({', '.join(notes)})", style="dim")
        out.append("\n")
        if s.summary:
            out.append(f"  {_safe(s.summary, 300)}\n", style="dim")
    return out


class DetailPane(VerticalScroll, can_focus=True):
    """Scrollable; long text wraps."""

    DEFAULT_CSS = """
    DetailPane { height: 1fr; }
    DetailPane > Static { width: 1fr; }
    """

    suggested_for: str | None = None
    shown: tuple | None = None  # (the detail, now, its service context or None) on screen
    zone: tzinfo = timezone.utc  # the desk's time zone (set by the app)

    def compose(self):
        yield Static(Text("Select a ticket (j/k to move)"), id="detail-body", markup=False)
        suggestions = Static("", id="detail-suggest", markup=False)
        suggestions.display = False
        yield suggestions

    def show(self, detail: TicketDetail | None, now: datetime, *, message: str | None = None) -> None:
        body = self.query_one("#detail-body", Static)
        if detail is None:
            body.update(Text(message or "No ticket selected"))
            self.shown = None
        else:
            before = self.shown
            service = before[2] if before is not None and before[0].key == detail.key else None
            self.shown = (detail, now, service)  # the same ticket again keeps its map until it is read again
            body.update(render_detail(detail, now, service, self.zone))
        if detail is None or detail.key != self.suggested_for:
            self.query_one("#detail-suggest").display = False
            self.suggested_for = None

    def show_service(self, key: str, context) -> None:
        """``key``'s service context (read after its detail), in its detail."""
        if self.shown is None or self.shown[0].key != key:
            return
        detail, now, _ = self.shown
        self.shown = (detail, now, context)
        self.query_one("#detail-body", Static).update(render_detail(detail, now, context, self.zone))

    def show_suggestions(self, key: str, found) -> None:
        """The articles suggested for ``key`` (read after its detail), under it."""
        box = self.query_one("#detail-suggest", Static)
        self.suggested_for = key
        box.update(render_suggestions(found) if found else "")
        box.display = bool(found)
