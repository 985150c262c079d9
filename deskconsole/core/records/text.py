"""Ticket text is data: make it safe to print on a terminal, byte for byte visible,
and turn bytes from outside (a pipe) into text only when they are real UTF-8."""

from __future__ import annotations

import re

from deskconsole.errors import ValidationError

# C0 controls (but tab/newline where allowed), DEL, C1 controls, the
# bidirectional overrides/isolates that can make text read backwards, and
# lone surrogates (undecodable bytes of an argument, which no terminal can
# print). One-line text also escapes the Unicode line and paragraph separators.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


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


def utf8(data: bytes, source: str = "standard input") -> str:
    """``data`` as text, refused unless it is valid UTF-8 — no guessing, nothing
    replaced (UTF-8-encoded surrogates are invalid too). The message gives the
    offset of the first bad byte and the way to convert. A leading byte-order
    mark (as some Windows editors write) is dropped."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ValidationError(
            f"{source} is not valid UTF-8 at byte {exc.start} (line {line}); convert it"
            f" (e.g. iconv -f latin1 -t utf-8) and try again"
        ) from None
    return text[1:] if text.startswith("\ufeff") else text
