"""Engine and session factory construction for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from sqlalchemy import event, make_url, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

from db import sqlite_connection
from db.write_turns import WAIT_S, WriteTurns

log = logging.getLogger(__name__)

# A pooled PostgreSQL connection idle this long is pinged before use (one round trip): the
# server may have closed it meanwhile (a restart, an idle timeout). One used more recently is
# not, so a busy API (200 pollers) does not pay a ping per request. If the server goes away
# while connections are busy, the first statement on one fails with a disconnect, and
# SQLAlchemy then drops every connection of the pool opened before it: one request fails.
PING_AFTER_IDLE_S = 5.0
# Connections kept open for the API, the runner and the scheduler at once, and those opened
# beyond them under a burst (closed again when returned). Concurrent polls of one course share
# one read (`provisioning.shared_reads`), so 200 pollers need a handful, not 200.
POOL_SIZE = 10
MAX_OVERFLOW = 20
# A request that cannot get a connection in this time fails (a 500) instead of queueing for the
# default 30 s, by which time its client has given up anyway.
POOL_TIMEOUT_S = 10.0


def create_engine(
    url: str, *, echo: bool = False, ping_after_idle_s: float = PING_AFTER_IDLE_S
) -> AsyncEngine:
    """Build an async engine; on SQLite turn on foreign keys and WAL for every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # aiosqlite's connection, with one trip to its thread per statement, opened as its
        # dialect would (the URL's file and options); waiting for the single writer lock
        # instead of failing at once under concurrent writers.
        args, options = parsed.get_dialect()().create_connect_args(parsed)
        connect = partial(sqlite_connection.connect, *args, **options, timeout=WAIT_S)
        engine = _create_async_engine(url, echo=echo, async_creator=connect)
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        # The process's writers in turn, not whoever SQLite's busy handler happens to wake.
        WriteTurns().install(engine)
    else:
        engine = _create_async_engine(
            url,
            echo=echo,
            pool_size=POOL_SIZE,
            max_overflow=MAX_OVERFLOW,
            pool_timeout=POOL_TIMEOUT_S,
        )
        event.listen(engine.sync_engine, "connect", _note_returned)
        event.listen(engine.sync_engine, "checkin", _note_returned)
        event.listen(engine.sync_engine, "checkout", _ping_if_idle(engine, ping_after_idle_s))
    log.debug("engine created", extra={"backend": parsed.get_backend_name()})
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # SQLite ignores FOREIGN KEY clauses unless asked, per connection.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets readers proceed while the runner writes; in-memory databases ignore it.
        cursor.execute("PRAGMA journal_mode=WAL")
        # Under WAL, NORMAL still survives a crash of the process (every commit is in the
        # log); only a power loss may drop the last commits. It makes each commit an order
        # of magnitude cheaper, and every platform call commits an audit row.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _note_returned(_dbapi_connection: Any, record: Any) -> None:
    record.info["returned_at"] = time.monotonic()


def _ping_if_idle(engine: AsyncEngine, after_s: float) -> Any:
    dialect = engine.sync_engine.dialect

    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("returned_at", 0.0) < after_s:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool then discards this connection and checks out another (a new one).
            raise DisconnectionError("the pooled connection was closed by the server") from exc

    return ping


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """One session per unit of work; objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def reading(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for reads only, outside a transaction on PostgreSQL: no BEGIN and ROLLBACK
    round trips. Each statement still sees every change committed before it started, as under
    READ COMMITTED; statements of one session may see different commits, so use it where each
    read stands alone or where a later read seeing more is harmless."""
    async with sessions() as session:
        # Not on SQLite: there a transaction costs no round trip, while switching aiosqlite's
        # connection to autocommit and back is two hops to its thread (measured slower).
        if session.get_bind().dialect.name == "postgresql":
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session


async def database_reachable(engine: AsyncEngine) -> bool:
    """True if a trivial query succeeds; used by the readiness probe."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        log.warning("database not reachable", exc_info=True)
        return False
    return True


async def schema_problem(engine: AsyncEngine) -> str | None:
    """Why the product cannot use this database, in words an operator can act on; or None."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        # The class names the cause (refused, unknown database, bad password) without
        # echoing the URL, which may carry a password.
        return f"cannot reach the database ({type(exc).__name__}): check DATABASE_URL"
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT version_num FROM alembic_version"))
    except Exception:
        return (
            "the database is not migrated: run `alembic upgrade head` with the same "
            "DATABASE_URL, then start again"
        )
    return None
