"""Resolve the config file, the database URL and the acting identity: the
real login, with the role the desk's own directory gives it."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from deskconsole.config import Config, load_config
from deskconsole.core.clock import system_clock
from deskconsole.core.desk import Desk, open_desk
from deskconsole.core.access.directory import differences, has_say
from deskconsole.core.identity import Actor, os_login, resolve_actor
from deskconsole.core.records.text import terminal_safe
from deskconsole.paths import default_config_path, default_db_url


@dataclass
class Context:
    config_path: Path
    db_url: str | None  # from --db / DESKCONSOLE_DB; else the config decides
    as_login: str | None
    login: str  # the real login (the process's uid), never the environment's
    explicit_config: bool = False  # --config or DESKCONSOLE_CONFIG was given
    opened: list[Desk] = field(default_factory=list)  # closed by close(), when the command is over
    notices: list[str] = field(default_factory=list)  # said once on stderr (the console shows them itself)

    @classmethod
    def from_args(cls, args, login: str | None = None) -> "Context":
        config = Path(args.config).expanduser() if getattr(args, "config", None) else default_config_path()
        db = getattr(args, "db", None) or os.environ.get("DESKCONSOLE_DB") or None
        explicit = bool(getattr(args, "config", None) or os.environ.get("DESKCONSOLE_CONFIG"))
        return cls(config_path=config, db_url=db, as_login=getattr(args, "as_login", None),
                   login=login or os_login(), explicit_config=explicit)

    def url_for(self, config: Config) -> str:
        return self.db_url or config.database or default_db_url()

    def config(self) -> Config:
        return load_config(self.config_path)

    def open(self, *, create: bool = False, say: bool = True) -> tuple[Desk, Actor]:
        """The desk and who is acting on it, by the desk's own directory.
        Never creates a desk unless asked (init, demo). A config whose
        directory differs from the desk's changes nothing: a notice says
        which keys differ (printed now unless ``say`` is False)."""
        config = self.config()
        desk = self.track(open_desk(self.url_for(config), config, system_clock, create=create))
        actor = resolve_actor(desk, self.login, self.as_login)
        notice = directory_notice(desk, actor)
        if notice:
            self.notices.append(notice)
            if say:
                print(f"deskconsole: warning: {terminal_safe(notice, one_line=True)}", file=sys.stderr)
        return desk, actor

    def track(self, desk: Desk) -> Desk:
        """``desk``, to be closed with the others when the command is over."""
        self.opened.append(desk)
        return desk

    def close(self) -> None:
        """Close every desk this command opened (its database connections)."""
        while self.opened:
            try:
                self.opened.pop().close()
            except Exception:  # a connection already broken is closed enough
                pass


def directory_notice(desk: Desk, actor: Actor) -> str | None:
    """One line when the config's directory differs from the desk's, or None.
    A config with no teams and no agents has no say on the directory."""
    if not has_say(desk.config):
        return None
    keys = differences(desk)
    if not keys:
        return None
    shown = ", ".join(keys[:8]) + (f" and {len(keys) - 8} more" if len(keys) > 8 else "")
    if actor.role == "admin" and not actor.via:
        todo = "you are a desk admin: 'deskconsole admin sync' applies it"
    else:
        todo = "only a desk admin can change it ('deskconsole admin sync')"
    return (f"your config's directory differs from the desk's ({shown}); the desk's is in force and your config"
            f" changed nothing — {todo}")
