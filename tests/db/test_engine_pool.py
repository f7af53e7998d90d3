"""Pooled PostgreSQL connections: one the server closed while it sat idle in the pool is
replaced before use, and reads outside a transaction see every committed change."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import make_url, text

from db.engine import create_engine, create_session_factory, reading

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]


def _asyncpg_dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


async def test_a_connection_closed_while_idle_is_replaced_before_use(database_url: str) -> None:
    """The server ends the pooled connection (a restart, an idle timeout): the next checkout
    after the idle time pings it, finds it gone and opens another; the query succeeds."""
    engine = create_engine(database_url, ping_after_idle_s=0.0)
    try:
        async with engine.connect() as conn:
            first = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        admin = await asyncpg.connect(_asyncpg_dsn(database_url))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        finally:
            await admin.close()
        async with engine.connect() as conn:
            second = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert second != first
    finally:
        await engine.dispose()


async def test_a_read_outside_a_transaction_sees_each_commit_and_leaves_none_open(
    database_url: str,
) -> None:
    """`reading` sends no BEGIN: the server shows the connection idle (not "idle in
    transaction") between statements, and a commit from elsewhere is seen by the next one."""
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    try:
        async with sessions.begin() as session:
            await session.execute(text("CREATE TABLE probe (n integer)"))
        async with reading(sessions) as session:
            assert await session.scalar(text("SELECT count(*) FROM probe")) == 0
            pid = await session.scalar(text("SELECT pg_backend_pid()"))
            async with sessions.begin() as other:
                await other.execute(text("INSERT INTO probe VALUES (1)"))
                state = await other.scalar(
                    text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
                )
            assert state == "idle"
            assert await session.scalar(text("SELECT count(*) FROM probe")) == 1
    finally:
        await engine.dispose()
