"""Webhooks out, through the outbox, to a real HTTP server in the test:
P1s, first warnings and breaches; team filters; a URL that never reaches
the desk's tables; refusals and retries."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from deskconsole.config import ConfigError, parse_config
from deskconsole.core.records import tickets
from deskconsole.core.desk import open_desk
from deskconsole.core.automation.sweep import sweep
from deskconsole.core.outbound.webhooks import webhooks
from deskconsole.delivery import Dispatcher
from deskconsole.models import Outbox

from conftest import TEST_CONFIG, TWO_POLICIES, config_actor
from test_mail_out import drain


class Receiver:
    """A real HTTP server that keeps what is posted to it; ``status`` is its answer."""

    def __init__(self):
        receiver = self
        self.posts: list[tuple[str, dict]] = []
        self.status = 200

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((self.path, json.loads(body)))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def hooks_text(url):
    return (f'\n[[webhook]]\nname = "ops-chat"\nurl = "{url}/hooks/ops-secret-token"\nteam = "ops"\n'
            f'\n[[webhook]]\nname = "all-breaches"\nurl = "{url}/hooks/all"\nevents = ["breach"]\n')


@pytest.fixture
def wdesk(db_url, clock, receiver):
    desk = open_desk(db_url, parse_config(TEST_CONFIG + TWO_POLICIES + hooks_text(receiver.url), "w.toml"), clock)
    yield desk
    desk.close()


def test_a_p1_posts_to_its_teams_channel(wdesk, receiver):
    ada = config_actor(wdesk.config, "ada")
    tickets.create(wdesk, ada, title="Checkout down", priority="P1", team="ops")
    tickets.create(wdesk, ada, title="Lab switch", priority="P1", team="network")  # not ops: no post
    tickets.create(wdesk, ada, title="Mouse", priority="P4", team="ops")
    assert drain(wdesk).sent == 1
    ((path, body),) = receiver.posts
    assert path == "/hooks/ops-secret-token"
    assert body["text"] == "[INC-1] P1 opened: Checkout down" and body["event"] == "p1"
    assert body["ticket"] == {"key": "INC-1", "title": "Checkout down", "priority": "P1", "status": "new",
                              "team": "ops", "service": None, "assignee": None}
    assert all("secret-token" not in (r.recipients + r.body) for r in Outbox.select())  # the URL stays in the config


def test_the_first_warning_and_the_breach_of_a_clock(wdesk, receiver, clock):
    ada = config_actor(wdesk.config, "ada")
    tickets.create(wdesk, ada, title="Mail slow", priority="P2", team="ops")
    clock.advance(hours=9)  # past every threshold of both clocks
    sweep(wdesk)
    drain(wdesk)
    events = sorted((path, body["event"], body["text"].split("] ")[1][:30]) for path, body in receiver.posts)
    warnings = [e for e in events if e[1] == "warning"]
    breaches = [e for e in events if e[1] == "breach"]
    assert len(warnings) == 2 and {p for p, _, _ in warnings} == {"/hooks/ops-secret-token"}  # one a clock
    assert len(breaches) == 4 and {p for p, _, _ in breaches} == {"/hooks/ops-secret-token", "/hooks/all"}


def test_refused_for_good_fails_at_once_and_a_server_error_is_retried(wdesk, receiver):
    ada = config_actor(wdesk.config, "ada")
    receiver.status = 404
    tickets.create(wdesk, ada, title="one", priority="P1", team="ops")
    assert drain(wdesk).failed == 1
    assert "HTTP 404" in Outbox.get().last_error
    receiver.status = 503
    tickets.create(wdesk, ada, title="two", priority="P1", team="ops")
    assert drain(wdesk).retrying == 1


def test_webhook_config_mistakes_name_the_key(tmp_path):
    secret = tmp_path / "url"
    secret.write_text("https://hooks.example.com/x")
    os.chmod(secret, 0o644)
    for text, key in [('[[webhook]]\nurl = "https://x"', r"webhook\[1\]\.name"),
                      ('[[webhook]]\nname = "a"', r"webhook\[1\]: give the address"),
                      ('[[webhook]]\nname = "a"\nurl = "ftp://x"', r"webhook\[1\]\.url"),
                      ('[[webhook]]\nname = "a"\nurl = "https://x"\nevents = ["lunch"]', r"webhook\[1\]\.events"),
                      ('[[webhook]]\nname = "a"\nurl = "https://x"\nteam = "nope"', r"webhook\[1\]\.team")]:
        with pytest.raises(ConfigError, match=key):
            webhooks(parse_config(TEST_CONFIG + text, "x.toml"))
    config = parse_config(TEST_CONFIG + f'[[webhook]]\nname = "a"\nurl_file = "{secret}"', "x.toml")
    with pytest.raises(Exception, match="chmod 600"):
        Dispatcher(config)
