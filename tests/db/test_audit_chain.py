"""The audit hash chain: concurrent appends stay one chain once sealed; any tampering is found."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import audit_chain
from db.audit_chain import AuditEntry
from db.models import AuditEvent
from tests.fakes.clocks import ManualClock

Sessions = async_sessionmaker[AsyncSession]


async def _append(sessions: Sessions, clock: ManualClock, n: int) -> None:
    async with sessions.begin() as session:
        await audit_chain.append(
            session,
            AuditEntry(
                at=clock.now(),
                actor="runner",
                kind="http",
                method="POST",
                path=f"/orgs/uni/repos/{n}",
                request_summary={"name": f"r{n}", "private": True},
                status=201,
                duration_ms=n,
                rate_limit={"remaining": 4999 - n},
            ),
        )


async def test_concurrent_appends_form_one_unbroken_chain(
    session_factory: Sessions, clock: ManualClock
) -> None:
    """Twenty appends racing in separate transactions give twenty rows in one valid chain."""
    await asyncio.gather(*(_append(session_factory, clock, n) for n in range(20)))
    async with session_factory() as session:
        result = await audit_chain.verify(session)
    assert result.ok
    assert result.checked == 20
    async with session_factory() as session:
        seqs = (await session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq))).all()
    assert seqs == list(range(1, 21))


async def test_tampered_row_is_reported(session_factory: Sessions, clock: ManualClock) -> None:
    """Changing a field of a sealed row breaks the chain exactly at that row."""
    for n in range(3):
        await _append(session_factory, clock, n)
    async with session_factory() as session:
        assert await audit_chain.seal(session) == 3
    async with session_factory.begin() as session:
        await session.execute(update(AuditEvent).where(AuditEvent.id == 2).values(status=500))
    async with session_factory() as session:
        result = await audit_chain.verify(session)
    assert result.first_broken_id == 2


async def test_empty_chain_verifies(session_factory: Sessions) -> None:
    """An empty log is a valid chain."""
    async with session_factory() as session:
        result = await audit_chain.verify(session)
    assert result.ok
    assert result.checked == 0


async def test_append_event_records_a_domain_event_in_the_chain(session_factory: Sessions) -> None:
    """A domain event is an `event` row with its course, step, attempt and summary, chained."""
    at = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
    async with session_factory.begin() as session:
        await audit_chain.append_event(
            session,
            at=at,
            actor="runner-1",
            event="step.started",
            course_id="c-1",
            step_key="github.repo:lecture",
            attempt=2,
            summary={"from": "pending"},
        )
        await audit_chain.append_event(
            session, at=at, actor="api:ops", event="course.created", course_id="c-1"
        )
    async with session_factory() as session:
        rows = (await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
        result = await audit_chain.verify(session)
    assert (result.ok, result.checked) == (True, 2)
    fields = [
        (r.kind, r.actor, r.event, r.course_id, r.step_key, r.attempt, r.request_summary)
        for r in rows
    ]
    assert fields == [
        ("event", "runner-1", "step.started", "c-1", "github.repo:lecture", 2, {"from": "pending"}),
        ("event", "api:ops", "course.created", "c-1", None, None, None),
    ]
    assert rows[0].at == at
