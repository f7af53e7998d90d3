"""Engine and session factory construction for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

log = logging.getLogger(__name__)


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Build an async engine; on SQLite turn on foreign keys and WAL for every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # Wait for the single writer lock instead of failing at once under concurrent writers.
        engine = _create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
    else:
        engine = _create_async_engine(url, echo=echo, pool_pre_ping=True)
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


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """One session per unit of work; objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


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
