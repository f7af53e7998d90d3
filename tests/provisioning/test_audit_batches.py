"""The audit writer's batches: every HTTP row is committed, visible to any other connection, by
the time its call returns to the step, and a batch is written whole or not at all (on
PostgreSQL its INSERT commits on its own, with no transaction around it)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.engine import create_engine, create_session_factory
from db.models import AuditEvent
from provisioning.audit import AuditLog
from provisioning.audit_context import AuditContext, HttpExchange
from provisioning.metrics import Metrics
from tests.fakes.clocks import ManualClock

Sessions = async_sessionmaker[AsyncSession]
CONTEXT = AuditContext(actor="runner", course_id="c-1", step_key="discord.student-roles:7")


def _exchange(n: int, method: str = "PUT") -> HttpExchange:
    return HttpExchange(
        platform="discord",
        method=method,
        path=f"/guilds/1/members/{n}/roles/2",
        status=204,
        duration_ms=5,
        request_summary={"n": n},
    )


async def _paths_seen_by_another_engine(url: str) -> list[str]:
    """What a connection of another pool (another process, say) sees committed."""
    other = create_engine(url)
    try:
        async with create_session_factory(other)() as session:
            rows = await session.scalars(select(AuditEvent.path).order_by(AuditEvent.id))
            return [path or "" for path in rows]
    finally:
        await other.dispose()


async def test_each_row_is_committed_when_its_call_returns(
    engine: AsyncEngine, session_factory: Sessions, clock: ManualClock
) -> None:
    """Calls answered together share a batch; each caller, once its `record_http` returns,
    finds its row committed (a crash of the step right after loses nothing), in call order."""
    log = AuditLog(session_factory, clock, Metrics())
    url = engine.url.render_as_string(hide_password=False)
    seen: list[list[str]] = []

    async def call(n: int) -> None:
        await log.record_http(_exchange(n), CONTEXT)
        seen.append(await _paths_seen_by_another_engine(url))
        assert f"/guilds/1/members/{n}/roles/2" in seen[-1]

    await asyncio.gather(*(call(n) for n in range(5)))
    await call(5)  # a batch of one, after the others
    assert seen[-1] == [f"/guilds/1/members/{n}/roles/2" for n in range(6)]


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_batch_that_fails_writes_none_of_its_rows_and_fails_every_caller(
    engine: AsyncEngine, session_factory: Sessions, clock: ManualClock
) -> None:
    """One row PostgreSQL refuses (a method longer than its column) in a batch of three: the
    other two are not written either (the batch's rows go in one implicit transaction, with no
    BEGIN of ours), and each caller gets the error: none believes its row written."""
    log = AuditLog(session_factory, clock, Metrics())
    calls = [_exchange(1), _exchange(2, method="X" * 40), _exchange(3)]
    outcomes = await asyncio.gather(
        *(log.record_http(e, CONTEXT) for e in calls), return_exceptions=True
    )
    assert all(isinstance(o, Exception) for o in outcomes), outcomes
    url = engine.url.render_as_string(hide_password=False)
    assert await _paths_seen_by_another_engine(url) == []
    await log.record_http(_exchange(4), CONTEXT)  # the writer goes on with the next batch
    assert await _paths_seen_by_another_engine(url) == ["/guilds/1/members/4/roles/2"]
