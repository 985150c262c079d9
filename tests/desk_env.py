"""Who a test is, as the desk sees it: the login variables it reads (through
getpass.getuser, in deskconsole.core.identity.os_login), and the environment of a
``deskconsole`` child process — that login, XDG folders of the test's own
and none of the caller's DESKCONSOLE_* settings."""

from __future__ import annotations

import os
from pathlib import Path

LOGIN_VARS = ("LOGNAME", "USER", "LNAME", "USERNAME")


def child_env(tmp_path: Path, login: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKCONSOLE_")}
    env.update({var: login for var in LOGIN_VARS})
    env.update(XDG_CONFIG_HOME=str(tmp_path / "xdg-config"), XDG_DATA_HOME=str(tmp_path / "xdg-data"),
               XDG_STATE_HOME=str(tmp_path / "xdg-state"), PYTHONIOENCODING="utf-8")
    return env
