"""A reply or note that cites knowledge articles.

The cited articles' blocks (``KB-12: title`` and the article's first
paragraph, or the key alone) are part of the text; writing it notes each
article's use on the ticket (kind ``cited``, once per ticket), audited on
the ticket, in the same transaction as the reply itself.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable

from deskconsole.binding import on_desk
from deskconsole.core.identity import Actor
from deskconsole.core.keys import record_id
from deskconsole.core.knowledge.articles import article_id, article_key
from deskconsole.core.knowledge.use import record_use
from deskconsole.core.permissions import require
from deskconsole.core.records import tickets
from deskconsole.core.records.change import Outcome
from deskconsole.core.txn import unit_of_work
from deskconsole.errors import NotFound, ValidationError
from deskconsole.models import Article

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

FIRST_PARAGRAPH_MAX = 600  # characters of an article's first paragraph in a citation
KINDS = ("reply", "note")


def first_paragraph(body: str) -> str:
    """The article's first paragraph of prose (headings, rules and fences skipped)."""
    lines: list[str] = []
    for line in (body or "").splitlines():
        stripped = line.strip()
        if not stripped:
            if lines:
                break
            continue
        if not lines and (stripped.startswith(("#", "```", "~~~")) or re.fullmatch(r"[-*_=\s]{3,}", stripped)):
            continue
        lines.append(stripped)
    text = " ".join(lines)
    return text if len(text) <= FIRST_PARAGRAPH_MAX else text[:FIRST_PARAGRAPH_MAX - 1].rstrip() + "…"


def citation(key: str, title: str, body: str, *, key_only: bool = False) -> str:
    """The block a reply gets for an article: ``KB-12: title`` and its first
    paragraph, or the key alone."""
    if key_only:
        return key
    paragraph = first_paragraph(body)
    return f"{key}: {title}" + (f"\n{paragraph}" if paragraph else "")


def with_citation(text: str, block: str) -> str:
    text = (text or "").rstrip()
    return f"{text}\n\n{block}" if text else block


def cited_keys(text: str, keys: Iterable[str]) -> list[str]:
    """The keys of ``keys`` that ``text`` still names (as a whole word): an
    inserted block the writer deleted again is no citation."""
    return [k for k in dict.fromkeys(keys) if re.search(rf"(?<![\w-]){re.escape(k)}(?!\d)", text, re.IGNORECASE)]


@on_desk
def write_citing(desk: "Desk", actor: Actor, key, text: str, articles: Iterable[str | int], *, kind: str = "reply",
                 source: str = "cli", expected_version: int | None = None) -> Outcome:
    """Add ``text`` (which holds the citations) to ticket ``key``'s
    conversation as a reply or a note, and note that the ticket cited each of
    ``articles`` (published ones only)."""
    if kind not in KINDS:
        raise ValueError(f"cite in a reply or a note, not {kind!r}")
    require(actor, "kb_cite")
    ids = list(dict.fromkeys(article_id(a) for a in articles))
    with unit_of_work(desk, actor, "kb_cite", permission="kb_cite") as unit:
        found = {a.id: a for a in Article.select(Article.id, Article.title, Article.state).where(Article.id.in_(ids))}
        for aid in ids:
            a = found.get(aid)
            if a is None:
                raise NotFound(f"{article_key(aid)} does not exist; 'deskconsole kb search WORDS' finds articles")
            if a.state != "published":
                raise ValidationError(f"{a.key} is {a.state}; only published articles are cited"
                                      + (" (a lead publishes it: deskconsole kb publish " + a.key + ")"
                                         if a.state == "draft" else ""))
        write = tickets.reply if kind == "reply" else tickets.note
        outcome = write(desk, actor, key, text, source=source, expected_version=expected_version)
        tid = record_id(outcome.key)
        for aid in ids:
            if record_use(unit, aid, tid, "cited"):
                unit.audit(tid, "kb_cite", "kb", None, f"{article_key(aid)}: {found[aid].title}")
        unit.feed(None, action="kb_cite")
    return outcome


@on_desk
def cite(desk: "Desk", actor: Actor, key, article: str | int, text: str = "", *, kind: str = "reply",
         key_only: bool = False, source: str = "cli", expected_version: int | None = None) -> Outcome:
    """Reply (or note) on ticket ``key`` with ``text`` followed by the
    article's citation block (``deskconsole reply INC-4 --kb KB-12``)."""
    require(actor, "kb_cite")
    aid = article_id(article)
    a = Article.select(Article.id, Article.title, Article.body).where(Article.id == aid).first()
    if a is None:
        raise NotFound(f"{article_key(aid)} does not exist; 'deskconsole kb search WORDS' finds articles")
    block = citation(a.key, a.title, a.body, key_only=key_only)
    return write_citing(desk, actor, key, with_citation(text, block), [aid], kind=kind, source=source,
                        expected_version=expected_version)
