"""Which tickets used which articles, and how often an article helped.

A ticket uses an article when a reply or note cites it (``cited``) or when
the article was written from it (``source``); each once per ticket. An
article's use count — "used to resolve N times" — is read when asked for:
the resolved (or closed) tickets that cited it, so a ticket reopened stops
counting until it is resolved again, and nothing in the resolve path has
to know about articles.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Iterable

from peewee import fn

from deskconsole.core.bulk import insert_one
from deskconsole.models import ArticleUse, Ticket

if TYPE_CHECKING:
    from deskconsole.core.txn import Unit

RESOLVED = ("resolved", "closed")
KINDS = ("cited", "source")


def record_use(unit: "Unit", aid: int, tid: int, kind: str) -> bool:
    """Note that ticket ``tid`` used article ``aid`` (once per kind); False if it had already."""
    if kind not in KINDS:
        raise ValueError(f"not a kind of use: {kind!r}")
    if ArticleUse.select(ArticleUse.id).where((ArticleUse.article == aid) & (ArticleUse.ticket == tid)
                                              & (ArticleUse.kind == kind)).exists():
        return False
    insert_one(ArticleUse, {"article": aid, "ticket": tid, "kind": kind, "created_by": unit.actor.login,
                            "created_at": unit.now})
    return True


def _resolved_citations():
    return (ArticleUse.select(ArticleUse.article, fn.COUNT(fn.DISTINCT(ArticleUse.ticket)).alias("n"))
            .join(Ticket, on=(ArticleUse.ticket == Ticket.id))
            .where((ArticleUse.kind == "cited") & Ticket.status.in_(RESOLVED)))


def use_counts(ids: Iterable[int]) -> dict[int, int]:
    """{article id: resolved tickets that cited it} for ``ids`` (those never used left out)."""
    ids = list(ids)
    if not ids:
        return {}
    query = _resolved_citations().where(ArticleUse.article.in_(ids)).group_by(ArticleUse.article)
    return {aid: n for aid, n in query.tuples()}


def top_used(start: datetime, end: datetime, limit: int = 5) -> list[tuple[int, int]]:
    """(article id, tickets resolved in [start, end) that cited it), most first."""
    n = fn.COUNT(fn.DISTINCT(ArticleUse.ticket))
    query = (_resolved_citations().where((Ticket.resolved_at >= start) & (Ticket.resolved_at < end))
             .group_by(ArticleUse.article).order_by(n.desc(), ArticleUse.article).limit(limit))
    return [(aid, count) for aid, count in query.tuples()]


def cited_on(tid: int) -> list[int]:
    """The articles ticket ``tid`` cited, first cited first."""
    return [aid for (aid,) in ArticleUse.select(ArticleUse.article)
            .where((ArticleUse.ticket == tid) & (ArticleUse.kind == "cited")).order_by(ArticleUse.id).tuples()]
