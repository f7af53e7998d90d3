"""The SQLite connection of our engines (`db.sqlite_connection`): one trip to aiosqlite's thread
per statement, and what SQLAlchemy reads of a result as the stock adapter gives it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import sqlite_connection
from db.engine import create_engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hops.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
    yield engine
    await engine.dispose()


async def _counting_trips(conn: AsyncConnection) -> list[str]:
    """The names of the functions sent to the connection's thread from now on."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, sqlite_connection.Connection)
    sent: list[str] = []
    send = driver._execute  # every trip: aiosqlite's own (commit) and ours

    async def counted(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        sent.append(getattr(fn, "__name__", repr(fn)))
        return await send(fn, *args, **kwargs)

    driver._execute = counted  # type: ignore[method-assign]
    return sent


async def test_a_statement_is_one_trip_to_the_thread(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # the transaction begun
        sent = await _counting_trips(conn)
        rows = (await conn.execute(text("SELECT 1 UNION ALL SELECT 2"))).all()
        inserted = await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
        await conn.commit()
        trips = list(sent)
    assert [tuple(row) for row in rows] == [(1,), (2,)]
    assert inserted.rowcount == 1
    # The stock adapter: cursor, execute, fetch, close for each statement (eight), then commit.
    assert trips == ["_run", "_run", "commit"]


async def test_a_result_longer_than_the_prefetch_comes_whole_and_in_order(
    engine: AsyncEngine,
) -> None:
    count = sqlite_connection.PREFETCH_ROWS * 2 + 7
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO t (v) VALUES (:v)"), [{"v": f"v{i:05d}"} for i in range(count)]
        )
        sent = await _counting_trips(conn)
        whole = (await conn.execute(text("SELECT v FROM t ORDER BY id"))).scalars().all()
        # UPDATE ... RETURNING: its row count is final once every row is fetched.
        changed = await conn.execute(text("UPDATE t SET v = v || '!' RETURNING id"))
        ids = changed.scalars().all()
        trips = list(sent)
    assert whole == [f"v{i:05d}" for i in range(count)]
    assert len(ids) == count
    assert changed.rowcount == count
    # Each: the statement with its first rows, the rest in one more trip.
    assert trips == ["_run", "_fetch", "_run", "_fetch"]


async def test_a_streamed_result_arrives_in_parts_and_a_stream_left_early_is_closed(
    engine: AsyncEngine,
) -> None:
    count = sqlite_connection.PREFETCH_ROWS + 500
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO t (v) VALUES (:v)"), [{"v": str(i)} for i in range(count)]
        )
    async with engine.connect() as conn:
        result = await conn.stream(
            text("SELECT CAST(v AS INTEGER) FROM t ORDER BY id").execution_options(yield_per=300)
        )
        parts = [[row[0] for row in part] async for part in result.partitions(300)]
        assert [len(part) for part in parts] == [300] * 5
        assert [v for part in parts for v in part] == list(range(count))

        sent = await _counting_trips(conn)
        early = await conn.stream(text("SELECT v FROM t").execution_options(yield_per=10))
        first = await early.fetchmany(10)
        await early.close()
        assert len(first) == 10
        assert sent == ["_run", "close"]  # the thread's cursor, still open, closed
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == count


async def test_an_error_is_the_drivers_and_the_connection_goes_on(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (v) VALUES ('same')"))
    with pytest.raises(IntegrityError, match=r"UNIQUE constraint failed: t\.v"):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (v) VALUES ('same')"))
    async with engine.begin() as conn:
        done = await conn.execute(text("INSERT INTO t (v) VALUES ('other')"))
        assert done.lastrowid == 2
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 2


async def test_many_rows_written_with_one_statement_report_their_count(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        raw = await conn.get_raw_connection()
        cursor = raw.driver_connection.cursor()
        await cursor.executemany("INSERT INTO t (v) VALUES (?)", [("x",), ("y",), ("z",)])
        assert cursor.rowcount == 3
        assert await cursor.fetchall() == []
        await cursor.execute("SELECT v FROM t ORDER BY v")
        assert await cursor.fetchone() == ("x",)
        assert await cursor.fetchmany(5) == [("y",), ("z",)]
        assert await cursor.fetchone() is None
        await cursor.close()
