"""Printing tickets: aligned tables for people, JSON and CSV for scripts.

Text that came from users is escaped before it reaches the terminal
(:func:`deskconsole.core.text.terminal_safe`); JSON and CSV carry it as is.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Iterable, Sequence

from deskconsole.core.clock import ago
from deskconsole.core.text import terminal_safe
from deskconsole.core.views import TicketDetail, TicketSummary

LIST_COLUMNS = ("key", "priority", "status", "assignee", "team", "created_at", "updated_at", "version", "title")


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value):
        return asdict(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(value) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False, indent=2)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def table(rows: Sequence[Sequence[str]], headers: Sequence[str], *, flex: int = -1, out=None) -> None:
    """Print aligned columns; column ``flex`` takes what width is left (clipped on a terminal)."""
    out = out or sys.stdout
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    flex = flex % len(headers)
    if out.isatty():
        room = shutil.get_terminal_size((120, 24)).columns - sum(w + 2 for i, w in enumerate(widths) if i != flex)
        widths[flex] = max(10, min(widths[flex], room))

    def fmt(cells: Sequence[str]) -> str:
        parts = []
        for i, cell in enumerate(cells):
            if i == flex:
                cell = _clip(cell, widths[i])
            parts.append(cell if i == len(cells) - 1 else cell.ljust(widths[i]))
        return "  ".join(parts)

    out.write(fmt(headers).rstrip() + "\n")
    for row in rows:
        out.write(fmt(row).rstrip() + "\n")


def print_tickets(tickets: Iterable[TicketSummary], fmt: str, now: datetime, out=None) -> int:
    out = out or sys.stdout
    tickets = list(tickets)
    if fmt == "json":
        out.write(dumps([{k: getattr(t, k) for k in LIST_COLUMNS} for t in tickets]) + "\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(LIST_COLUMNS)
        for t in tickets:
            writer.writerow(["" if getattr(t, k) is None else _csv_value(getattr(t, k)) for k in LIST_COLUMNS])
    else:
        rows = [
            (t.key, t.priority, t.status, t.assignee or "-", t.team or "-", ago(t.created_at, now),
             terminal_safe(t.title, one_line=True))
            for t in tickets
        ]
        table(rows, ("KEY", "PRIO", "STATUS", "ASSIGNEE", "TEAM", "AGE", "TITLE"), out=out)
    return len(tickets)


def _csv_value(value):
    return value.isoformat() if isinstance(value, datetime) else value


def print_detail(t: TicketDetail, fmt: str, now: datetime, out=None) -> None:
    out = out or sys.stdout
    if fmt == "json":
        out.write(dumps(asdict(t)) + "\n")
        return
    s = lambda v: terminal_safe(v, one_line=True) if v else "-"  # noqa: E731
    when = lambda v: f"{v:%Y-%m-%d %H:%M:%S} UTC ({ago(v, now)} ago)" if v else "-"  # noqa: E731
    requester = " ".join(p for p in (s(t.requester_name) if t.requester_name else "", f"<{s(t.requester_email)}>" if t.requester_email else "") if p) or "-"
    fields = [
        ("Status", t.status + (f" (merged into {t.merged_into})" if t.merged_into else "")),
        ("Priority", t.priority + (f"  (impact {t.impact}, urgency {t.urgency})" if t.impact else "")),
        ("Team", t.team or "-"),
        ("Assignee", t.assignee or "-"),
        ("Requester", requester),
        ("Category", t.category or "-"),
        ("Service", t.service or "-"),
        ("Created", f"{when(t.created_at)} by {s(t.created_by)} via {s(t.source)}"),
        ("Updated", f"{when(t.updated_at)}  (version {t.version})"),
        ("Acknowledged", when(t.acknowledged_at) + (f" by {s(t.acknowledged_by)}" if t.acknowledged_by else "")),
        ("1st response", when(t.first_response_at)),
        ("Resolved", when(t.resolved_at) + (f"  [{s(t.resolution_code)}] {s(t.resolution_note)}" if t.resolution_code else "")),
        ("Closed", when(t.closed_at)),
    ]
    if t.reopen_count:
        fields.append(("Reopened", f"{t.reopen_count} time(s)"))
    if t.external_ref:
        fields.append(("External", s(t.external_ref)))
    lines = [f"{t.key}  {s(t.title)}", "", *(f"  {label:<13}{value}" for label, value in fields)]
    lines += ["", "Description", *("  " + line for line in (terminal_safe(t.description) or "-").splitlines() or ["-"])]
    if t.links:
        lines += ["", "Links"]
        lines += [f"  {ln.kind.replace('_', ' '):<14} {ln.other}  [{ln.status}] {s(ln.title)}" for ln in t.links]
    if t.merged:
        lines += ["", f"Merged here: {', '.join(t.merged)}"]
    lines += ["", f"Conversation ({len(t.entries)})"]
    for e in t.entries:
        tag = "REPLY" if e.kind == "reply" else "NOTE (internal)"
        origin = f" [from {e.ticket}]" if e.ticket != t.key else ""
        lines.append(f"  -- {tag} {s(e.author_name)} ({s(e.author)}) {e.at:%Y-%m-%d %H:%M} UTC{origin}")
        lines += ["     " + line for line in terminal_safe(e.body).splitlines() or [""]]
    lines += ["", "History"]
    for a in t.audit:
        via = f" (as {a.actor}, by {a.via})" if a.via else ""
        what = f"{a.field}: {s(a.old)} -> {s(a.new)}" if a.field else s(a.new)
        lines.append(f"  {a.at:%Y-%m-%d %H:%M:%S}  {a.actor}{via}  {a.action}  {_clip(what, 160)}")
    out.write("\n".join(lines) + "\n")
