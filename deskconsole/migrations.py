"""Numbered schema migrations.

Each migration is frozen DDL: it describes the schema as it was when that
version shipped, so an old desk can always be brought forward step by step.
``tests/test_migrations.py`` checks that the result matches ``models.py``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from peewee import Database

from deskconsole.errors import SchemaError
from deskconsole.db import is_sqlite

# Placeholders in the DDL below, per backend.
_TYPES = {
    "sqlite": {"pk": "INTEGER NOT NULL PRIMARY KEY", "bigpk": "INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT", "ts": "DATETIME",
               "blob": "BLOB"},
    "postgresql": {"pk": "SERIAL NOT NULL PRIMARY KEY", "bigpk": "BIGSERIAL NOT NULL PRIMARY KEY", "ts": "TIMESTAMP",
                   "blob": "BYTEA"},
}

_V1 = [
    """CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at {ts} NOT NULL)""",
    """CREATE TABLE team (
        id {pk}, name VARCHAR(255) NOT NULL, title VARCHAR(255) NOT NULL,
        email VARCHAR(255), active BOOLEAN NOT NULL)""",
    "CREATE UNIQUE INDEX team_name ON team (name)",
    """CREATE TABLE agent (
        id {pk}, login VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL, email VARCHAR(255),
        role VARCHAR(255) NOT NULL, team_id INTEGER REFERENCES team (id), active BOOLEAN NOT NULL)""",
    "CREATE UNIQUE INDEX agent_login ON agent (login)",
    "CREATE INDEX agent_team_id ON agent (team_id)",
    """CREATE TABLE category (
        id {pk}, name VARCHAR(255) NOT NULL, title VARCHAR(255) NOT NULL, active BOOLEAN NOT NULL)""",
    "CREATE UNIQUE INDEX category_name ON category (name)",
    """CREATE TABLE service (
        id {pk}, name VARCHAR(255) NOT NULL, title VARCHAR(255) NOT NULL,
        team_id INTEGER REFERENCES team (id), active BOOLEAN NOT NULL)""",
    "CREATE UNIQUE INDEX service_name ON service (name)",
    "CREATE INDEX service_team_id ON service (team_id)",
    """CREATE TABLE ticket (
        id {pk}, title VARCHAR(300) NOT NULL, description TEXT NOT NULL,
        requester_name VARCHAR(255), requester_email VARCHAR(255), status VARCHAR(16) NOT NULL,
        impact VARCHAR(8), urgency VARCHAR(8), priority VARCHAR(2) NOT NULL,
        category_id INTEGER REFERENCES category (id), service_id INTEGER REFERENCES service (id),
        team_id INTEGER REFERENCES team (id), assignee_id INTEGER REFERENCES agent (id),
        created_by VARCHAR(255) NOT NULL, created_at {ts} NOT NULL, updated_at {ts} NOT NULL,
        acknowledged_at {ts}, acknowledged_by VARCHAR(255), first_response_at {ts},
        resolved_at {ts}, closed_at {ts}, resolution_code VARCHAR(32), resolution_note TEXT,
        merged_into_id INTEGER REFERENCES ticket (id), reopen_count INTEGER NOT NULL,
        version INTEGER NOT NULL)""",
    "CREATE INDEX ticket_category_id ON ticket (category_id)",
    "CREATE INDEX ticket_service_id ON ticket (service_id)",
    "CREATE INDEX ticket_merged_into_id ON ticket (merged_into_id)",
    "CREATE INDEX ticket_team_id_status_priority_created_at ON ticket (team_id, status, priority, created_at)",
    "CREATE INDEX ticket_status_priority_created_at ON ticket (status, priority, created_at)",
    "CREATE INDEX ticket_assignee_id_status ON ticket (assignee_id, status)",
    "CREATE INDEX ticket_created_at ON ticket (created_at)",
    "CREATE INDEX ticket_updated_at ON ticket (updated_at)",
    """CREATE TABLE entry (
        id {pk}, ticket_id INTEGER NOT NULL REFERENCES ticket (id), kind VARCHAR(8) NOT NULL,
        author VARCHAR(255) NOT NULL, author_name VARCHAR(255) NOT NULL, at {ts} NOT NULL,
        body TEXT NOT NULL, source VARCHAR(16) NOT NULL)""",
    "CREATE INDEX entry_ticket_id_at ON entry (ticket_id, at)",
    """CREATE TABLE link (
        id {pk}, source_id INTEGER NOT NULL REFERENCES ticket (id),
        target_id INTEGER NOT NULL REFERENCES ticket (id), kind VARCHAR(16) NOT NULL,
        created_by VARCHAR(255) NOT NULL, created_at {ts} NOT NULL)""",
    "CREATE INDEX link_target_id ON link (target_id)",
    "CREATE UNIQUE INDEX link_source_id_target_id_kind ON link (source_id, target_id, kind)",
    """CREATE TABLE audit_event (
        id {bigpk}, ticket_id INTEGER REFERENCES ticket (id), at {ts} NOT NULL,
        actor VARCHAR(255) NOT NULL, via VARCHAR(255), action VARCHAR(24) NOT NULL,
        field VARCHAR(32), old TEXT, new TEXT)""",
    "CREATE INDEX audit_event_ticket_id_id ON audit_event (ticket_id, id)",
    """CREATE TABLE feed (
        seq {bigpk}, at {ts} NOT NULL, actor VARCHAR(255) NOT NULL, action VARCHAR(24) NOT NULL,
        ticket INTEGER, version INTEGER)""",
    "CREATE INDEX feed_ticket_seq ON feed (ticket, seq)",
]

# v2: where a ticket came from (console, cli, mail, alert, import) and the
# sender's own reference for it (alert dedup key, message id, import key).
_V2 = [
    "ALTER TABLE ticket ADD COLUMN source VARCHAR(16) NOT NULL DEFAULT 'cli'",
    "ALTER TABLE ticket ADD COLUMN external_ref VARCHAR(255)",
    "CREATE INDEX ticket_external_ref ON ticket (external_ref)",
]

# v3: SLA clocks, their threshold crossings, the notification outbox, and
# the ticket's SLA summary (worst state, soonest deadline).
_V3 = [
    "ALTER TABLE ticket ADD COLUMN sla VARCHAR(8)",
    "ALTER TABLE ticket ADD COLUMN sla_due {ts}",
    "CREATE INDEX ticket_sla_due ON ticket (sla_due)",
    """CREATE TABLE sla_clock (
        id {pk}, ticket_id INTEGER NOT NULL REFERENCES ticket (id), metric VARCHAR(16) NOT NULL,
        policy VARCHAR(64) NOT NULL, calendar VARCHAR(64) NOT NULL, target INTEGER NOT NULL,
        thresholds VARCHAR(64) NOT NULL, pause_on VARCHAR(128) NOT NULL, state VARCHAR(10) NOT NULL,
        started_at {ts} NOT NULL, counted_to {ts}, elapsed INTEGER NOT NULL, paused INTEGER NOT NULL,
        paused_since {ts}, due_at {ts}, warn_at {ts}, warn_pct INTEGER, crossed INTEGER NOT NULL,
        breached_at {ts}, stopped_at {ts})""",
    "CREATE UNIQUE INDEX sla_clock_ticket_id_metric ON sla_clock (ticket_id, metric)",
    "CREATE INDEX sla_clock_warn_at ON sla_clock (warn_at)",
    "CREATE INDEX sla_clock_state_due_at ON sla_clock (state, due_at)",
    """CREATE TABLE sla_crossing (
        id {bigpk}, clock_id INTEGER NOT NULL REFERENCES sla_clock (id), ticket INTEGER NOT NULL,
        metric VARCHAR(16) NOT NULL, threshold INTEGER NOT NULL, at {ts} NOT NULL,
        recorded_at {ts} NOT NULL, recorded_by VARCHAR(255) NOT NULL)""",
    "CREATE INDEX sla_crossing_ticket ON sla_crossing (ticket)",
    "CREATE UNIQUE INDEX sla_crossing_clock_id_threshold ON sla_crossing (clock_id, threshold)",
    """CREATE TABLE outbox (
        id {bigpk}, created_at {ts} NOT NULL, ticket INTEGER, crossing BIGINT, channel VARCHAR(16) NOT NULL,
        recipients TEXT NOT NULL, subject VARCHAR(300) NOT NULL, body TEXT NOT NULL, state VARCHAR(8) NOT NULL,
        attempts INTEGER NOT NULL, sent_at {ts}, last_error TEXT)""",
    "CREATE INDEX outbox_ticket ON outbox (ticket)",
    "CREATE INDEX outbox_state_id ON outbox (state, id)",
]

# v4: the wallboard's figures as index reads: open tickets by priority with
# their SLA summary and holder (one covering pass), and when tickets were
# acknowledged and resolved, with their creation time (the day's MTTA and
# MTTR, the recently resolved list).
_V4 = [
    "CREATE INDEX ticket_status_priority_sla_sla_due_assignee_id ON ticket (status, priority, sla, sla_due, assignee_id)",
    "CREATE INDEX ticket_acknowledged_at_created_at ON ticket (acknowledged_at, created_at)",
    "CREATE INDEX ticket_resolved_at_created_at ON ticket (resolved_at, created_at)",
]

# v5 (PostgreSQL only): every statement that appends to the change feed
# notifies channel ``deskconsole_feed`` on commit, so live views hear of a
# change within milliseconds instead of at their next poll. (PostgreSQL folds
# identical notifications of one transaction into one.)
_V5 = [
    ("postgresql", """CREATE OR REPLACE FUNCTION deskconsole_feed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('deskconsole_feed', ''); RETURN NULL; END $$"""),
    ("postgresql", """CREATE TRIGGER feed_notify AFTER INSERT ON feed
        FOR EACH STATEMENT EXECUTE FUNCTION deskconsole_feed_notify()"""),
]

# v6 (PostgreSQL only; SQLite's INTEGER is 64-bit already): a clock's elapsed
# and paused business seconds as BIGINT. INTEGER held 68 years' worth, and an
# import of tickets dated 0001-01-01 (a common "no date" placeholder) failed
# with "integer out of range" where SQLite took it.
_V6 = [
    ("postgresql", "ALTER TABLE sla_clock ALTER COLUMN elapsed TYPE BIGINT, ALTER COLUMN paused TYPE BIGINT"),
]

# v7: text search through an index (DESIGN.md decision 13), filled for the
# tickets a desk already has. SQLite: an FTS5 table over ticket title and
# description with the ticket table as its content (no copy of the text),
# kept in step by triggers, so every write path (new, edit, merge, import,
# restore) keeps it current; ranked by bm25 with title words weighing 4x.
# PostgreSQL: a GIN index on the tsvector of the same text (an expression
# index: no extra table or column); core/search/query.py writes the identical
# expression so the planner uses it.
TICKET_TSVECTOR = "to_tsvector('simple'::regconfig, COALESCE(title, '') || ' ' || COALESCE(description, ''))"
_V7 = [
    ("sqlite", """CREATE VIRTUAL TABLE ticket_fts USING fts5(title, description, content='ticket',
        content_rowid='id', tokenize='unicode61 remove_diacritics 2')"""),
    ("sqlite", "INSERT INTO ticket_fts (ticket_fts, rank) VALUES ('rank', 'bm25(4.0, 1.0)')"),
    ("sqlite", """CREATE TRIGGER ticket_fts_insert AFTER INSERT ON ticket BEGIN
        INSERT INTO ticket_fts (rowid, title, description) VALUES (new.id, new.title, new.description); END"""),
    ("sqlite", """CREATE TRIGGER ticket_fts_delete AFTER DELETE ON ticket BEGIN
        INSERT INTO ticket_fts (ticket_fts, rowid, title, description)
        VALUES ('delete', old.id, old.title, old.description); END"""),
    ("sqlite", """CREATE TRIGGER ticket_fts_update AFTER UPDATE OF id, title, description ON ticket
        WHEN old.id IS NOT new.id OR old.title IS NOT new.title OR old.description IS NOT new.description BEGIN
        INSERT INTO ticket_fts (ticket_fts, rowid, title, description)
        VALUES ('delete', old.id, old.title, old.description);
        INSERT INTO ticket_fts (rowid, title, description) VALUES (new.id, new.title, new.description); END"""),
    ("sqlite", "INSERT INTO ticket_fts (ticket_fts) VALUES ('rebuild')"),
    ("postgresql", f"CREATE INDEX ticket_text_search ON ticket USING GIN ({TICKET_TSVECTOR})"),
]

# v8: the conversation (replies and notes) in the text index too. SQLite: an
# FTS5 table over entry bodies with the entry table as its content, kept in
# step by triggers like ticket_fts. PostgreSQL: a GIN index on each entry's
# tsvector. A ticket matches a word found in its title, description or any
# entry of its conversation (core/search/query.py).
ENTRY_TSVECTOR = "to_tsvector('simple'::regconfig, body)"
_V8 = [
    ("sqlite", """CREATE VIRTUAL TABLE entry_fts USING fts5(body, content='entry', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')"""),
    ("sqlite", """CREATE TRIGGER entry_fts_insert AFTER INSERT ON entry BEGIN
        INSERT INTO entry_fts (rowid, body) VALUES (new.id, new.body); END"""),
    ("sqlite", """CREATE TRIGGER entry_fts_delete AFTER DELETE ON entry BEGIN
        INSERT INTO entry_fts (entry_fts, rowid, body) VALUES ('delete', old.id, old.body); END"""),
    ("sqlite", """CREATE TRIGGER entry_fts_update AFTER UPDATE OF id, body ON entry
        WHEN old.id IS NOT new.id OR old.body IS NOT new.body BEGIN
        INSERT INTO entry_fts (entry_fts, rowid, body) VALUES ('delete', old.id, old.body);
        INSERT INTO entry_fts (rowid, body) VALUES (new.id, new.body); END"""),
    ("sqlite", "INSERT INTO entry_fts (entry_fts) VALUES ('rebuild')"),
    ("postgresql", f"CREATE INDEX entry_text_search ON entry USING GIN ({ENTRY_TSVECTOR})"),
]

# v9: alert intake. One row per dedup key with the ticket it is on now (a
# repeat finds it by the unique key), and the API tokens programs act with
# (only each secret's SHA-256).
_V9 = [
    """CREATE TABLE alert (
        id {pk}, dedup_key VARCHAR(255) NOT NULL, source VARCHAR(16) NOT NULL,
        ticket_id INTEGER NOT NULL REFERENCES ticket (id), status VARCHAR(10) NOT NULL, count INTEGER NOT NULL,
        first_at {ts} NOT NULL, last_at {ts} NOT NULL, resolved_at {ts}, summary VARCHAR(300) NOT NULL)""",
    "CREATE UNIQUE INDEX alert_dedup_key ON alert (dedup_key)",
    "CREATE INDEX alert_ticket_id ON alert (ticket_id)",
    """CREATE TABLE api_token (
        id {pk}, name VARCHAR(64) NOT NULL, login VARCHAR(255) NOT NULL, secret_hash VARCHAR(64) NOT NULL,
        created_at {ts} NOT NULL, created_by VARCHAR(255) NOT NULL, revoked_at {ts})""",
    "CREATE UNIQUE INDEX api_token_name ON api_token (name)",
    "CREATE UNIQUE INDEX api_token_secret_hash ON api_token (secret_hash)",
]

# v10: mail out. What a notice is about (created, reply, resolved, team_p1;
# NULL for an SLA escalation), and when it may next be tried: a failed send
# backs off, and a sender holds the rows it is sending for a lease, so a
# sender that dies mid-send leaves them to the next.
_V10 = [
    "ALTER TABLE outbox ADD COLUMN kind VARCHAR(16)",
    "ALTER TABLE outbox ADD COLUMN next_at {ts}",
]

# v11: mail in. Every message taken in, raw (a redelivery is known by its
# SHA-256), the files that came with requesters' mail, and requesters'
# ratings (CSAT) from their replies to a resolution.
_V11 = [
    """CREATE TABLE mail_message (
        id {pk}, digest VARCHAR(64) NOT NULL, message_id VARCHAR(998), received_at {ts} NOT NULL,
        sender VARCHAR(320), subject VARCHAR(300), size INTEGER NOT NULL, raw {blob} NOT NULL, ticket INTEGER,
        outcome VARCHAR(16) NOT NULL, detail TEXT)""",
    "CREATE UNIQUE INDEX mail_message_digest ON mail_message (digest)",
    "CREATE INDEX mail_message_message_id ON mail_message (message_id)",
    "CREATE INDEX mail_message_ticket ON mail_message (ticket)",
    """CREATE TABLE attachment (
        id {pk}, ticket_id INTEGER NOT NULL REFERENCES ticket (id), mail INTEGER, filename VARCHAR(255) NOT NULL,
        content_type VARCHAR(127) NOT NULL, size INTEGER NOT NULL, data {blob})""",
    "CREATE INDEX attachment_ticket_id ON attachment (ticket_id)",
    """CREATE TABLE rating (
        id {pk}, ticket_id INTEGER NOT NULL REFERENCES ticket (id), score INTEGER NOT NULL, at {ts} NOT NULL,
        source VARCHAR(16) NOT NULL, rated_by VARCHAR(320))""",
    "CREATE INDEX rating_ticket_id ON rating (ticket_id)",
]

# v12: contacts. A requester who writes in is matched by address to the
# contact the desk knows (their name when the mail gives none) or becomes one.
_V12 = [
    """CREATE TABLE contact (
        id {pk}, email VARCHAR(320) NOT NULL, name VARCHAR(255), created_at {ts} NOT NULL, last_seen_at {ts} NOT NULL)""",
    "CREATE UNIQUE INDEX contact_email ON contact (email)",
]

# v13 (SQLite): one text-index document per ticket — title, description and
# its whole conversation — so that a query's words, wherever each of them is,
# are one FTS5 match (v8's separate entry index made every word its own
# subquery: 2.5-9x slower at 1M tickets). The index's content is the view
# ticket_search; the triggers keep it in step: a new entry takes the ticket's
# old document out (the conversation without it, in entry order, exactly as
# indexed) and puts the new one in. Ranked by bm25 with title words 4x,
# description 1x, conversation 0.5x.
_CONVERSATION = ("COALESCE((SELECT group_concat(body, ' ') FROM (SELECT body FROM entry WHERE ticket_id = {t}{cond}"
                 " ORDER BY id)), '')")
_WITH = ("COALESCE((SELECT group_concat(body, ' ') FROM (SELECT id, body FROM entry WHERE ticket_id = {t} AND id <> {i}"
         " UNION ALL SELECT {i}, {b} ORDER BY 1)), '')")


def _conv(t: str, without: str | None = None) -> str:
    return _CONVERSATION.format(t=t, cond=f" AND id <> {without}" if without else "")


def _out(t: str, conversation: str) -> str:
    """Take ticket ``t``'s document out of the index, as it was indexed."""
    return ("INSERT INTO ticket_fts (ticket_fts, rowid, title, description, conversation)"
            f" SELECT 'delete', id, title, description, {conversation} FROM ticket WHERE id = {t};")


def _in(t: str) -> str:
    return ("INSERT INTO ticket_fts (rowid, title, description, conversation)"
            f" SELECT id, title, description, conversation FROM ticket_search WHERE id = {t};")


_V13 = [
    ("sqlite", "DROP TRIGGER IF EXISTS entry_fts_insert"),
    ("sqlite", "DROP TRIGGER IF EXISTS entry_fts_delete"),
    ("sqlite", "DROP TRIGGER IF EXISTS entry_fts_update"),
    ("sqlite", "DROP TABLE IF EXISTS entry_fts"),
    ("sqlite", "DROP TRIGGER IF EXISTS ticket_fts_insert"),
    ("sqlite", "DROP TRIGGER IF EXISTS ticket_fts_delete"),
    ("sqlite", "DROP TRIGGER IF EXISTS ticket_fts_update"),
    ("sqlite", "DROP TABLE IF EXISTS ticket_fts"),
    ("sqlite", f"CREATE VIEW ticket_search AS SELECT id, title, description, {_conv('ticket.id')} AS conversation"
               " FROM ticket"),
    ("sqlite", """CREATE VIRTUAL TABLE ticket_fts USING fts5(title, description, conversation,
        content='ticket_search', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"""),
    ("sqlite", "INSERT INTO ticket_fts (ticket_fts, rank) VALUES ('rank', 'bm25(4.0, 1.0, 0.5)')"),
    ("sqlite", f"CREATE TRIGGER ticket_fts_insert AFTER INSERT ON ticket BEGIN {_in('new.id')} END"),
    ("sqlite", f"""CREATE TRIGGER ticket_fts_delete AFTER DELETE ON ticket BEGIN
        INSERT INTO ticket_fts (ticket_fts, rowid, title, description, conversation)
        VALUES ('delete', old.id, old.title, old.description, {_conv('old.id')}); END"""),
    ("sqlite", f"""CREATE TRIGGER ticket_fts_update AFTER UPDATE OF id, title, description ON ticket
        WHEN old.id IS NOT new.id OR old.title IS NOT new.title OR old.description IS NOT new.description BEGIN
        INSERT INTO ticket_fts (ticket_fts, rowid, title, description, conversation)
        VALUES ('delete', old.id, old.title, old.description, {_conv('old.id')}); {_in('new.id')} END"""),
    ("sqlite", f"""CREATE TRIGGER entry_fts_insert AFTER INSERT ON entry BEGIN
        {_out('new.ticket_id', _conv('new.ticket_id', 'new.id'))} {_in('new.ticket_id')} END"""),
    ("sqlite", f"""CREATE TRIGGER entry_fts_delete AFTER DELETE ON entry BEGIN
        {_out('old.ticket_id', _WITH.format(t='old.ticket_id', i='old.id', b='old.body'))} {_in('old.ticket_id')} END"""),
    ("sqlite", f"""CREATE TRIGGER entry_fts_update AFTER UPDATE OF body ON entry
        WHEN old.ticket_id IS new.ticket_id AND old.body IS NOT new.body BEGIN
        {_out('old.ticket_id', _WITH.format(t='old.ticket_id', i='old.id', b='old.body'))} {_in('old.ticket_id')} END"""),
    ("sqlite", f"""CREATE TRIGGER entry_fts_move AFTER UPDATE OF ticket_id ON entry
        WHEN old.ticket_id IS NOT new.ticket_id BEGIN
        {_out('old.ticket_id', _WITH.format(t='old.ticket_id', i='old.id', b='old.body'))} {_in('old.ticket_id')}
        {_out('new.ticket_id', _conv('new.ticket_id', 'new.id'))} {_in('new.ticket_id')} END"""),
    ("sqlite", "INSERT INTO ticket_fts (ticket_fts) VALUES ('rebuild')"),
]

# v14: two indexes hold only what is looked up. A merged-into ticket and an
# external reference are rare (every value of the 1M demo is empty, and each
# index held 10.3 MB of those empties); lookups ask for a value, which implies
# NOT NULL, so SQLite and PostgreSQL use the partial index all the same.
_V14 = [
    "DROP INDEX ticket_merged_into_id",
    "CREATE INDEX ticket_merged_into_id ON ticket (merged_into_id) WHERE merged_into_id IS NOT NULL",
    "DROP INDEX ticket_external_ref",
    "CREATE INDEX ticket_external_ref ON ticket (external_ref) WHERE external_ref IS NOT NULL",
]

# v15: post-incident reviews (one per ticket, found by state and due date
# for the due and overdue lists) and their follow-up actions.
_V15 = [
    """CREATE TABLE review (
        id {pk}, ticket_id INTEGER NOT NULL REFERENCES ticket (id), state VARCHAR(8) NOT NULL, due_at {ts} NOT NULL,
        owner VARCHAR(255), impact TEXT NOT NULL, root_cause TEXT NOT NULL, factors TEXT NOT NULL,
        created_at {ts} NOT NULL, created_by VARCHAR(255) NOT NULL, updated_at {ts} NOT NULL, done_at {ts},
        version INTEGER NOT NULL)""",
    "CREATE UNIQUE INDEX review_ticket_id ON review (ticket_id)",
    "CREATE INDEX review_state_due_at ON review (state, due_at)",
    """CREATE TABLE review_action (
        id {pk}, review_id INTEGER NOT NULL REFERENCES review (id), text TEXT NOT NULL, owner VARCHAR(255) NOT NULL,
        due_at {ts} NOT NULL, ticket_id INTEGER REFERENCES ticket (id), created_at {ts} NOT NULL,
        created_by VARCHAR(255) NOT NULL)""",
    "CREATE INDEX review_action_review_id ON review_action (review_id)",
]

# v16: what the reports count, kept by the write path: each ticket's facts
# (events, times, groups) and their sums per UTC hour and group, so a report
# over a big desk reads hours, not tickets (deskconsole.core.report_facts).
# The desk fills them when it opens after this step.
_V16 = [
    """CREATE TABLE report_fact (
        ticket_id INTEGER NOT NULL PRIMARY KEY, created_at {ts} NOT NULL, live BOOLEAN NOT NULL,
        priority VARCHAR(2) NOT NULL, team INTEGER NOT NULL, category INTEGER NOT NULL, service INTEGER NOT NULL,
        assignee INTEGER NOT NULL, acked_at {ts}, mtta BIGINT, mtta_b BIGINT, resolved_at {ts}, mttr BIGINT,
        mttr_b BIGINT, reopened BOOLEAN NOT NULL, handoffs INTEGER NOT NULL, score INTEGER, rateable BOOLEAN NOT NULL,
        response_at {ts}, response_met BOOLEAN, resolution_at {ts}, resolution_met BOOLEAN)""",
    "CREATE INDEX report_fact_created_at ON report_fact (created_at)",
    "CREATE INDEX report_fact_acked_at ON report_fact (acked_at)",
    "CREATE INDEX report_fact_resolved_at ON report_fact (resolved_at)",
    "CREATE INDEX report_fact_response_at ON report_fact (response_at)",
    "CREATE INDEX report_fact_resolution_at ON report_fact (resolution_at)",
    "CREATE INDEX report_fact_mtta_acked_at ON report_fact (mtta, acked_at)",
    "CREATE INDEX report_fact_mtta_b_acked_at ON report_fact (mtta_b, acked_at)",
    "CREATE INDEX report_fact_mttr_resolved_at ON report_fact (mttr, resolved_at)",
    "CREATE INDEX report_fact_mttr_b_resolved_at ON report_fact (mttr_b, resolved_at)",
    """CREATE TABLE report_hour (
        id {bigpk}, hour BIGINT NOT NULL, priority VARCHAR(2) NOT NULL, team INTEGER NOT NULL,
        category INTEGER NOT NULL, service INTEGER NOT NULL, """ + ", ".join(
        f"{c} BIGINT NOT NULL" for c in (
            "created", "created_live", "acked", "mtta_sum", "mtta_b_n", "mtta_b_sum", "resolved", "mttr_sum",
            "mttr_b_n", "mttr_b_sum", "reopened", "first_contact", "handoffs", "ping_pong", "rated", "rateable",
            "score", "response_met", "response_breached", "resolution_met", "resolution_breached")) + ")",
    "CREATE UNIQUE INDEX report_hour_hour_priority_team_category_service ON report_hour (hour, priority, team, category, service)",
]

# v17: one record base. Incidents, problems (and later changes) are kinds of
# one work record, the ticket table: ``kind`` names it, and a record of a
# kind other than incident has its own ``number`` (PRB-1, PRB-2, ...), found
# by the partial unique index. An incident's number is its id (INC-42 is row
# 42), so its number stays NULL: no incident row is rewritten, and the
# incident reads that must leave other kinds out take the few ids of that
# index (``id NOT IN``), which every index of the ticket table holds. A
# problem's own fields and lifecycle are in ``problem``.
_V17 = [
    "ALTER TABLE ticket ADD COLUMN kind VARCHAR(8) NOT NULL DEFAULT 'incident'",
    "ALTER TABLE ticket ADD COLUMN number INTEGER",
    "CREATE UNIQUE INDEX ticket_kind_number ON ticket (kind, number) WHERE number IS NOT NULL",
    """CREATE TABLE problem (
        ticket_id INTEGER NOT NULL PRIMARY KEY REFERENCES ticket (id), root_cause TEXT NOT NULL,
        workaround TEXT NOT NULL, known_error_at {ts}, fix TEXT NOT NULL)""",
]

# v18: the knowledge base. Articles (KB-n: Markdown, optional tags and
# service, an owner and a review date, draft -> published -> retired), every
# edit of their title or body kept as a numbered version, and which tickets
# used an article (``cited`` in a reply or note, or the ``source`` it was
# written from). Text search as for tickets: SQLite, an FTS5 table over
# title, tags and body with the article table as its content, kept in step
# by triggers, bm25 with title words 4x and tags 2x; PostgreSQL, a GIN index
# on the weighted tsvector of the same text (core/knowledge/kb_search.py
# writes the identical expression).
ARTICLE_TSVECTOR = ("(setweight(to_tsvector('simple'::regconfig, title), 'A')"
                    " || setweight(to_tsvector('simple'::regconfig, tags), 'B')"
                    " || to_tsvector('simple'::regconfig, body))")
_V18 = [
    """CREATE TABLE article (
        id {pk}, title VARCHAR(300) NOT NULL, body TEXT NOT NULL, tags VARCHAR(500) NOT NULL,
        service_id INTEGER REFERENCES service (id), owner VARCHAR(255) NOT NULL, state VARCHAR(10) NOT NULL,
        review_at {ts}, created_by VARCHAR(255) NOT NULL, created_at {ts} NOT NULL, updated_at {ts} NOT NULL,
        published_at {ts}, version INTEGER NOT NULL)""",
    "CREATE INDEX article_service_id ON article (service_id)",
    "CREATE INDEX article_state_updated_at ON article (state, updated_at)",
    """CREATE TABLE article_version (
        id {pk}, article_id INTEGER NOT NULL REFERENCES article (id), number INTEGER NOT NULL,
        title VARCHAR(300) NOT NULL, body TEXT NOT NULL, author VARCHAR(255) NOT NULL, at {ts} NOT NULL)""",
    "CREATE UNIQUE INDEX article_version_article_id_number ON article_version (article_id, number)",
    """CREATE TABLE article_use (
        id {pk}, article_id INTEGER NOT NULL REFERENCES article (id),
        ticket_id INTEGER NOT NULL REFERENCES ticket (id), kind VARCHAR(8) NOT NULL,
        created_by VARCHAR(255) NOT NULL, created_at {ts} NOT NULL)""",
    "CREATE UNIQUE INDEX article_use_article_id_ticket_id_kind ON article_use (article_id, ticket_id, kind)",
    "CREATE INDEX article_use_ticket_id ON article_use (ticket_id)",
    ("sqlite", """CREATE VIRTUAL TABLE article_fts USING fts5(title, tags, body, content='article',
        content_rowid='id', tokenize='unicode61 remove_diacritics 2')"""),
    ("sqlite", "INSERT INTO article_fts (article_fts, rank) VALUES ('rank', 'bm25(4.0, 2.0, 1.0)')"),
    ("sqlite", """CREATE TRIGGER article_fts_insert AFTER INSERT ON article BEGIN
        INSERT INTO article_fts (rowid, title, tags, body) VALUES (new.id, new.title, new.tags, new.body); END"""),
    ("sqlite", """CREATE TRIGGER article_fts_delete AFTER DELETE ON article BEGIN
        INSERT INTO article_fts (article_fts, rowid, title, tags, body)
        VALUES ('delete', old.id, old.title, old.tags, old.body); END"""),
    ("sqlite", """CREATE TRIGGER article_fts_update AFTER UPDATE OF id, title, tags, body ON article
        WHEN old.id IS NOT new.id OR old.title IS NOT new.title OR old.tags IS NOT new.tags
        OR old.body IS NOT new.body BEGIN
        INSERT INTO article_fts (article_fts, rowid, title, tags, body)
        VALUES ('delete', old.id, old.title, old.tags, old.body);
        INSERT INTO article_fts (rowid, title, tags, body) VALUES (new.id, new.title, new.tags, new.body); END"""),
    ("postgresql", f"CREATE INDEX article_text_search ON article USING GIN ({ARTICLE_TSVECTOR})"),
]

# v19: the service map and changes. A service gains its kind (``service``,
# or a configuration item's type: host, database ...) and the names it
# depends on; desk-wide settings (the change policy) are kept like the
# directory. A change (CHG-n) is a record of kind ``change`` on the record
# base, with its own fields in ``change_request``, the services and items it
# affects in ``change_item`` and its approvals in ``approval``. A state's
# name may now be 24 characters long (awaiting_approval). The service index
# takes the status too, for the map's open counts.
_V19 = [
    ("postgresql", "ALTER TABLE ticket ALTER COLUMN status TYPE VARCHAR(24)"),  # no rewrite: only the limit grows
    # the open incidents of a service and its neighbours, counted in the index (was: every ticket of the service)
    "DROP INDEX ticket_service_id",
    "CREATE INDEX ticket_service_id_status ON ticket (service_id, status)",
    "ALTER TABLE service ADD COLUMN kind VARCHAR(32) NOT NULL DEFAULT 'service'",
    "ALTER TABLE service ADD COLUMN depends_on TEXT NOT NULL DEFAULT ''",
    """CREATE TABLE desk_setting (
        id {pk}, name VARCHAR(64) NOT NULL, value TEXT NOT NULL, active BOOLEAN NOT NULL)""",
    "CREATE UNIQUE INDEX desk_setting_name ON desk_setting (name)",
    """CREATE TABLE change_request (
        ticket_id INTEGER NOT NULL PRIMARY KEY REFERENCES ticket (id), type VARCHAR(10) NOT NULL,
        risk VARCHAR(8) NOT NULL, template VARCHAR(64), planned_start {ts}, planned_end {ts}, actual_start {ts},
        actual_end {ts}, implementation TEXT NOT NULL, test_plan TEXT NOT NULL, backout TEXT NOT NULL,
        outcome VARCHAR(12), round INTEGER NOT NULL)""",
    "CREATE INDEX change_request_planned_start_planned_end ON change_request (planned_start, planned_end)",
    """CREATE TABLE change_item (
        id {pk}, change_id INTEGER NOT NULL REFERENCES ticket (id),
        service_id INTEGER NOT NULL REFERENCES service (id))""",
    "CREATE UNIQUE INDEX change_item_change_id_service_id ON change_item (change_id, service_id)",
    "CREATE INDEX change_item_service_id ON change_item (service_id)",
    """CREATE TABLE approval (
        id {pk}, change_id INTEGER NOT NULL REFERENCES ticket (id), round INTEGER NOT NULL, rule VARCHAR(16) NOT NULL,
        approver VARCHAR(255) NOT NULL, decision VARCHAR(8) NOT NULL, comment TEXT NOT NULL, at {ts} NOT NULL)""",
    "CREATE INDEX approval_change_id ON approval (change_id)",
]

# SQLite: the indexes a version made that a desk with planner statistics
# (a bulk load ran ANALYZE) gets statistics for at once; without them the
# planner misjudges the new index next to the others (the report of a
# 1,000,000-ticket desk went from 1.5 s to 6.2 s).
ANALYZE_AFTER = {19: ("ticket_service_id_status",)}

# The tables SQLite's FTS5 keeps for the text indexes (not models: the query
# language and the knowledge search read them, the triggers above write them).
FTS_TABLES = tuple(f"{name}_fts{part}" for name in ("ticket", "article")
                   for part in ("", "_config", "_data", "_docsize", "_idx"))

# A statement is DDL for every backend, or (backend, DDL) for one of them.
MIGRATIONS: list[list[str | tuple[str, str]]] = [_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9, _V10, _V11, _V12, _V13, _V14, _V15, _V16, _V17,
                                                   _V18, _V19]
LATEST = len(MIGRATIONS)


def _backend(db: Database) -> str:
    return "sqlite" if is_sqlite(db) else "postgresql"


def _table_exists(db: Database, name: str) -> bool:
    return name in db.get_tables()


def current_version(db: Database) -> int:
    """The schema version of ``db``: 0 for an empty database."""
    if not _table_exists(db, "schema_version"):
        if _table_exists(db, "ticket"):
            raise SchemaError(
                "this database has desk-like tables but no schema version; it was not made by deskconsole"
            )
        return 0
    row = db.execute_sql("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(db: Database, target: int = LATEST, on_step: Callable[[int], None] | None = None) -> int:
    """Bring ``db`` up to ``target``; returns the version it started from.

    Safe to run from several processes at once: the check and the DDL happen
    in one write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: an
    advisory lock), so only one of them migrates.
    """
    if target > LATEST:
        raise ValueError(f"no migration {target}; the latest is {LATEST}")
    types = _TYPES[_backend(db)]
    if (now := current_version(db)) == target:
        return now  # up to date: a read, no write lock (every CLI command opens the desk)
    with db.atomic():
        if _backend(db) == "postgresql":
            db.execute_sql("SELECT pg_advisory_xact_lock(7311029)")
        start = current_version(db)
        if start > LATEST:
            raise SchemaError(
                f"this database has schema version {start}, newer than this deskconsole understands "
                f"(up to {LATEST}); upgrade deskconsole (pip install -U deskconsole) to open it"
            )
        for version in range(start + 1, target + 1):
            for statement in MIGRATIONS[version - 1]:
                if isinstance(statement, tuple):
                    only, statement = statement
                    if only != _backend(db):
                        continue
                db.execute_sql(statement.format(**types))
            if is_sqlite(db) and version in ANALYZE_AFTER and _table_exists(db, "sqlite_stat1"):
                db.execute_sql("PRAGMA analysis_limit=0")
                for index in ANALYZE_AFTER[version]:
                    db.execute_sql(f"ANALYZE {index}")
            db.execute_sql(
                "INSERT INTO schema_version (version, applied_at) VALUES (%s, %s)" % (db.param, db.param),
                (version, _now_value(db)),
            )
            if on_step:
                on_step(version)
    return start


def _now_value(db: Database):
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    return now.isoformat(" ", "microseconds") if is_sqlite(db) else now
