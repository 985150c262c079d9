"""The desk's query language -> Peewee expressions.

Shared by ``deskconsole ls QUERY`` and the console's ``/`` filter, which
re-parses on every keystroke: parsing is pure (no database), fast, and every
error carries the exact span of the offending text.

Syntax (terms are separated by whitespace and ANDed)::

    disk "full disk" INC-42  disk*      words / "phrases" / prefixes* search title and description
                                        (whole words, through the text index), a key matches its ticket
    status:new,assigned                 field:value[,value...] -- values are ORed
    -status:closed   -word              a leading '-' negates a term
    title:"disk full"                   values may be quoted (\\" and \\\\ escape inside)
    prio:P1,P2  prio:<=P2  prio:>P3     priority (P1 is the highest)
    team:ops  category:hardware  service:mail  assignee:me|none|LOGIN
    requester:ann                       name or e-mail, substring
    key:INC-1,INC-7   title:x  desc:x
    created:>-24h  updated:<-7d  created:>=2026-11-01  created:2026-11-01..2026-11-20
    created:2026-11-01  created:>2026-11-01T14:00  created:today,yesterday
    resolved:>-30d  acked:today  breached:-7d   when it was resolved, first acknowledged,
                                        or an SLA clock of it breached
    sla:breached,warning  -sla:none    SLA summary: breached|warning|ok|paused|met|none
    is:open|closed|assigned|unassigned|acked|unacked|merged|reopened
    sort:created sort:-prio sort:due    several sort terms apply in order
                                        (default: sort:due sort:prio sort:created)

Nothing here builds SQL text: the result is a Peewee expression whose values
are all bound parameters, so any input is searched for literally. Words and
phrases go to the text index (SQLite FTS5, PostgreSQL tsvector + GIN; see
migration v7) as plain words: each is quoted for FTS5 (no operator, column
filter or NEAR can be written) or handed to phraseto_tsquery; a word with no
letter or digit in it (``*``, ``(``, ``--``) searches for nothing and is left
out. ``select_tickets`` ranks by relevance (bm25 / ts_rank) when the query
has words and no ``sort:``.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, NamedTuple

from peewee import SQL, Case, Expression, Table, fn

from deskconsole.binding import on_desk
from deskconsole.errors import ValidationError
from deskconsole.core.records import change_lifecycle, lifecycle, problem_lifecycle
from deskconsole.core.keys import KIND_OF_PREFIX
from deskconsole.core.records.kinds import incidents, of_kind, other_kinds_exist
from deskconsole.core.search.words import fts_match as _fts_match, searchable as _searchable, tsquery_parts as _tsquery_parts
from deskconsole.migrations import ENTRY_TSVECTOR, TICKET_TSVECTOR
from deskconsole.models import KIND_PREFIXES, TICKET_PREFIX, SlaClock, Ticket

UTC = timezone.utc

MAX_LENGTH = 2000
# the states of every kind of record (the incident's first, in its order)
STATUSES = tuple(dict.fromkeys(lifecycle.STATUSES + problem_lifecycle.STATUSES + change_lifecycle.STATUSES))
OPEN = tuple(dict.fromkeys(lifecycle.OPEN + problem_lifecycle.OPEN + change_lifecycle.OPEN))
CLOSED = tuple(s for s in STATUSES if s not in OPEN)
KINDS = tuple(KIND_PREFIXES)
KIND_ALIASES = {kind: kind for kind in KINDS}
KIND_ALIASES.update({"all": "all", "any": "all"})
KIND_ALIASES.update({kind + "s": kind for kind in KINDS})
KIND_ALIASES.update({prefix.lower(): kind for kind, prefix in KIND_PREFIXES.items()})
PRIORITIES = ("P1", "P2", "P3", "P4")
MAX_TICKET_ID = 2**31 - 1  # PostgreSQL INTEGER
MAX_RELATIVE_SECONDS = 200 * 366 * 86400
MIN_YEAR, MAX_YEAR = 1900, 9998

# canonical field -> help example; the order here is the order shown in errors
FIELDS: dict[str, str] = {
    "status": "status:open",
    "prio": "prio:P1,P2",
    "team": "team:ops",
    "assignee": "assignee:me",
    "requester": "requester:ann",
    "category": "category:network",
    "service": "service:mail",
    "key": f"key:{TICKET_PREFIX}-42",
    "title": 'title:"disk full"',
    "description": "desc:timeout",
    "created": "created:>-24h",
    "updated": "updated:<-7d",
    "resolved": "resolved:>-30d",
    "acked": "acked:today",
    "breached": "breached:>-7d",
    "sla": "sla:breached,warning",
    "is": "is:open",
    "kind": "kind:problem",
    "sort": "sort:-created",
}
ALIASES: dict[str, str] = {name: name for name in FIELDS}
ALIASES.update({"priority": "prio", "desc": "description", "acknowledged": "acked"})

IS_FLAGS = ("open", "closed", "assigned", "unassigned", "acked", "unacked", "merged", "reopened")
# Ticket.sla, the summary the SLA engine keeps; "none" = no clocks (NULL)
SLA_STATES = ("breached", "warning", "ok", "paused", "met", "none")
SLA_ALIASES = {name: name for name in SLA_STATES}
SLA_ALIASES.update({"breach": "breached", "warn": "warning"})  # as the ls table shows them
SORT_FIELDS = ("due", "prio", "created", "updated", "key", "status", "title")
SORT_ALIASES = {name: name for name in SORT_FIELDS}
SORT_ALIASES.update({
    "priority": "prio", "id": "key", "created_at": "created", "updated_at": "updated", "sla_due": "due",
})
DEFAULT_SORT = ("due", "prio", "created")
REF_FIELDS = ("team", "category", "service", "assignee")

class _Pattern:
    """A regular expression compiled when it is first used: every command
    imports this module, and most use few of these (or none)."""

    def __init__(self, *args):
        self.args = args

    def __getattr__(self, name):  # match, fullmatch, search, sub... (once each: then found on the instance)
        method = getattr(re.compile(*self.args), name)
        setattr(self, name, method)
        return method


_WS = _Pattern(r"\s+")
_HEAD = _Pattern(r'[^\s:"]*')
_VALUE = _Pattern(r'[^\s,"]*')
_QUOTED_BODY = _Pattern(r'(?:[^"\\]|\\.)*', re.S)
_UNESCAPE = _Pattern(r'\\(["\\])')
# Cc characters other than the usual whitespace, and lone surrogates: no
# database stores them faithfully (PostgreSQL rejects NUL outright).
_BAD_CHAR = _Pattern("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_PRIO = _Pattern(r"(<=|>=|<|>|=)?[pP]?([0-9]{1,3})")
_PRIO_RANGE = _Pattern(r"[pP]?([0-9]{1,3})\.\.[pP]?([0-9]{1,3})")
_TICKET_KEY = _Pattern(rf"(?:{TICKET_PREFIX}-|#)([0-9]{{1,12}})", re.IGNORECASE)
_KEY_VALUE = _Pattern(rf"(?:{TICKET_PREFIX}-|#)?([0-9]{{1,12}})", re.IGNORECASE)
_OTHER_KEY = _Pattern(r"([A-Za-z]{2,5})-[0-9]+")
_DATE_OP = _Pattern(r"(>=|<=|>|<|=)?")
_RELATIVE = _Pattern(r"([+-])([0-9]{1,12})([smhdw])", re.IGNORECASE)
_UNSIGNED_RELATIVE = _Pattern(r"([0-9]{1,12})([smhdw])", re.IGNORECASE)
_DAY = _Pattern(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_AT = _Pattern(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?([Zz])?")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_UNIT_NAMES = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_NAMED_DAYS = {"today": 0, "yesterday": -1, "tomorrow": 1}


# --------------------------------------------------------------------------- errors


class QueryError(ValidationError):
    """A mistake in a query, with the span of ``text`` it is about.

    ``str(error)`` is the one-line message; ``render()`` adds the query (a
    window of ``width`` columns around the span when it is longer) and a caret
    line under the offending span.
    """

    def __init__(self, message: str, text: str = "", start: int = 0, end: int | None = None):
        message = " ".join(message.splitlines())
        super().__init__(message)
        self.message = message
        self.text = text
        self.start = max(0, min(start, len(text)))
        self.end = max(self.start, min(start + 1 if end is None else end, len(text)))

    def __str__(self) -> str:
        return self.message

    def render(self, width: int = 60) -> str:
        line, carets = _excerpt(self.text, self.start, self.end, width)
        return f"{self.message}\n  {line}\n  {carets}"


def _cell(ch: str) -> tuple[str, int]:
    """How one character of the query is drawn in render(), and its width."""
    if ch.isspace():
        return " ", 1
    category = unicodedata.category(ch)
    if category[0] == "C":  # controls, format (RTL overrides, zero-width), private, unassigned
        return "?", 1
    if category in ("Mn", "Me"):
        return ch, 0
    return ch, 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _excerpt(text: str, start: int, end: int, width: int) -> tuple[str, str]:
    """The query as render() quotes it: at most ``width`` terminal columns of it
    around the span (the span's start a third of the way in), ``…`` where text
    is left out on either side, and the caret line under the span's columns.
    Only the characters shown are looked at, so a huge query costs nothing."""
    lo, cols = _window(text, start, width)
    hi = lo + cols
    line, carets = ["…"] if lo > 0 else [], [" "] if lo > 0 else []
    marked = 0
    for i in range(lo, hi):
        shown, cells = _cell(text[i])
        line.append(shown)
        if i < start:
            carets.append(" " * cells)
        elif i < end:
            carets.append("^" * cells)
            marked += cells
    if hi < len(text):
        line.append("…")
    if not marked:
        carets.append("^")
    return "".join(line), "".join(carets).rstrip() or "^"


def _window(text: str, start: int, width: int) -> tuple[int, int]:
    """(first index, how many characters) of the part of ``text`` that fits in
    ``width`` columns: up to a third of them before ``start``, the rest after,
    and more before when the text ends early."""
    lo, used = start, 0
    while lo > 0 and used + _cell(text[lo - 1])[1] <= width // 3:
        lo -= 1
        used += _cell(text[lo])[1]
    hi = start
    while hi < len(text) and used + _cell(text[hi])[1] <= width:
        used += _cell(text[hi])[1]
        hi += 1
    while hi == len(text) and lo > 0 and used + _cell(text[lo - 1])[1] <= width:
        lo -= 1
        used += _cell(text[lo])[1]
    return lo, hi - lo


def _q(value: str, limit: int = 40) -> str:
    """A user value quoted for a one-line message (control/format chars escaped)."""
    if len(value) > limit:
        value = value[:limit] + "…"
    return repr(value)


def _names(names, limit: int = 12) -> str:
    names = sorted(names)
    if not names:
        return "none are configured"
    shown = ", ".join(names[:limit])
    return shown + (f" (and {len(names) - limit} more)" if len(names) > limit else "")


def _suggest(word: str, choices) -> str:
    """'; did you mean 'x'?' when a choice is close to ``word``, else ';' (messages go on after it)."""
    import difflib  # only when a word is wrong

    close = difflib.get_close_matches(word.lower()[:64], list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ";"


# --------------------------------------------------------------------------- parsed query


class Ref(enum.Enum):
    NONE = "none"  # no team/category/service/assignee
    ME = "me"  # the acting login (assignee only)


@dataclass(frozen=True)
class TimePoint:
    """A point in time as written; resolved against ``now`` and a timezone later.

    kind: "ago" (``seconds`` from now, signed), "day" (a calendar ``day``),
    "relday" (``seconds`` = whole days from today) or "at" (a wall-clock
    ``at``, naive unless written with Z, to ``precision`` seconds).
    """

    kind: str
    seconds: int = 0
    day: date | None = None
    at: datetime | None = None
    precision: int = 60

    def resolve(self, now: datetime, tz: tzinfo) -> tuple[datetime, datetime, bool]:
        """(start, end, whole_period): a day is [midnight, next midnight) in tz."""
        if self.kind == "ago":
            t = now + timedelta(seconds=self.seconds)
            return t, t, False
        if self.kind == "at":
            t = self.at if self.at.tzinfo else self.at.replace(tzinfo=tz)
            return t, t + timedelta(seconds=self.precision), False
        day = self.day if self.kind == "day" else now.astimezone(tz).date() + timedelta(days=self.seconds)
        start = datetime.combine(day, time(), tzinfo=tz)
        end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)
        return start, end, True


@dataclass(frozen=True)
class DateCond:
    """``op`` is one of = < <= > >= or '..' (a range; either end may be open)."""

    op: str
    point: TimePoint | None = None
    upper: TimePoint | None = None  # the range's end; ``point`` is its start


@dataclass(frozen=True)
class QueryValue:
    """One value of a term, as written (``raw``, unquoted) and as understood (``data``)."""

    raw: str
    start: int
    end: int
    data: Any = None
    quoted: bool = False


@dataclass(frozen=True)
class Term:
    """``field`` is a canonical field name, or "text" for a bare word/phrase."""

    field: str
    values: tuple[QueryValue, ...]
    negated: bool = False
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool = False
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class Query:
    text: str
    terms: tuple[Term, ...] = ()
    sort: tuple[SortKey, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.terms and not self.sort


# --------------------------------------------------------------------------- parser


def parse(text: str) -> Query:
    """Parse a query. Pure: no database. Raises QueryError for any mistake."""
    if not isinstance(text, str):
        raise TypeError(f"a query is text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise QueryError(
            f"the query is {len(text):,} characters long; the limit is {MAX_LENGTH:,} — narrow it down",
            text, MAX_LENGTH, len(text),
        )
    bad = _BAD_CHAR.search(text)
    if bad:
        i = bad.start()
        raise QueryError(f"control character U+{ord(text[i]):04X} is not allowed in a query; remove it", text, i, i + 1)
    return _Parser(text).run()


class _Raw(NamedTuple):
    """A value as written, before its field reads it."""

    raw: str
    start: int
    end: int
    quoted: bool


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.n = len(text)

    def fail(self, message: str, start: int, end: int):
        raise QueryError(message, self.text, start, end)

    # -- structure

    def run(self) -> Query:
        text, n = self.text, self.n
        terms: list[Term] = []
        sort: list[SortKey] = []
        i = 0
        while True:
            m = _WS.match(text, i)
            if m:
                i = m.end()
            if i >= n:
                break
            start = i
            negated = False
            if text[i] == "-":
                nxt = text[i + 1] if i + 1 < n else ""
                if not nxt or nxt.isspace():
                    self.fail("a lone '-' negates nothing; put it right before a term, e.g. -status:closed or -printer", i, i + 1)
                if nxt != "-":  # '--' and the like are words, searched for literally
                    negated = True
                    i += 1
            if text[i] == '"':
                phrase, j = self.quoted(i)
                if j < n and not text[j].isspace():
                    self.fail("expected a space after the closing quote", j, j + 1)
                if not phrase.strip():
                    self.fail("empty phrase; put some text between the quotes", i, j)
                terms.append(Term("text", (QueryValue(phrase, i, j, None, True),), negated, start, j))
                i = j
                continue
            j = _HEAD.match(text, i).end()
            if j < n and text[j] == ":":
                name = text[i:j]
                if not name:
                    self.fail("missing field name before ':'; write field:value, e.g. status:open", i, j + 1)
                field = ALIASES.get(name.lower())
                if field is None:
                    self.fail(
                        f"unknown field {_q(name)}{_suggest(name, ALIASES)} fields: {', '.join(FIELDS)}"
                        " (quote text that contains a colon to search for it)",
                        i, j,
                    )
                values, end = self.values(field, name, start, j + 1)
                if field == "sort":
                    if negated:
                        self.fail("a sort cannot be negated; write sort:-FIELD for descending order", start, start + 1)
                    for v in values:
                        if any(k.field == v.data.field for k in sort):
                            self.fail(f"already sorting by {v.data.field}; give each sort field once", v.start, v.end)
                        sort.append(v.data)
                else:
                    terms.append(Term(field, values, negated, start, end))
                i = end
                continue
            if j < n and text[j] == '"':
                self.fail('unexpected \'"\' inside a word; put the whole phrase in quotes: "like this"', j, j + 1)
            word = text[i:j]
            key = _TICKET_KEY.fullmatch(word)
            ticket = int(key.group(1)) if key else None
            if ticket is not None and not 0 < ticket <= MAX_TICKET_ID:
                ticket = None
            terms.append(Term("text", (QueryValue(word, i, j, ticket),), negated, start, j))
            i = j
        return Query(text, tuple(terms), tuple(sort))

    def quoted(self, i: int) -> tuple[str, int]:
        """The unescaped body of the quoted string opening at i, and the index after it."""
        k = _QUOTED_BODY.match(self.text, i + 1).end()
        if k >= self.n or self.text[k] != '"':
            self.fail('unclosed quote; add a closing " (write \\" for a quote inside a phrase)', i, i + 1)
        return _UNESCAPE.sub(r"\1", self.text[i + 1 : k]), k + 1

    def values(self, field: str, name: str, term_start: int, i: int) -> tuple[tuple[QueryValue, ...], int]:
        text, n = self.text, self.n
        out: list[QueryValue] = []
        while True:
            if i >= n or text[i].isspace():
                if not out:
                    where = " right after the ':'" if i < n else ""
                    self.fail(f"{name}: needs a value{where}, e.g. {FIELDS[field]}", term_start, i)
                self.fail("empty value after ','; remove the comma or add a value", i - 1, i)
            if text[i] == ",":
                self.fail("empty value before ','", i, i + 1)
            if text[i] == '"':
                raw, j = self.quoted(i)
                if not raw:
                    self.fail(f'empty value ""; e.g. {FIELDS[field]}', i, j)
                quoted = True
            else:
                j = _VALUE.match(text, i).end()
                if j < n and text[j] == '"':
                    self.fail('unexpected \'"\' inside a value; quote the whole value: field:"like this"', j, j + 1)
                raw = text[i:j]
                quoted = False
            out.append(self.value(field, raw, i, j, quoted))
            i = j
            if i < n and text[i] == ",":
                i += 1
                continue
            if i < n and not text[i].isspace():
                self.fail("expected ',' or a space after the closing quote", i, i + 1)
            return tuple(out), i

    # -- values, field by field

    def value(self, field: str, raw: str, start: int, end: int, quoted: bool) -> QueryValue:
        data = getattr(self, "v_" + field)(_Raw(raw, start, end, quoted))
        return QueryValue(raw, start, end, data, quoted)

    def sub(self, v: _Raw, a: int, b: int) -> tuple[int, int]:
        """The span of raw[a:b] in the query (the whole value if escapes shifted it)."""
        base = v.start + (1 if v.quoted else 0)
        if v.quoted and base + len(v.raw) + 1 != v.end:
            return v.start, v.end
        return base + a, base + b

    def v_status(self, v: _Raw) -> str:
        status = v.raw.strip().lower().replace("-", "_").replace(" ", "_")
        if status in STATUSES:
            return status
        if status in ("open", "opened"):
            self.fail(f"{_q(v.raw)} is not a status; use is:open for every open status (statuses: {', '.join(STATUSES)})", v.start, v.end)
        self.fail(f"unknown status {_q(v.raw)}{_suggest(status, STATUSES)} statuses: {', '.join(STATUSES)}", v.start, v.end)

    def v_prio(self, v: _Raw) -> tuple[str, ...]:
        raw = v.raw.strip()
        m = _PRIO_RANGE.fullmatch(raw)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            self.check_prio(v, lo, hi)
            if lo > hi:
                self.fail(f"the range {_q(raw)} runs backwards; write P{hi}..P{lo}", v.start, v.end)
            wanted = range(lo, hi + 1)
        else:
            m = _PRIO.fullmatch(raw)
            if not m:
                self.fail(f"{_q(raw)} is not a priority; use P1 (highest) to P4, e.g. prio:P1,P2 or prio:<=P2", v.start, v.end)
            op, number = m.group(1) or "=", int(m.group(2))
            self.check_prio(v, number, number)
            wanted = {
                "=": range(number, number + 1),
                "<": range(1, number),
                "<=": range(1, number + 1),
                ">": range(number + 1, 5),
                ">=": range(number, 5),
            }[op]
            if not wanted:
                side = "above" if op == "<" else "below"
                self.fail(f"no priority is {side} P{number}; P1 is the highest and P4 the lowest", v.start, v.end)
        return tuple(f"P{p}" for p in wanted)

    def check_prio(self, v: _Raw, *numbers: int) -> None:
        if any(not 1 <= p <= 4 for p in numbers):
            self.fail(f"{_q(v.raw)}: priorities go from P1 (highest) to P4 (lowest)", v.start, v.end)

    def v_ref(self, v: _Raw, *, lower: bool = True) -> Any:
        raw = v.raw.strip()
        if raw.lower() == "none":
            return Ref.NONE
        if not raw:
            self.fail("empty name", v.start, v.end)
        return raw.lower() if lower else raw

    def v_team(self, v: _Raw):
        return self.v_ref(v)

    v_category = v_team
    v_service = v_team

    def v_assignee(self, v: _Raw):
        raw = v.raw.strip()
        if raw.lower() == "me":
            return Ref.ME
        if raw.startswith("@") and len(raw) > 1:
            raw = raw[1:]
        return self.v_ref(v._replace(raw=raw), lower=False)

    def v_text(self, v: _Raw) -> str:
        return v.raw

    v_requester = v_text
    v_title = v_text
    v_description = v_text

    def v_key(self, v: _Raw) -> int | tuple[str, int]:
        """An incident's id, or (kind, number) of another kind's record."""
        raw = v.raw.strip()
        m = _KEY_VALUE.fullmatch(raw)
        kind = "incident"
        if not m:
            other = _OTHER_KEY.fullmatch(raw)
            kind = KIND_OF_PREFIX.get(other.group(1).upper()) if other else None
            if kind is None:
                examples = ", ".join(f"key:{p}-42" for p in KIND_PREFIXES.values())
                self.fail(f"{_q(raw)} is not a ticket key; write a prefix and a number, e.g. {examples}", v.start, v.end)
            number = int(raw.split("-", 1)[1])
        else:
            number = int(m.group(1))
        if not 0 < number <= MAX_TICKET_ID:
            self.fail(f"{_q(raw)} is not a ticket key; numbers go from 1 to {MAX_TICKET_ID}", v.start, v.end)
        return number if kind == "incident" else (kind, number)

    def v_kind(self, v: _Raw) -> str:
        kind = v.raw.strip().lower()
        if kind not in KIND_ALIASES:
            names = KINDS + ("all",)
            self.fail(f"unknown kind:{_q(v.raw)[1:-1]}{_suggest(kind, names)} use one of kind:{', kind:'.join(names)}",
                      v.start, v.end)
        return KIND_ALIASES[kind]

    def v_is(self, v: _Raw) -> str:
        flag = v.raw.strip().lower()
        if flag not in IS_FLAGS:
            self.fail(f"unknown is:{_q(v.raw)[1:-1]}{_suggest(flag, IS_FLAGS)} use one of is:{', is:'.join(IS_FLAGS)}", v.start, v.end)
        return flag

    def v_sla(self, v: _Raw) -> str:
        state = v.raw.strip().lower()
        if state not in SLA_ALIASES:
            self.fail(
                f"unknown sla:{_q(v.raw)[1:-1]}{_suggest(state, SLA_STATES)} use one of sla:{', sla:'.join(SLA_STATES)}"
                " (sla:none for tickets without SLA clocks)",
                v.start, v.end,
            )
        return SLA_ALIASES[state]

    def v_sort(self, v: _Raw) -> SortKey:
        raw = v.raw.strip()
        descending = raw.startswith("-")
        name = raw[1:] if descending else raw
        field = SORT_ALIASES.get(name.lower())
        if field is None:
            self.fail(
                f"cannot sort by {_q(name)}{_suggest(name, SORT_ALIASES)} sort fields: {', '.join(SORT_FIELDS)}"
                " (sort:-FIELD for descending)",
                v.start, v.end,
            )
        return SortKey(field, descending, v.start, v.end)

    def v_created(self, v: _Raw) -> DateCond:
        raw = v.raw
        op = _DATE_OP.match(raw).group(1) or ""
        rest = raw[len(op):]
        if ".." in rest:
            if op:
                self.fail(f"use either a comparison ({op}) or a range (a..b), not both", v.start, v.end)
            cut = rest.index("..")
            a, b = rest[:cut], rest[cut + 2:]
            if ".." in b or (not a and not b):
                self.fail("a range is START..END, e.g. 2026-11-01..2026-11-20 (either end may be left out)", v.start, v.end)
            lo = self.point(v, a, 0) if a else None
            hi = self.point(v, b, cut + 2) if b else None
            if lo and hi and _backwards(lo, hi):
                self.fail(f"the range {_q(raw)} ends before it starts; swap its ends", v.start, v.end)
            return DateCond("..", lo, hi)
        if not rest:
            self.fail(f"missing date after {op!r}, e.g. {op}2026-11-01 or {op}-24h", v.start, v.end)
        return DateCond(op or "=", self.point(v, rest, len(op)))

    v_updated = v_resolved = v_acked = v_breached = v_created

    def point(self, v: _Raw, s: str, offset: int) -> TimePoint:
        span = self.sub(v, offset, offset + len(s))
        low = s.lower()
        if low in _NAMED_DAYS:
            return TimePoint("relday", seconds=_NAMED_DAYS[low])
        m = _RELATIVE.fullmatch(s)
        if m:
            sign, amount, unit = m.groups()
            seconds = int(amount) * _UNITS[unit.lower()]
            if seconds > MAX_RELATIVE_SECONDS:
                self.fail(f"{_q(s)} is too far away; relative times reach back at most 200 years", *span)
            return TimePoint("ago", seconds=-seconds if sign == "-" else seconds)
        m = _DAY.fullmatch(s)
        if m:
            return TimePoint("day", day=self.make_date(s, span, *m.groups()))
        m = _AT.fullmatch(s)
        if m:
            y, mo, d, hh, mm, ss, z = m.groups()
            day = self.make_date(s, span, y, mo, d)
            try:
                at = datetime.combine(day, time(int(hh), int(mm), int(ss or 0)))
            except ValueError:
                self.fail(f"{_q(s)} is not a real time of day; use HH:MM or HH:MM:SS (24-hour clock)", *span)
            return TimePoint("at", at=at.replace(tzinfo=UTC) if z else at, precision=1 if ss else 60)
        m = _UNSIGNED_RELATIVE.fullmatch(s)
        if m:
            amount, unit = m.groups()
            name = _UNIT_NAMES[unit.lower()]
            self.fail(f"{_q(s)} needs a sign: -{s} means {amount} {name} ago (e.g. created:>-{s} for the last {amount} {name})", *span)
        self.fail(
            f"{_q(s)} is not a date; use 2026-11-01, 2026-11-01T14:00, -24h, -7d, today, or a range a..b"
            " (units: s, m = minutes, h, d, w)",
            *span,
        )

    def make_date(self, s: str, span, y: str, mo: str, d: str) -> date:
        try:
            day = date(int(y), int(mo), int(d))
        except ValueError:
            self.fail(f"{_q(s)} is not a real date; write YYYY-MM-DD, e.g. 2026-11-01", *span)
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            self.fail(f"{_q(s)}: the year must be between {MIN_YEAR} and {MAX_YEAR}", *span)
        return day


def _backwards(lo: TimePoint, hi: TimePoint) -> bool:
    """True when a range's end is certainly before its start (only checked for like kinds)."""
    if lo.kind != hi.kind:
        return False
    if lo.kind == "day":
        return lo.day > hi.day
    if lo.kind == "at":
        return (lo.at.tzinfo is None) == (hi.at.tzinfo is None) and lo.at > hi.at
    return lo.seconds > hi.seconds


def as_you_type(text: str) -> str:
    """``text`` as a live filter reads it while it is being typed: the word at
    the end (bare, not quoted, not negated, not a key) is a prefix, so ``dis``
    already finds "Disk full". Text ending in a space, or anything else, is
    left as it is; a query that does not parse is too (its error is shown)."""
    if not text or text[-1].isspace() or text.endswith("*"):
        return text
    try:
        query = parse(text)
    except QueryError:
        return text
    if not query.terms:
        return text
    last = query.terms[-1]
    (value,) = last.values if len(last.values) == 1 else (None,)
    if (last.field != "text" or last.negated or value is None or value.quoted or value.data is not None
            or last.end != len(text) or not _searchable(value.raw)):
        return text
    return text + "*"


# --------------------------------------------------------------------------- Peewee


def to_peewee(query: Query, desk, *, actor_login: str, now: datetime, tz: tzinfo | None = None) -> tuple[Expression | None, list]:
    """The WHERE expression (None for no condition) and ORDER BY list for ``query``.

    A query that names no kind finds incidents; an empty one is None, the
    whole desk: a caller that reads the ticket table itself then keeps to
    :func:`of_its_kinds` (a report reads the facts, which hold only incidents).

    Names are resolved with ``desk.directory``; dates are read in ``tz``
    (default: the desk's time zone) and
    relative times against ``now`` (an aware datetime). The order is the
    ``sort:`` terms' (or the default); ranking by relevance is
    ``select_tickets``' (on SQLite it needs a join with the text index).
    """
    builder = _builder(query, desk, actor_login, now, tz)
    where = builder.where(query.terms)
    return (None if where is None else of_its_kinds(query, where)), builder.order()


def of_its_kinds(query: Query, where: Expression | None) -> Expression | None:
    """``where`` kept to the kinds of record ``query`` finds: incidents,
    unless it names a kind (``kind:``, or a key of a kind other than incident)."""
    names_kind = any(t.field == "kind" or (t.field == "key" and not t.negated
                                           and any(not isinstance(v.data, int) for v in t.values))
                     for t in query.terms)
    if names_kind:
        return where
    return incidents() if where is None else where & incidents()


@on_desk
def select_tickets(desk, text: str, *, actor_login: str, now: datetime, tz: tzinfo | None = None):
    """Ticket.select() filtered and ordered by the query ``text``: by
    relevance when it has words and no ``sort:`` (equal relevance: newest
    first), else by its ``sort:`` terms or the default order."""
    query = parse(text)
    builder = _builder(query, desk, actor_login, now, tz, rank=not query.sort)
    where = of_its_kinds(query, builder.where(query.terms))
    order = builder.order()
    select = Ticket.select()
    if builder.ranked and desk.is_sqlite:
        # the words every match has, read from the index once: its rows, with
        # bm25 as `rank` (the migration weighs title words 4x, description 1x,
        # conversation 0.5x); these terms are left out of the WHERE
        fts = Table("ticket_fts", ("rowid", "rank", "ticket_fts")).bind(desk.db)
        select = select.join(fts, on=(fts.rowid == Ticket.id)).where(
            Expression(fts.ticket_fts, "MATCH", " ".join(builder.ranked)))
        # equal relevance: the newer ticket first. Ordered by what the index
        # row holds, the first page needs only its own 50 ticket rows, not one
        # for every match (46,000 for two common words on a 1M desk)
        order = [fts.rank.asc(), fts.rowid.desc()]
    elif builder.ranked:
        order = [fn.ts_rank(_tsvector(), _balanced(builder.ranked, "&&")).desc(), Ticket.id.desc()]
    if where is not None:
        select = select.where(where)
    return select.order_by(*order).bind(desk.db)  # run later, it still reads this desk


@on_desk
def count_tickets(desk, text: str, *, actor_login: str, now: datetime, tz: tzinfo | None = None) -> int:
    """How many tickets ``text`` finds. A query of words only is counted in
    the text index alone (every ticket has its document there): 3 ms instead
    of 66 for two words found in 46,000 tickets of a 1M desk."""
    query = parse(text)
    words = [t for t in query.terms if t.field == "text" and not t.negated and t.values[0].data is None]
    if query.terms and len(words) == len(query.terms) and desk.is_sqlite and not other_kinds_exist():
        matches = [m for m in (_fts_match(t.values[0]) for t in words) if m is not None]
        if len(matches) == len(words):
            (n,) = desk.db.execute_sql("SELECT count(*) FROM ticket_fts WHERE ticket_fts MATCH ?",
                                       (" ".join(matches),)).fetchone()
            return n
    return select_tickets(desk, text, actor_login=actor_login, now=now, tz=tz).count()


def _builder(query: Query, desk, actor_login: str, now: datetime, tz: tzinfo | None, rank: bool = False) -> "_Builder":
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("to_peewee needs an aware 'now' datetime")
    if tz is None:  # the desk's days ([desk] timezone), UTC without one
        config = getattr(desk, "config", None)
        tz = config.zone() if config is not None else UTC
    return _Builder(query, desk.directory, actor_login, now.astimezone(UTC), tz,
                    sqlite=getattr(desk, "is_sqlite", True), rank=rank)


# --------------------------------------------------------------------------- text index
# (each word is quoted for the index in deskconsole.core.search.words)

_REGCONFIG = SQL("'simple'::regconfig")


def _tsvector():
    """Exactly the expression of the ticket_text_search index (migration v7),
    constants as literals (psycopg binds parameters server-side, and an index
    expression only matches one written the same way)."""
    text = fn.COALESCE(Ticket.title, SQL("''")).concat(SQL("' '")).concat(fn.COALESCE(Ticket.description, SQL("''")))
    return fn.to_tsvector(_REGCONFIG, text)


def _tsquery(parts: tuple[str, str]):
    func, arg = parts
    return getattr(fn, func)(_REGCONFIG, arg)


def _ts_words(words: list[tuple[str, str]]):
    """The tickets that have every one of ``words`` (tsquery parts), each in
    its own text or in any entry of its conversation, as one subquery: per
    word a read of each GIN index (the indexes' own expressions, so the
    planner uses them), then the tickets found for all N words. One semi-join
    however many words: a join per word makes PostgreSQL's planner search
    hundreds of join orders."""
    selects, params = [], []
    for n, (func, arg) in enumerate(words):
        q = f"{func}('simple'::regconfig, %s)"
        selects.append(f"SELECT id AS tid, {n} AS n FROM ticket WHERE {TICKET_TSVECTOR} @@ {q}")
        selects.append(f"SELECT ticket_id, {n} FROM entry WHERE {ENTRY_TSVECTOR} @@ {q}")
        params += [arg, arg]
    if len(words) == 1:
        return SQL("(SELECT tid FROM (" + " UNION ".join(selects) + ") AS found)", params)
    return SQL("(SELECT tid FROM (" + " UNION ALL ".join(selects) + ") AS found GROUP BY tid"
               f" HAVING COUNT(DISTINCT n) = {len(words)})", params)


def _balanced(exprs: list, op: str):
    """AND/OR a list as a balanced tree, so long queries stay shallow for SQLite and Peewee."""
    exprs = [e for e in exprs if e is not None]
    if not exprs:
        return None
    while len(exprs) > 1:
        pairs = [
            (exprs[i] & exprs[i + 1]) if op == "and"
            else (exprs[i] | exprs[i + 1]) if op == "or"
            else Expression(exprs[i], op, exprs[i + 1])
            for i in range(0, len(exprs) - 1, 2)
        ]
        if len(exprs) % 2:
            pairs.append(exprs[-1])
        exprs = pairs
    return exprs[0]


def _member(column, items, negated: bool):
    items = list(dict.fromkeys(items))
    if len(items) == 1:
        return column != items[0] if negated else column == items[0]
    return column.not_in(items) if negated else column.in_(items)


_SORT_COLUMNS = {
    "due": Ticket.sla_due,
    "created": Ticket.created_at,
    "updated": Ticket.updated_at,
    "prio": Ticket.priority,
    "key": Ticket.id,
    "status": Case(Ticket.status, tuple((s, i) for i, s in enumerate(STATUSES)), len(STATUSES)),
    "title": fn.LOWER(Ticket.title),
}
_IS = {
    "open": lambda: Ticket.status.in_(OPEN),
    "closed": lambda: Ticket.status.in_(CLOSED),
    "assigned": lambda: Ticket.assignee.is_null(False),
    "unassigned": lambda: Ticket.assignee.is_null(),
    "acked": lambda: Ticket.acknowledged_at.is_null(False),
    "unacked": lambda: Ticket.acknowledged_at.is_null(),
    "merged": lambda: Ticket.merged_into.is_null(False),
    "reopened": lambda: Ticket.reopen_count > 0,
}


def _ordering(key: SortKey):
    """ORDER BY for one sort key. Tickets without a deadline come last either
    way: ``sla_due ASC NULLS LAST`` (SQLite >= 3.30 and PostgreSQL both accept
    it; Peewee writes a CASE for an older SQLite). Unlike ``sla_due IS NULL,
    sla_due`` it can walk the ticket_sla_due index: SQLite reads the index's
    non-NULL entries in order, then its NULLs, with no sort of its own (see
    the EXPLAIN tests in tests/test_query_sql.py)."""
    column = _SORT_COLUMNS[key.field]
    nulls = "LAST" if key.field == "due" else None
    return column.desc(nulls=nulls) if key.descending else column.asc(nulls=nulls)


class _Builder:
    def __init__(self, query: Query, directory, actor_login: str, now: datetime, tz: tzinfo,
                 sqlite: bool = True, rank: bool = False):
        self.query = query
        self.directory = directory
        self.actor_login = actor_login
        self.now = now
        self.tz = tz
        self.sqlite = sqlite
        self.rank = rank
        # what relevance is ranked by (FTS5 strings / tsqueries): the words every match has
        self.ranked: list = []
        self.words: list[tuple[str, str]] = []  # PostgreSQL: the words every match has (tsquery parts)

    def where(self, terms) -> Expression | None:
        """The WHERE expression of ``terms`` (None for no condition)."""
        conditions = [self.term(t) for t in terms]
        if self.words:
            conditions.append(Ticket.id.in_(_ts_words(self.words)))
        return _balanced(conditions, "and")

    def fail(self, message: str, start: int, end: int):
        raise QueryError(message, self.query.text, start, end)

    def term(self, term: Term):
        field, neg = term.field, term.negated
        if field in REF_FIELDS:
            return self.ref(term)
        if field == "status":
            return _member(Ticket.status, [v.data for v in term.values], neg)
        if field == "prio":
            return _member(Ticket.priority, [p for v in term.values for p in v.data], neg)
        if field == "key":
            ids = [v.data for v in term.values if isinstance(v.data, int)]
            others = [of_kind(kind) & (Ticket.number == n) for kind, n in (v.data for v in term.values
                                                                         if not isinstance(v.data, int))]
            expr = _balanced(([Ticket.id.in_(ids) & incidents()] if ids else []) + others, "or")
            return ~expr if neg else expr
        if field == "kind":
            kinds = {v.data for v in term.values}
            if "all" in kinds:
                return None if not neg else Ticket.id.is_null()  # every record, or none
            expr = _balanced([of_kind(kind) for kind in sorted(kinds)], "or")
            return ~expr if neg else expr
        if field == "sla":
            expr = _balanced([self.sla(state) for state in dict.fromkeys(v.data for v in term.values)], "or")
            return ~expr if neg else expr
        if field == "text":
            return self.text(term)
        expr = _balanced([self.value(field, v) for v in term.values], "or")
        return ~expr if neg else expr

    def text(self, term: Term):
        """A word, prefix* or phrase: tickets whose title, description or
        conversation has it, through the text index (and the ticket itself for
        a key such as INC-42). None (no condition) when it has nothing to look up."""
        (v,) = term.values
        if self.sqlite:
            match = _fts_match(v)
            if match is not None and self.rank and not term.negated and v.data is None:
                self.ranked.append(match)  # select_tickets joins the index on these
                return None
            expr = None if match is None else Ticket.id.in_(
                SQL("(SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH ?)", (match,)))
        else:
            parts = _tsquery_parts(v)
            if parts is not None and not term.negated and v.data is None:
                self.words.append(parts)  # all of a query's words are one subquery: see all_words
                if self.rank:
                    self.ranked.append(_tsquery(parts))
                return None
            expr = None if parts is None else Ticket.id.in_(_ts_words([parts]))
        if v.data is not None:
            expr = (Ticket.id == v.data) if expr is None else (expr | (Ticket.id == v.data))
        if expr is None:
            return None
        return ~expr if term.negated else expr

    def value(self, field: str, v: QueryValue):
        if field == "title":
            return Ticket.title.contains(v.raw)
        if field == "description":
            return Ticket.description.contains(v.raw)
        if field == "requester":  # both columns are nullable: COALESCE keeps NOT(...) exact
            return fn.COALESCE(Ticket.requester_name, "").contains(v.raw) | fn.COALESCE(
                Ticket.requester_email, ""
            ).contains(v.raw)
        if field == "is":
            return _IS[v.data]()
        if field in ("created", "updated"):
            return self.date(Ticket.created_at if field == "created" else Ticket.updated_at, v)
        if field in ("resolved", "acked"):  # never NULL inside, so -resolved:... is the exact complement
            column = Ticket.resolved_at if field == "resolved" else Ticket.acknowledged_at
            return column.is_null(False) & self.date(column, v)
        if field == "breached":
            return fn.EXISTS(SlaClock.select(SQL("1")).where(
                (SlaClock.ticket == Ticket.id) & SlaClock.breached_at.is_null(False) & self.date(SlaClock.breached_at, v)))
        raise AssertionError(field)  # pragma: no cover

    def date(self, column, v: QueryValue):
        cond: DateCond = v.data
        try:
            if cond.op == "..":
                parts = []
                if cond.point:
                    parts.append(column >= cond.point.resolve(self.now, self.tz)[0])
                if cond.upper:
                    start, end, whole = cond.upper.resolve(self.now, self.tz)
                    parts.append(column < end if whole else column <= start)
                return _balanced(parts, "and")
            start, end, whole = cond.point.resolve(self.now, self.tz)
        except (OverflowError, ValueError):
            self.fail(f"{_q(v.raw)} is out of the range of dates the desk can store", v.start, v.end)
        if cond.op == ">":
            return column >= end if whole else column > start
        if cond.op == ">=":
            return column >= start
        if cond.op == "<":
            return column < start
        if cond.op == "<=":
            return column < end if whole else column <= start
        if cond.point.kind == "ago":  # created:-24h = since 24 hours ago
            return column >= start
        return (column >= start) & (column < end)

    def sla(self, state: str):
        """Ticket.sla as of now, never NULL (so ``-sla:...`` is the exact complement).

        The stored summary is as of the last change or sweep; a deadline that
        has passed since is a breach already (as ``clocks.effective_state``
        and ``show`` say), even before the sweep records it.
        """
        if state == "none":
            return Ticket.sla.is_null()
        stored = fn.COALESCE(Ticket.sla, "none")
        overdue = Ticket.sla_due.is_null(False) & (Ticket.sla_due < self.now)
        if state == "breached":
            return (stored == "breached") | (stored.in_(["ok", "warning"]) & overdue)
        if state in ("ok", "warning"):
            return (stored == state) & ~overdue
        return stored == state

    def ref(self, term: Term):
        field = term.field
        column = {"team": Ticket.team, "category": Ticket.category, "service": Ticket.service, "assignee": Ticket.assignee}[field]
        ids, include_null = [], False
        for v in term.values:
            if v.data is Ref.NONE:
                include_null = True
            else:
                ids.append(self.lookup(field, v))
        if term.negated:
            if not ids:
                return column.is_null(False)
            expr = _member(column, ids, True)
            return expr & column.is_null(False) if include_null else expr | column.is_null()
        if not ids:
            return column.is_null()
        expr = _member(column, ids, False)
        return expr | column.is_null() if include_null else expr

    def lookup(self, field: str, v: QueryValue) -> int:
        d = self.directory
        if field == "assignee":
            mapping, what = d.agent_ids, "agent"
            login = self.actor_login if v.data is Ref.ME else v.data
            if login in mapping:
                return mapping[login]
            folded = [k for k in mapping if k.lower() == login.lower()]
            if len(folded) == 1:
                return mapping[folded[0]]
            if v.data is Ref.ME:
                self.fail(
                    f"assignee:me — you ({_q(self.actor_login)}) are not an agent of this desk, so nothing is assigned to you",
                    v.start, v.end,
                )
            name = login
        else:
            mapping = {"team": d.team_ids, "category": d.category_ids, "service": d.service_ids}[field]
            what = field
            if v.data in mapping:
                return mapping[v.data]
            name = v.data
        self.fail(
            f"no {what} called {_q(name)}{_suggest(name, mapping)} known: {_names(mapping)}"
            f" ({field}:none for tickets without one)",
            v.start, v.end,
        )

    def order(self) -> list:
        keys = self.query.sort or tuple(SortKey(name) for name in DEFAULT_SORT)
        order = [_ordering(k) for k in keys]
        if not any(k.field == "key" for k in keys):
            order.append(Ticket.id.asc())
        return order
