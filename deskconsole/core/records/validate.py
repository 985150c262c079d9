"""Checks on user-supplied values, with messages that say what to send instead."""

from __future__ import annotations

import re

from deskconsole.config import EMAIL_RE, LEVELS, PRIORITIES
from deskconsole.errors import ValidationError

TITLE_MAX = 300
TEXT_MAX = 4 * 1024 * 1024  # characters in a description, reply or note


# Everything str.splitlines() breaks a line at: \n \r \v \f, the file/group/record
# separators, NEL and the Unicode line and paragraph separators.
LINE_BREAK = re.compile("[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def title(value: str) -> str:
    """A ticket's title: one line of text, at most TITLE_MAX characters.

    Whitespace around it is stripped; a title that is empty after that is
    refused. A line break of any kind (``\\n``, ``\\r``, vertical tab, form feed,
    NEL, U+2028/U+2029...) is refused too: a title is one line everywhere it
    shows (a queue row, a mail subject), and the details belong in the
    description. Other control characters — an ANSI escape, a bell, a
    bidi override, as mail and alert intake deliver them — are kept as the
    data they are and shown escaped (``\\x1b``) wherever a title is printed
    (``terminal_safe``); a user typing one gets exactly what they sent back.
    """
    text = (value or "").strip()
    if not text:
        raise ValidationError("a ticket needs a title; give a short summary of the problem")
    brk = LINE_BREAK.search(text)
    if brk:
        raise ValidationError(f"a title is one line, and this one has a line break (U+{ord(brk.group()):04X}"
                              f" at character {brk.start() + 1}); put the details in the description")
    if len(text) > TITLE_MAX:
        raise ValidationError(f"the title is {len(text)} characters; keep it to {TITLE_MAX} and put the rest in the description")
    return no_nul(text, "the title")


def body(value: str, what: str, *, required: bool = True) -> str:
    text = value if value is not None else ""
    if required and not text.strip():
        raise ValidationError(f"{what} is empty; write something first")
    if len(text) > TEXT_MAX:
        raise ValidationError(f"{what} is {len(text):,} characters; the limit is {TEXT_MAX:,} — attach a file instead")
    return no_nul(text, what)


SURROGATE = re.compile("[\ud800-\udfff]")  # a lone UTF-16 surrogate: not text


def no_nul(text: str, what: str) -> str:
    """Text every backend can store: no NUL, and real Unicode (not undecodable bytes)."""
    if "\x00" in text:
        raise ValidationError(f"{what} contains a NUL character, which cannot be stored; remove it")
    if SURROGATE.search(text):
        raise ValidationError(f"{what} is not UTF-8 text; convert it (e.g. with iconv -t UTF-8) and try again")
    return text


def level(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    v = value.strip().lower()
    aliases = {"h": "high", "m": "medium", "med": "medium", "l": "low", "1": "high", "2": "medium", "3": "low"}
    v = aliases.get(v, v)
    if v not in LEVELS:
        raise ValidationError(f"{what} {value!r} is not a level; use high, medium or low")
    return v


def priority(value: str | None) -> str | None:
    if value is None:
        return None
    v = value.strip().upper()
    if v in ("1", "2", "3", "4"):
        v = "P" + v
    if v not in PRIORITIES:
        raise ValidationError(f"priority {value!r} is not valid; use one of {', '.join(PRIORITIES)}")
    return v


def email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    v = value.strip()
    if not EMAIL_RE.match(v):
        raise ValidationError(f"{value!r} is not an e-mail address")
    return v


def optional_text(value: str | None, what: str) -> str | None:
    if value is None or not value.strip():
        return None
    return no_nul(value.strip(), what)
