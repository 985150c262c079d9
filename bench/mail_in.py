"""Mail intake from a Maildir: messages a second.

    python bench/mail_in.py [--messages 2000] [--workdir DIR]

Builds a Maildir with ``--messages`` deliveries as a local MTA writes them —
new requests from 50 senders, a third of them replies that thread into an
earlier ticket by its [INC-n] tag, some multipart with an HTML part and a
small attachment — then runs ``deskconsole intake maildir DIR`` once, as an
operator would, on a fresh SQLite desk, and prints messages/s (the whole
command, start-up included) and what became of the messages.
"""

from __future__ import annotations

import argparse
import mailbox
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

CONFIG = """
[desk]
name = "Mail bench"
default_team = "ops"

[teams.ops]
name = "Operations"

[agents.{login}]
role = "admin"
team = "ops"

[mail]
from = "Desk <desk@example.com>"
"""


def build(box: mailbox.Maildir, n: int) -> None:
    opened = 0
    for i in range(n):
        m = EmailMessage()
        m["From"] = f"User {i % 50} <user{i % 50}@example.com>"
        m["To"] = "desk@example.com"
        m["Message-ID"] = f"<bench.{i}@mail.example.com>"
        if i % 3 == 2 and opened:
            m["Subject"] = f"Re: [INC-{1 + (i * 7) % opened}] still broken"
            m.set_content(f"Still broken, message {i}.\n\n> earlier text\n")
        else:
            opened += 1
            m["Subject"] = f"Request {i}: printer on floor {i % 9} jams"
            m.set_content(f"The printer jams after {i % 20} pages.")
            if i % 5 == 0:
                m.add_alternative(f"<p>The printer <b>jams</b> after {i % 20} pages.</p>", subtype="html")
                m.add_attachment(b"log line\n" * 20, maintype="text", subtype="plain", filename="printer.log")
        box.add(m)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--workdir")
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="deskbench-mail-"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cfg = work / "desk.toml"
    cfg.write_text(CONFIG.format(login=pwd.getpwuid(os.getuid()).pw_name))
    url = f"sqlite:///{work / 'desk.db'}"
    from deskconsole.config import load_config
    from deskconsole.core.desk import open_desk

    open_desk(url, load_config(cfg)).close()
    build(mailbox.Maildir(work / "Maildir", create=True), args.messages)
    env = {**os.environ, "XDG_STATE_HOME": str(work / "state")}
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "deskconsole", "--config", str(cfg), "--db", url, "intake",
                          "maildir", str(work / "Maildir")], capture_output=True, text=True, env=env, check=True)
    wall = time.perf_counter() - start
    print(f"{args.messages:,} messages in {wall:.2f} s -> {args.messages / wall:,.0f} messages/s"
          f" (the whole command, start-up included)")
    print("  " + out.stderr.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
