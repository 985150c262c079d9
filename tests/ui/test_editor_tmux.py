"""$EDITOR from the console, in a real terminal (tmux): the article form's
ctrl+e steps the console aside, runs the editor on the text, and takes back
what the editor saved. (Textual's test harness has no terminal to step
aside from; this is the only place the suspension itself runs.)"""

from __future__ import annotations

import os
import shlex
import sys

import pytest

from desk_env import with_real_admin
from deskconsole.config import parse_config
from deskconsole.core.desk import open_desk
from deskconsole.core.knowledge import articles
from deskconsole.models import Article

from ui.test_tmux import TMUX, Tmux

pytestmark = pytest.mark.slow


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed (this test runs the console in a real terminal)")
def test_ctrl_e_writes_an_articles_text_in_the_editor(tmp_path, write_config, ui_text):
    db_url = f"sqlite:///{tmp_path / 'desk.db'}"
    text = with_real_admin(ui_text)
    path = write_config(text)
    open_desk(db_url, parse_config(text, path)).close()
    # the "editor": appends a line to the file it is given, as a user would, and saves
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nprintf 'Reinstall the VPN profile, then reboot.\\n' >> \"$1\"\n", encoding="utf-8")
    editor.chmod(0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TMUX", "PYTHON", "NO_COLOR", "TEXTUAL", "DESKCONSOLE"))}
    env["TERM"] = "xterm-256color"
    tmux = Tmux(env)
    settings = {"TERM": "xterm-256color", "EDITOR": str(editor), "VISUAL": "",
                "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"), "XDG_DATA_HOME": str(tmp_path / "xdg-data")}
    console = [sys.executable, "-m", "deskconsole", "--db", db_url, "--config", str(path)]
    command = (f"cd {shlex.quote(str(tmp_path))} && env -u TMUX -u NO_COLOR -u VISUAL "
               + " ".join(f"{k}={shlex.quote(v)}" for k, v in settings.items() if v) + " "
               + " ".join(shlex.quote(a) for a in console) + "; echo EXITED $?; sleep 120")
    try:
        tmux.start(command)
        tmux.wait_for(lambda s: "/ Filter" in s, "the console")
        tmux.keys("K")
        tmux.wait_for(lambda s: "n New" in s or "New article" in s or "no articles" in s.lower(), "the articles")
        tmux.keys("n")
        tmux.wait_for(lambda s: "ctrl+e" in s, "the article form")
        tmux.keys("VPN drops every hour", literal=True)
        tmux.keys("C-e")
        tmux.wait_for(lambda s: "Reinstall the VPN profile" in s, "the editor's text in the form")
        tmux.keys("C-s")
        tmux.wait_for(lambda s: "KB-1" in s, "the new article")
    finally:
        tmux.kill()
    desk = open_desk(db_url, parse_config(text, path))
    try:
        with desk.bound():
            (article,) = Article.select()
        assert article.title == "VPN drops every hour"
        assert article.body.strip() == "Reinstall the VPN profile, then reboot."
        assert articles.get(desk, "KB-1").state == "draft"
    finally:
        desk.close()
