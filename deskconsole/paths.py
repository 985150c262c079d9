"""Where the desk keeps its files by default (XDG base directories)."""

from __future__ import annotations

import os
import stat
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


# ------------------------------------------------------------------ file modes
# The desk's files are its trust boundary on a shared host: whatever the
# caller's umask, what we create is readable by its owner only, or by the
# owner and a desk group where the folder is set up for one (group-owned,
# setgid: folder 2770, files 0660).
PRIVATE_FILE = 0o600
GROUP_FILE = 0o660
PRIVATE_DIR = 0o700
GROUP_DIR = 0o2770


def shared_folder(folder) -> bool:
    """Whether ``folder`` is set up for a desk group: its setgid bit is set, so
    what is created in it belongs to the folder's group."""
    try:
        return bool(os.stat(folder).st_mode & stat.S_ISGID)
    except OSError:
        return False


def file_mode(folder) -> int:
    """The mode of a file we create in ``folder``: 0600, or 0660 in a desk group's folder."""
    return GROUP_FILE if shared_folder(folder) else PRIVATE_FILE


def make_dirs(folder) -> None:
    """Create ``folder`` and its missing parents, each 0700 (2770 inside a desk
    group's folder). Folders that exist already are left as they are."""
    folder = Path(folder)
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for new in reversed(missing):
        mode = GROUP_DIR if shared_folder(new.parent) else PRIVATE_DIR
        try:
            new.mkdir(mode=mode & 0o777)
        except FileExistsError:  # made by someone else meanwhile: theirs to set
            continue
        os.chmod(new, mode)


def create_file(path, mode: int | None = None) -> int:
    """Create ``path`` (it must not exist) with ``mode`` (by default
    :func:`file_mode` of its folder), whatever the umask; returns the open
    file descriptor, for writing."""
    path = Path(path)
    mode = file_mode(path.parent) if mode is None else mode
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        os.fchmod(fd, mode)  # the umask took bits off at creation
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_private(path, text: str) -> None:
    """Write ``text`` to ``path`` (created or replaced whole, never seen half
    written) with :func:`file_mode`; missing folders are made with :func:`make_dirs`."""
    path = Path(path)
    make_dirs(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)  # our own leftover from a killed run of this pid
    try:
        with os.fdopen(create_file(tmp), "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_secret(path: str, what: str = "signing secret", min_bytes: int = 16) -> bytes:
    """A secret (a signing key, an SMTP password) from a file only its owner
    can read, as ssh insists for keys; a ValidationError says what to fix."""
    from deskconsole.errors import ValidationError

    p = Path(path)
    try:
        mode = p.stat().st_mode
        data = p.read_bytes().strip()
    except OSError as exc:
        raise ValidationError(f"cannot read the {what} {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValidationError(f"{path} can be read by others (mode {stat.S_IMODE(mode):o}); run 'chmod 600 {path}'")
    if len(data) < min_bytes:
        raise ValidationError(f"{path} holds {len(data)} bytes; a {what} needs at least {min_bytes}"
                              + (" (e.g. openssl rand -hex 32)" if what == "signing secret" else ""))
    return data
