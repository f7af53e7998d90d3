"""SQLite's write lock taken in turn by the process's transactions (`db.write_turns`): a writer
waits for the transactions ahead of it, not for whichever SQLite's busy handler happens to let
in, so one behind a busy runner is not passed over again and again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from db.engine import create_engine


async def test_a_writer_behind_back_to_back_transactions_waits_for_one_of_them(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))
    sessions = async_sessionmaker(engine)
    commits = 0
    stop = asyncio.Event()

    async def busy_runner() -> None:
        # Transactions back to back, each holding the lock a little while, as claims do.
        nonlocal commits
        while not stop.is_set():
            async with sessions.begin() as session:
                await session.execute(text("INSERT INTO t VALUES (1)"))
                await asyncio.sleep(0.003)
            commits += 1

    runner = asyncio.create_task(busy_runner())
    try:
        async with sessions.begin() as session:  # not measured: it makes its connection
            await session.execute(text("INSERT INTO t VALUES (0)"))
        passed_by: list[int] = []
        for _ in range(20):
            await asyncio.sleep(0.004)
            before = commits
            async with sessions.begin() as session:
                await session.execute(text("INSERT INTO t VALUES (2)"))
            passed_by.append(commits - before)
    finally:
        stop.set()
        await runner
        await engine.dispose()
    # Counted from before its session began: the runner's transaction then, and at most one
    # more that asked for the lock while this one was on its way to its first write; none
    # that asked after it. (Without the queue: 200 and more, at every run.)
    assert max(passed_by) <= 2, passed_by


async def test_reads_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'reads.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))
    sessions = async_sessionmaker(engine)
    try:
        async with sessions.begin() as writer:
            await writer.execute(text("INSERT INTO t VALUES (1)"))
            async with sessions() as reader:
                # Under WAL a reader sees the last commit while a write is in progress.
                count = await asyncio.wait_for(
                    reader.scalar(text("SELECT count(*) FROM t")), timeout=5
                )
        assert count == 0
    finally:
        await engine.dispose()


async def test_a_transaction_that_fails_gives_its_turn_back(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'fails.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER NOT NULL)"))
    sessions = async_sessionmaker(engine)

    async def fails() -> None:
        async with sessions.begin() as session:
            await session.execute(text("INSERT INTO t VALUES (1)"))
            await session.execute(text("INSERT INTO t VALUES (NULL)"))

    try:
        with pytest.raises(IntegrityError, match="NOT NULL"):
            await fails()
        async with sessions.begin() as session:
            await asyncio.wait_for(session.execute(text("INSERT INTO t VALUES (3)")), timeout=5)
            assert await session.scalar(text("SELECT count(*) FROM t")) == 1
    finally:
        await engine.dispose()


async def test_a_writer_cancelled_in_the_queue_is_cancelled_and_the_queue_goes_on(
    tmp_path: Path,
) -> None:
    """As a lease keeper is cancelled when its step ends: the cancellation comes out as one
    (not as another error that a retry loop would catch), and the turn is not lost."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cancel.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))
    sessions = async_sessionmaker(engine)

    async def write(n: int) -> None:
        async with sessions.begin() as session:
            await session.execute(text(f"INSERT INTO t VALUES ({n})"))

    try:
        async with sessions.begin() as holder:
            await holder.execute(text("INSERT INTO t VALUES (1)"))
            waiting = asyncio.create_task(write(2))
            await asyncio.sleep(0.05)  # in the queue behind the holder
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        await asyncio.wait_for(write(3), timeout=5)
        async with sessions() as session:
            rows = (await session.execute(text("SELECT n FROM t ORDER BY n"))).scalars().all()
        assert rows == [1, 3]
    finally:
        await engine.dispose()
