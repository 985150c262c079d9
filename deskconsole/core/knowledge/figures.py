"""The knowledge base in a report: articles published (now, and in the
period) and the articles that helped resolve the most tickets in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from peewee import fn

from deskconsole.binding import on_desk
from deskconsole.core.knowledge.articles import article_key
from deskconsole.core.knowledge.use import top_used
from deskconsole.models import Article

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

TOP = 5


@dataclass(frozen=True)
class TopArticle:
    key: str
    title: str
    used: int  # tickets resolved in the period that cited it


@dataclass(frozen=True)
class KnowledgeFigures:
    published: int  # published now
    published_in_period: int  # first published in the period (and not retired since)
    drafts: int
    review_due: int  # published articles past their review date
    top: tuple[TopArticle, ...] = ()


@on_desk
def knowledge_figures(desk: "Desk", start: datetime, end: datetime, now: datetime) -> KnowledgeFigures:
    state = dict(Article.select(Article.state, fn.COUNT(Article.id)).group_by(Article.state).tuples())
    fresh = Article.select(fn.COUNT(Article.id)).where(
        (Article.state == "published") & (Article.published_at >= start) & (Article.published_at < end)).scalar()
    due = Article.select(fn.COUNT(Article.id)).where(
        (Article.state == "published") & (Article.review_at <= now)).scalar()
    top = top_used(start, end, TOP)
    titles = dict(Article.select(Article.id, Article.title).where(Article.id.in_([a for a, _ in top])).tuples()) \
        if top else {}
    return KnowledgeFigures(published=int(state.get("published", 0)), published_in_period=int(fresh or 0),
                            drafts=int(state.get("draft", 0)), review_due=int(due or 0),
                            top=tuple(TopArticle(article_key(a), titles.get(a, ""), n) for a, n in top))
