"""A postgresql:// URL opens the same desk: migrations, the write path,
conflicts and the CLI all work on PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from deskconsole import migrations
from deskconsole.cli.main import main
from deskconsole.core import links, tickets
from deskconsole.core.desk import open_desk
from deskconsole.core.errors import Conflict
from deskconsole.core.views import detail


def test_core_operations_on_postgresql(postgres_url, config, clock, actors):
    desk = open_desk(postgres_url, config, clock)
    try:
        assert migrations.current_version(desk.db) == migrations.LATEST
        al = actors["al"]
        a = tickets.create(desk, al, title="Checkout 502", impact="high", urgency="high", service="mail").key
        b = tickets.create(desk, al, title="Checkout 502 again").key
        tickets.take(desk, al, a)
        tickets.reply(desk, al, a, "on it — ünïcödé")
        links.merge(desk, al, b, a)
        clock.advance(5)

        def other():
            tickets.note(desk, actors["lee"], a, "from another connection")
            desk.db.close()

        seen = detail(desk, a).version
        t = threading.Thread(target=other)
        t.start()
        t.join()
        with pytest.raises(Conflict, match=f"{a} was changed by lee"):
            tickets.resolve(desk, al, a, "fixed", expected_version=seen)
        tickets.resolve(desk, al, a, "fixed")
        d = detail(desk, a)
        assert (d.status, d.priority, d.assignee, d.merged) == ("resolved", "P1", "al", [b])
        assert [e.body for e in d.entries] == ["on it — ünïcödé", "from another connection"]
        assert d.created_at.tzinfo is not None and d.created_at == d.created_at.astimezone()
    finally:
        desk.close()


def test_cli_on_postgresql(postgres_url, write_config, monkeypatch, capsys):
    monkeypatch.setenv("LOGNAME", "al")
    path = write_config()
    assert main(["--config", str(path), "--db", postgres_url, "new", "VPN flapping", "--priority", "P2"]) == 0
    key = capsys.readouterr().out.strip()
    assert key == "INC-1"
    assert main(["--config", str(path), "--db", postgres_url, "take", key]) == 0
    assert main(["--config", str(path), "--db", postgres_url, "ls", "assignee:me", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "INC-1,P2,in_progress,al" in out
