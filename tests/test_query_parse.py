"""The query language's parser: pure, no database."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deskconsole.errors import ValidationError
from deskconsole.core.search.query import (
    DEFAULT_SORT,
    MAX_LENGTH,
    DateCond,
    Query,
    QueryError,
    Ref,
    SortKey,
    TimePoint,
    parse,
)


def fields(q: Query) -> list[tuple[str, bool, list]]:
    """(field, negated, [data...]) per term: the AND/OR structure at a glance."""
    return [(t.field, t.negated, [v.data for v in t.values]) for t in q.terms]


def raws(q: Query) -> list[list[str]]:
    return [[v.raw for v in t.values] for t in q.terms]


def one(text: str):
    """The data of the only value of the only term."""
    q = parse(text)
    assert len(q.terms) == 1 and len(q.terms[0].values) == 1, q
    return q.terms[0].values[0].data


# --------------------------------------------------------------- structure


def test_empty_and_blank_queries():
    for text in ("", "   ", "\t\n  \r"):
        q = parse(text)
        assert q.terms == () and q.sort == () and q.is_empty


def test_terms_are_anded_values_ored_and_negation_per_term():
    q = parse("status:new,assigned -team:ops disk -printer")
    assert fields(q) == [
        ("status", False, ["new", "assigned"]),
        ("team", True, ["ops"]),
        ("text", False, [None]),
        ("text", True, [None]),
    ]
    assert raws(q) == [["new", "assigned"], ["ops"], ["disk"], ["printer"]]


def test_spans_of_terms_and_values():
    text = "  -status:closed  title:\"disk full\",x"
    q = parse(text)
    status, title = q.terms
    assert (status.start, status.end) == (2, 16) and text[status.start:status.end] == "-status:closed"
    v = status.values[0]
    assert text[v.start:v.end] == "closed"
    assert [text[v.start:v.end] for v in title.values] == ['"disk full"', "x"]
    assert title.values[0].quoted and not title.values[1].quoted
    assert text[title.start:title.end] == 'title:"disk full",x'


def test_query_is_frozen_and_hashable():
    q = parse("status:new prio:<=P2 created:>-24h sort:-created")
    assert q == parse("status:new prio:<=P2 created:>-24h sort:-created")
    hash(q)
    with pytest.raises(AttributeError):
        q.terms = ()  # type: ignore[misc]


def test_any_whitespace_separates_terms():
    q = parse("disk\tfull\nnow\u00a0later\u3000end")
    assert raws(q) == [["disk"], ["full"], ["now"], ["later"], ["end"]]


# --------------------------------------------------------------- words and phrases


def test_phrases_and_escapes():
    q = parse(r'"disk full" "say \"hi\"" "back\\slash" "C:\temp"')
    assert raws(q) == [["disk full"], ['say "hi"'], ["back\\slash"], ["C:\\temp"]]
    assert all(t.field == "text" and t.values[0].quoted for t in q.terms)


def test_negated_phrase():
    q = parse('-"disk full"')
    assert fields(q) == [("text", True, [None])]
    assert q.terms[0].values[0].raw == "disk full"
    assert (q.terms[0].start, q.terms[0].end) == (0, 12)


def test_bare_key_also_matches_id():
    assert one("INC-42") == 42
    assert one("inc-7") == 7
    assert one("#9") == 9
    assert one("INC-") is None
    assert one("PRB-7") is None  # just text
    assert one("INC-99999999999") is None  # beyond any id: text only
    assert one("INC-0") is None


def test_double_dash_and_sql_looking_text_are_words():
    q = parse("'; DROP TABLE ticket; --")
    assert raws(q) == [["';"], ["DROP"], ["TABLE"], ["ticket;"], ["--"]]
    assert not any(t.negated for t in q.terms)
    assert parse('"\'; DROP TABLE ticket; --"').terms[0].values[0].raw == "'; DROP TABLE ticket; --"


def test_wildcards_and_unicode_are_plain_text():
    q = parse("100% a_b * ? مرحبا zero\u200bwidth 😀 \u202eevil")
    assert raws(q) == [["100%"], ["a_b"], ["*"], ["?"], ["مرحبا"], ["zero\u200bwidth"], ["😀"], ["\u202eevil"]]


def test_words_may_contain_dashes_and_inner_punctuation():
    assert raws(parse("foo-bar a,b x=y")) == [["foo-bar"], ["a,b"], ["x=y"]]


# --------------------------------------------------------------- fields


def test_field_names_are_case_insensitive_and_aliases_work():
    assert fields(parse("STATUS:new Priority:P1 prio:P2 desc:x description:y")) == [
        ("status", False, ["new"]),
        ("prio", False, [("P1",)]),
        ("prio", False, [("P2",)]),
        ("description", False, ["x"]),
        ("description", False, ["y"]),
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("status:new", "new"),
        ("status:ASSIGNED", "assigned"),
        ("status:in_progress", "in_progress"),
        ("status:in-progress", "in_progress"),
        ("status:pending", "pending"),
        ("status:resolved", "resolved"),
        ("status:closed", "closed"),
        ("status:cancelled", "cancelled"),
        ('status:"in progress"', "in_progress"),
    ],
)
def test_status_values(text, expected):
    assert one(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("prio:P1", ("P1",)),
        ("prio:p3", ("P3",)),
        ("prio:4", ("P4",)),
        ("priority:=P2", ("P2",)),
        ("prio:<=P2", ("P1", "P2")),
        ("prio:<P3", ("P1", "P2")),
        ("prio:>P3", ("P4",)),
        ("prio:>=p2", ("P2", "P3", "P4")),
        ("prio:P2..P3", ("P2", "P3")),
        ("prio:<=P4", ("P1", "P2", "P3", "P4")),
    ],
)
def test_priority_values(text, expected):
    assert one(text) == expected


def test_priority_values_are_ored():
    q = parse("prio:P1,>P3")
    assert [v.data for v in q.terms[0].values] == [("P1",), ("P4",)]


def test_reference_fields():
    q = parse("team:Ops category:network service:mail assignee:alice assignee:me assignee:none team:none assignee:@bob")
    assert fields(q) == [
        ("team", False, ["ops"]),
        ("category", False, ["network"]),
        ("service", False, ["mail"]),
        ("assignee", False, ["alice"]),
        ("assignee", False, [Ref.ME]),
        ("assignee", False, [Ref.NONE]),
        ("team", False, [Ref.NONE]),
        ("assignee", False, ["bob"]),
    ]
    assert one("assignee:ME") is Ref.ME
    assert one("assignee:Alice") == "Alice"  # logins keep their case for the lookup


def test_text_fields_keep_values_verbatim():
    q = parse('requester:"Ann Lee" requester:ann@example.com title:"disk full" desc:Timeout title:100%')
    assert fields(q) == [
        ("requester", False, ["Ann Lee"]),
        ("requester", False, ["ann@example.com"]),
        ("title", False, ["disk full"]),
        ("description", False, ["Timeout"]),
        ("title", False, ["100%"]),
    ]


def test_key_values():
    assert [v.data for v in parse("key:INC-1,inc-22,#3,4").terms[0].values] == [1, 22, 3, 4]


@pytest.mark.parametrize("flag", ["open", "closed", "assigned", "unassigned", "acked", "unacked", "merged"])
def test_is_flags(flag):
    assert one(f"is:{flag}") == flag
    assert one(f"is:{flag.upper()}") == flag


def test_is_flags_or_and_negate():
    assert fields(parse("-is:open is:acked,merged")) == [("is", True, ["open"]), ("is", False, ["acked", "merged"])]


def test_sort_terms_in_order():
    q = parse("sort:-prio disk sort:created,-updated sort:key sort:status sort:title sort:due")
    assert [(k.field, k.descending) for k in q.sort] == [
        ("prio", True), ("created", False), ("updated", True), ("key", False), ("status", False), ("title", False),
        ("due", False),
    ]
    assert raws(q) == [["disk"]]
    assert parse("sort:priority").sort == (SortKey("prio", False, 5, 13),)


def test_sort_by_deadline():
    assert parse("sort:due").sort == (SortKey("due", False, 5, 8),)
    assert parse("sort:-due").sort == (SortKey("due", True, 5, 9),)
    assert parse("sort:SLA_DUE").sort == (SortKey("due", False, 5, 12),)
    assert [(k.field, k.descending) for k in parse("sort:due,-prio").sort] == [("due", False), ("prio", True)]


def test_default_order_is_deadline_then_priority_then_age():
    assert DEFAULT_SORT == ("due", "prio", "created")
    assert parse("is:open").sort == ()  # the default is applied when building SQL, not stored in the query


@pytest.mark.parametrize(
    "text, expected",
    [
        ("sla:breached", ["breached"]),
        ("sla:warning", ["warning"]),
        ("sla:ok", ["ok"]),
        ("sla:paused", ["paused"]),
        ("sla:met", ["met"]),
        ("sla:none", ["none"]),
        ("SLA:Breached", ["breached"]),
        ("sla:breach,warn", ["breached", "warning"]),  # the ls table's words
        ('sla:"ok",met', ["ok", "met"]),
    ],
)
def test_sla_values(text, expected):
    q = parse(text)
    assert fields(q) == [("sla", False, expected)]


def test_sla_values_or_and_negate():
    assert fields(parse("-sla:none sla:breached,warning is:open")) == [
        ("sla", True, ["none"]),
        ("sla", False, ["breached", "warning"]),
        ("is", False, ["open"]),
    ]


# --------------------------------------------------------------- dates


def point(text: str) -> DateCond:
    return one(text)


@pytest.mark.parametrize(
    "text, op, tp",
    [
        ("created:>-24h", ">", TimePoint("ago", seconds=-86400)),
        ("created:<-7d", "<", TimePoint("ago", seconds=-7 * 86400)),
        ("updated:>=-30m", ">=", TimePoint("ago", seconds=-1800)),
        ("updated:<=-2w", "<=", TimePoint("ago", seconds=-14 * 86400)),
        ("created:>-45s", ">", TimePoint("ago", seconds=-45)),
        ("created:>-3H", ">", TimePoint("ago", seconds=-3 * 3600)),
        ("created:<+1d", "<", TimePoint("ago", seconds=86400)),
        ("created:-24h", "=", TimePoint("ago", seconds=-86400)),
        ("created:>=2026-11-01", ">=", TimePoint("day", day=date(2026, 11, 1))),
        ("created:<2026-11-01", "<", TimePoint("day", day=date(2026, 11, 1))),
        ("created:2026-11-01", "=", TimePoint("day", day=date(2026, 11, 1))),
        ("created:=2026-02-28", "=", TimePoint("day", day=date(2026, 2, 28))),
        ("created:>2026-11-01T14:00", ">", TimePoint("at", at=datetime(2026, 11, 1, 14, 0), precision=60)),
        ("created:<2026-11-01T14:00:30", "<", TimePoint("at", at=datetime(2026, 11, 1, 14, 0, 30), precision=1)),
        (
            "created:>2026-11-01T14:00Z",
            ">",
            TimePoint("at", at=datetime(2026, 11, 1, 14, 0, tzinfo=timezone.utc), precision=60),
        ),
        ("created:today", "=", TimePoint("relday", seconds=0)),
        ("created:Yesterday", "=", TimePoint("relday", seconds=-1)),
        ("created:>=tomorrow", ">=", TimePoint("relday", seconds=1)),
    ],
)
def test_date_points(text, op, tp):
    assert point(text) == DateCond(op, tp)


def test_date_ranges():
    d1, d20 = TimePoint("day", day=date(2026, 11, 1)), TimePoint("day", day=date(2026, 11, 20))
    assert point("created:2026-11-01..2026-11-20") == DateCond("..", d1, d20)
    assert point("created:2026-11-01..") == DateCond("..", d1, None)
    assert point("created:..2026-11-20") == DateCond("..", None, d20)
    assert point("updated:-7d..-1d") == DateCond("..", TimePoint("ago", seconds=-7 * 86400), TimePoint("ago", seconds=-86400))
    assert point("created:2026-11-01..-1h") == DateCond("..", d1, TimePoint("ago", seconds=-3600))
    assert point('created:"2026-11-01..2026-11-20"') == DateCond("..", d1, d20)


def test_date_values_are_ored():
    q = parse("created:2026-11-01,2026-11-05")
    assert [v.data.point.day for v in q.terms[0].values] == [date(2026, 11, 1), date(2026, 11, 5)]


# --------------------------------------------------------------- errors: exact spans


@pytest.mark.parametrize(
    "text, span, fragment",
    [
        # structure
        ('"abc', (0, 1), "unclosed quote"),
        ('disk "full', (5, 6), "unclosed quote"),
        ('title:"disk full', (6, 7), "unclosed quote"),
        ('"ends with backslash\\', (0, 1), "unclosed quote"),
        ('"a"b', (3, 4), "space after the closing quote"),
        ('title:"a"b', (9, 10), "',' or a space"),
        ('ab"cd', (2, 3), "inside a word"),
        ('title:ab"cd', (8, 9), "inside a value"),
        ('""', (0, 2), "empty phrase"),
        ('"   "', (0, 5), "empty phrase"),
        ('title:""', (6, 8), "empty value"),
        ("-", (0, 1), "lone '-'"),
        ("disk - printer", (5, 6), "lone '-'"),
        ("disk -", (5, 6), "lone '-'"),
        (":", (0, 1), "missing field name"),
        ("::", (0, 1), "missing field name"),
        ("disk :open", (5, 6), "missing field name"),
        ("-:x", (1, 2), "missing field name"),
        ("status:", (0, 7), "needs a value"),
        ("is:open status: x", (8, 15), "needs a value"),
        ("-team:", (0, 6), "needs a value"),
        ("status:new,", (10, 11), "empty value after ','"),
        ("status:,new", (7, 8), "empty value before ','"),
        ("status:new,,open", (11, 12), "empty value before ','"),
        # fields
        ("stauts:open is:open", (0, 6), "did you mean 'status'?"),
        ("is:open prioity:P1", (8, 15), "did you mean 'priority'?"),
        ("zzz:1", (0, 3), "unknown field 'zzz'"),
        ("http://example.com", (0, 4), "unknown field 'http'"),
        ("status:bogus", (7, 12), "unknown status 'bogus'"),
        ("status:new,asigned", (11, 18), "did you mean 'assigned'?"),
        ("status:open", (7, 11), "is:open"),
        ("prio:P5", (5, 7), "P1 (highest) to P4"),
        ("prio:P0", (5, 7), "P1 (highest) to P4"),
        ("prio:high", (5, 9), "not a priority"),
        ("prio:<P1", (5, 8), "no priority is above P1"),
        ("prio:>P4", (5, 8), "no priority is below P4"),
        ("prio:P3..P1", (5, 11), "runs backwards"),
        ("key:ABC-7", (4, 9), "not a ticket key"),
        ("key:abc", (4, 7), "not a ticket key"),
        ("key:INC-0", (4, 9), "numbers go from 1"),
        ("key:INC-99999999999", (4, 19), "numbers go from 1"),
        ("is:opn", (3, 6), "did you mean 'open'?"),
        ("is:whatever", (3, 11), "use one of is:open"),
        ("sort:bogus", (5, 10), "cannot sort by 'bogus'"),
        ("sort:-creatd", (5, 12), "did you mean 'created'?"),
        ("sort:created sort:-created", (18, 26), "already sorting by created"),
        ("-sort:created", (0, 1), "cannot be negated"),
        ("sort:deu", (5, 8), "did you mean 'due'?"),
        ("sort:due sort:-due", (14, 18), "already sorting by due"),
        ("sla:breachd", (4, 11), "unknown sla:breachd; did you mean 'breached'?"),
        ("is:open sla:ok,late", (15, 19), "use one of sla:breached, sla:warning, sla:ok, sla:paused, sla:met, sla:none"),
        ("-sla:overdue", (5, 12), "use one of sla:breached"),
        ("sla:", (0, 4), "needs a value, e.g. sla:breached,warning"),
        ('sla:""', (4, 6), "empty value"),
        ('team:" "', (5, 8), "empty name"),
        # dates
        ("created:", (0, 8), "needs a value"),
        ("created:>", (8, 9), "missing date after '>'"),
        ("created:>=", (8, 10), "missing date after '>='"),
        ("created:soon", (8, 12), "'soon' is not a date"),
        ("created:>24h", (9, 12), "needs a sign: -24h"),
        ("created:>-24x", (9, 13), "not a date"),
        ("created:2026-13-01", (8, 18), "not a real date"),
        ("created:2026-02-30", (8, 18), "not a real date"),
        ("updated:>2026-11-01T25:00", (9, 25), "not a real time"),
        ("created:0001-01-01", (8, 18), "year must be between"),
        ("created:>-9999999999w", (9, 21), "too far"),
        ("created:2026-11-20..2026-11-01", (8, 30), "ends before it starts"),
        ("created:-1d..-7d", (8, 16), "ends before it starts"),
        ("created:>2026-11-01..2026-11-20", (8, 31), "not both"),
        ("created:..", (8, 10), "a range is START..END"),
        ("created:a..b..c", (8, 15), "a range is START..END"),
        ("created:2026-11-01..nope", (20, 24), "'nope' is not a date"),
        ('created:"2026-11-01..nope"', (21, 25), "'nope' is not a date"),
        # characters
        ("a\x00b", (1, 2), "U+0000"),
        ("status:new\x1b[31m", (10, 11), "U+001B"),
        ("x\x7f", (1, 2), "U+007F"),
        ("bad\ud800", (3, 4), "U+D800"),
    ],
)
def test_errors_point_at_the_offending_text(text, span, fragment):
    with pytest.raises(QueryError) as info:
        parse(text)
    err = info.value
    assert (err.start, err.end) == span, (str(err), err.start, err.end)
    assert fragment in str(err)
    assert err.text == text
    assert "\n" not in str(err)


def test_query_error_is_a_validation_error_with_one_line_str_and_caret_render():
    with pytest.raises(ValidationError) as info:
        parse("stauts:open is:open")
    err = info.value
    assert isinstance(err, QueryError)
    assert str(err).startswith("unknown field 'stauts'; did you mean 'status'? fields: status, prio, team,")
    assert err.render() == f"{err}\n  stauts:open is:open\n  ^^^^^^"


def test_bad_sla_value_renders_a_caret_under_it():
    err = _error("is:open sla:ok,late")
    assert err.render().splitlines() == [
        str(err),
        "  is:open sla:ok,late",
        "                 ^^^^",
    ]
    assert str(err).startswith("unknown sla:late; use one of sla:breached, sla:warning, sla:ok,")


def test_render_caret_under_a_value_in_the_middle():
    err = _error("is:open team: x")
    assert err.render().splitlines()[1:] == ["  is:open team: x", "          ^^^^^"]


def test_render_counts_wide_characters_and_hides_control_like_characters():
    err = _error("😀\u202e status:nope")
    line, carets = err.render().splitlines()[1:]
    assert line == "  😀? status:nope"
    assert carets == "  " + " " * (2 + 1 + 1 + 7) + "^^^^"  # emoji is two columns, the RTL override shown as '?'


def test_render_of_an_empty_span_at_the_end_still_shows_a_caret():
    err = QueryError("x", "abc", 3, 3)
    assert err.render().splitlines()[-1] == "     ^"


def test_too_long_queries_are_rejected_and_render_stays_short():
    text = "disk " * 401  # 2005 characters
    err = _error(text)
    assert "limit is 2,000" in str(err)
    assert (err.start, err.end) == (MAX_LENGTH, len(text))
    line, carets = err.render().splitlines()[1:]
    assert len(line) < 90 and line.startswith("  …")
    assert carets.strip() == "^" * (len(text) - MAX_LENGTH) or set(carets.strip()) == {"^"}
    parse(("x" * 1999))  # at the limit is fine


def test_error_messages_quote_user_text_safely():
    err = _error("status:\u202enew")
    assert "\\u202e" in str(err)
    err = _error('status:"multi\nline"')
    assert "\n" not in str(err) and "\\n" in str(err)
    err = _error("zz" * 200 + ":x")
    assert len(str(err)) < 400


def test_unknown_name_errors_need_the_database_and_are_not_parse_errors():
    # names are checked against the directory in to_peewee, not here
    assert one("team:no-such-team") == "no-such-team"


def _error(text: str) -> QueryError:
    with pytest.raises(QueryError) as info:
        parse(text)
    return info.value


def test_non_text_is_a_programming_error():
    with pytest.raises(TypeError):
        parse(None)  # type: ignore[arg-type]


# --------------------------------------------------------------- property


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_arbitrary_text_parses_or_raises_query_error(text):
    try:
        q = parse(text)
    except QueryError as err:
        assert 0 <= err.start <= err.end <= len(text)
        assert "\n" not in str(err)
        err.render()
    else:
        assert isinstance(q, Query)
        for term in q.terms:
            assert 0 <= term.start < term.end <= len(text)
            for v in term.values:
                assert term.start <= v.start <= v.end <= term.end


_ALPHABET = st.sampled_from(
    list('-:,". \\<>=%_') + ["status", "prio", "P1", "is", "open", "created", "2026-11-01", "..", "-24h", "T14:00", "sort", "😀",
                           "sla", "due", "none", "warn"]
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ALPHABET, max_size=12).map("".join))
def test_query_like_text_parses_or_raises_query_error(text):
    try:
        parse(text)
    except QueryError as err:
        assert 0 <= err.start <= err.end <= len(text)
        err.render()


@pytest.mark.parametrize("typed, read", [
    ("dis", "dis*"), ("is:open dis", "is:open dis*"), ("dis ", "dis "), ("disk*", "disk*"),
    ('"disk fu', '"disk fu'), ('"disk full"', '"disk full"'), ("-dis", "-dis"), ("prio:P1", "prio:P1"),
    ("INC-4", "INC-4"), ("", ""), ("***", "***"), ("stauts:x", "stauts:x"), ("dis sort:due", "dis sort:due"),
])
def test_a_word_being_typed_is_a_prefix(typed, read):
    from deskconsole.core.search.query import as_you_type

    assert as_you_type(typed) == read
