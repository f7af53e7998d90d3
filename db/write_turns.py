"""SQLite's one write lock, taken by this process's transactions in turn, first come first served.

SQLite lets one transaction write at a time. The others wait in its busy handler, which looks
again after growing sleeps (1, 2, 5 ms ... then every 100 ms): a writer that has waited a
while looks every 100 ms and gets the lock only if it looks in a gap between two other
transactions. Behind a busy runner (claims and completions back to back, each holding the lock
for milliseconds) a lease renewal waited up to 1.7 s in `bench/big_course.py`, passed over by
hundreds of later transactions. Here the process's writers queue in an asyncio lock before
their first write statement and leave it when their transaction ends, so each waits for those
ahead of it only. SQLite's own lock still decides between processes (a command-line tool
beside the bot) and is what guarantees one writer: this queue only orders the process's own.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import MissingGreenlet
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

# Statements that never take SQLite's write lock (ours that start with WITH are reads: the
# recursive walks of `db.step_queue`); anything else waits for its turn.
_READS = ("SELECT", "WITH", "PRAGMA", "EXPLAIN")
# As long as SQLite's busy timeout (`db.engine`): a turn not had by then fails as SQLite would.
WAIT_S = 30.0
# Where a connection notes that its transaction holds the turn (the pool entry's `info`).
_HELD = "write_turn"


class WriteTurns:
    """The write queue of one SQLite engine (`install` attaches it)."""

    def __init__(self, wait_s: float = WAIT_S) -> None:
        self._wait_s = wait_s
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def install(self, engine: AsyncEngine) -> None:
        sync = engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._before_statement)
        event.listen(sync, "commit", self._transaction_ended)
        event.listen(sync, "rollback", self._transaction_ended)
        # A connection given back to the pool without a commit or rollback of its own, or
        # dropped (invalidated: a statement cancelled, a lost connection): its transaction is
        # over too.
        event.listen(sync.pool, "checkin", self._pool_entry_done)
        event.listen(sync.pool, "invalidate", self._pool_entry_done)

    def _before_statement(
        self,
        conn: Connection,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        if _HELD in conn.info or statement.lstrip()[:7].upper().startswith(_READS):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not on an event loop: SQLite's busy handler alone
        if self._loop is not loop:
            self._loop, self._lock = loop, asyncio.Lock()
        lock = self._lock
        assert lock is not None
        try:
            await_only(_acquire(lock, self._wait_s))
        except MissingGreenlet:
            return  # the engine used synchronously (not through the async API): as above
        except TimeoutError:
            raise sqlite3.OperationalError(
                f"database is locked: another transaction of this process kept it for"
                f" {self._wait_s:.0f} s"
            ) from None
        conn.info[_HELD] = (loop, lock)

    def _transaction_ended(self, conn: Connection) -> None:
        # An invalidated connection refuses `info` (it raises, and the error would replace
        # the one being handled, a cancellation say); the pool's invalidate event releases.
        if not conn.invalidated:
            _release(conn.info.pop(_HELD, None))

    def _pool_entry_done(self, _dbapi_connection: Any, record: Any, *_: Any) -> None:
        _release(record.info.pop(_HELD, None))


async def _acquire(lock: asyncio.Lock, wait_s: float) -> None:
    # Not `asyncio.wait_for`: on Python 3.11 a cancellation that comes as the lock is granted
    # is lost (the task goes on holding the turn, its cancellation swallowed).
    async with asyncio.timeout(wait_s):
        await lock.acquire()


def _release(held: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None) -> None:
    if held is None:
        return
    loop, lock = held
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        _unlock(lock)
    elif not loop.is_closed():
        # Given back on another thread (a connection collected by the garbage collector).
        loop.call_soon_threadsafe(_unlock, lock)


def _unlock(lock: asyncio.Lock) -> None:
    # Never raises: it runs in the commit hook, where an error would fail the commit itself.
    if lock.locked():
        lock.release()
