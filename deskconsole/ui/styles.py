"""Where the console's stylesheet is: ``styles/`` at the top of a checkout,
or ``deskconsole/styles/`` inside an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # deskconsole/


def css_path(name: str = "app.tcss") -> str:
    for folder in (_PACKAGE / "styles", _PACKAGE.parent / "styles"):
        candidate = folder / name
        if candidate.is_file():
            return str(candidate)
    raise FileNotFoundError(
        f"the console's stylesheet {name} is missing (looked in {_PACKAGE / 'styles'} and "
        f"{_PACKAGE.parent / 'styles'}); reinstall deskconsole"
    )
