"""Running ``deskconsole batch``: many commands in one process, on one open desk.

Each line is a command in the CLI's own syntax (shell-style quoting); each
gives one JSON line on standard output: ``{"line": N, "ok": true, "out":
"..."}`` or ``{"line": N, "ok": false, "code": EXIT, "error": "..."}`` (and
``"err"`` when a line that worked also said something on stderr, e.g. ``ls``
finding nothing). The lines run through the very command functions the CLI
runs, parsed by the CLI's own parser (built once), on the desk the batch
opened once, as the batch's actor: a line cannot change who acts or where.

``--atomic`` runs every line in one transaction: the lines' own transactions
nest in it as savepoints, so the first failure rolls back everything, the
tickets, conversation, audit and feed rows alike. (The command's arguments
are registered by ``cli.batch``, which imports none of this.)
"""

from __future__ import annotations

import io
import json
import shlex
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

from peewee import DatabaseError

from deskconsole.cli.context import Context
from deskconsole.cli.output import database_failure, error_text, escaped
from deskconsole.core.desk import Desk
from deskconsole.errors import DeskError, ValidationError
from deskconsole.core.identity import Actor
from deskconsole.db import first_line

REFUSED = {
    "batch": "a batch cannot run another batch",
    "console": "the console is interactive: run it on its own, in a terminal",
    "wallboard": "the wallboard runs until it is stopped: run it on its own",
    "daemon": "the daemon runs until it is stopped: run it on its own",
    "demo": "demo builds or replaces a whole desk: run it on its own",
    "init": "init writes a config and creates a desk: run it on its own",
    "restore": "restore replaces the whole desk the batch is working on: run it on its own",
}
REFUSED_ATOMIC = {"backup": "a backup copies what is committed, and --atomic commits only at the end: run it on its own"}
IDENTITY = (("as_login", "--as"), ("db", "--db"), ("config", "--config"))


@dataclass
class LineContext(Context):
    """A line's context: ``open()`` hands it the batch's desk and actor."""

    shared: tuple[Desk, Actor] | None = None

    def open(self, *, create: bool = False, say: bool = True) -> tuple[Desk, Actor]:
        return self.shared


class _NoStdin(io.RawIOBase):
    """Standard input for a line: the batch's own input is not the line's to read."""

    buffer = property(lambda self: self)

    def isatty(self) -> bool:
        return False

    def readable(self) -> bool:
        return True

    def readinto(self, b):
        raise ValidationError("a batch line cannot read standard input ('-'): put the text on the line, quoted")


class _Failed(Exception):
    """The line that ended an --atomic batch."""

    def __init__(self, line: int):
        self.line = line


class Batch:
    """The batch's parser, desk and actor, and the lines' results."""

    def __init__(self, ctx: Context, desk: Desk, actor: Actor, *, atomic: bool):
        from deskconsole.cli.main import build_parser  # main imports cli.batch to register the command

        self.parser = build_parser()
        self.ctx = ctx
        self.desk = desk
        self.actor = actor
        self.atomic = atomic
        self.failed = 0

    def run(self, number: int, text: str) -> dict | None:
        """One line's result, or None for a blank or comment line."""
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            return None
        try:
            tokens = shlex.split(stripped)
        except ValueError as exc:  # No closing quotation, No escaped character
            return self._error(number, 2, f"cannot split the line into words: {exc}")
        out, err = io.StringIO(), io.StringIO()
        stdin = sys.stdin
        sys.stdin = _NoStdin()
        try:
            with redirect_stdout(out), redirect_stderr(err):
                code, message = self._call(tokens)
        finally:
            sys.stdin = stdin
        if code == 0:
            result = {"line": number, "ok": True, "out": out.getvalue()}
            if err.getvalue():
                result["err"] = err.getvalue()
            return result
        if message is None:  # argparse or the command said why on stderr itself
            said = err.getvalue().strip().splitlines()
            message = _said(said[-1]) if said else f"exit status {code}"
        return self._error(number, code, message)

    def _error(self, number: int, code: int, message: str) -> dict:
        self.failed += 1
        return {"line": number, "ok": False, "code": code, "error": message}

    def _call(self, tokens: list[str]) -> tuple[int, str | None]:
        """Parse and run one command: its exit code and, when it failed, why."""
        try:
            args, extra = self.parser.parse_known_args(tokens)
        except SystemExit as exc:  # a usage error (said on stderr), or --help
            return (exc.code if isinstance(exc.code, int) else 2), None
        for attr, flag in IDENTITY:
            if getattr(args, attr, None) is not None:
                return 2, (f"{flag} is for the whole batch (deskconsole batch {flag} ...), not for a line:"
                           f" every line acts as {self.actor.login} on the batch's desk")
        if extra:  # `ls is:open -prio:P4`, as the CLI takes it
            if getattr(args, "query", None) is not None and all(not e.startswith("--") for e in extra):
                args.query = [*args.query, *extra]
            else:
                return 2, f"{args.command or 'deskconsole'}: unrecognized arguments: {escaped(' '.join(extra))}"
        if args.command is None:
            return 2, "the line names no command (e.g. show INC-1)"
        why = REFUSED.get(args.command) or (self.atomic and REFUSED_ATOMIC.get(args.command))
        if why:
            return 2, f"{args.command} cannot run in a batch: {why}"
        line_ctx = LineContext(config_path=self.ctx.config_path, db_url=self.ctx.db_url, as_login=self.ctx.as_login,
                               login=self.ctx.login, explicit_config=self.ctx.explicit_config,
                               shared=(self.desk, self.actor))
        try:
            return args.func(line_ctx, args), None
        except DeskError as exc:
            return exc.exit_code, error_text(exc)
        except DatabaseError as exc:
            return 1, database_failure(self.desk, exc)
        except SystemExit as exc:
            return (exc.code if isinstance(exc.code, int) else 1), None
        except (KeyboardInterrupt, BrokenPipeError):
            raise
        except Exception as exc:  # a fault in one command must not end the lines after it
            return 1, escaped(f"unexpected failure: {type(exc).__name__}: {first_line(exc)}")
        finally:
            line_ctx.close()  # whatever the line opened itself; the shared desk stays open


def _said(line: str) -> str:
    """``deskconsole admin: error: X`` -> ``admin: X``; ``deskconsole: X`` -> ``X``."""
    prog, sep, rest = line.partition(": error: ")
    if sep:
        prog = prog.removeprefix("deskconsole").strip()
        return f"{prog}: {rest}" if prog else rest
    return line.removeprefix("deskconsole: ")


def _lines(path: str):
    """(number, text) for each line of FILE or standard input, as it arrives."""
    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text stream (tests): already decoded
            yield from enumerate(sys.stdin, 1)
        else:
            yield from _decoded(stream, "standard input")
        return
    try:
        stream = open(path, "rb")
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror or exc}") from None
    with stream:
        yield from _decoded(stream, path)


def _decoded(stream, source: str):
    for number, raw in enumerate(stream, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:  # that line's error; the others still run
            yield number, ValidationError(f"{source} is not valid UTF-8 on this line (its byte {exc.start + 1});"
                                          f" convert it (e.g. iconv -f latin1 -t utf-8) and try again")
            continue
        yield number, text.removeprefix("\ufeff") if number == 1 else text


def run_batch(ctx: Context, args) -> int:
    desk, actor = ctx.open()  # once: one connection, one identity, one directory notice
    batch = Batch(ctx, desk, actor, atomic=args.atomic)
    out = sys.stdout
    stop = args.stop_on_error or args.atomic

    def each() -> int:
        for number, text in _lines(args.file):
            result = (batch._error(number, 1, error_text(text)) if isinstance(text, DeskError)
                      else batch.run(number, text))
            if result is None:
                continue
            out.write(json.dumps(result) + "\n")
            out.flush()
            if not result["ok"] and stop:
                return number
        return 0

    if not args.atomic:
        each()
        return 1 if batch.failed else 0
    try:
        with desk.transaction():
            failed = each()
            if failed:
                raise _Failed(failed)
    except _Failed as exc:
        desk.directory.load()  # a rolled-back line may have changed the directory in memory
        print(f"deskconsole: line {exc.line} failed; --atomic: nothing the batch did was kept (every line"
              f" was rolled back)", file=sys.stderr)
        return 1
    except BrokenPipeError:  # whoever read the results went away: what they saw was never kept
        desk.directory.load()
        print("deskconsole: the results' reader closed its end; --atomic: nothing the batch did was kept",
              file=sys.stderr)
        return 1
    except DatabaseError as exc:  # the commit itself
        print(f"deskconsole: {database_failure(desk, exc)}; --atomic: nothing the batch did was kept",
              file=sys.stderr)
        return 1
    return 0
