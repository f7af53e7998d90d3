"""Shared fixtures: migrated databases on SQLite and PostgreSQL, engines, sessions, a clock.

``database_url`` is parametrized over ``sqlite`` (a copy of a migrated temp file) and
``postgres`` (a fresh database cloned from a migrated template on the server named by
``TEST_DATABASE_URL``). Without that variable the PostgreSQL cases are skipped locally, but
fail under ``CI=true``: CI must never pass by silently testing less.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import make_url, pool, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as sa_create_async_engine

from db.engine import create_engine, create_session_factory
from tests.fakes.clocks import ManualClock
from tests.fakes.discord_urls import discord_pointed_at

REPO_ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
# `sandbox`, `control` and `people` for every folder; a folder's own conftest overrides them.
pytest_plugins = ["tests.fakes.sandbox"]
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn`` on a fresh thread: alembic's env.py and setup code run their own event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool_:
        return pool_.submit(fn, *args).result()


def alembic_config(url: str) -> Config:
    """An alembic Config for ``url`` that leaves the test run's logging alone."""
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.attributes["sqlalchemy.url"] = url
    config.attributes["configure_logger"] = False
    return config


def migrate(url: str, revision: str = "head") -> None:
    in_thread(command.upgrade, alembic_config(url), revision)


def postgres_server_url() -> str:
    """The server the PostgreSQL cases use, or skip (locally) / fail (CI) without one."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("TEST_DATABASE_URL is not set but CI=true: the PostgreSQL tests must run")
    pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL cases skipped locally")


async def _admin(url: str, statements: list[str]) -> None:
    engine = sa_create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


def pg_admin(url: str, *statements: str) -> None:
    in_thread(asyncio.run, _admin(url, list(statements)))


def _database(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per run; tests get copies."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated PostgreSQL database per run; tests get clones (CREATE DATABASE … TEMPLATE)."""
    server = postgres_server_url()
    # A name of its own per run: test runs of several checkouts share one server, and a shared
    # name would let one run drop (WITH FORCE) the template another is cloning.
    name = f"{make_url(server).database}_tpl_{uuid.uuid4().hex[:8]}"
    pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    migrate(_database(server, name))
    yield name
    pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fresh_postgres(request: pytest.FixtureRequest, template: str | None) -> Iterator[str]:
    server = postgres_server_url()
    name = f"{make_url(server).database}_{uuid.uuid4().hex[:10]}"
    clone = f' TEMPLATE "{template}"' if template else ""
    pg_admin(server, f'CREATE DATABASE "{name}"{clone}')
    yield _database(server, name)
    pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database migrated to head, empty of rows, private to this test."""
    if request.param == "sqlite":
        path = tmp_path / "app.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
    else:
        yield from _fresh_postgres(request, request.getfixturevalue("postgres_template"))


@pytest.fixture(params=DATABASES)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with no tables at all (for migration tests)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    else:
        yield from _fresh_postgres(request, None)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
def discord_at_sandbox(discord_sandbox_url: str) -> Iterator[None]:
    """discord.py pointed at this test's sandbox (`discord_sandbox_url`, which the folder's
    conftest gives), and back afterwards."""
    with discord_pointed_at(discord_sandbox_url):
        yield


@pytest.fixture
def clock() -> ManualClock:
    """The product's clock for services under test: moves by hand, 1 ms per reading."""
    return ManualClock(tick=timedelta(milliseconds=1))


def make_course(
    code: str = "CS101",
    term: str = "2027-spring",
    kind: str = "lecture",
    students: int = 3,
    groups: int = 2,
) -> dict[str, Any]:
    """A valid course description as it would arrive in a request body."""
    group_names = [f"lab-{i + 1:02d}" for i in range(groups)] if kind == "laboratory" else []
    return {
        "code": code,
        "title": "Introduction to Programming",
        "term": term,
        "kind": kind,
        "github_org": "uni-cs",
        "staff": [
            {"role": "instructor", "name": "Ada Lovelace", "github": "ada-l"},
            {"role": "ta", "name": "Alan Turing", "github": "aturing", "discord_id": None},
        ],
        "groups": group_names,
        "students": [
            {
                "name": f"Student {i}",
                "email": f"s{i}@example.edu",
                "github": f"student-{i}",
                "group": group_names[i % len(group_names)] if group_names else None,
            }
            for i in range(students)
        ],
    }


@pytest.fixture
def course_data() -> Callable[..., dict[str, Any]]:
    """A factory of valid course descriptions (see ``make_course``)."""
    return make_course
