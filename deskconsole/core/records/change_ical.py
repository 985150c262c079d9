"""The change calendar as iCalendar (RFC 5545), for mail clients' calendars.

One VEVENT a change (its UID stays the same, its SEQUENCE is the change's
version, so a client that imports the file again updates the event) and one
a freeze, blackout or maintenance window occurrence (transparent: it blocks
nobody's time). Times are UTC. Text is escaped and lines folded at 75
octets; control characters from ticket text are dropped.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Iterable

from deskconsole.core.records.change_calendar import CalendarEntry, WindowSpan

PRODID = "-//deskconsole//change calendar//EN"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_STATUS = {"draft": "TENTATIVE", "assessment": "TENTATIVE", "awaiting_approval": "TENTATIVE",
           "cancelled": "CANCELLED"}


def calendar(entries: Iterable[CalendarEntry], windows: Iterable[WindowSpan], *, desk_name: str,
             now: datetime) -> str:
    """The whole VCALENDAR, CRLF line ends. UIDs name the desk (by its name)."""
    stamp = _time(now)
    desk_id = _uid_part(desk_name.lower()).strip("-.") or "desk"
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             f"X-WR-CALNAME:{_text(desk_name + ' changes')}"]
    for e in entries:
        what = f"{e.type} change, {e.risk} risk, {e.status.replace('_', ' ')}"
        if e.outcome:
            what += f" ({e.outcome.replace('_', ' ')})"
        body = [what, "Services: " + (", ".join(e.services) or "-")]
        body += [f"Warning: {c.message}" for c in e.collisions]
        if e.description:
            body += ["", e.description]
        lines += ["BEGIN:VEVENT", f"UID:{e.key.lower()}.{desk_id}@deskconsole", f"DTSTAMP:{stamp}",
                  f"DTSTART:{_time(e.start)}", f"DTEND:{_time(e.end)}", f"SUMMARY:{_text(f'{e.key} {e.title}')}",
                  f"DESCRIPTION:{_text(chr(10).join(body))}", f"STATUS:{_STATUS.get(e.status, 'CONFIRMED')}",
                  f"SEQUENCE:{e.version}", f"CATEGORIES:{_text(e.type)},CHANGE"]
        if e.updated_at:
            lines.append(f"LAST-MODIFIED:{_time(e.updated_at)}")
        if e.services:
            lines.append(f"LOCATION:{_text(', '.join(e.services))}")
        lines.append("END:VEVENT")
    for w in windows:
        where = ", ".join(w.services) or "all services"
        lines += ["BEGIN:VEVENT", f"UID:{w.kind}.{_uid_part(w.name)}.{_time(w.start)}.{desk_id}@deskconsole",
                  f"DTSTAMP:{stamp}", f"DTSTART:{_time(w.start)}", f"DTEND:{_time(w.end)}",
                  f"SUMMARY:{_text(f'{w.kind.capitalize()}: {w.name}')}",
                  f"DESCRIPTION:{_text(f'{w.kind} window for {where}' + (chr(10) + w.note if w.note else ''))}",
                  "TRANSP:TRANSPARENT", f"CATEGORIES:{w.kind.upper()}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def _time(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _text(value: str) -> str:
    """A TEXT value: backslash, semicolon, comma and newline escaped."""
    value = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _uid_part(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


def _fold(line: str) -> str:
    """Lines longer than 75 octets go on in lines that start with a space,
    never splitting a UTF-8 character."""
    out, chunk, size, limit = [], [], 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append("".join(chunk))
            chunk, size, limit = [], 0, 74  # the continuation's leading space takes one octet
        chunk.append(char)
        size += width
    out.append("".join(chunk))
    return "\r\n ".join(out)
