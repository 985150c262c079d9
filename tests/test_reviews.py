"""Post-incident reviews: asked for when a P1/P2 is resolved, written,
follow-up actions as tickets, done, listed, exported; on both backends."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone

import pytest

from deskconsole.cli.main import main
from deskconsole.config import parse_config
from deskconsole.core.records import review_actions, reviews, tickets
from deskconsole.core.desk import open_desk
from deskconsole.errors import Conflict, NotFound, PermissionDenied, ValidationError
from deskconsole.core.reports.report import build
from deskconsole.core.automation.sweep import sweep
from deskconsole.models import AuditEvent, Link, Review, Ticket

from conftest import START, TEST_CONFIG, TWO_POLICIES, config_actor

UTC = timezone.utc


@pytest.fixture
def rdesk(db_url, clock):
    desk = open_desk(db_url, parse_config(TEST_CONFIG + TWO_POLICIES, "t.toml"), clock)
    desk.actors = {login: config_actor(desk.config, login) for login in ("ada", "al", "nia", "vic")}
    yield desk
    desk.close()


def p1_resolved(desk, clock) -> str:
    al = desk.actors["al"]
    key = tickets.create(desk, al, title="Checkout returns 502", priority="P1", category="outage").key
    clock.advance(minutes=5)
    tickets.take(desk, al, key)
    clock.advance(hours=4, minutes=30)  # past the P1's 4-hour resolution target
    sweep(desk)  # the 4h resolution target passed: a breach in the timeline
    tickets.resolve(desk, al, key, "fixed", "rolled back the deploy")
    return key


def test_resolving_a_p1_asks_for_a_review_once(rdesk, clock):
    key = p1_resolved(rdesk, clock)
    r = reviews.get(rdesk, key)
    assert (r.state, r.due_at, r.priority) == ("due", clock() + timedelta(days=5), "P1")
    tickets.reopen(rdesk, rdesk.actors["al"], key, "not fixed")
    tickets.resolve(rdesk, rdesk.actors["al"], key, "fixed")
    assert Review.select().count() == 1  # resolved again: still the one review
    p3 = tickets.create(rdesk, rdesk.actors["al"], title="Toner", priority="P3").key
    tickets.resolve(rdesk, rdesk.actors["al"], p3, "fixed")
    with pytest.raises(NotFound, match="has no review; open one with"):
        reviews.get(rdesk, p3)
    audit = [(e.field, e.new) for e in AuditEvent.select().where(AuditEvent.action == "review")]
    assert audit == [("review", f"asked for: due {(START + timedelta(hours=4, minutes=35, days=5)).date()}")]


def test_no_reviews_are_asked_with_review_days_0(db_url, clock):
    text = TEST_CONFIG.replace('default_team = "ops"', 'default_team = "ops"\nreview_days = 0')
    desk = open_desk(db_url, parse_config(text, "t.toml"), clock)
    try:
        al = config_actor(desk.config, "al")
        key = tickets.create(desk, al, title="Outage", priority="P1").key
        tickets.resolve(desk, al, key, "fixed")
        assert Review.select().count() == 0
        reviews.open_review(desk, al, key, due_days=3)  # still possible by hand
        assert reviews.get(desk, key).due_at == clock() + timedelta(days=3)
    finally:
        desk.close()


def test_writing_a_review_is_audited_and_guarded(rdesk, clock):
    key = p1_resolved(rdesk, clock)
    al, vic = rdesk.actors["al"], rdesk.actors["vic"]
    r = reviews.update(rdesk, al, key, impact="Checkout down 4h for all customers",
                       root_cause="A deploy removed the payment route", factors=["No canary", "  ", "Alert too late"],
                       owner="nia")
    assert (r.owner, r.factors, r.version) == ("nia", ("No canary", "Alert too late"), 2)
    with pytest.raises(Conflict, match="changed since version 1"):
        reviews.update(rdesk, al, key, impact="x", expected_version=1)
    with pytest.raises(PermissionDenied, match="vic is a viewer"):
        reviews.update(rdesk, vic, key, impact="x")
    with pytest.raises(NotFound, match="no agent called 'zed'"):
        reviews.update(rdesk, al, key, owner="zed")
    fields = [(e.field, e.old, e.new) for e in AuditEvent.select().where(AuditEvent.field.startswith("review."))]
    assert ("review.impact", "", "Checkout down 4h for all customers") in fields
    assert ("review.owner", None, "nia") in fields
    assert reviews.get(rdesk, key).impact == "Checkout down 4h for all customers"  # the refused writes left it


def test_actions_become_linked_tickets_all_or_nothing(rdesk, clock):
    key = p1_resolved(rdesk, clock)
    al = rdesk.actors["al"]
    due = datetime(2026, 12, 20, 23, 59, tzinfo=UTC)
    made = review_actions.add_action(rdesk, al, key, "Canary every payment deploy", owner="nia", due=due)
    t = Ticket.get_by_id(int(made.ticket.split("-")[1]))
    assert t.title == f"Follow-up of {key}: Canary every payment deploy" and t.assignee.login == "nia"
    assert Link.select().where((Link.source == t.id) & (Link.target == int(key.split("-")[1]))).exists()
    before = Ticket.select().count()
    with pytest.raises(NotFound, match="no agent called 'zed'"):
        review_actions.add_action(rdesk, al, key, "Something", owner="zed", due=due)
    with pytest.raises(ValidationError):
        review_actions.add_action(rdesk, al, key, "   ", owner="nia", due=due)
    assert Ticket.select().count() == before
    r = reviews.get(rdesk, key)
    assert [(a.text, a.owner, a.ticket, a.ticket_status) for a in r.actions] == [
        ("Canary every payment deploy", "nia", made.ticket, "assigned")]


def test_done_needs_impact_and_root_cause(rdesk, clock):
    key = p1_resolved(rdesk, clock)
    al = rdesk.actors["al"]
    with pytest.raises(ValidationError, match="needs the impact and the root cause before it is done"):
        reviews.complete(rdesk, al, key)
    reviews.update(rdesk, al, key, impact="All checkouts failed", root_cause="Route removed")
    clock.advance(days=1)
    r = reviews.complete(rdesk, al, key)
    assert (r.state, r.done_at) == ("done", clock())
    with pytest.raises(ValidationError, match="done already"):
        reviews.complete(rdesk, al, key)


def test_the_timeline_comes_from_the_audit_log(rdesk, clock):
    key = p1_resolved(rdesk, clock)
    events = reviews.timeline(rdesk, key)
    texts = [e.text for e in events]
    assert events[0].at == START and events[-1].at == clock()
    assert any(t.startswith("SLA resolution: ") and "breach" in t.lower() for t in texts), texts
    assert "assignee set to al" in texts and "status: in_progress -> resolved" in texts
    assert not any(t.startswith("review") for t in texts)  # the review's own edits are not the incident's story


def test_markdown_export_and_its_round_trip(rdesk, clock):
    key = p1_resolved(rdesk, clock)
    al = rdesk.actors["al"]
    reviews.update(rdesk, al, key, impact="Line one\nline two", root_cause="Route | removed", factors=["No canary"])
    text = reviews.markdown(reviews.get(rdesk, key), reviews.timeline(rdesk, key), UTC)
    assert text.startswith(f"# Post-incident review: {key} Checkout returns 502\n")
    assert "## Root cause\n\nRoute | removed\n" in text and "- No canary" in text
    assert "| 2026-11-23 09:00 | al | create |" in text or "| 2026-11-23 09:00 | al |" in text
    assert reviews.parse_markdown(text) == {"owner": None, "impact": "Line one\nline two",
                                            "root_cause": "Route | removed", "factors": ["No canary"]}
    edited = text.replace("- Owner: (none)", "- Owner: nia").replace("- No canary", "- No canary\n- Late alert")
    assert reviews.parse_markdown(edited)["factors"] == ["No canary", "Late alert"]
    assert reviews.parse_markdown(edited)["owner"] == "nia"


def test_due_overdue_and_done_are_listed_and_counted(rdesk, clock):
    al = rdesk.actors["al"]
    first = p1_resolved(rdesk, clock)
    clock.advance(days=6)
    second = tickets.create(rdesk, al, title="Mail down", priority="P2").key
    tickets.resolve(rdesk, al, second, "fixed")
    assert [r.key for r in reviews.listing(rdesk, state="due")] == [first, second]
    assert [r.key for r in reviews.listing(rdesk, state="overdue")] == [first]
    reviews.update(rdesk, al, second, impact="i", root_cause="r")
    reviews.complete(rdesk, al, second)
    assert [r.key for r in reviews.listing(rdesk, state="done")] == [second]
    assert build(rdesk, "al", "").reviews == (0, 1, 1)
    assert build(rdesk, "al", "prio:P2").reviews == (0, 0, 1)


def test_the_command_line(rdesk, db_url, clock, tmp_path, capsys):
    key = p1_resolved(rdesk, clock)
    cfg = tmp_path / "t.toml"
    cfg.write_text(TEST_CONFIG + TWO_POLICIES, encoding="utf-8")
    base = ["--db", db_url, "--config", str(cfg)]
    assert main([*base, "review", key, "--impact", "Checkout down", "--root-cause", "Route removed",
                 "--factor", "No canary", "--factor", "Alert too late", "--owner", "nia"], login="al") == 0
    assert capsys.readouterr().out == f"{key}: review saved\n"
    assert main([*base, "review", key, "--action", "Canary deploys", "--action-owner", "nia",
                 "--action-due", "2026-12-20"], login="al") == 0
    assert "action INC-2 for nia, due 2026-12-20" in capsys.readouterr().out
    assert main([*base, "review", key, "--action", "x", "--action-due", "20-12-2026"], login="al") == 1
    assert "is not a date; write YYYY-MM-DD" in capsys.readouterr().err
    assert main([*base, "review", key, "--done"], login="al") == 0
    capsys.readouterr()
    assert main([*base, "review", key], login="vic") == 0  # a viewer reads it
    out = capsys.readouterr().out
    assert "## Impact\n\nCheckout down\n" in out and "- [ ] Canary deploys — nia, due 2026-12-20 (INC-2, assigned)" in out
    assert main([*base, "review", key, "--format", "json"], login="vic") == 0
    got = json.loads(capsys.readouterr().out)
    assert (got["state"], got["factors"], got["actions"][0]["ticket"]) == ("done", ["No canary", "Alert too late"], "INC-2")
    assert main([*base, "review", key, "--impact", "x"], login="vic") == 4
    assert main([*base, "reviews", "--done"], login="vic") == 0
    assert key in capsys.readouterr().out
    assert main([*base, "review", key, "--edit"], login="al") == 1  # no terminal here
    assert "--edit needs a terminal" in capsys.readouterr().err


def test_the_editor_edits_a_private_file(tmp_path, monkeypatch):
    from deskconsole.cli.editor import edit_text

    script = tmp_path / "fake-editor"
    seen = tmp_path / "seen"
    script.write_text(f"#!{sys.executable}\nimport os, stat, sys\np = sys.argv[1]\n"
                      f"open({str(seen)!r}, 'w').write(oct(stat.S_IMODE(os.stat(p).st_mode)))\n"
                      "s = open(p).read().replace('(none)', 'nia')\nopen(p, 'w').write(s)\n", encoding="utf-8")
    script.chmod(0o700)
    monkeypatch.setenv("EDITOR", str(script))
    monkeypatch.delenv("VISUAL", raising=False)
    assert edit_text("- Owner: (none)\n") == "- Owner: nia\n"
    assert seen.read_text() == "0o600"
    monkeypatch.setenv("EDITOR", "false")
    with pytest.raises(ValidationError, match="exited with status 1; nothing was changed"):
        edit_text("x")
    monkeypatch.setenv("EDITOR", "no-such-editor-here")
    with pytest.raises(ValidationError, match="was not found; set \\$EDITOR"):
        edit_text("x")
