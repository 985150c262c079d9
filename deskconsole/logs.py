"""Logging for long-running parts (the SLA loop, the console): to a file,
never to the terminal, where log lines would tear the screen."""

from __future__ import annotations

import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path

from deskconsole.paths import log_dir

LOGGERS = ("deskconsole", "apscheduler")
_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"


def log_path() -> Path:
    """``DESKCONSOLE_LOG`` if set, else ``deskconsole.log`` in the XDG state folder."""
    env = os.environ.get("DESKCONSOLE_LOG")
    return Path(env).expanduser() if env else log_dir() / "deskconsole.log"


def to_file(path: Path | None = None, level: int = logging.INFO) -> Path:
    """Send the desk's and APScheduler's log records to ``path`` only."""
    path = path or log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(path, maxBytes=5_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_FORMAT))
    for name in LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if isinstance(h, RotatingFileHandler)]:
            logger.removeHandler(old)
            old.close()
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
    return path
