"""Text search through the index (migrations v7 and v8): words, prefixes,
phrases, in a ticket's title, description and conversation; relevance order,
the index kept in step by every write path, hostile search strings, and old
desks getting the index filled when they migrate.
Both backends (SQLite FTS5, PostgreSQL tsvector + GIN)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from deskconsole import migrations
from deskconsole.core.records import links, tickets
from deskconsole.core import report_facts
from deskconsole.core.archive import transfer
from deskconsole.core.desk import open_desk
from deskconsole.core.identity import SYSTEM
from deskconsole.core.search.query import QueryError, select_tickets
from deskconsole.db import connect
from deskconsole.models import Ticket

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=timezone.utc)

# title, description; priorities make the default order differ from relevance
FIXED = [
    ("Printer offline on floor 2", "Someone says the disk in the printer is full of dust", "P1"),  # 1: words in the description
    ("Disk full on db01", "The /var partition is at 100% usage; disk full alarms since noon", "P4"),  # 2: title and description
    ("Mail queue stuck", "Outbound queue full, nothing about storage", "P2"),  # 3: "full" only
    ("Disco lights", "Discount voucher for the party", "P3"),  # 4: dis* words, no "disk"
]


def ids(desk, text: str) -> list[int]:
    return [t.id for t in select_tickets(desk, text, actor_login="ada", now=NOW).limit(50)]


def assert_index_in_step(desk) -> None:
    """SQLite: FTS5's own check that the index holds exactly each ticket's text and conversation."""
    if desk.is_sqlite:
        desk.db.execute_sql("INSERT INTO ticket_fts (ticket_fts, rank) VALUES ('integrity-check', 1)")


@pytest.fixture
def fixed(desk, actors):
    for title, description, prio in FIXED:
        tickets.create(desk, actors["ada"], title=title, description=description, priority=prio)
    return desk


def test_words_are_anded_and_whole(fixed):
    assert sorted(ids(fixed, "disk full")) == [1, 2]
    assert sorted(ids(fixed, "FULL")) == [1, 2, 3]
    assert ids(fixed, "dis") == []  # whole words: not "Disco", "Discount", "disk"
    assert ids(fixed, "printer floor dust") == [1]


def test_words_only_in_the_description(fixed):
    assert ids(fixed, "dust") == [1]
    assert ids(fixed, "storage") == [3]


def test_prefix(fixed):
    assert sorted(ids(fixed, "dis*")) == [1, 2, 4]
    assert ids(fixed, "partit*") == [2]
    assert sorted(ids(fixed, "disc* voucher")) == [4]


def test_phrase(fixed):
    assert ids(fixed, '"disk full"') == [2]
    assert ids(fixed, '"full disk"') == []
    assert ids(fixed, '"queue full"') == [3]


def test_relevance_orders_text_queries_and_a_sort_overrides_it(fixed):
    # ticket 2 has the words twice and in its title; 1 once, in its description.
    # Without words the default order puts 1 (P1) before 2 (P4).
    assert ids(fixed, "disk full") == [2, 1]
    assert ids(fixed, "disk full sort:prio") == [1, 2]
    assert ids(fixed, "is:open")[:2] == [1, 3]  # no words: the default order as before


def test_negated_words_and_keys(fixed):
    assert sorted(ids(fixed, "-full")) == [4]
    assert sorted(ids(fixed, "full -disk")) == [3]
    assert ids(fixed, "INC-4") == [4]  # a key is its ticket


def test_other_fields_compose_with_text(fixed):
    assert sorted(ids(fixed, "full prio:P1,P2")) == [1, 3]
    assert ids(fixed, "full prio:P4") == [2]
    # title: and desc: stay substring matches
    assert ids(fixed, "title:isco") == [4]


@pytest.fixture
def talked(fixed, actors):
    """The fixed tickets with a conversation: words found only in a reply or a note."""
    tickets.reply(fixed, actors["ada"], "INC-3", "We restarted the NTP daemon on the relay; the queue drains now.")
    tickets.note(fixed, actors["al"], "INC-4", "kubelet evicted the DJ's pod, internal only")
    tickets.note(fixed, actors["al"], "INC-4", "storage is full again")
    return fixed


def test_words_only_in_the_conversation(talked):
    assert ids(talked, "ntp") == [3]  # a public reply
    assert ids(talked, "kubelet") == [4]  # an internal note
    assert ids(talked, "kube*") == [4]
    assert ids(talked, '"ntp daemon"') == [3]
    assert ids(talked, '"daemon ntp"') == []
    assert ids(talked, "lights kubelet") == [4]  # one word in the title, one in a note
    assert ids(talked, "lights ntp") == []
    assert ids(talked, "evicted again") == [4]  # two notes of one ticket
    assert sorted(ids(talked, "-kubelet")) == [1, 2, 3]


def test_conversation_matches_rank_after_title_and_description(talked):
    # 4 has "full" only in a note: after the tickets that have it in their own text
    assert ids(talked, "full")[-1] == 4
    assert sorted(ids(talked, "full")) == [1, 2, 3, 4]
    assert ids(talked, "full sort:key") == [1, 2, 3, 4]


def test_the_index_follows_the_conversation(talked, actors):
    tickets.reply(talked, actors["ada"], "INC-1", "Dust removed with compressed air")
    assert ids(talked, "compressed") == [1]
    links.merge(talked, actors["ada"], "INC-3", "INC-2")  # a merged ticket keeps its conversation
    assert ids(talked, "ntp") == [3]
    with talked.db.atomic():  # no command edits or deletes an entry; the index would follow all the same
        talked.db.execute_sql("UPDATE entry SET body = 'all quiet' WHERE ticket_id = 4 AND body <> 'storage is full again'")
        talked.db.execute_sql("DELETE FROM entry WHERE ticket_id = 1")
    assert ids(talked, "kubelet") == []
    assert ids(talked, "quiet") == [4]
    assert ids(talked, "compressed") == []
    assert_index_in_step(talked)


def test_an_imported_conversation_is_searchable(desk, tmp_path):
    path = tmp_path / "tickets.jsonl"
    entry = {"kind": "reply", "author": "ada", "author_name": "Ada", "at": "2026-11-01T10:00:00+00:00",
             "body": "the zeppelin was moored", "source": "import"}
    rows = [{"title": f"Imported {i}", "entries": [entry] if i == 3 else []} for i in range(5)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    transfer.import_file(desk, SYSTEM, str(path))
    assert [Ticket.get_by_id(i).title for i in ids(desk, "zeppelin moored")] == ["Imported 3"]
    assert_index_in_step(desk)


def test_the_index_follows_create_edit_merge_and_delete(fixed, actors):
    out = tickets.create(fixed, actors["ada"], title="Kerberos tickets expire early", description="clock skew")
    assert ids(fixed, "kerberos skew") == [5]
    # every write path goes through the table (the SQLite triggers; PostgreSQL's index is on the row itself)
    Ticket.update(title="Badge reader broken", description="lobby door").where(Ticket.id == 5).execute()
    assert ids(fixed, "kerberos") == []
    assert ids(fixed, "badge lobby") == [5]
    links.merge(fixed, actors["ada"], "INC-5", "INC-1")
    assert ids(fixed, "badge is:merged") == [5]
    Ticket.update(status="closed").where(Ticket.id == 5).execute()  # not the text: the index needs no change
    assert ids(fixed, "lobby") == [5]
    assert_index_in_step(fixed)
    with fixed.db.atomic():  # no command deletes a ticket; the index would forget it all the same
        for sql in ("DELETE FROM sla_crossing WHERE ticket = 4", "DELETE FROM sla_clock WHERE ticket_id = 4",
                    "DELETE FROM entry WHERE ticket_id = 4", "DELETE FROM audit_event WHERE ticket_id = 4",
                    "DELETE FROM link WHERE source_id = 4 OR target_id = 4", "DELETE FROM ticket WHERE id = 4"):
            fixed.db.execute_sql(sql)
        report_facts.refresh(fixed, [4])  # what the reports counted of it goes too
    assert ids(fixed, "voucher") == []
    assert_index_in_step(fixed)
    assert out is not None


def test_imported_tickets_are_searchable(desk, tmp_path):
    path = tmp_path / "tickets.jsonl"
    rows = [{"title": f"Imported ticket {i}", "description": "zeppelin" if i == 7 else "plain"} for i in range(20)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    keys = transfer.import_file(desk, SYSTEM, str(path))
    assert len(keys) == 20
    assert [Ticket.get_by_id(i).title for i in ids(desk, "zeppelin")] == ["Imported ticket 7"]
    assert len(ids(desk, "imported")) == 20
    assert_index_in_step(desk)


HOSTILE = ["AND", '"', 'disk"full', "NEAR(a b)", "*", "a:b", "(", "OR", "NOT disk", "disk AND full", "^disk",
           "disk NEAR full", "title:disk*", "col:disk", "{title}: disk", "-", "--", '"disk" OR "x"', "'", "\\",
           "disk +full", "a'b", "x:=1", '"unclosed', "disk)", "''''",
           # prefixes: quotes and backslashes inside a tsquery lexeme or an FTS5 string
           "a'b*", "it's*", "x\\*", "'*", "\\'*", "d*sk*", "**", '"disk\\" full"', '"a\\"b*"', "disk\u00e9*"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_are_plain_words(fixed, text):
    try:
        got = ids(fixed, text)
    except QueryError as err:  # the query language's own clear refusal (unclosed quote, lone '-')
        assert str(err) and "fts" not in str(err).lower() and "syntax" not in str(err).lower()
    else:
        assert set(got) <= {1, 2, 3, 4}


def test_hostile_strings_search_for_their_words(fixed):
    assert ids(fixed, "disk AND full") == []  # "and" is a word no ticket has
    assert ids(fixed, "NEAR(disk full)") == []  # "near" is just a word
    assert ids(fixed, "^disk (full)") == [2, 1]
    with pytest.raises(QueryError, match="unknown field"):
        ids(fixed, "disk:full")  # a colon makes a field term; quote it to search for it
    with pytest.raises(QueryError, match="inside a word"):
        ids(fixed, 'disk"full')
    assert ids(fixed, '"disk" OR "nothing"') == []  # three words ANDed: disk, or, nothing
    assert ids(fixed, '"NEAR(disk full)"') == []
    assert ids(fixed, '"title:disk"') == []  # the phrase "title disk", no column filter


def test_a_word_without_letters_or_digits_looks_nothing_up(fixed):
    assert sorted(ids(fixed, "*")) == [1, 2, 3, 4]
    assert sorted(ids(fixed, "( ) ^")) == [1, 2, 3, 4]
    assert ids(fixed, "dust *") == [1]


def test_nul_and_huge_queries_are_refused_clearly(fixed):
    with pytest.raises(QueryError, match="control character U\\+0000"):
        ids(fixed, "disk\x00full")
    with pytest.raises(QueryError, match="characters long"):
        ids(fixed, " ".join(["disk"] * 20_000))  # 100 KB of words
    many = " ".join(f"w{i}" for i in range(390))  # as long as a query may be: still runs
    assert ids(fixed, many) == []
    assert ids(fixed, " ".join(["full"] * 400)) != []


def test_a_migrated_desk_gets_its_tickets_indexed(bare_db_url, config):
    db = connect(bare_db_url)
    migrations.migrate(db, target=6)  # before the text index
    db.execute_sql(
        "INSERT INTO ticket (id, title, description, status, priority, created_by, created_at, updated_at,"
        " reopen_count, version, source) VALUES (3, 'Legacy outage', 'the zeppelin landed', 'new', 'P2', 'ada',"
        " '2026-01-02 03:04:05.000000', '2026-01-02 03:04:05.000000', 0, 1, 'cli')"
    )
    db.execute_sql(  # a desk from before v8: its conversation was not in the index yet
        "INSERT INTO entry (ticket_id, kind, author, author_name, at, body, source) VALUES"
        " (3, 'reply', 'ada', 'Ada', '2026-01-02 04:00:00.000000', 'the airship was refuelled', 'cli')")
    db.close()
    desk = open_desk(bare_db_url, config)
    try:
        assert migrations.current_version(desk.db) == migrations.LATEST
        assert ids(desk, "zeppelin") == [3]
        assert ids(desk, "legacy outage") == [3]
        assert ids(desk, "airship") == [3]
        assert_index_in_step(desk)
    finally:
        desk.close()


@pytest.mark.parametrize("text", ["disk full", "-disk is:open", "dis* sort:created"])
def test_the_plan_reads_the_text_index(fixed, text, query_plan):
    sql, params = select_tickets(fixed, text, actor_login="ada", now=NOW).sql()
    plan = query_plan(fixed.db, sql, params)
    if fixed.is_sqlite:
        assert any("VIRTUAL TABLE INDEX" in p for p in plan), plan
    elif not text.startswith("-") and "sort:" not in text:  # table scans priced out: the GIN expression indexes answer
        assert any("ticket_text_search" in p for p in plan), plan
        assert any("entry_text_search" in p for p in plan), plan
    else:  # a NOT cannot use it, and for four rows the planner may prefer a sort's index: no table scan, though
        assert not any("Seq Scan on ticket" in p for p in plan), plan


def test_a_big_import_rebuilds_the_index_once_and_keeps_it_in_step(desk, tmp_path, actors):
    """10,000 rows: the import sets the row-by-row triggers aside (SQLite) and
    rebuilds the index at the end; afterwards every write keeps it in step again."""
    path = tmp_path / "big.jsonl"
    entry = {"kind": "reply", "author": "ada", "author_name": "Ada", "at": "2026-11-01T10:00:00+00:00",
             "body": "the zeppelin was moored", "source": "import"}
    with open(path, "w", encoding="utf-8") as out:
        for i in range(10_000):
            row = {"title": f"Bulk ticket {i}", "description": "quokka" if i == 4321 else "plain"}
            if i == 777:
                row["entries"] = [entry]
            out.write(json.dumps(row) + "\n")
    keys = transfer.import_file(desk, SYSTEM, str(path), total=10_000)
    assert len(keys) == 10_000
    assert ids(desk, "quokka") == [4322]
    assert ids(desk, "zeppelin moored") == [778]  # a word only in the conversation
    assert_index_in_step(desk)
    if desk.is_sqlite:
        triggers = {n for (n,) in desk.db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                                                      " AND name LIKE '%fts%'").fetchall()}
        assert {"ticket_fts_insert", "entry_fts_insert", "entry_fts_update", "entry_fts_move"} <= triggers
    tickets.reply(desk, actors["ada"], "INC-1", "a wombat appeared")
    assert ids(desk, "wombat") == [1]
    assert_index_in_step(desk)


@pytest.mark.parametrize("parallel", [False, True])
def test_a_big_import_fills_the_index_batch_by_batch(desk, tmp_path, monkeypatch, parallel):
    """The import writes each ticket's document into the index itself (while
    it waits for the reader process, and the rest at the end): tickets with a
    conversation in any batch, and with keys out of order, are found by the
    words of their text and of their conversation, and the index is exactly
    what the triggers would have made."""
    if parallel:
        monkeypatch.setattr(transfer, "PARALLEL_FROM_BYTES", 0)
    path = tmp_path / "big.jsonl"
    rows = 3 * transfer.BATCH + 17
    with open(path, "w", encoding="utf-8") as out:
        for i in range(rows):
            row = {"key": f"INC-{rows - i}", "title": f"Bulk ticket {i}", "description": f"plain word{i}"}
            if i % 97 == 5:
                row["entries"] = [{"kind": "note", "author": "ada", "body": f"moored zeppelin{i}"},
                                  {"kind": "reply", "author": "ada", "body": "second"}]
            out.write(json.dumps(row) + "\n")
    assert len(transfer.import_file(desk, SYSTEM, str(path), total=10_000)) == rows
    assert_index_in_step(desk)
    for i in (0, 5, 5 + 97 * 5, rows - 1):
        assert ids(desk, f"word{i}") == [rows - i]
    for i in (5, 5 + 97 * 3, 5 + 97 * 7):
        assert ids(desk, f"zeppelin{i}") == [rows - i]
    assert len(ids(desk, "moored")) == len(range(5, rows, 97))


@pytest.mark.parametrize("text", ["full", "disk full", "dis*", '"queue full"', "full -disk", "full prio:P1,P2",
                                  "INC-4", "nothingatall", "full ntp", "*"])
def test_counting_agrees_with_the_list(talked, text):
    from deskconsole.core.search.query import count_tickets

    assert count_tickets(talked, text, actor_login="ada", now=NOW) == len(ids(talked, text))
