"""Ticket text is data: make it safe to print on a terminal, byte for byte visible."""

from __future__ import annotations

import re

# C0 controls (but tab/newline where allowed), DEL, C1 controls, and the
# bidirectional overrides/isolates that can make text read backwards.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    ch = match.group(0)
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str | None, *, one_line: bool = False) -> str:
    """Escape control characters so that they show as ``\\x1b`` instead of acting."""
    if not text:
        return ""
    pattern = _UNSAFE_ONE_LINE if one_line else _UNSAFE
    return pattern.sub(_escape, text)
