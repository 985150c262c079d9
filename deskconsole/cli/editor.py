"""Long text in the user's editor, as git does: ``$VISUAL``, else ``$EDITOR``,
else ``vi``; the text goes through a private temporary file (0600, in a
0700 folder) that is removed afterwards."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from deskconsole.errors import ValidationError


def editor_command() -> list[str]:
    for name in ("VISUAL", "EDITOR"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                return shlex.split(value)
            except ValueError:
                raise ValidationError(f"${name} ({value!r}) is not a command line; fix its quoting") from None
    return ["vi"]


def can_edit() -> bool:
    """Whether an editor can be put in front of the user (both ends a terminal)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def edit_text(initial: str, *, suffix: str = ".md") -> str:
    """The text after the user edited it; raises ValidationError when the
    editor cannot start or exits with an error (nothing is kept then)."""
    command = editor_command()
    if shutil.which(command[0]) is None:
        raise ValidationError(f"the editor {command[0]!r} was not found; set $EDITOR (e.g. export EDITOR=nano)")
    with tempfile.TemporaryDirectory(prefix="deskconsole-") as folder:  # 0700
        path = Path(folder) / f"edit{suffix}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(initial)
        result = subprocess.run([*command, str(path)])
        if result.returncode != 0:
            raise ValidationError(f"the editor exited with status {result.returncode}; nothing was changed")
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ValidationError("the edited text is not UTF-8; nothing was changed") from None


def sections(view, names: tuple[str, ...]) -> str:
    """Fields of ``view`` as a text with a heading each (what $EDITOR shows):
    ``# Root cause``, then its text."""
    parts = [f"# {name.replace('_', ' ').capitalize()}\n\n{(getattr(view, name) or '').strip()}\n" for name in names]
    return "\n".join(parts) + "\n# Lines under each heading are that field; a heading's text may be empty.\n"


def parse_sections(text: str, names: tuple[str, ...]) -> dict[str, str]:
    """The fields of an edited :func:`sections` text (headings it lacks are left as they were)."""
    out: dict[str, list[str]] = {}
    current = None
    by_heading = {name.replace("_", " "): name for name in names}
    for line in text.splitlines():
        if line.startswith("# "):
            current = by_heading.get(line[2:].strip().lower())
            if current is not None:
                out[current] = []
            continue
        if current is not None:
            out[current].append(line)
    return {name: "\n".join(lines).strip() for name, lines in out.items()}
