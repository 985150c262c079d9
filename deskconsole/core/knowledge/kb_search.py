"""Finding articles: the list, full-text search ranked by relevance, and
the articles to suggest for a ticket.

Search goes through the text index of migration v17 (SQLite FTS5, bm25 with
title words 4x and tags 2x; PostgreSQL the weighted tsvector's GIN index).
On PostgreSQL the matches are ranked by ``ts_rank`` over their title and
tags (a body-only match after them, the newer first): the index is an
expression index, so a rank over the whole text would make the text's
tsvector again for every match — 456 ms against 37 ms for a word found in
2,700 of 10,000 articles (bench/kb_search.py). The words are free text, quoted for the index by
:mod:`deskconsole.core.search.words`: whatever is typed — quotes, ``NEAR``,
``*``, ``col:``, parentheses, SQL — is looked up as words and never raises.
Every word must match (AND); a suggestion needs any of the ticket title's
words (OR), same-service articles first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Sequence

from peewee import SQL, Case, Expression, Table

from deskconsole.binding import on_desk
from deskconsole.core.keys import record_id, ticket_key
from deskconsole.core.knowledge.articles import STATES, article_key
from deskconsole.core.knowledge.citing import first_paragraph
from deskconsole.core.knowledge.use import cited_on, use_counts
from deskconsole.core.search.words import Word, free_words, fts_match, tsquery_parts
from deskconsole.errors import NotFound, ValidationError
from deskconsole.migrations import ARTICLE_TSVECTOR
from deskconsole.models import Article, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

SUGGESTED = 3
# words of a ticket's title that say nothing about what an article is about
STOP_WORDS = frozenset("""a an and are as at be but by can cannot do does for from has have i in into is it its my no
not of on or our please so that the this to up us was we what when where which who why will with you your""".split())
# PostgreSQL ranks by the title and tags only (see above): the first two parts of ARTICLE_TSVECTOR
RANKED_TSVECTOR = ("(setweight(to_tsvector('simple'::regconfig, title), 'A')"
                   " || setweight(to_tsvector('simple'::regconfig, tags), 'B'))")
_COLUMNS = (Article.id, Article.title, Article.state, Article.service, Article.owner, Article.tags,
            Article.updated_at, Article.review_at)


@dataclass(frozen=True)
class ArticleRow:
    key: str
    id: int
    title: str
    state: str
    service: str | None
    owner: str
    tags: tuple[str, ...]
    updated_at: datetime
    review_at: datetime | None
    used: int  # resolved tickets that cited it


@dataclass(frozen=True)
class Suggestion:
    key: str
    title: str
    service: str | None
    summary: str  # the article's first paragraph
    used: int
    same_service: bool
    cited: bool  # the ticket cites it already


def _states(states: Sequence[str] | None) -> tuple[str, ...] | None:
    if states is None:
        return None
    bad = [s for s in states if s not in STATES]
    if bad:
        raise ValidationError(f"{bad[0]!r} is not an article state; use {', '.join(STATES)}")
    return tuple(states)


def _rows(desk: "Desk", query) -> list[ArticleRow]:
    found = list(query.tuples())
    used = use_counts(r[0] for r in found)
    names = desk.directory.service_names
    return [ArticleRow(key=article_key(aid), id=aid, title=title, state=state, service=names.get(sid), owner=owner,
                       tags=tuple(tags.split()), updated_at=updated, review_at=review, used=used.get(aid, 0))
            for aid, title, state, sid, owner, tags, updated, review in found]


def _filtered(query, desk: "Desk", states, service: str | None):
    states = _states(states)
    if states is not None:
        query = query.where(Article.state.in_(states))
    if service:
        query = query.where(Article.service == desk.directory.service(service))
    return query


@on_desk
def listing(desk: "Desk", *, states: Sequence[str] | None = None, service: str | None = None, limit: int = 100,
            offset: int = 0) -> list[ArticleRow]:
    """Articles, last changed first."""
    query = _filtered(Article.select(*_COLUMNS), desk, states, service)
    query = query.order_by(Article.updated_at.desc(), Article.id.desc()).offset(offset)
    return _rows(desk, query.limit(limit) if limit else query)


def _ts(words: list[Word], op: str) -> tuple[str, list]:
    """A tsquery of ``words`` joined by ``op`` (&& or ||), as SQL text with its parameters."""
    parts = [p for p in (tsquery_parts(w) for w in words) if p is not None]
    return "(" + f" {op} ".join(f"{func}('simple'::regconfig, %s)" for func, _ in parts) + ")", [a for _, a in parts]


def _matching(desk: "Desk", query, words: list[Word], op: str):
    """``query`` narrowed to the articles that match ``words`` (all of them,
    or any), and the ORDER BY term of their relevance, best first."""
    if desk.is_sqlite:
        fts = Table("article_fts", ("rowid", "rank", "article_fts")).bind(desk.db)
        match = f" {op} ".join(m for m in (fts_match(w) for w in words) if m is not None)
        return (query.join(fts, on=(fts.rowid == Article.id)).where(Expression(fts.article_fts, "MATCH", match)),
                fts.rank.asc())
    tsquery, params = _ts(words, "&&" if op == "AND" else "||")
    return (query.where(SQL(f"{ARTICLE_TSVECTOR} @@ {tsquery}", params)),
            SQL(f"ts_rank({RANKED_TSVECTOR}, {tsquery}) DESC", params))


@on_desk
def search(desk: "Desk", text: str, *, states: Sequence[str] | None = ("published",), service: str | None = None,
           limit: int = 50) -> list[ArticleRow]:
    """The articles with every word of ``text`` in their title, tags or body,
    most relevant first (equal relevance: the newer first). Text with no
    word to look up finds nothing."""
    words = free_words(text)
    if not words:
        return []
    query, rank = _matching(desk, _filtered(Article.select(*_COLUMNS), desk, states, service), words, "AND")
    query = query.order_by(rank, Article.id.desc())
    return _rows(desk, query.limit(limit) if limit else query)


def title_words(title: str) -> list[Word]:
    """The words of a ticket's title worth looking up (stop words and
    one-letter words left out), as plain words."""
    out = []
    for w in free_words(title):
        raw = w.raw.strip("*")
        if len(raw) > 1 and raw.lower() not in STOP_WORDS:
            out.append(Word(raw, w.quoted))
    return out


@on_desk
def suggest(desk: "Desk", key, *, limit: int = SUGGESTED) -> list[Suggestion]:
    """Published articles for ticket ``key`` (an id or a key): those sharing
    a word with its title, the ticket's service's first, then by relevance;
    too few, and its service's most recently changed articles fill in."""
    tid = record_id(key)  # any kind of record: a problem's known error has its articles too
    t = Ticket.select(Ticket.title, Ticket.service).where(Ticket.id == tid).first()
    if t is None:
        raise NotFound(f"{ticket_key(tid)} does not exist")
    sid = t.service_id
    base = Article.select(Article.id, Article.title, Article.service, Article.body).where(Article.state == "published")
    found: list = []
    words = title_words(t.title)
    if words:
        query, rank = _matching(desk, base, words, "OR")
        same = Case(None, [(Article.service == sid, 0)], 1) if sid is not None else None
        order = ([same] if same is not None else []) + [rank, Article.id.desc()]
        found = list(query.order_by(*order).limit(limit).tuples())
    if len(found) < limit and sid is not None:
        seen = [r[0] for r in found]
        more = base.where(Article.service == sid)
        if seen:
            more = more.where(Article.id.not_in(seen))
        found += list(more.order_by(Article.updated_at.desc()).limit(limit - len(found)).tuples())
    used = use_counts(r[0] for r in found)
    cited = set(cited_on(tid))
    names = desk.directory.service_names
    return [Suggestion(key=article_key(aid), title=title, service=names.get(service), summary=first_paragraph(body),
                       used=used.get(aid, 0), same_service=sid is not None and service == sid, cited=aid in cited)
            for aid, title, service, body in found]

