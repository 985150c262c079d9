"""Which open desk's database the models speak to.

The models share one :class:`DeskDatabase`, which is not a database but a
pointer resolved on every use: to the desk whose core function is running
(set by :func:`on_desk` and :func:`use`, per thread and per asyncio task),
or, outside any, to the desk opened last that is still open. So one process
can hold several desks at once — the intake serving two, a test comparing
two — and a call on one never lands in another.

Every public core function that takes a desk first is wrapped in
:func:`on_desk`; code that uses the models directly (a script, a test) says
which desk with ``with desk.bound():``.
"""

from __future__ import annotations

import functools
import inspect
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator, TypeVar

from peewee import Database, DatabaseProxy

_current: ContextVar[Database | None] = ContextVar("deskconsole_database", default=None)
_open: list[Database] = []  # open desks' databases, the last opened last

F = TypeVar("F", bound=Callable)


class DeskDatabase(DatabaseProxy):
    """The models' database: the current desk's (see the module's text)."""

    __slots__ = ()

    def __init__(self) -> None:
        object.__setattr__(self, "_callbacks", [])  # Proxy's own __setattr__ checks our (empty) slots

    @property
    def obj(self) -> Database | None:  # Peewee's Proxy reads this on every use
        db = _current.get()
        if db is not None:
            return db
        return _open[-1] if _open else None

    def initialize(self, obj: Database | None) -> None:
        """Make ``obj`` the default desk (Peewee's way of pointing a proxy)."""
        if obj is not None:
            opened(obj)


def opened(db: Database) -> None:
    """``db`` is an open desk's, and the default from now on."""
    if db in _open:
        _open.remove(db)
    _open.append(db)


def closed(db: Database) -> None:
    """``db``'s desk is closed: it is no one's default any more."""
    if db in _open:
        _open.remove(db)


@contextmanager
def use(db: Database) -> Iterator[Database]:
    """The models speak to ``db`` inside the block (this thread or task only)."""
    token = _current.set(db)
    try:
        yield db
    finally:
        _current.reset(token)


def on_desk(fn: F) -> F:
    """Run ``fn(desk, ...)`` with the models speaking to ``desk``'s database.

    A generator is bound for each step it takes, never between steps, so
    the caller's own code between items is left as it was."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def steps(desk, *args, **kwargs):
            inner = fn(desk, *args, **kwargs)
            while True:
                token = _current.set(desk.db)
                try:
                    item = next(inner)
                except StopIteration as stop:
                    return stop.value
                finally:
                    _current.reset(token)
                yield item

        return steps  # type: ignore[return-value]

    @functools.wraps(fn)
    def bound(desk, *args, **kwargs):
        token = _current.set(desk.db)
        try:
            return fn(desk, *args, **kwargs)
        finally:
            _current.reset(token)

    return bound  # type: ignore[return-value]


database = DeskDatabase()
