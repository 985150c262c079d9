"""The change feed, read cheaply: what changed since sequence N.

Every write appends feed rows (see :mod:`deskconsole.core.txn`). A live view
polls :meth:`FeedReader.poll` every half second or so: on SQLite it first
asks ``PRAGMA data_version`` (microseconds; it moves only when another
connection committed) and reads the feed only then; on PostgreSQL it reads
the feed's newest sequence number, an index lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deskconsole.db import is_sqlite
from deskconsole.models import FeedEntry


@dataclass
class Changes:
    seq: int
    tickets: set[int] = field(default_factory=set)
    actions: list[tuple[str, str, int | None]] = field(default_factory=list)  # (actor, action, ticket)


class FeedReader:
    """Reads the feed forward from where it was created (the newest row then)."""

    def __init__(self, db):
        self.db = db
        self.seq = self._newest()
        self._version = self._data_version()

    def _newest(self) -> int:
        row = self.db.execute_sql("SELECT MAX(seq) FROM feed").fetchone()
        return int(row[0] or 0)

    def _data_version(self) -> int | None:
        if not is_sqlite(self.db):
            return None
        return self.db.execute_sql("PRAGMA data_version").fetchone()[0]

    def poll(self, limit: int = 5000) -> Changes | None:
        """What changed since the last poll, or None when nothing did."""
        if is_sqlite(self.db):
            version = self._data_version()
            if version == self._version:
                return None
            self._version = version
        rows = list(
            FeedEntry.select(FeedEntry.seq, FeedEntry.actor, FeedEntry.action, FeedEntry.ticket)
            .where(FeedEntry.seq > self.seq)
            .order_by(FeedEntry.seq)
            .limit(limit)
            .tuples()
        )
        if not rows:
            return None
        changes = Changes(seq=rows[-1][0])
        for seq, actor, action, ticket in rows:
            if ticket is not None:
                changes.tickets.add(ticket)
            changes.actions.append((actor, action, ticket))
        self.seq = changes.seq
        return changes
