"""Small SQL expressions that read the same on SQLite and PostgreSQL.

Used by the figures that are computed in the database (the wallboard's,
the reports'): counting, time spans, and a desk's local day of an instant.
Nothing here runs a query.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo

from peewee import Case, Expression, fn

from deskconsole.db import is_sqlite

UTC = timezone.utc
DAY = 86400


def and_all(*exprs) -> Expression | None:
    """The AND of the expressions that are not None (None when none is)."""
    out = None
    for e in exprs:
        if e is not None:
            out = e if out is None else (out & e)
    return out


def count_if(expr):
    """How many rows ``expr`` holds for (0 over no rows' worth of matches, never NULL per row)."""
    return fn.SUM(Case(None, [(expr, 1)], 0))


def epoch(db, column):
    """``column`` (a UTC instant) as whole seconds since 1970-01-01 UTC."""
    if is_sqlite(db):
        return fn.strftime("%s", column).cast("INTEGER")
    return fn.floor(fn.date_part("epoch", column)).cast("BIGINT")


def seconds_between(db, later, earlier):
    """later - earlier in seconds, as SQL, on either backend (to the
    millisecond on SQLite, whose julianday() is a float of days)."""
    if is_sqlite(db):
        return fn.ROUND((fn.julianday(later) - fn.julianday(earlier)) * 86400.0, 3)
    return fn.date_part("epoch", later - earlier)


def milliseconds_between(db, later, earlier):
    """later - earlier in whole milliseconds (a BIGINT), on either backend:
    the reports' times are kept and averaged as these integers, so both
    backends and both ways of reading a report divide the same numbers."""
    return fn.ROUND(seconds_between(db, later, earlier) * 1000).cast("BIGINT")


def offsets(tz: tzinfo, start: datetime, end: datetime) -> list[tuple[datetime | None, int]]:
    """The UTC offsets ``tz`` has between two instants, as ``(until, seconds)``
    pieces in order: ``seconds`` holds before ``until`` (the last piece's
    ``until`` is None). Each change is found to the second."""
    def off(at: datetime) -> int:
        return int(at.astimezone(tz).utcoffset().total_seconds())

    pieces: list[tuple[datetime | None, int]] = []
    current = off(start)
    at = start
    step = timedelta(hours=6)
    while at < end:
        nxt = min(at + step, end)
        if off(nxt) != current:
            lo, hi = at, nxt  # off(lo) == current != off(hi): find the first second of the new offset
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(microsecond=0)
                if mid <= lo:
                    break
                if off(mid) == current:
                    lo = mid
                else:
                    hi = mid
            pieces.append((hi, current))
            current = off(hi)
            at = hi
            continue
        at = nxt
    pieces.append((None, current))
    return pieces


def local_day(db, column, tz: tzinfo, start: datetime, end: datetime):
    """The desk's local day of ``column`` as a day number (days since
    1970-01-01 in ``tz``), exact across daylight-saving changes between
    ``start`` and ``end``: one branch per UTC offset in that span."""
    seconds = epoch(db, column)

    def day(offset: int):
        shifted = seconds + offset
        return shifted / DAY if is_sqlite(db) else fn.floor(shifted / DAY).cast("BIGINT")  # SQLite: integer division

    pieces = offsets(tz, start, end)
    if len(pieces) == 1:
        return day(pieces[0][1])
    return Case(None, [(column < until, day(off)) for until, off in pieces[:-1]], day(pieces[-1][1]))
