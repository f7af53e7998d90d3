"""Write transactions of one process take turns on SQLite, first come first served.

SQLite has one writer at a time, and a transaction that finds its write lock taken does not
queue for it: its busy handler sleeps and tries again, 1, 2, 5, 10 ... up to 100 ms at a time.
With the runner's claims and settles and the audit log's batches all writing at once, most of
a transaction's time went to sleeping past the moment the lock was free (an audit row took
50 ms to commit at the median, a step's settle 30 ms, 470 ms at the 90th percentile). Writers
on the hot path therefore take a turn on the event loop first: they wait in order and find the
database free. A writer outside the turns still gets the lock as before, through the busy
handler. PostgreSQL locks rows, not the database, and its lock waits do not poll: no turns.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class WriteTurns:
    """Opens write transactions; on SQLite one at a time among the holders of this object.

    One per process and database, shared by its writers (`bot.build` gives the runner and the
    audit log the same one). Never open a turn inside another: the second would wait for the
    first forever.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        # A factory that names no engine (a test's wrapper) gets no turns.
        bind = getattr(sessions, "kw", {}).get("bind")
        serial = bind is not None and bind.dialect.name == "sqlite"
        self._lock = asyncio.Lock() if serial else None

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        """A transaction, committed on leaving the block (rolled back on an error)."""
        if self._lock is None:
            async with self._sessions.begin() as session:
                yield session
            return
        async with self._lock, self._sessions.begin() as session:
            yield session
