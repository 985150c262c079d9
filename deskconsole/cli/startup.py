"""The executable's start-up and exit, kept cheap.

* Peewee is imported without the PostgreSQL driver (:mod:`deskconsole.pgdriver`):
  a SQLite desk never loads psycopg.
* The cyclic garbage collector is paused while modules load: a command loads
  some 200 modules, whose objects (classes, functions, constants) live as long
  as the process, so the collections it would run meanwhile (about 4 ms) find
  nothing. When the command itself starts (:func:`command_starts`), what was
  loaded is frozen out of later collections (``gc.freeze``) and the collector
  runs as usual.
* At exit the objects are frozen again, so the interpreter's final
  collections skip them (about 10 ms); atexit handlers, flushing and thread
  joins are untouched.

Programs that call :func:`deskconsole.cli.main.main` in-process are not
affected: without :func:`begin`, :func:`command_starts` does nothing.
"""

from __future__ import annotations

import gc

_paused = False


def begin() -> None:
    """Called first by the executable, before anything imports Peewee."""
    global _paused
    from deskconsole import pgdriver

    pgdriver.defer()
    if gc.isenabled():
        gc.disable()
        _paused = True


def command_starts() -> None:
    """The modules are loaded: collect as usual from here on."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()


def finish() -> None:
    """The command is over: spare the interpreter's last collections."""
    command_starts()
    gc.freeze()
