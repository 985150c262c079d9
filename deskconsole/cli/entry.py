"""The ``deskconsole`` executable (``python -m deskconsole`` comes here too).

Start-up time matters for a command typed dozens of times an hour: see
:mod:`deskconsole.cli.startup` for what is done to keep it short.
"""

from __future__ import annotations


def run() -> None:
    from deskconsole.cli import startup

    startup.begin()
    from deskconsole.cli.main import main

    try:
        code = main()
    finally:
        startup.finish()
    raise SystemExit(code)
