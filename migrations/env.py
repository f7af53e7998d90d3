"""Alembic environment: async engine, batch mode on SQLite.

The URL comes from ``config.attributes["sqlalchemy.url"]`` (tests, programmatic use), else the
``sqlalchemy.url`` main option, else ``DATABASE_URL``, else the development SQLite file.
A caller may also pass an open sync ``Connection`` as ``config.attributes["connection"]``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from logging.config import fileConfig
from pathlib import Path

from alembic import context
from sqlalchemy import make_url, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import db.models  # noqa: F401 - registers every table on Base.metadata
from db.base import Base

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/app.db"

log = logging.getLogger("alembic.env")


def _database_url() -> str:
    config = context.config
    url = (
        config.attributes.get("sqlalchemy.url")
        or config.get_main_option("sqlalchemy.url")
        or os.environ.get("DATABASE_URL")
        or DEFAULT_DATABASE_URL
    )
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        # The default lives under ./data, which a fresh clone does not have yet.
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
    return str(url)


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    backend = connection.dialect.name if connection is not None else make_url(url or "").drivername
    context.configure(
        connection=connection,
        url=url,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode recreates tables instead.
        render_as_batch=backend.startswith("sqlite"),
        compare_type=True,
        literal_binds=connection is None,
    )


def _run_sync(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
            await connection.commit()
    finally:
        await engine.dispose()


def main() -> None:
    config = context.config
    if config.config_file_name is not None and config.attributes.get("configure_logger", True):
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        _run_sync(given)
    elif context.is_offline_mode():
        _configure(url=_database_url())
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(_run_async(_database_url()))


main()
