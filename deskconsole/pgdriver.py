"""Peewee without its PostgreSQL driver until a PostgreSQL desk needs it.

Peewee imports psycopg (and psycopg2, if installed) when it is imported
itself: about 100 ms, most of a one-shot command's start-up, whether or not
the desk is on PostgreSQL. The entry points call :func:`defer` before
anything imports Peewee, so Peewee is imported as if no driver were
installed; :func:`load` (called by :func:`deskconsole.db.connect` before it
makes a PostgreSQL database) imports the drivers and hands Peewee the very
names its own import would have set. A program that imported Peewee first
(with its drivers) is left alone: both functions are then no-ops.

If Peewee's layout is not the one this module knows (another Peewee
version), :func:`defer` imports Peewee again the ordinary way, before
anything else has seen it: slower, never broken.
"""

from __future__ import annotations

import sys
import threading

_DRIVERS = ("psycopg2cffi", "psycopg2", "psycopg")  # what Peewee tries to import, in its order
_NAMES = ("psycopg", "psycopg2", "Json_pg2", "Json_pg3", "Jsonb_pg3", "Psycopg2Adapter", "Psycopg3Adapter")
_pending = False  # Peewee was imported without the drivers and has not had them yet
_lock = threading.Lock()


def defer() -> None:
    """Import Peewee without the PostgreSQL drivers (if nothing has imported it yet)."""
    global _pending
    if "peewee" in sys.modules:
        return
    blocked = [name for name in _DRIVERS if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # `import psycopg` raises ImportError
    try:
        import peewee
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
    if all(name in vars(peewee) for name in _NAMES) and peewee.psycopg is None and peewee.psycopg2 is None:
        _pending = True
        return
    del sys.modules["peewee"]  # an unknown layout: start over, drivers and all
    import peewee  # noqa: F401,F811


def pending() -> bool:
    """Whether Peewee is still without the drivers it would have imported."""
    return _pending


def load() -> None:
    """Give Peewee the PostgreSQL drivers it was imported without (those
    installed; Peewee reports a missing one when a connection is made)."""
    global _pending
    if not _pending:
        return
    with _lock:
        if not _pending:
            return
        import peewee

        _psycopg2(peewee)
        _psycopg3(peewee)
        _pending = False


def _psycopg2(pw) -> None:
    try:
        from psycopg2cffi import compat
    except ImportError:
        pass
    else:
        compat.register()
    try:
        import psycopg2
        from psycopg2 import extensions
        from psycopg2.extras import Json, register_uuid
    except ImportError:
        return
    register_uuid()
    pw.psycopg2, pw.pg_extensions, pw.pg_register_uuid, pw.Json_pg2 = psycopg2, extensions, register_uuid, Json
    adapter = pw.Psycopg2Adapter
    adapter.txn_idle = extensions.TRANSACTION_STATUS_IDLE
    adapter.txn_inerror = extensions.TRANSACTION_STATUS_INERROR
    adapter.txn_unknown = extensions.TRANSACTION_STATUS_UNKNOWN


def _psycopg3(pw) -> None:
    try:
        import psycopg
        from psycopg.pq import TransactionStatus
        from psycopg.types.json import Json, Jsonb
    except ImportError:
        return
    pw.psycopg, pw.TransactionStatus, pw.Json_pg3, pw.Jsonb_pg3 = psycopg, TransactionStatus, Json, Jsonb
    adapter = pw.Psycopg3Adapter
    adapter.txn_idle = TransactionStatus.IDLE
    adapter.txn_inerror = TransactionStatus.INERROR
    adapter.txn_unknown = TransactionStatus.UNKNOWN
