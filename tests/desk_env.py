"""Who a test is, as the desk sees it, and the environment of a ``deskconsole``
child process (and a free port for a listener it runs).

The desk acts as the process's real login (its uid's name in the password
database), never as LOGNAME/USER. A child process therefore acts as the user
running the tests: :data:`REAL_LOGIN`, which :func:`with_real_admin` adds to
a config as a desk admin (other roles are reached with ``--as``). The child's
login variables name someone else on purpose — they must not count.
"""

from __future__ import annotations

import os
import pwd
import socket
from pathlib import Path

LOGIN_VARS = ("LOGNAME", "USER", "LNAME", "USERNAME")
REAL_LOGIN = pwd.getpwuid(os.getuid()).pw_name
SPOOFED = "mallory"  # what the login variables claim in a child: never who acts


def child_env(tmp_path: Path, login: str = SPOOFED) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKCONSOLE_")}
    env.update({var: login for var in LOGIN_VARS})
    env.update(XDG_CONFIG_HOME=str(tmp_path / "xdg-config"), XDG_DATA_HOME=str(tmp_path / "xdg-data"),
               XDG_STATE_HOME=str(tmp_path / "xdg-state"), PYTHONIOENCODING="utf-8")
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on just now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_real_admin(config_text: str, role: str = "admin") -> str:
    """``config_text`` with the real login as an agent of ``role`` (unless it names it already)."""
    if f"[agents.{REAL_LOGIN}]" in config_text:
        return config_text
    return config_text + f'\n[agents.{REAL_LOGIN}]\nname = "Test runner"\nrole = "{role}"\n'
