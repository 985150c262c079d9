"""The wallboard's stylesheet lives in the top-level styles/ folder and ships
inside the wheel (pyproject force-includes the whole folder as
deskconsole/styles/, where ui.styles.css_path looks first)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from deskconsole.ui.styles import css_path

ROOT = Path(__file__).resolve().parents[2]


def test_the_stylesheet_is_found_and_shipped():
    path = Path(css_path("wallboard.tcss"))
    assert path.is_file() and path.name == "wallboard.tcss"
    assert (ROOT / "styles" / "wallboard.tcss").is_file()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]["styles"] == "deskconsole/styles"
    assert any(dep.startswith("textual-serve") for dep in project["project"]["optional-dependencies"]["web"])
