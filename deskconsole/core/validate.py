"""Checks on user-supplied values, with messages that say what to send instead."""

from __future__ import annotations

import re

from deskconsole.config import EMAIL_RE, LEVELS, PRIORITIES
from deskconsole.core.errors import ValidationError

TITLE_MAX = 300
TEXT_MAX = 4 * 1024 * 1024  # characters in a description, reply or note


def title(value: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError("a ticket needs a title; give a short summary of the problem")
    if "\n" in text or "\r" in text:
        raise ValidationError("a title is one line; put the details in the description")
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


_SURROGATE = re.compile("[\ud800-\udfff]")


def no_nul(text: str, what: str) -> str:
    """Text every backend can store: no NUL, and real Unicode (not undecodable bytes)."""
    if "\x00" in text:
        raise ValidationError(f"{what} contains a NUL character, which cannot be stored; remove it")
    if _SURROGATE.search(text):
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
