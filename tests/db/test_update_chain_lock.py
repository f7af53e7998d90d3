"""A course update never makes runners' claims wait for the audit chain.

Writers of audit rows once locked the chain's head until they committed, and an update that
appended its `course.updated` event early held that lock through the rest of its transaction
(the status it answers, the caller's `within`), so every claim of every runner queued behind
it. Appends now take no lock at all (rows are sealed into the chain after they commit); this
keeps a claim made during an update's open transaction from ever waiting for it again.
PostgreSQL only: on SQLite the update's transaction holds the one write lock from its start,
so there a claim waits for the whole of it whatever the order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import audit_chain, step_queue
from db.models import AuditEvent
from provisioning.courses.service import CourseService
from provisioning.courses.spec import parse_course
from provisioning.courses.views import CourseUpdate
from tests.fakes.clocks import ManualClock

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]
Sessions = async_sessionmaker[AsyncSession]
# Far longer than a claim takes; reached only when the claim waits for the update to commit,
# which it never does while the update waits for the claim.
CLAIM_WAIT_S = 10.0


async def test_a_claim_completes_while_an_update_is_still_in_its_transaction(
    session_factory: Sessions, clock: ManualClock, course_data: Callable[..., dict[str, Any]]
) -> None:
    """A runner claims (and its events join the chain) while an update has written its rows and
    waits, uncommitted, in its `within`; the update's event then follows the claim's."""
    service = CourseService(session_factory, clock)
    data = course_data(students=3)
    course = await service.create(parse_course(data), actor="t")
    data["students"].append({"name": "Nora New", "github": "nora-n"})
    claimed: list[str] = []

    async def claim_meanwhile(_session: AsyncSession, _outcome: CourseUpdate) -> None:
        async def claim() -> list[step_queue.ClaimedStep]:
            async with session_factory.begin() as other:
                return await step_queue.claim(
                    other, owner="runner", now=clock.now(), lease=timedelta(minutes=1), limit=2
                )

        steps = await asyncio.wait_for(claim(), CLAIM_WAIT_S)
        claimed.extend(step.key for step in steps)

    outcome = await service.update(course.id, parse_course(data), "t", within=claim_meanwhile)

    assert "github.invite:students:nora-n" in outcome.added
    assert len(claimed) == 2
    async with session_factory() as session:
        events = (await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
        assert (await audit_chain.verify(session)).ok
    assert [(e.event, e.step_key) for e in events[-3:]] == [
        ("step.started", claimed[0]),
        ("step.started", claimed[1]),
        ("course.updated", None),
    ]
