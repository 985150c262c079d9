"""Printing tickets: aligned tables for people, JSON and CSV for scripts.

Text that came from users is escaped before it reaches the terminal
(:func:`deskconsole.core.records.text.terminal_safe`); JSON and CSV carry it as is.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from dataclasses import asdict
from datetime import datetime
from typing import Iterable, Sequence

from deskconsole.core.clock import ago, exact_duration, short_duration
from deskconsole.core.records.text import terminal_safe
from deskconsole.core.records.views import ClockView, TicketDetail, TicketSummary, json_default

LIST_COLUMNS = (
    "key", "priority", "status", "assignee", "team", "created_at", "updated_at", "version", "title", "sla", "sla_due",
)
SLA_WORDS = {"breached": "BREACH", "warning": "warn", "ok": "ok", "paused": "paused", "met": "met"}


def error_text(exc: BaseException) -> str:
    """An error as the CLI prints it after ``deskconsole: ``, control characters
    escaped: messages quote what the user typed (an argument, an option, an
    environment variable), and an ESC in there must not act on the terminal.
    A query error comes with its query excerpt and caret line (``render()``)."""
    render = getattr(exc, "render", None)
    return escaped(render() if render else str(exc))


def database_failure(desk, exc: BaseException) -> str:
    """What to say (escaped) when the database failed under a command that had
    opened ``desk`` (None if it had not): a damaged SQLite file and the way
    back, a privilege the PostgreSQL server refused, or any other failure."""
    from deskconsole.db import DamagedDatabase, damaged, first_line, refused_by_server

    if desk is not None and desk.is_sqlite and damaged(exc):
        text = str(DamagedDatabase(desk.db.database, first_line(exc)))
    elif refused_by_server(exc):
        text = (f"the database refused this ({first_line(exc)}): your PostgreSQL role may not do it, whatever"
                f" the desk's directory says; nothing was changed — a desk admin gives roles their privileges"
                f" with 'deskconsole admin pg-grants --apply'")
    else:
        text = (f"the database failed ({first_line(exc)}); nothing half-written was kept — check that it is"
                f" reachable (--db, DESKCONSOLE_DB) and has room, then run the command again")
    return escaped(text)


def escaped(text: str) -> str:
    """``text`` for stderr: each line with its control characters escaped."""
    return "\n".join(terminal_safe(line, one_line=True) for line in text.split("\n"))


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with its usage errors (which quote the arguments as given,
    e.g. ``unrecognized arguments: ...``) escaped like every other error."""

    def error(self, message: str):
        super().error(terminal_safe(message, one_line=True))


def dumps(value) -> str:
    return json.dumps(value, default=json_default, ensure_ascii=False, indent=2)


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


def _compact(seconds: int, *, coarse: bool = False) -> str:
    """A countdown in at most six characters: '45s', '12m', '3h 10m', '27h', '5d'
    (``coarse``: whole hours from an hour on)."""
    sign, a = ("-" if seconds < 0 else ""), abs(int(seconds))
    if a < 60:
        text = f"{a}s"
    elif a < 3600:
        text = f"{a // 60}m"
    elif a < 10 * 3600 and not coarse:
        text = f"{a // 3600}h {a % 3600 // 60:02d}m"
    elif a < 48 * 3600:
        text = f"{a // 3600}h"
    else:
        text = f"{a // 86400}d"
    return sign + text


def sla_cell(t: TicketSummary, now: datetime) -> str:
    """The SLA column: the summary as of ``now`` and the wall-clock time to the
    soonest deadline still counting (negative: overdue); at most 12 characters."""
    state = t.sla_state(now)
    if state is None:
        return "-"
    word = SLA_WORDS.get(state, state)
    left = t.sla_left(now)
    if left is None or state in ("paused", "met"):
        return word
    return f"{word} {_compact(left, coarse=state == 'breached')}"


def _list_row(t: TicketSummary, now: datetime) -> dict:
    row = {k: getattr(t, k) for k in LIST_COLUMNS}
    row["sla"] = t.sla_state(now)
    return row


def print_tickets(tickets: Iterable[TicketSummary], fmt: str, now: datetime, out=None) -> int:
    out = out or sys.stdout
    tickets = list(tickets)
    if fmt == "json":
        out.write(dumps([_list_row(t, now) for t in tickets]) + "\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(LIST_COLUMNS)
        for t in tickets:
            row = _list_row(t, now)
            writer.writerow(["" if row[k] is None else _csv_value(row[k]) for k in LIST_COLUMNS])
    else:
        rows = [
            (t.key, t.priority, t.status, t.assignee or "-", t.team or "-", ago(t.created_at, now),
             sla_cell(t, now), terminal_safe(t.title, one_line=True))
            for t in tickets
        ]
        table(rows, ("KEY", "PRIO", "STATUS", "ASSIGNEE", "TEAM", "AGE", "SLA", "TITLE"), out=out)
    return len(tickets)


def _csv_value(value):
    return value.isoformat() if isinstance(value, datetime) else value


def print_detail(t: TicketDetail, fmt: str, now: datetime, out=None, tz=None, *, service=None) -> None:
    """A ticket of any kind; ``tz`` is whose times a change's window shows in (UTC when None); ``service``:
    an incident's service context (``deskconsole.core.records.service_context``), if read."""
    out = out or sys.stdout
    if fmt == "json":
        data = asdict(t)
        if service is not None or t.kind == "incident":
            data["service_context"] = None if service is None else asdict(service)
        out.write(dumps(data) + "\n")
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
    if t.kind != "incident":  # no requester, acknowledgement or first response: an incident's
        fields = [f for f in fields if f[0] not in ("Requester", "Acknowledged", "1st response")]
        fields[0] = ("State", t.status.replace("_", " "))
    if t.problem is not None and t.problem.known_error_at:
        fields.append(("Known error", when(t.problem.known_error_at)))
    if t.problems:
        fields.append(("Problems", ", ".join(t.problems)))
    change_sections: list[str] = []
    if t.change is not None:
        from datetime import timezone

        from deskconsole.cli.change_text import detail_lines

        more, change_sections = detail_lines(t.change, tz or timezone.utc)
        fields[1:1] = more
    if t.reopen_count:
        fields.append(("Reopened", f"{t.reopen_count} time(s)"))
    if t.external_ref:
        fields.append(("External", s(t.external_ref)))
    lines = [f"{t.key}  {s(t.title)}", "", *(f"  {label:<13}{value}" for label, value in fields)]
    if service is not None and not service.empty:
        lines += ["", *service_lines(service)]
    lines += ["", "Description", *("  " + line for line in (terminal_safe(t.description) or "-").splitlines() or ["-"])]
    if t.problem is not None:
        for label, text in (("Root cause", t.problem.root_cause), ("Workaround", t.problem.workaround),
                            ("Fix", t.problem.fix)):
            lines += ["", label, *("  " + line for line in (terminal_safe(text) or "-").splitlines() or ["-"])]
        lines += ["", f"Incidents ({len(t.problem.incidents)})", *(f"  {k}" for k in t.problem.incidents)]
    lines += change_sections
    if t.workarounds:
        lines += ["", "Known errors: workarounds"]
        for w in t.workarounds:
            how = "linked" if w.linked else "matches this incident"
            lines.append(f"  {w.key}  {s(w.title)}  ({how})")
            lines += ["     " + line for line in terminal_safe(w.workaround).splitlines() or [""]]
    if t.clocks:
        lines += ["", "Service levels"]
        lines += ["  " + clock_line(c, now) for c in t.clocks]
    if t.alerts:
        lines += ["", "Alerts"]
        lines += [f"  {a.status:<8} x{a.count:<5} since {a.first_at:%Y-%m-%d %H:%M} UTC, last {a.last_at:%H:%M:%S}"
                  f"  {s(a.summary)}  ({a.source} {_clip(s(a.dedup_key), 40)})" for a in t.alerts]
    if t.ratings:
        lines += ["", "Rating (requester)"]
        lines += [f"  {r.score}/5  {r.at:%Y-%m-%d %H:%M} UTC  {s(r.by or '-')}" for r in t.ratings]
    if t.attachments:
        lines += ["", "Attachments"]
        lines += [f"  {s(a.filename)}  {a.content_type}  {a.size:,} bytes" + ("" if a.kept else "  (over the size limit: not kept)")
                  for a in t.attachments]
    if t.notifications:
        lines += ["", "Notifications"]
        lines += [
            f"  {n.created_at:%Y-%m-%d %H:%M:%S} UTC  {n.state:<6}  {_clip(s(n.recipients), 60)}  {s(n.subject)}"
            for n in t.notifications
        ]
    if t.links:
        lines += ["", "Links"]
        lines += [f"  {ln.kind.replace('_', ' '):<14} {ln.other}  [{ln.status}] {s(ln.title)}" for ln in t.links]
    if t.merged:
        lines += ["", f"Merged here: {', '.join(t.merged)}"]
    lines += ["", f"Conversation ({len(t.entries)})"]
    for e in t.entries:
        tag = {"reply": "REPLY", "email": "MAIL from requester"}.get(e.kind, "NOTE (internal)")
        origin = f" [from {e.ticket}]" if e.ticket != t.key else ""
        lines.append(f"  -- {tag} {s(e.author_name)} ({s(e.author)}) {e.at:%Y-%m-%d %H:%M} UTC{origin}")
        lines += ["     " + line for line in terminal_safe(e.body).splitlines() or [""]]
    lines += ["", "History"]
    for a in t.audit:
        via = f" (by {a.via})" if a.via else ""
        what = f"{a.field}: {s(a.old)} -> {s(a.new)}" if a.field else s(a.new)
        lines.append(f"  {a.at:%Y-%m-%d %H:%M:%S}  {a.actor}{via}  {a.action}  {_clip(what, 160)}")
    out.write("\n".join(lines) + "\n")


def _neighbour(r) -> str:
    notes = [n for n in ("" if r.kind == "service" else r.kind, f"via {r.via}" if r.via else "",
                         f"{r.open_incidents} open" if r.open_incidents else "") if n]
    return r.name + (f" ({', '.join(notes)})" if notes else "")


def service_lines(c) -> list[str]:
    """A ticket's service in the map, as ``show`` prints it."""
    open_ = f"{c.open_incidents} open incident{'s' if c.open_incidents != 1 else ''}"
    lines = [f"Service map: {c.service}{'' if c.kind == 'service' else f' ({c.kind})'}, {open_}"]
    if c.suggestion is not None:
        lines.append(f"  impact {c.suggestion.text}")
    for label, related in (("depends on", c.upstream), ("needed by", c.downstream)):
        if related:
            lines.append(f"  {label:<12}{', '.join(_neighbour(r) for r in related)}")
    if c.changes:
        from deskconsole.core.records.change_text import near_text

        lines.append("  changes in the last 48 h and the next 24 h:")
        lines += [f"    {near_text(e, c.at)}: {terminal_safe(e.title, one_line=True)}"
                  + (f"  ({len(e.collisions)} collisions)" if e.collisions else "") for e in c.changes]
    return lines


def _at(v: datetime, now: datetime) -> str:
    """An instant as ``show`` prints them, with how far off it is either way."""
    rel = f"in {short_duration((v - now).total_seconds())}" if v > now else f"{ago(v, now)} ago"
    return f"{v:%Y-%m-%d %H:%M:%S} UTC ({rel})"


def clock_line(c: ClockView, now: datetime) -> str:
    """``first response  warning   5m 00s left     66% used  due ... (in 5 min)  policy p1``"""
    left = f"{exact_duration(c.left_seconds)} {'left' if c.left_seconds >= 0 else 'overdue'}"
    when = []
    if c.state in ("running", "warning") and c.due_at is not None:
        when.append(f"due {_at(c.due_at, now)}")
    elif c.state == "breached" and (c.breached_at or c.due_at) is not None:
        when.append(f"was due {_at(c.breached_at or c.due_at, now)}")
    if c.paused_since is not None:
        when.append(f"paused since {_at(c.paused_since, now)}")
    if c.stopped_at is not None:
        verb = {"met": "met", "cancelled": "cancelled"}.get(c.state, "stopped")
        when.append(f"{verb} {_at(c.stopped_at, now)}")
    policy = terminal_safe(c.policy, one_line=True)
    return (
        f"{c.label:<16}{c.state:<10}{left:<16}{c.percent_used:>4}% used  {', '.join(when) or '-'}"
        f"  policy {policy}"
    )
