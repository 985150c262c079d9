"""Peewee models: the shape of the desk's tables, and nothing else.

Business rules live in ``deskconsole.core``; the schema itself is created and
evolved by ``deskconsole.migrations`` (a test checks the two never drift).
All timestamps are stored as UTC and come back as aware UTC datetimes.
"""

from __future__ import annotations

from datetime import datetime, timezone

from peewee import (
    AutoField,
    BigAutoField,
    BigIntegerField,
    BlobField,
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    SqliteDatabase,
    TextField,
)

from deskconsole.binding import database  # the current desk's: see deskconsole.binding

TICKET_PREFIX = "INC"
#: The kinds of work record and their keys' prefixes.
KIND_PREFIXES = {"incident": TICKET_PREFIX, "problem": "PRB", "change": "CHG"}


def _is_sqlite(db) -> bool:
    target = getattr(db, "obj", db)
    return isinstance(target, SqliteDatabase)


class UTCDateTimeField(DateTimeField):
    """An instant in UTC.

    SQLite keeps it as fixed-width text (``YYYY-MM-DD HH:MM:SS.ffffff``) so
    that text order is time order and range queries use the index; PostgreSQL
    keeps a ``TIMESTAMP`` holding UTC. Python always sees aware UTC values.
    """

    def db_value(self, value):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is not None and value.tzinfo is not timezone.utc:
            value = value.astimezone(timezone.utc)
        if _is_sqlite(self.model._meta.database):
            return value.isoformat(" ", "microseconds")[:26]  # without "+00:00": fixed width
        return value.replace(tzinfo=None)

    def python_value(self, value):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class SchemaVersion(BaseModel):
    version = IntegerField(primary_key=True)
    applied_at = UTCDateTimeField()


class Team(BaseModel):
    id = AutoField()
    name = CharField(unique=True)
    title = CharField()
    email = CharField(null=True)
    active = BooleanField(default=True)


class Agent(BaseModel):
    id = AutoField()
    login = CharField(unique=True)
    name = CharField()
    email = CharField(null=True)
    role = CharField()
    team = ForeignKeyField(Team, null=True, backref="agents")
    active = BooleanField(default=True)


class Category(BaseModel):
    id = AutoField()
    name = CharField(unique=True)
    title = CharField()
    active = BooleanField(default=True)


class Service(BaseModel):
    """A service, or a configuration item (``kind``: its type, e.g. host or
    database); ``depends_on`` is the names of what it depends on, sorted and
    space-separated (the map: deskconsole.core.access.service_map)."""

    id = AutoField()
    name = CharField(unique=True)
    title = CharField()
    team = ForeignKeyField(Team, null=True, backref="services")
    active = BooleanField(default=True)
    kind = CharField(max_length=32, default="service")
    depends_on = TextField(default="")


class DeskSetting(BaseModel):
    """A desk-wide setting kept as JSON (``changes``: the change policy),
    from the config like the directory and changed only by a desk admin."""

    id = AutoField()
    name = CharField(max_length=64, unique=True)
    value = TextField()
    active = BooleanField(default=True)

    class Meta:
        table_name = "desk_setting"


class Ticket(BaseModel):
    id = AutoField()
    title = CharField(max_length=300)
    description = TextField(default="")
    requester_name = CharField(null=True)
    requester_email = CharField(null=True)
    status = CharField(max_length=24)  # e.g. a change's awaiting_approval
    impact = CharField(max_length=8, null=True)
    urgency = CharField(max_length=8, null=True)
    priority = CharField(max_length=2)
    category = ForeignKeyField(Category, null=True)
    service = ForeignKeyField(Service, null=True, index=False)  # led by (service, status) below
    # team and assignee lead composite indexes below, which serve their lookups too.
    team = ForeignKeyField(Team, null=True, index=False)
    assignee = ForeignKeyField(Agent, null=True, index=False)
    created_by = CharField()
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    acknowledged_at = UTCDateTimeField(null=True)
    acknowledged_by = CharField(null=True)
    first_response_at = UTCDateTimeField(null=True)
    resolved_at = UTCDateTimeField(null=True)
    closed_at = UTCDateTimeField(null=True)
    resolution_code = CharField(max_length=32, null=True)
    resolution_note = TextField(null=True)
    merged_into = ForeignKeyField("self", null=True, backref="merged")
    reopen_count = IntegerField(default=0)
    source = CharField(max_length=16, default="cli")
    external_ref = CharField(null=True)
    version = IntegerField(default=1)
    # The SLA summary of the ticket's clocks (kept by deskconsole.core.sla_clocks):
    # the worst state (breached, warning, ok, paused, met) and the soonest
    # deadline of a clock that is counting — the queue's default order.
    sla = CharField(max_length=8, null=True)
    sla_due = UTCDateTimeField(null=True)
    # The record base: which kind of work record this is, and for a kind
    # other than incident its number within that kind (an incident's is its id).
    kind = CharField(max_length=8)  # the table's default, 'incident', when an insert leaves it out
    number = IntegerField(null=True)

    class Meta:
        indexes = (
            (("team", "status", "priority", "created_at"), False),
            (("status", "priority", "created_at"), False),
            (("assignee", "status"), False),
            (("created_at",), False),
            (("updated_at",), False),
            (("external_ref",), False),
            (("sla_due",), False),
            # the wallboard's figures (see deskconsole.core.reports.board)
            (("status", "priority", "sla", "sla_due", "assignee"), False),
            (("acknowledged_at", "created_at"), False),
            (("resolved_at", "created_at"), False),
            (("kind", "number"), True),  # partial: the records other than incidents (see migration v17)
            (("service", "status"), False),  # a service's open incidents (the service map's counts)
        )

    @property
    def key(self) -> str:
        if self.number is None:
            return f"{TICKET_PREFIX}-{self.id}"
        return f"{KIND_PREFIXES[self.kind]}-{self.number}"


class Entry(BaseModel):
    """One item of a ticket's conversation: a public reply or an internal note."""

    id = AutoField()
    ticket = ForeignKeyField(Ticket, backref="entries", index=False)  # led by the (ticket, at) index
    kind = CharField(max_length=8)  # "reply" | "note"
    author = CharField()
    author_name = CharField()
    at = UTCDateTimeField()
    body = TextField()
    source = CharField(max_length=16, default="cli")

    class Meta:
        indexes = ((("ticket", "at"), False),)


class Link(BaseModel):
    id = AutoField()
    source = ForeignKeyField(Ticket, backref="links_out", index=False)  # led by the unique index
    target = ForeignKeyField(Ticket, backref="links_in")
    kind = CharField(max_length=16)
    created_by = CharField()
    created_at = UTCDateTimeField()

    class Meta:
        indexes = ((("source", "target", "kind"), True),)


class AuditEvent(BaseModel):
    """Who changed what, when: one row per field changed (or per action)."""

    id = BigAutoField()
    ticket = ForeignKeyField(Ticket, null=True, backref="audit", index=False)  # led by (ticket, id)
    at = UTCDateTimeField()
    actor = CharField()
    via = CharField(null=True)  # the real login when an admin acted --as someone
    action = CharField(max_length=24)
    field = CharField(max_length=32, null=True)
    old = TextField(null=True)
    new = TextField(null=True)

    class Meta:
        indexes = ((("ticket", "id"), False),)


class FeedEntry(BaseModel):
    """The change feed: a monotonic sequence of "what changed" for live views."""

    seq = BigAutoField()
    at = UTCDateTimeField()
    actor = CharField()
    action = CharField(max_length=24)
    ticket = IntegerField(null=True)
    version = IntegerField(null=True)

    class Meta:
        table_name = "feed"
        indexes = ((("ticket", "seq"), False),)


class SlaClock(BaseModel):
    """One SLA metric of one ticket (first response or resolution).

    Business time is counted on ``calendar``: ``elapsed`` seconds up to
    ``counted_to`` while the clock runs (so the time used now is
    ``elapsed + between(counted_to, now)``), all of it once paused or
    stopped. ``due_at`` and ``warn_at`` (the next threshold, ``warn_pct``)
    are stored so the sweep is an index range, never a scan. The policy's
    target, thresholds and pausing statuses are copied in when the clock
    starts: editing a policy never rewrites a running clock.
    """

    id = AutoField()
    ticket = ForeignKeyField(Ticket, backref="clocks", index=False)  # led by the unique (ticket, metric)
    metric = CharField(max_length=16)
    policy = CharField(max_length=64)
    calendar = CharField(max_length=64)
    target = IntegerField()  # business seconds
    thresholds = CharField(max_length=64)  # "50,75,90": percent of target
    pause_on = CharField(max_length=128)  # "pending"
    state = CharField(max_length=10)  # running | paused | met | breached | cancelled
    started_at = UTCDateTimeField()
    counted_to = UTCDateTimeField(null=True)
    # 64-bit, as SQLite's integers are: a ticket imported with a placeholder
    # date such as 0001-01-01 has used billions of seconds (PostgreSQL's
    # INTEGER ends at 68 years' worth; schema 6)
    elapsed = BigIntegerField(default=0)
    paused = BigIntegerField(default=0)  # business seconds spent paused or resolved
    paused_since = UTCDateTimeField(null=True)
    due_at = UTCDateTimeField(null=True)
    warn_at = UTCDateTimeField(null=True)
    warn_pct = IntegerField(null=True)
    crossed = IntegerField(default=0)  # highest threshold crossed, percent (100 = breached)
    breached_at = UTCDateTimeField(null=True)
    stopped_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "sla_clock"
        indexes = (
            (("ticket", "metric"), True),
            (("warn_at",), False),
            (("state", "due_at"), False),
        )


class SlaCrossing(BaseModel):
    """A threshold a clock crossed, recorded exactly once (unique per clock
    and threshold) however many sweepers race; 100 is the breach."""

    id = BigAutoField()
    clock = ForeignKeyField(SlaClock, index=False)  # led by the unique (clock, threshold)
    ticket = IntegerField(index=True)
    metric = CharField(max_length=16)
    threshold = IntegerField()
    at = UTCDateTimeField()  # when the clock crossed it
    recorded_at = UTCDateTimeField()
    recorded_by = CharField()  # which sweeper (host:pid) or write recorded it

    class Meta:
        table_name = "sla_crossing"
        indexes = ((("clock", "threshold"), True),)


class Outbox(BaseModel):
    """A notification waiting for a delivery channel (mail, webhook)."""

    id = BigAutoField()
    created_at = UTCDateTimeField()
    ticket = IntegerField(null=True, index=True)
    crossing = BigIntegerField(null=True)
    channel = CharField(max_length=16)
    kind = CharField(max_length=16, null=True)  # created | reply | resolved | team_p1; None: an SLA escalation
    recipients = TextField()  # comma-separated e-mail addresses
    subject = CharField(max_length=300)
    body = TextField()
    state = CharField(max_length=8, default="queued")  # queued | sent | failed
    attempts = IntegerField(default=0)
    sent_at = UTCDateTimeField(null=True)
    last_error = TextField(null=True)
    next_at = UTCDateTimeField(null=True)  # not before (a retry's backoff, or a sender's lease); None: now

    class Meta:
        indexes = ((("state", "id"), False),)


class Alert(BaseModel):
    """One monitored condition, by its dedup key (an Alertmanager fingerprint,
    a PagerDuty dedup_key): the ticket it is on now and how often it fired."""

    id = AutoField()
    dedup_key = CharField(max_length=255, unique=True)
    source = CharField(max_length=16)  # alertmanager | pagerduty | generic
    ticket = ForeignKeyField(Ticket, backref="alerts")
    status = CharField(max_length=10)  # firing | resolved
    count = IntegerField(default=1)  # triggers received for the current ticket
    first_at = UTCDateTimeField()
    last_at = UTCDateTimeField()
    resolved_at = UTCDateTimeField(null=True)
    summary = CharField(max_length=300)


class ApiToken(BaseModel):
    """A secret that lets a program (an alert source, an integration) act as
    one desk identity. Only its SHA-256 is kept; the secret is shown once."""

    id = AutoField()
    name = CharField(max_length=64, unique=True)
    login = CharField()  # who it acts as: "intake", or a directory agent
    secret_hash = CharField(max_length=64, unique=True)
    created_at = UTCDateTimeField()
    created_by = CharField()
    revoked_at = UTCDateTimeField(null=True)


class MailMessage(BaseModel):
    """Every message the mail intake took in, raw, and what became of it."""

    id = AutoField()
    digest = CharField(max_length=64, unique=True)  # SHA-256 of the raw bytes: a redelivery is taken once
    message_id = CharField(max_length=998, null=True, index=True)
    received_at = UTCDateTimeField()
    sender = CharField(max_length=320, null=True)
    subject = CharField(max_length=300, null=True)
    size = IntegerField()
    raw = BlobField()
    ticket = IntegerField(null=True, index=True)
    outcome = CharField(max_length=16)  # opened | added | reopened | rated | followed-up | ignored | refused | ...
    detail = TextField(null=True)


class Attachment(BaseModel):
    """A file that came with a requester's mail (its bytes, unless over the size limit)."""

    id = AutoField()
    ticket = ForeignKeyField(Ticket, backref="attachments")
    mail = IntegerField(null=True)
    filename = CharField(max_length=255)
    content_type = CharField(max_length=127)
    size = IntegerField()
    data = BlobField(null=True)


class Contact(BaseModel):
    """A requester the desk has heard from by mail: matched by address, or made on first contact."""

    id = AutoField()
    email = CharField(max_length=320, unique=True)  # lower-case
    name = CharField(null=True)
    created_at = UTCDateTimeField()
    last_seen_at = UTCDateTimeField()


class Rating(BaseModel):
    """A requester's 1–5 score for how a ticket was handled (CSAT)."""

    id = AutoField()
    ticket = ForeignKeyField(Ticket, backref="ratings")
    score = IntegerField()
    at = UTCDateTimeField()
    source = CharField(max_length=16)
    rated_by = CharField(max_length=320, null=True)


class Review(BaseModel):
    """A post-incident review: asked for when a P1 or P2 incident is resolved
    (or opened by hand), due some days later, done once it says the impact
    and the root cause. Its timeline is the ticket's audit log."""

    id = AutoField()
    ticket = ForeignKeyField(Ticket, backref="reviews", unique=True)
    state = CharField(max_length=8)  # due | done
    due_at = UTCDateTimeField()
    owner = CharField(null=True)  # who leads it (a login)
    impact = TextField(default="")
    root_cause = TextField(default="")
    factors = TextField(default="")  # contributing factors, one a line
    created_at = UTCDateTimeField()
    created_by = CharField()
    updated_at = UTCDateTimeField()
    done_at = UTCDateTimeField(null=True)
    version = IntegerField(default=1)

    class Meta:
        indexes = ((("state", "due_at"), False),)


class ReviewAction(BaseModel):
    """A follow-up action of a review: an owner, a due date, and the ticket that tracks it."""

    id = AutoField()
    review = ForeignKeyField(Review, backref="actions")
    text = TextField()
    owner = CharField()
    due_at = UTCDateTimeField()
    ticket = ForeignKeyField(Ticket, null=True, index=False)
    created_at = UTCDateTimeField()
    created_by = CharField()

    class Meta:
        table_name = "review_action"



class ReportFact(BaseModel):
    """What the reports count of one ticket, kept by the write path (see
    ``deskconsole.core.report_facts``): its events, its wall-clock (ms) and
    business (s) times, and the groups it falls in. ``resolved_at`` and the
    resolution times are empty for a ticket merged into another."""

    ticket = IntegerField(primary_key=True, column_name="ticket_id")  # derived data: no foreign key to hold a ticket
    created_at = UTCDateTimeField()
    live = BooleanField()  # not merged into another ticket
    priority = CharField(max_length=2)
    team = IntegerField(default=0)  # ids; 0: none
    category = IntegerField(default=0)
    service = IntegerField(default=0)
    assignee = IntegerField(default=0)
    acked_at = UTCDateTimeField(null=True)
    mtta = BigIntegerField(null=True)  # milliseconds, created -> first acknowledged
    mtta_b = BigIntegerField(null=True)  # business seconds of the stopped first-response clock
    resolved_at = UTCDateTimeField(null=True)
    mttr = BigIntegerField(null=True)  # milliseconds, created -> last resolved
    mttr_b = BigIntegerField(null=True)  # business seconds of the stopped resolution clock
    reopened = BooleanField()
    handoffs = IntegerField()
    score = IntegerField(null=True)  # the latest rating
    rateable = BooleanField()  # has a requester address to ask
    response_at = UTCDateTimeField(null=True)  # the first-response clock was decided (met or breached)
    response_met = BooleanField(null=True)
    resolution_at = UTCDateTimeField(null=True)
    resolution_met = BooleanField(null=True)

    class Meta:
        table_name = "report_fact"
        indexes = (
            (("created_at",), False),
            (("acked_at",), False),
            (("resolved_at",), False),
            (("response_at",), False),
            (("resolution_at",), False),
            # a percentile is an offset into one of these, in value order
            (("mtta", "acked_at"), False),
            (("mtta_b", "acked_at"), False),
            (("mttr", "resolved_at"), False),
            (("mttr_b", "resolved_at"), False),
        )


class ReportHour(BaseModel):
    """The sums of the report facts whose events fell in one UTC hour, per
    priority, team, category and service (ids; 0: none)."""

    id = BigAutoField()
    hour = BigIntegerField()  # hours since 1970-01-01 00:00 UTC
    priority = CharField(max_length=2)
    team = IntegerField()
    category = IntegerField()
    service = IntegerField()
    created = BigIntegerField(default=0)
    created_live = BigIntegerField(default=0)
    acked = BigIntegerField(default=0)
    mtta_sum = BigIntegerField(default=0)
    mtta_b_n = BigIntegerField(default=0)
    mtta_b_sum = BigIntegerField(default=0)
    resolved = BigIntegerField(default=0)
    mttr_sum = BigIntegerField(default=0)
    mttr_b_n = BigIntegerField(default=0)
    mttr_b_sum = BigIntegerField(default=0)
    reopened = BigIntegerField(default=0)
    first_contact = BigIntegerField(default=0)
    handoffs = BigIntegerField(default=0)
    ping_pong = BigIntegerField(default=0)
    rated = BigIntegerField(default=0)
    rateable = BigIntegerField(default=0)
    score = BigIntegerField(default=0)
    response_met = BigIntegerField(default=0)
    response_breached = BigIntegerField(default=0)
    resolution_met = BigIntegerField(default=0)
    resolution_breached = BigIntegerField(default=0)

    class Meta:
        table_name = "report_hour"
        indexes = ((("hour", "priority", "team", "category", "service"), True),)


class Problem(BaseModel):
    """What a problem record adds to the record base (its ticket row, kind
    "problem"): the cause found, the way around it, when it became a known
    error, and the fix."""

    ticket = ForeignKeyField(Ticket, primary_key=True, backref="problem_fields")
    root_cause = TextField(default="")
    workaround = TextField(default="")
    known_error_at = UTCDateTimeField(null=True)
    fix = TextField(default="")


class ChangeRequest(BaseModel):
    """What a change record (``CHG-n``, kind "change") adds to the record base:
    its type and risk (impact is the ticket's), the planned and actual
    window, the plans, the standard template it came from, how it ended."""

    ticket = ForeignKeyField(Ticket, primary_key=True, backref="change_fields")
    type = CharField(max_length=10)  # standard | normal | emergency
    risk = CharField(max_length=8)  # low | medium | high
    template = CharField(max_length=64, null=True)
    planned_start = UTCDateTimeField(null=True)
    planned_end = UTCDateTimeField(null=True)
    actual_start = UTCDateTimeField(null=True)
    actual_end = UTCDateTimeField(null=True)
    implementation = TextField(default="")
    test_plan = TextField(default="")
    backout = TextField(default="")
    outcome = CharField(max_length=12, null=True)  # successful | failed | backed_out (closed)
    round = IntegerField(default=1)  # approvals count within a round; a rejection starts the next

    class Meta:
        table_name = "change_request"
        indexes = ((("planned_start", "planned_end"), False),)


class ChangeItem(BaseModel):
    """A service or configuration item a change affects."""

    id = AutoField()
    change = ForeignKeyField(Ticket, backref="change_items", index=False)  # led by the unique (change, service)
    service = ForeignKeyField(Service)

    class Meta:
        table_name = "change_item"
        indexes = ((("change", "service"), True),)


class Approval(BaseModel):
    """One approval or rejection of a change, by whom, under which rule, with its comment."""

    id = AutoField()
    change = ForeignKeyField(Ticket, backref="approvals")
    round = IntegerField()
    rule = CharField(max_length=16)
    approver = CharField()
    decision = CharField(max_length=8)  # approve | reject
    comment = TextField(default="")
    at = UTCDateTimeField()


KB_PREFIX = "KB"


class Article(BaseModel):
    """A knowledge article (``KB-12``): Markdown text, its tags (space-separated,
    lower-case), the service it is about, who owns it and when it is due for
    review. draft -> published -> retired (-> draft again). ``version`` is the
    number of its latest :class:`ArticleVersion` (and the optimistic lock)."""

    id = AutoField()
    title = CharField(max_length=300)
    body = TextField()
    tags = CharField(max_length=500, default="")
    service = ForeignKeyField(Service, null=True)
    owner = CharField()
    state = CharField(max_length=10)  # draft | published | retired
    review_at = UTCDateTimeField(null=True)
    created_by = CharField()
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    published_at = UTCDateTimeField(null=True)
    version = IntegerField(default=1)

    class Meta:
        indexes = ((("state", "updated_at"), False),)

    @property
    def key(self) -> str:
        return f"{KB_PREFIX}-{self.id}"


class ArticleVersion(BaseModel):
    """One version of an article's title and body: every edit of either writes one."""

    id = AutoField()
    article = ForeignKeyField(Article, backref="versions", index=False)  # led by the unique (article, number)
    number = IntegerField()
    title = CharField(max_length=300)
    body = TextField()
    author = CharField()
    at = UTCDateTimeField()

    class Meta:
        table_name = "article_version"
        indexes = ((("article", "number"), True),)


class ArticleUse(BaseModel):
    """A ticket that used an article: ``cited`` in its conversation, or the
    ``source`` the article was written from. Once per ticket, article and kind."""

    id = AutoField()
    article = ForeignKeyField(Article, backref="uses", index=False)  # led by the unique (article, ticket, kind)
    ticket = ForeignKeyField(Ticket, backref="article_uses")
    kind = CharField(max_length=8)  # cited | source
    created_by = CharField()
    created_at = UTCDateTimeField()

    class Meta:
        table_name = "article_use"
        indexes = ((("article", "ticket", "kind"), True),)


MODELS = [
    SchemaVersion, Team, Agent, Category, Service, Ticket, Entry, Link, AuditEvent, FeedEntry,
    SlaClock, SlaCrossing, Outbox, Alert, ApiToken, MailMessage, Attachment, Rating, Contact, Review, ReviewAction,
    ReportFact, ReportHour, Problem, Article, ArticleVersion, ArticleUse, DeskSetting, ChangeRequest, ChangeItem,
    Approval,
]
