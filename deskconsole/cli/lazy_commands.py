"""Subcommands that cost nothing until they are used.

A one-shot command pays only for itself: its function is named
``"module:function"`` and imported when it runs (``ls`` never imports the
console's Textual), and its parser is made, arguments and all, when the
command line names it (argparse makes a parser in about 0.15 ms; thirty of
them were a twentieth of a command's start-up). ``--help`` lists every
command as before: the listing needs only names and one-line helps.

Registrations that live in other modules (``later``) run, in the order
given, the first time a name is not found among the registered ones, or
when every command is listed (help, a usage error): such commands come last.
"""

from __future__ import annotations

import argparse
from importlib import import_module
from typing import Callable


class Command:
    """A command's function named ``"module:function"``, imported when it is
    called; ``args.func(ctx, args)`` works as with the function itself."""

    __slots__ = ("target",)

    def __init__(self, target: str):
        self.target = target

    def resolve(self) -> Callable:
        module, _, name = self.target.partition(":")
        return getattr(import_module(module), name)

    def __call__(self, ctx, args) -> int:
        return self.resolve()(ctx, args)

    def __repr__(self) -> str:
        return f"Command({self.target!r})"


class _Unmade:
    """A registered command whose parser is not made yet."""

    __slots__ = ("kwargs", "build")

    def __init__(self, kwargs: dict, build: Callable[[argparse.ArgumentParser], None]):
        self.kwargs, self.build = kwargs, build


class _Parsers(dict):
    """argparse's name -> parser map (also the action's ``choices``): a
    parser is made on its first lookup, and a name not registered yet runs
    the pending registrations first."""

    def __init__(self, action: "Subcommands"):
        super().__init__()
        self.action = action

    def __contains__(self, name) -> bool:
        if not super().__contains__(name):
            self.action.register_pending()
        return super().__contains__(name) and name != self.action.making

    def __getitem__(self, name):
        if name not in self:
            raise KeyError(name)
        value = super().__getitem__(name)
        return self.action.make(name, value) if isinstance(value, _Unmade) else value

    def get(self, name, default=None):
        return self[name] if name in self else default

    def __iter__(self):
        self.action.register_pending()
        return super().__iter__()

    def keys(self):
        self.action.register_pending()
        return super().keys()

    def values(self):
        return [self[name] for name in self.keys()]

    def items(self):
        return [(name, self[name]) for name in self.keys()]


class Subcommands(argparse._SubParsersAction):
    """``add_subparsers()`` for a parser that did ``register("action",
    "parsers", Subcommands)``; adds :meth:`add_unmade` and :meth:`later`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._name_parser_map = self.choices = _Parsers(self)
        self.pending: list[Callable[[], None]] = []
        self.making: str | None = None
        self.registering = False

    def add_unmade(self, name: str, build: Callable[[argparse.ArgumentParser], None], **kwargs) -> None:
        """As ``add_parser(name, **kwargs)``, but the parser is made (and
        ``build(parser)`` adds its arguments) only when it is looked up."""
        if name in self._name_parser_map:
            raise argparse.ArgumentError(self, f"conflicting subparser: {name}")
        if "help" in kwargs:
            self._choices_actions.append(self._ChoicesPseudoAction(name, (), kwargs.pop("help")))
        dict.__setitem__(self._name_parser_map, name, _Unmade(kwargs, build))

    def make(self, name: str, unmade: _Unmade) -> argparse.ArgumentParser:
        self.making = name  # add_parser's "already registered?" check passes for this one name
        try:
            parser = super().add_parser(name, **unmade.kwargs)  # replaces the entry in place: the order stays
        finally:
            self.making = None
        unmade.build(parser)
        return parser

    def later(self, register: Callable[[], None]) -> None:
        """Run ``register()`` (which adds commands) when its names are first needed."""
        self.pending.append(register)

    def register_pending(self) -> None:
        if self.registering:
            return
        self.registering = True
        try:
            while self.pending:
                self.pending.pop(0)()
        finally:
            self.registering = False

    def _get_subactions(self):
        self.register_pending()
        return super()._get_subactions()


def subcommands(parent: argparse.ArgumentParser, dest: str, globals_: Callable[[argparse.ArgumentParser], None]
                ) -> Callable[..., argparse.ArgumentParser]:
    """For a command with subcommands (``problem new``, ``admin sync``): a
    function ``add(name, func, help)`` that registers one, with the desk's
    global options (``globals_``), and returns its parser."""
    sub = parent.add_subparsers(dest=dest, metavar="SUBCOMMAND", required=True)

    def add(name: str, func, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        globals_(p)
        p.set_defaults(func=func)
        return p
    return add
