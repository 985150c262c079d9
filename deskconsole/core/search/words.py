"""Search words for the text indexes, never their syntax.

One word, ``prefix*`` or phrase goes to SQLite FTS5 as one quoted FTS5
string (quotes doubled), so nothing a user typed is an FTS5 operator,
column filter or NEAR; to PostgreSQL as a bound argument of
``phraseto_tsquery`` (or one quoted lexeme with ``:*`` for a prefix). A word
with no letter or digit in it (``*``, ``(``, ``--``) searches for nothing.
The ticket query language (``query``) and the knowledge base both quote
their words here; :func:`free_words` splits free text (a knowledge search
box) into such words without ever refusing it.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Protocol

MAX_FREE_TEXT = 2000  # characters of free text looked at
MAX_FREE_WORDS = 32  # words of free text looked up


class SearchWord(Protocol):
    raw: str
    quoted: bool


class Word(NamedTuple):
    """One word (``prefix*`` when it ends so) or, ``quoted``, a phrase."""

    raw: str
    quoted: bool = False


def searchable(text: str) -> bool:
    """Whether ``text`` has a word character for the index to look up (a
    letter or digit; everything else separates words, as FTS5's unicode61
    and PostgreSQL's parser treat it)."""
    return any(ch.isalnum() for ch in text)


def search_text(v: SearchWord) -> tuple[str, bool] | None:
    """(the text to look up, whether it is a ``prefix*``) for one word or
    phrase; None when it has nothing to look up."""
    raw, prefix = v.raw, False
    if not v.quoted and raw.endswith("*"):
        raw, prefix = raw.rstrip("*"), True
    return (raw, prefix) if searchable(raw) else None


def fts_match(v: SearchWord) -> str | None:
    """An FTS5 query for one word, ``prefix*`` or phrase, written as one FTS5
    string (quotes doubled), so nothing the user typed is FTS5 syntax: FTS5
    splits it into words itself and looks them up as a phrase. None when
    there is nothing to look up."""
    found = search_text(v)
    if found is None:
        return None
    raw, prefix = found
    return '"' + raw.replace('"', '""') + '"' + ("*" if prefix else "")


def tsquery_parts(v: SearchWord) -> tuple[str, str] | None:
    """(tsquery function, its text argument) for one word, ``prefix*`` or
    phrase: the text goes to phraseto_tsquery as a bound value (never tsquery
    syntax); a prefix is one quoted lexeme (quotes and backslashes escaped)
    with ``:*`` for to_tsquery."""
    found = search_text(v)
    if found is None:
        return None
    raw, prefix = found
    if prefix:
        return "to_tsquery", "'" + raw.replace("\\", "\\\\").replace("'", "''") + "':*"
    return "phraseto_tsquery", raw


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_FREE = re.compile(r'"([^"]*)"|(\S+)')


def free_words(text: str) -> list[Word]:
    """Free text as search words: ``"a phrase"`` (closed quotes) is a phrase,
    ``word*`` a prefix, anything else a word as written (an unbalanced quote,
    a parenthesis or an operator is just part of a word). Control characters
    separate words; only the first MAX_FREE_TEXT characters and
    MAX_FREE_WORDS searchable words count. Never refuses anything."""
    text = _CONTROL.sub(" ", str(text or "")[:MAX_FREE_TEXT])
    out: list[Word] = []
    for m in _FREE.finditer(text):
        word = Word(m.group(1), True) if m.group(1) is not None else Word(m.group(2))
        if search_text(word) is not None:
            out.append(word)
            if len(out) == MAX_FREE_WORDS:
                break
    return out
