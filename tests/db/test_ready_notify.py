"""Migration 0014's triggers on PostgreSQL: a transaction that makes a step ready notifies
`steps_ready` with its platform, once per platform; claims, renewals and writes that ready
nothing notify nothing (a runner woken by its own notification cannot spin)."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import make_url, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import step_queue
from db.models import Step
from db.ready_signal import CHANNEL
from provisioning.courses.service import CourseService
from provisioning.courses.spec import parse_course
from tests.fakes.clocks import ManualClock

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]

Factory = Callable[..., dict[str, Any]]
Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


class Heard:
    """What one listening connection received, read up to a barrier: notifications of two
    transactions arrive in the order they committed, so once a barrier notification sent
    after a write has arrived, every notification of that write has too."""

    def __init__(self, listener: Any, sender: Any) -> None:
        self._listener, self._sender = listener, sender
        self._payloads: list[str] = []
        self._barriers = itertools.count()
        self._arrived = asyncio.Condition()

    async def start(self) -> None:
        await self._listener.add_listener(CHANNEL, self._heard)

    def _heard(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self._payloads.append(payload)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._arrived:
            self._arrived.notify_all()

    async def since_last(self) -> Counter[str]:
        """The platforms notified since the previous call, by count."""
        barrier = f"barrier-{next(self._barriers)}"
        await self._sender.execute(f"NOTIFY {CHANNEL}, '{barrier}'")
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: barrier in self._payloads), 5)
        cut = self._payloads.index(barrier)
        heard, self._payloads = self._payloads[:cut], self._payloads[cut + 1 :]
        return Counter(heard)


@pytest.fixture
async def heard(database_url: str) -> AsyncIterator[Heard]:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    listener, sender = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        found = Heard(listener, sender)
        await found.start()
        yield found
    finally:
        await listener.close()
        await sender.close()


async def _claim(sessions: Sessions, now: datetime = NOW, **kwargs: Any) -> list[str]:
    async with sessions.begin() as session:
        claimed = await step_queue.claim(session, owner="r", now=now, lease=LEASE, **kwargs)
    return [step.key for step in claimed]


async def _ids(sessions: Sessions, course_id: str) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(select(Step.key, Step.id).where(Step.course_id == course_id))
    return {str(row.key): int(row.id) for row in rows}


async def test_a_created_course_notifies_each_of_its_platforms_once(
    session_factory: Sessions, course_data: Factory, heard: Heard
) -> None:
    """Creating a course (29 steps, 3 platforms, one transaction) sends one notification per
    platform, and creating nothing sends none."""
    service = CourseService(session_factory, ManualClock(NOW - timedelta(minutes=1)))
    assert await heard.since_last() == Counter()
    await service.create(parse_course(course_data(students=3)), actor="t")
    assert await heard.since_last() == Counter({"github": 1, "discord": 1, "email": 1})


async def test_claims_and_renewals_are_silent_and_a_step_readied_by_a_success_notifies(
    session_factory: Sessions, course_data: Factory, heard: Heard
) -> None:
    """A claim (of steps, or of nothing), a lease renewal and a success that readies no
    dependant notify nothing; a success that readies a dependant notifies its platform (the
    discord server's success: 'discord', once for its five dependants)."""
    service = CourseService(session_factory, ManualClock(NOW - timedelta(minutes=1)))
    course_id = (await service.create(parse_course(course_data()), actor="t")).id
    ids = await _ids(session_factory, course_id)
    await heard.since_last()

    assert await _claim(session_factory, now=NOW - timedelta(hours=1), limit=10) == []
    claimed = await _claim(session_factory, limit=50)
    assert "discord.server" in claimed
    assert "email.join:s0@example.edu" in claimed
    async with session_factory.begin() as session:
        assert await step_queue.renew(session, ids["discord.server"], "r", NOW + LEASE)
    assert await _claim(session_factory, limit=10) == []
    assert await heard.since_last() == Counter()

    async with session_factory.begin() as session:
        await step_queue.succeed(session, ids["email.join:s0@example.edu"], "r", NOW, "m", {})
    assert await heard.since_last() == Counter()

    async with session_factory.begin() as session:
        await step_queue.succeed(session, ids["discord.server"], "r", NOW, "guild", {})
    assert await heard.since_last() == Counter({"discord": 1})


async def test_a_handed_back_step_a_backoff_and_a_retry_notify_a_failure_does_not(
    session_factory: Sessions, course_data: Factory, heard: Heard
) -> None:
    """A step handed back (pending again) notifies; so does one put back to wait for its
    backoff (a runner then finds it not due, one round); a step failed for good (its
    dependants blocked) does not; a course's retry does, for the steps it puts back."""
    clock = ManualClock(NOW - timedelta(minutes=1))
    service = CourseService(session_factory, clock)
    course_id = (await service.create(parse_course(course_data()), actor="t")).id
    ids = await _ids(session_factory, course_id)
    await _claim(session_factory, limit=50, platform="github")
    await heard.since_last()

    async with session_factory.begin() as session:
        await step_queue.hand_back(session, [ids["github.repo:lecture"]], "r", NOW)
    assert await heard.since_last() == Counter({"github": 1})

    async with session_factory.begin() as session:
        await step_queue.settle_error(
            session,
            ids["github.team:tas"],
            "r",
            NOW,
            state="pending",
            message="503",
            code="unavailable",
            hint=None,
            next_attempt_at=NOW + timedelta(seconds=30),
        )
    assert await heard.since_last() == Counter({"github": 1})

    async with session_factory.begin() as session:
        await step_queue.settle_error(
            session,
            ids["github.team:students"],
            "r",
            NOW,
            state="failed",
            message="422",
            code="invalid",
            hint=None,
            next_attempt_at=None,
        )
    assert await heard.since_last() == Counter()

    clock.advance(120)
    await service.retry(course_id, actor="t")
    assert await heard.since_last() == Counter({"github": 1})
