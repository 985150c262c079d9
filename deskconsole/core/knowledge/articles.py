"""Knowledge articles (``KB-12``): writing, editing and their lifecycle.

An article is Markdown text with a title, optional tags and service, an
owner (an agent) and a date it is due for review. It is a ``draft`` until a
lead publishes it; a published article can be ``retired``, and a retired one
brought back as a draft::

    draft -> published -> retired -> draft

Agents write articles and edit drafts; leads publish, retire, revive and
edit published articles; viewers read. Every edit of the title or the body
keeps the text as a new numbered version (``history``, ``version``). Each
write is one unit of work: permission checked, audited (``ticket`` NULL, the
article's key in the audit's field: ``KB-12.title``) and on the change feed
(action ``kb_...``), so open consoles refresh.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from peewee import fn

from deskconsole.binding import on_desk
from deskconsole.core.bulk import insert_one
from deskconsole.core.identity import Actor
from deskconsole.core.keys import record_key
from deskconsole.core.knowledge.use import record_use, use_counts
from deskconsole.core.permissions import require, role_now
from deskconsole.core.records import validate
from deskconsole.core.txn import Unit, unit_of_work
from deskconsole.errors import Conflict, InvalidTransition, NoChange, NotFound, ValidationError
from deskconsole.models import KB_PREFIX, Article, ArticleUse, ArticleVersion, AuditEvent, Ticket

if TYPE_CHECKING:
    from deskconsole.core.desk import Desk

STATES = ("draft", "published", "retired")
MOVES = {"draft": ("published", "retired"), "published": ("retired",), "retired": ("draft",)}
REVIEW_DAYS = 180  # a new article is due for review this many days after it is written
MAX_TAGS = 20
TAG_RE = re.compile(r"^[\w][\w.+#-]{0,39}$")
_KEY_RE = re.compile(rf"^\s*(?:{KB_PREFIX}-?)?(\d{{1,10}})\s*$", re.IGNORECASE)
UNSET = object()


# --------------------------------------------------------------------------- keys
def article_id(key: str | int) -> int:
    """``KB-12`` (``kb-12``, ``12``) -> 12."""
    if isinstance(key, int):
        return key
    match = _KEY_RE.match(str(key))
    if not match or not 0 < int(match.group(1)) < 2**31:
        raise ValidationError(f"{str(key)[:40]!r} is not an article key; expected {KB_PREFIX}-<number>, like "
                              f"{KB_PREFIX}-12")
    return int(match.group(1))


def article_key(aid: int) -> str:
    return f"{KB_PREFIX}-{aid}"


# --------------------------------------------------------------------------- views
@dataclass(frozen=True)
class VersionView:
    number: int
    title: str
    body: str
    author: str
    at: datetime


@dataclass(frozen=True)
class ArticleView:
    key: str
    title: str
    body: str
    tags: tuple[str, ...]
    service: str | None
    owner: str
    state: str
    review_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    version: int  # the article's revision (any change): --expect-version
    text_version: int  # the number of its latest text version (history)
    used: int  # resolved tickets that cited it
    sources: tuple[str, ...]  # the tickets it was written from

    def review_due(self, now: datetime) -> bool:
        return self.state != "retired" and self.review_at is not None and self.review_at <= now


@dataclass(frozen=True)
class ArticleEvent:
    """One line of an article's audit trail."""

    at: datetime
    actor: str
    action: str
    field: str
    old: str | None
    new: str | None


# --------------------------------------------------------------------------- checks
def clean_title(value: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError("an article needs a title; say in a line what it answers")
    brk = validate.LINE_BREAK.search(text)
    if brk:
        raise ValidationError(f"a title is one line, and this one has a line break (U+{ord(brk.group()):04X});"
                              " put the rest in the body")
    if len(text) > validate.TITLE_MAX:
        raise ValidationError(f"the title is {len(text)} characters; keep it to {validate.TITLE_MAX}")
    return validate.no_nul(text, "the title")


def clean_body(value: str) -> str:
    return validate.body(value, "the article's body")


def clean_tags(value) -> str:
    """Tags as stored: lower-case words, space-separated, each once. Takes
    "a, b c" or a list."""
    if value is None:
        return ""
    words = value if isinstance(value, (list, tuple)) else re.split(r"[,\s]+", str(value))
    tags = list(dict.fromkeys(w.strip().lstrip("#").lower() for w in words if w and w.strip().lstrip("#")))
    for tag in tags:
        if not TAG_RE.match(tag):
            raise ValidationError(f"tag {tag[:40]!r} is not one word; tags are letters, digits and - _ . + #,"
                                  " up to 40 characters, separated by commas or spaces")
    if len(tags) > MAX_TAGS:
        raise ValidationError(f"{len(tags)} tags; keep to {MAX_TAGS}")
    return " ".join(tags)


def _service(desk: "Desk", name: str | None) -> int | None:
    if name is None or not str(name).strip() or str(name).strip().lower() in ("none", "-"):
        return None
    return desk.directory.service(str(name).strip())


def _owner(desk: "Desk", login: str) -> str:
    login = (login or "").strip()
    agent = desk.directory.agents.get(login)
    if agent is None or not agent.active or agent.role == "viewer":
        raise ValidationError(f"{login[:60]!r} cannot own an article: the owner is an active agent of the desk")
    return login


def _review_at(value) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationError("the review date is an aware date and time")
    return value


# --------------------------------------------------------------------------- writes
def _audit(unit: Unit, aid: int, field: str | None, old=None, new=None, action: str | None = None) -> None:
    key = article_key(aid)
    unit.audit(None, action, f"{key}.{field}" if field else key, old, new)


def _load(desk: "Desk", key, *, lock: bool = False) -> Article:
    aid = article_id(key)
    query = Article.select().where(Article.id == aid)
    if lock and not desk.is_sqlite:
        query = query.for_update()
    article = query.first()
    if article is None:
        raise NotFound(f"{article_key(aid)} does not exist; 'deskconsole kb ls' lists articles")
    return article


def _check_version(article: Article, expected: int | None) -> None:
    if expected is not None and article.version != expected:
        raise Conflict(f"{article.key} was changed since you read it (it is at version {article.version}, you saw"
                       f" {expected}); show it again, then edit — nothing was changed",
                       key=article.key, current_version=article.version)


def _save(article: Article, unit: Unit, values: dict) -> None:
    n = (Article.update(**values, updated_at=unit.now, version=Article.version + 1)
         .where((Article.id == article.id) & (Article.version == article.version)).execute())
    if n != 1:  # cannot happen under the write lock; never overwrite silently
        raise Conflict(f"{article.key} was changed meanwhile; show it again and retry", key=article.key,
                       current_version=article.version + 1)


def _new_version(aid: int, number: int, title: str, body: str, author: str, at: datetime) -> None:
    insert_one(ArticleVersion, {"article": aid, "number": number, "title": title, "body": body, "author": author,
                                "at": at})


@on_desk
def create(desk: "Desk", actor: Actor, *, title: str, body: str, tags=None, service: str | None = None,
           owner: str | None = None, review_at: datetime | None = None,
           source_ticket: int | None = None) -> ArticleView:
    """A new draft (agents). ``source_ticket``: the id of the ticket it was
    written from (a ``source`` use of it, noted on the ticket too)."""
    require(actor, "kb_write")  # refusals before looking at the input
    values = {"title": clean_title(title), "body": clean_body(body), "tags": clean_tags(tags),
              "service": _service(desk, service), "owner": _owner(desk, owner or actor.login)}
    review = _review_at(review_at)
    with unit_of_work(desk, actor, "kb_create", permission="kb_write") as unit:
        now = unit.now
        aid = insert_one(Article, {**values, "state": "draft", "created_by": actor.login, "created_at": now,
                                   "updated_at": now, "review_at": review or now + timedelta(days=REVIEW_DAYS),
                                   "version": 1})
        _new_version(aid, 1, values["title"], values["body"], actor.login, now)
        _audit(unit, aid, None, None, values["title"])
        if source_ticket is not None:
            record_use(unit, aid, source_ticket, "source")
            unit.audit(source_ticket, "kb_source", "kb", None, f"{article_key(aid)} written from it: {values['title']}")
        unit.feed(None, action="kb_create")
    return get(desk, aid)


@on_desk
def edit(desk: "Desk", actor: Actor, key, *, title=UNSET, body=UNSET, tags=UNSET, service=UNSET, owner=UNSET,
         review_at=UNSET, expected_version: int | None = None) -> ArticleView:
    """Change an article. A new title or body is a new version. Drafts are
    the agents' to edit; a published article needs a lead; a retired one is
    revived first."""
    require(actor, "kb_write")
    wanted: dict = {}
    if title is not UNSET:
        wanted["title"] = clean_title(title)
    if body is not UNSET:
        wanted["body"] = clean_body(body)
    if tags is not UNSET:
        wanted["tags"] = clean_tags(tags)
    if service is not UNSET:
        wanted["service"] = _service(desk, service)
    if owner is not UNSET:
        wanted["owner"] = _owner(desk, owner)
    if review_at is not UNSET:
        wanted["review_at"] = _review_at(review_at)
    with unit_of_work(desk, actor, "kb_edit", permission="kb_write") as unit:
        article = _load(desk, key, lock=True)
        _check_version(article, expected_version)
        if article.state == "retired":
            raise InvalidTransition(f"{article.key} is retired; revive it first (deskconsole kb revive {article.key},"
                                    " leads) to edit it")
        if article.state == "published":
            require(role_now(desk, actor), "kb_publish")
        current = {"title": article.title, "body": article.body, "tags": article.tags,
                   "service": article.service_id, "owner": article.owner, "review_at": article.review_at}
        changed = {k: v for k, v in wanted.items() if current[k] != v}
        if not changed:
            raise NoChange(f"{article.key}: nothing to change")
        names = desk.directory.service_names
        for name, value in changed.items():
            if name == "body":
                _audit(unit, article.id, "body", f"{len(article.body):,} characters", f"{len(value):,} characters")
            elif name == "service":
                _audit(unit, article.id, name, names.get(current[name]), names.get(value))
            else:
                _audit(unit, article.id, name, current[name], value)
        if "title" in changed or "body" in changed:
            number = _latest_number(article.id) + 1
            _new_version(article.id, number, changed.get("title", article.title), changed.get("body", article.body),
                         actor.login, unit.now)
            _audit(unit, article.id, "version", number - 1, number)
        _save(article, unit, changed)
        unit.feed(None, action="kb_edit")
    return get(desk, article.id)


def _move(desk: "Desk", actor: Actor, key, to: str, action: str, expected_version: int | None) -> ArticleView:
    with unit_of_work(desk, actor, action, permission="kb_publish") as unit:
        article = _load(desk, key, lock=True)
        _check_version(article, expected_version)
        if to not in MOVES[article.state]:
            allowed = ", ".join(MOVES[article.state])
            raise InvalidTransition(f"{article.key} cannot go from {article.state} to {to}; from {article.state} it"
                                    f" can go to: {allowed}")
        values = {"state": to}
        if to == "published":
            values["published_at"] = unit.now
        _audit(unit, article.id, "state", article.state, to)
        _save(article, unit, values)
        unit.feed(None, action=action)
    return get(desk, article.id)


@on_desk
def publish(desk: "Desk", actor: Actor, key, *, expected_version: int | None = None) -> ArticleView:
    """draft -> published (leads)."""
    return _move(desk, actor, key, "published", "kb_publish", expected_version)


@on_desk
def retire(desk: "Desk", actor: Actor, key, *, expected_version: int | None = None) -> ArticleView:
    """draft or published -> retired (leads): no longer suggested or cited."""
    return _move(desk, actor, key, "retired", "kb_retire", expected_version)


@on_desk
def revive(desk: "Desk", actor: Actor, key, *, expected_version: int | None = None) -> ArticleView:
    """retired -> draft (leads), to be edited and published again."""
    return _move(desk, actor, key, "draft", "kb_revive", expected_version)


def _latest_number(aid: int) -> int:
    return ArticleVersion.select(fn.MAX(ArticleVersion.number)).where(ArticleVersion.article == aid).scalar() or 0


# --------------------------------------------------------------------------- reads
@on_desk
def get(desk: "Desk", key) -> ArticleView:
    a = _load(desk, key)
    sources = [record_key(kind, tid, number) for tid, kind, number in
               ArticleUse.select(ArticleUse.ticket, Ticket.kind, Ticket.number).join(Ticket)
               .where((ArticleUse.article == a.id) & (ArticleUse.kind == "source")).order_by(ArticleUse.id).tuples()]
    return ArticleView(
        key=a.key, title=a.title, body=a.body, tags=tuple(a.tags.split()), service=desk.directory.service_names.get(
            a.service_id), owner=a.owner, state=a.state, review_at=a.review_at, created_by=a.created_by,
        created_at=a.created_at, updated_at=a.updated_at, published_at=a.published_at, version=a.version,
        text_version=_latest_number(a.id), used=use_counts([a.id]).get(a.id, 0),
        sources=tuple(sources))


@on_desk
def history(desk: "Desk", key) -> list[VersionView]:
    """Every version of the article's title and body, oldest first."""
    a = _load(desk, key)
    return [VersionView(v.number, v.title, v.body, v.author, v.at) for v in
            ArticleVersion.select().where(ArticleVersion.article == a.id).order_by(ArticleVersion.number)]


@on_desk
def version(desk: "Desk", key, number: int) -> VersionView:
    a = _load(desk, key)
    v = ArticleVersion.get_or_none((ArticleVersion.article == a.id) & (ArticleVersion.number == number))
    if v is None:
        latest = _latest_number(a.id)
        raise NotFound(f"{a.key} has no version {number}; its versions are 1 to {latest} (deskconsole kb history"
                       f" {a.key})")
    return VersionView(v.number, v.title, v.body, v.author, v.at)


@on_desk
def events(desk: "Desk", key) -> list[ArticleEvent]:
    """The article's audit trail, oldest first: the audit rows of no ticket
    (few: articles, the directory, imports) whose field names the article."""
    a = _load(desk, key)
    rows = (AuditEvent.select().where(AuditEvent.ticket.is_null()
                                      & ((AuditEvent.field == a.key) | AuditEvent.field.startswith(a.key + ".")))
            .order_by(AuditEvent.id))
    return [ArticleEvent(e.at, e.actor if not e.via else f"{e.actor} (by {e.via})", e.action,
                         e.field.partition(".")[2] or "article", e.old, e.new) for e in rows]
