"""Migrations create exactly the models' schema, and remove it again, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from db.base import Base
from tests.conftest import alembic_config, in_thread, migrate


async def _inspect(url: str) -> tuple[list[Any], list[str]]:
    def work(conn: Connection) -> tuple[list[Any], list[str]]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata), inspect(conn).get_table_names()

    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(work)
    finally:
        await engine.dispose()


async def test_upgrade_head_matches_models(empty_database_url: str) -> None:
    """`upgrade head` on an empty database yields the models' schema with no differences."""
    migrate(empty_database_url)
    diffs, tables = await _inspect(empty_database_url)
    assert diffs == []
    assert set(tables) == {*Base.metadata.tables, "alembic_version"}


async def test_downgrade_base_removes_every_table(empty_database_url: str) -> None:
    """`downgrade base` after `upgrade head` leaves no table but alembic's own bookkeeping."""
    migrate(empty_database_url)
    in_thread(command.downgrade, alembic_config(empty_database_url), "base")
    _diffs, tables = await _inspect(empty_database_url)
    assert set(tables) <= {"alembic_version"}
