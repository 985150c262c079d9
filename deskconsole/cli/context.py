"""Resolve the config file, the database URL and the acting identity."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from deskconsole.config import Config, load_config
from deskconsole.core.clock import system_clock
from deskconsole.core.desk import Desk, open_desk
from deskconsole.core.identity import Actor, os_login, resolve_actor
from deskconsole.paths import default_config_path, default_db_url


@dataclass
class Context:
    config_path: Path
    db_url: str | None  # from --db / DESKCONSOLE_DB; else the config decides
    as_login: str | None
    login: str
    explicit_config: bool = False  # --config or DESKCONSOLE_CONFIG was given
    opened: list[Desk] = field(default_factory=list)  # closed by close(), when the command is over

    @classmethod
    def from_args(cls, args) -> "Context":
        config = Path(args.config).expanduser() if getattr(args, "config", None) else default_config_path()
        db = getattr(args, "db", None) or os.environ.get("DESKCONSOLE_DB") or None
        explicit = bool(getattr(args, "config", None) or os.environ.get("DESKCONSOLE_CONFIG"))
        return cls(config_path=config, db_url=db, as_login=getattr(args, "as_login", None), login=os_login(),
                   explicit_config=explicit)

    def url_for(self, config: Config) -> str:
        return self.db_url or config.database or default_db_url()

    def load(self) -> tuple[Config, Actor]:
        """The config and who is acting, without opening the database."""
        config = load_config(self.config_path)
        return config, resolve_actor(config, self.login, self.as_login)

    def open(self) -> tuple[Desk, Actor]:
        config, actor = self.load()
        return self.track(open_desk(self.url_for(config), config, system_clock)), actor

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
