"""The built wheel, installed in a fresh venv and run from outside the
checkout: the console must find its stylesheet inside the installed package
(``site-packages/deskconsole/styles/app.tcss``, put there by the wheel's
force-include) and start, with nothing borrowed from the source tree.

No downloads: the wheel is built with pip (its build backend comes from the
configured package index, as any ``pip wheel`` does), the venv is made with
``--system-site-packages``, and the runtime dependencies (Textual, Peewee,
...) are lent from the venv running these tests by a ``.pth`` line naming its
site-packages. A ``.pth`` line adds only that folder to ``sys.path``: the
``.pth`` files inside it, such as the editable install's pointer to this
checkout, are not processed, so the checkout stays out of the new venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]  # the project: pyproject.toml, deskconsole/, styles/

CONFIG = """
[desk]
name = "Wheel desk"

[agents.ada]
name = "Ada Admin"
role = "admin"

[[sla.policy]]
name = "all"
first_response = "1h"
resolution = "8h"
"""

SCRIPT = r'''
import asyncio, json, sys
from pathlib import Path

import deskconsole
from deskconsole.config import parse_config
from deskconsole.core.records import tickets
from deskconsole.core.desk import open_desk
from deskconsole.core.identity import actor_for
from deskconsole.ui.app import DeskApp
from deskconsole.ui.styles import css_path

here = Path(sys.argv[1])
config = parse_config(Path(sys.argv[2]).read_text(encoding="utf-8"), sys.argv[2])
desk = open_desk(f"sqlite:///{here / 'desk.db'}", config)
ada = actor_for(desk, "ada")
for title in ("Checkout returns 502", "VPN drops"):
    tickets.create(desk, ada, title=title, priority="P2")

async def main():
    app = DeskApp(desk, ada, sweep=False)
    out = {}
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(4):
            await pilot.pause()
            await app.workers.wait_for_complete()
        queue = app.query_one("#queue")
        out["border"] = queue.styles.border_top[0]  # "round" comes from app.tcss
        out["status"] = str(app.query_one("#status").render())
        await pilot.press("j")
        for _ in range(4):
            await pilot.pause()
            await app.workers.wait_for_complete()
        out["cursor"] = queue.cursor
        out["selected"] = app.selected_key
        await pilot.press("question_mark")
        await pilot.pause()
        out["screen_after_help"] = type(app.screen).__name__
    return out

out = asyncio.run(main())
desk.close()
out.update(file=deskconsole.__file__, css=css_path(), css_size=Path(css_path()).stat().st_size,
           sys_path=sys.path, prefix=sys.prefix)
print("RESULT " + json.dumps(out))
'''


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600, **kw)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without anything that could put the checkout on sys.path."""
    drop = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV", "PYTHONSAFEPATH")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("DESKCONSOLE", "NO_COLOR"))}
    env.update(extra)
    return env


def test_installed_wheel_finds_its_stylesheet_and_starts(tmp_path):
    assert ROOT not in tmp_path.resolve().parents, "the test must run outside the checkout"
    assert (ROOT / "pyproject.toml").is_file() and (ROOT / "styles" / "app.tcss").is_file()
    env = clean_env(XDG_CONFIG_HOME=str(tmp_path / "xdg-config"), XDG_DATA_HOME=str(tmp_path / "xdg-data"),
                    XDG_STATE_HOME=str(tmp_path / "xdg-state"), XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
                    DESKCONSOLE_LOG=str(tmp_path / "deskconsole.log"))

    # the wheel, as a release would build it
    wheels = tmp_path / "wheels"
    run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-w", str(wheels)], cwd=tmp_path, env=env)
    (wheel,) = wheels.glob("deskconsole-*.whl")

    # a fresh venv; the dependencies lent from this one (see the module docstring)
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], cwd=tmp_path, env=env)
    python = venv / "bin" / "python"
    site = Path(run([str(python), "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    cwd=tmp_path, env=env).stdout.strip())
    lender = Path(sysconfig.get_paths()["purelib"])
    (site / "zz_deskconsole_test_dependencies.pth").write_text(f"{lender}\n", encoding="utf-8")
    run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], cwd=tmp_path, env=env)

    # run it from a folder outside the checkout, isolated (-I: no PYTHONPATH, no cwd on sys.path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "config.toml").write_text(CONFIG, encoding="utf-8")
    (work / "start.py").write_text(textwrap.dedent(SCRIPT), encoding="utf-8")
    proc = run([str(python), "-I", str(work / "start.py"), str(work), str(work / "config.toml")], cwd=work, env=env)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line, f"no result from the installed console:\n{proc.stdout}\n{proc.stderr}"
    out = json.loads(line[len("RESULT "):])

    # the package and its stylesheet come from the venv, never from the checkout
    installed = site / "deskconsole"
    assert Path(out["file"]) == installed / "__init__.py", out["file"]
    assert Path(out["css"]) == installed / "styles" / "app.tcss", out["css"]
    assert out["css_size"] == (ROOT / "styles" / "app.tcss").stat().st_size  # the real sheet, not an empty stub
    under_root = [p for p in out["sys_path"] if Path(p) == ROOT or ROOT in Path(p).parents]
    assert under_root in ([], [str(lender)]), out["sys_path"]  # at most the lent site-packages, not the checkout
    assert Path(out["prefix"]) == venv

    # and the console runs: styled by that sheet, the queue loaded, keys work
    assert out["border"] == "round"
    assert out["status"].startswith("Wheel desk · ada (admin) · 2 tickets")
    assert out["cursor"] == 1 and out["selected"] == "INC-2"
    assert out["screen_after_help"] == "HelpScreen"
