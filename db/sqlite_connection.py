"""The SQLite connection our engines use: aiosqlite's, with one trip to its thread per statement.

aiosqlite runs every call on the connection's own thread; SQLAlchemy's adapter makes four such
calls per statement (open a cursor, execute, fetch, close), and each costs a hand-over to that
thread and a wake-up of the event loop through its self-pipe. A claim of the runner (six
statements) spent most of its 7 ms in those trips. Here a statement is one trip: the cursor
is opened, the statement executed and its first rows fetched there together; a result longer
than `PREFETCH_ROWS` (a streamed read of a big course) brings the rest in further trips, as
asked for, so it still arrives in parts and memory stays bounded.

`connect` is given to SQLAlchemy as the engine's `async_creator` (`db.engine.create_engine`);
everything else (commit, rollback, close, functions, the isolation level SQLAlchemy sets
through the queue) is aiosqlite's own. It relies on `aiosqlite.Connection._execute`
(`on_thread`), the queue every aiosqlite call uses; `requirements.lock` pins the version it
was read against, and `tests/db/test_sqlite_connection.py` checks what SQLAlchemy sees.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from functools import partial
from typing import Any, TypeVar

import aiosqlite

# Rows fetched with the statement itself: every result of the product but a streamed read
# (`provisioning.courses.stored_plan`, in parts of 250) comes whole in the first trip.
PREFETCH_ROWS = 1000

_T = TypeVar("_T")
_Description = tuple[tuple[Any, ...], ...] | None


class _Ran:
    """What a trip brought back: the rows and the cursor's figures at that point."""

    __slots__ = ("cursor", "description", "lastrowid", "rowcount", "rows")

    def __init__(self, cursor: sqlite3.Cursor | None, rows: list[Any], raw: sqlite3.Cursor):
        # `cursor` is kept open only while rows remain to be fetched.
        self.cursor = cursor
        self.rows = rows
        self.description: _Description = raw.description
        self.rowcount = raw.rowcount
        self.lastrowid = raw.lastrowid


def _run(
    connection: aiosqlite.Connection,
    sql: str,
    parameters: Any,
    many: bool,
    prefetch: int,
) -> _Ran:
    """On the connection's thread: a cursor, the statement, its first rows; the cursor is
    closed unless rows remain."""
    cursor = connection._conn.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
    except BaseException:
        cursor.close()
        raise
    if cursor.description is None:  # no rows to fetch
        ran = _Ran(None, [], cursor)
        cursor.close()
        return ran
    return _fetch(cursor, prefetch)


def _fetch(cursor: sqlite3.Cursor, size: int | None) -> _Ran:
    """On the connection's thread: up to `size` more rows (all, if None); the cursor is
    closed once none remain."""
    try:
        rows = cursor.fetchall() if size is None else cursor.fetchmany(size)
        more = size is not None and len(rows) == size
        ran = _Ran(cursor if more else None, rows, cursor)
    except BaseException:
        cursor.close()
        raise
    if not more:
        cursor.close()
    return ran


class Cursor:
    """The cursor SQLAlchemy's aiosqlite adapter drives: its coroutines, fewer trips."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._open: sqlite3.Cursor | None = None  # while rows remain on the thread's side
        self._rows: list[Any] = []
        self.description: _Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        await self._start(sql, parameters, many=False)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Cursor:
        await self._start(sql, parameters, many=True)
        return self

    async def fetchone(self) -> Any:
        rows = await self.fetchmany(1)
        return rows[0] if rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        wanted = self.arraysize if size is None else size
        if len(self._rows) < wanted and self._open is not None:
            await self._more(wanted - len(self._rows))
        rows, self._rows = self._rows[:wanted], self._rows[wanted:]
        return rows

    async def fetchall(self) -> list[Any]:
        if self._open is not None:
            await self._more(None)
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []
        if self._open is not None:
            cursor, self._open = self._open, None
            await self._connection.on_thread(cursor.close)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        while rows := await self.fetchmany(PREFETCH_ROWS):
            for row in rows:
                yield row

    async def _start(self, sql: str, parameters: Any, *, many: bool) -> None:
        await self.close()  # a cursor executed again forgets what it had
        ran = await self._connection.on_thread(
            _run, self._connection, sql, parameters, many, self._connection.prefetch
        )
        self._take(ran)

    async def _more(self, size: int | None) -> None:
        assert self._open is not None
        ran = await self._connection.on_thread(_fetch, self._open, size)
        self._rows += ran.rows
        self._take(ran, keep_description=True)

    def _take(self, ran: _Ran, *, keep_description: bool = False) -> None:
        self._open = ran.cursor
        if not keep_description:
            self._rows = ran.rows
            self.description = ran.description
            self.lastrowid = ran.lastrowid
        self.rowcount = ran.rowcount


class Connection(aiosqlite.Connection):
    """aiosqlite's connection whose cursors make one trip per statement."""

    def __init__(
        self, connector: Callable[[], sqlite3.Connection], *, prefetch: int = PREFETCH_ROWS
    ) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self.prefetch = prefetch
        # As SQLAlchemy does for the connections it opens itself: a thread left running by a
        # connection never closed must not keep the process alive.
        self._thread.daemon = True

    def cursor(self) -> Cursor:  # type: ignore[override]
        return Cursor(self)

    async def on_thread(self, function: Callable[..., _T], *args: Any) -> _T:
        """`function(*args)` on the connection's thread, through aiosqlite's own queue."""
        result: _T = await self._execute(function, *args)  # type: ignore[no-untyped-call]
        return result


async def connect(database: str, **connect_args: Any) -> Connection:
    """A connection to `database`, opened on its thread with sqlite3's `connect_args`."""
    connection = Connection(partial(sqlite3.connect, database, **connect_args))
    await connection  # opened on its thread
    return connection
