"""Mail out: notices queued with the change, drained over SMTP to a real
server (aiosmtpd) — threading headers, retries with backoff, a lease that
hands a dead sender's messages on, and a daemon killed mid-send that sends
each message exactly once after its restart."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from deskconsole.config import parse_config
from deskconsole.core.outbound import outbox
from deskconsole.core.records import tickets
from deskconsole.core.desk import open_desk
from deskconsole.core.outbound.notices import mail_config
from deskconsole.delivery import Dispatcher, SmtpSender
from deskconsole.models import AuditEvent, Outbox

from conftest import TEST_CONFIG, config_actor
from desk_env import free_port, with_real_admin


class Inbox:
    """An aiosmtpd handler keeping every message it accepts; ``slow_rcpt``
    seconds of delay before accepting a recipient (to catch a sender mid-send)."""

    def __init__(self):
        self.messages: list[email.message.Message] = []
        self.slow_rcpt = 0.0
        self.in_rcpt = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.slow_rcpt:
            self.in_rcpt.set()
            await asyncio.sleep(self.slow_rcpt)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp():
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    yield inbox
    controller.stop()


def mail_text(port: int) -> str:
    return f'\n[mail]\nfrom = "Service Desk <desk@example.com>"\nsmtp = "127.0.0.1:{port}"\nreopen_days = 3\n'


@pytest.fixture
def mdesk(db_url, clock, smtp):
    config = parse_config(TEST_CONFIG + mail_text(smtp.port), "mail.toml")
    desk = open_desk(db_url, config, clock)
    yield desk
    desk.close()


def drain(desk):
    """One drain of the outbox, as the daemon does it (mail and webhooks)."""
    sender = Dispatcher(desk.config)
    try:
        return outbox.drain(desk, sender)
    finally:
        sender.close()


def test_the_requester_hears_of_creation_replies_and_resolution_in_one_thread(mdesk, smtp):
    ada = config_actor(mdesk.config, "ada")
    tickets.create(mdesk, ada, title="VPN drops every hour", requester_name="Ann Lee",
                   requester_email="ann@example.com")
    tickets.reply(mdesk, ada, "INC-1", "Which office are you in?")
    tickets.note(mdesk, ada, "INC-1", "internal: gateway logs show resets")  # never mailed
    tickets.resolve(mdesk, ada, "INC-1", "fixed", "The gateway firmware was updated.")
    assert str(drain(mdesk)) == "3 sent, 0 to retry, 0 failed"
    created, reply, resolved = smtp.messages
    assert created["Subject"] == "[INC-1] VPN drops every hour"
    assert created["To"] == "ann@example.com" and created["From"] == "Service Desk <desk@example.com>"
    assert "Hello Ann Lee" in created.get_content() and "logged as INC-1" in created.get_content()
    assert reply["Subject"] == "Re: [INC-1] VPN drops every hour"
    assert reply.get_content().startswith("Which office are you in?")
    assert "Resolved" in resolved["Subject"] and "The gateway firmware was updated." in resolved.get_content()
    assert "within 3 working days" in resolved.get_content() and "from 1 (poor) to 5" in resolved.get_content()
    ids = [m["Message-ID"] for m in smtp.messages]
    assert len(set(ids)) == 3 and all(i.startswith("<INC-1.") and i.endswith("@example.com>") for i in ids)
    assert {m["In-Reply-To"] for m in smtp.messages} == {"<INC-1@example.com>"}
    assert {m["References"] for m in smtp.messages} == {"<INC-1@example.com>"}
    assert {m["Auto-Submitted"] for m in smtp.messages} == {"auto-generated"}
    assert all("internal" not in m.get_content() for m in smtp.messages)
    assert [r.state for r in Outbox.select()] == ["sent"] * 3
    notified = AuditEvent.select().where(AuditEvent.action == "mail").count()
    assert notified == 3  # each notice is in the ticket's history


def test_a_p1_tells_its_team_and_nobody_mails_themselves(mdesk, smtp):
    tickets.create(mdesk, config_actor(mdesk.config, "ada"), title="Checkout down", priority="P1", team="ops")
    drain(mdesk)
    (team_mail,) = smtp.messages  # ada is the requester: no mail to herself
    assert team_mail["To"] == "ops@example.com" and team_mail["Subject"] == "[INC-1] P1 opened: Checkout down"


def test_a_failing_server_is_retried_with_backoff_then_given_up(mdesk, smtp, clock):
    tickets.create(mdesk, config_actor(mdesk.config, "ada"), title="t", requester_email="ann@example.com")
    broken = mail_config(parse_config(TEST_CONFIG + mail_text(free_port()), "x.toml"))  # nothing listens there
    gaps = []
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        sender = SmtpSender(broken)
        report = outbox.drain(mdesk, sender)
        row = Outbox.get()
        if attempt < outbox.MAX_ATTEMPTS:
            assert (report.retrying, row.state, row.attempts) == (1, "queued", attempt)
            assert "ConnectionRefusedError" in row.last_error
            assert outbox.drain(mdesk, sender).retrying == 0  # not due again yet
            gaps.append((row.next_at - clock()).total_seconds())
            clock.set(row.next_at)
        else:
            assert (report.failed, row.state) == (1, "failed")
    assert gaps[:4] == [30, 60, 120, 240] and max(gaps) == 3600
    assert smtp.messages == []


def test_a_sender_that_dies_leaves_its_messages_to_the_next_after_the_lease(mdesk, smtp, clock):
    for n in range(3):
        tickets.create(mdesk, config_actor(mdesk.config, "ada"), title=f"t{n}", requester_email="ann@example.com")
    taken = outbox.claim(mdesk, clock())  # a sender takes them, then dies before sending
    assert len(taken) == 3 and {r.state for r in Outbox.select()} == {"sending"}
    assert drain(mdesk).sent == 0  # held by the lease
    clock.advance(seconds=outbox.LEASE.total_seconds() + 1)
    assert drain(mdesk).sent == 3
    assert len(smtp.messages) == 3 and [r.attempts for r in Outbox.select()] == [2, 2, 2]


def test_the_daemon_killed_mid_send_sends_each_message_once_after_a_restart(tmp_path, write_config, smtp):
    cfg = write_config(with_real_admin(TEST_CONFIG) + mail_text(smtp.port))
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    desk = open_desk(url, parse_config(cfg.read_text(), cfg))
    ada = config_actor(desk.config, "ada")
    for n in range(5):
        tickets.create(desk, ada, title=f"ticket {n}", requester_email=f"user{n}@example.com")
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    daemon = [sys.executable, "-m", "deskconsole", "--config", str(cfg), "--db", url, "daemon", "--interval", "1"]
    smtp.slow_rcpt = 3.0
    first = subprocess.Popen(daemon, stderr=subprocess.PIPE, text=True, env=env)
    assert smtp.in_rcpt.wait(30), "the daemon never started sending"
    first.kill()  # mid-send: the server has not accepted the message
    first.communicate(timeout=30)
    assert smtp.messages == []
    with desk.bound():
        assert Outbox.select().where(Outbox.state == "sending").count() >= 1
        # the lease of the dead sender runs out (2 minutes, as if waited)
        Outbox.update(next_at=desk.now() - timedelta(seconds=1)).where(Outbox.state == "sending").execute()
    smtp.slow_rcpt = 0.0
    second = subprocess.Popen(daemon, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while len(smtp.messages) < 5 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.5)  # a drain or two more: nothing may go twice
    finally:
        second.send_signal(signal.SIGTERM)
        second.communicate(timeout=30)
    ids = [m["Message-ID"] for m in smtp.messages]
    assert len(ids) == 5 and len(set(ids)) == 5
    assert sorted(m["To"] for m in smtp.messages) == [f"user{n}@example.com" for n in range(5)]
    with desk.bound():
        assert [r.state for r in Outbox.select()] == ["sent"] * 5
    desk.close()


def test_mail_config_mistakes_name_the_key():
    from deskconsole.config import ConfigError

    for text, key in [('[mail]\nfrom = "nobody"', "mail.from"), ('[mail]\nsurprise = 1', "mail.surprise"),
                      ('[mail.templates.created]\nsubject = "{nope}"', "mail.templates.created.subject"),
                      ('[mail.templates.weird]\nsubject = "x"', "mail.templates.weird"),
                      ('[mail.templates.reply]\nbody = "{"', "mail.templates.reply.body"),
                      ('[mail]\nreopen_days = -1', "mail.reopen_days")]:
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            mail_config(parse_config(TEST_CONFIG + text, "x.toml"))


def test_templates_from_the_config(db_url, clock, smtp):
    text = TEST_CONFIG + mail_text(smtp.port) + (
        '[mail.templates.created]\nsubject = "Ticket {key}: {title} ({priority})"\n'
        'body = "Dear {requester}, thanks. {{not a field}}"\n')
    desk = open_desk(db_url, parse_config(text, "x.toml"), clock)
    try:
        tickets.create(desk, config_actor(desk.config, "ada"), title="Laptop", requester_name="Bo",
                       requester_email="bo@example.com")
        drain(desk)
    finally:
        desk.close()
    (m,) = smtp.messages
    assert m["Subject"] == "Ticket INC-1: Laptop (P3)" and m.get_content().strip() == "Dear Bo, thanks. {not a field}"


def test_outbox_list_and_drain_on_the_command_line(tmp_path, write_config, smtp):
    cfg = write_config(with_real_admin(TEST_CONFIG) + mail_text(smtp.port))
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    desk = open_desk(url, parse_config(cfg.read_text(), cfg))
    tickets.create(desk, config_actor(desk.config, "ada"), title="Printer \x1b[31mred", requester_email="ann@example.com")
    desk.close()
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    base = [sys.executable, "-m", "deskconsole", "--config", str(cfg), "--db", url, "outbox"]
    listed = subprocess.run(base + ["list"], capture_output=True, text=True, env=env)
    assert listed.returncode == 0 and "queued" in listed.stdout and "ann@example.com" in listed.stdout
    assert "\x1b" not in listed.stdout and "\\x1b[31mred" in listed.stdout  # a title is data, shown escaped
    drained = subprocess.run(base + ["drain"], capture_output=True, text=True, env=env)
    assert drained.returncode == 0 and "1 sent" in drained.stderr
    assert len(smtp.messages) == 1
    assert "sent" in subprocess.run(base + ["list", "--state", "sent"], capture_output=True, text=True, env=env).stdout
