"""Where the desk keeps its files by default (XDG base directories)."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_dir, user_data_dir, user_log_dir

APP = "deskconsole"


def config_dir() -> Path:
    return Path(user_config_dir(APP, appauthor=False))


def data_dir() -> Path:
    return Path(user_data_dir(APP, appauthor=False))


def log_dir() -> Path:
    return Path(user_log_dir(APP, appauthor=False))


def default_config_path() -> Path:
    """``--config`` wins, then ``DESKCONSOLE_CONFIG``, then this."""
    env = os.environ.get("DESKCONSOLE_CONFIG")
    return Path(env).expanduser() if env else config_dir() / "config.toml"


def default_db_url() -> str:
    return f"sqlite:///{data_dir() / 'desk.db'}"
