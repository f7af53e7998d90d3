"""Claims on SQLite and PostgreSQL: one server per course and one course per server, even
when two claims race."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AuditEvent, Step
from provisioning.claims.codes import SERVER_STEP, ClaimResult, claim_code
from provisioning.claims.service import DatabaseClaimService, ServerTakenError
from provisioning.clock import SystemClock
from provisioning.courses.service import CourseService
from provisioning.courses.spec import parse_course

Factory = Callable[..., dict[str, Any]]
Sessions = async_sessionmaker[AsyncSession]
SECRET = b"c" * 32


async def _course(sessions: Sessions, course_data: Factory, code: str) -> str:
    record = await CourseService(sessions, SystemClock()).create(
        parse_course(course_data(code=code)), "t"
    )
    return record.id


async def _bound(sessions: Sessions) -> dict[str, str | None]:
    async with sessions() as session:
        rows = await session.execute(
            select(Step.course_id, Step.external_id).where(Step.key == SERVER_STEP)
        )
        return dict(rows.all())


async def _claims_logged(sessions: Sessions) -> int:
    async with sessions() as session:
        rows = await session.scalars(
            select(AuditEvent.id).where(AuditEvent.event == "discord.claimed")
        )
        return len(rows.all())


def _split(results: list[Any]) -> tuple[list[ClaimResult], list[BaseException]]:
    done = [r for r in results if isinstance(r, ClaimResult)]
    errors = [r for r in results if isinstance(r, BaseException)]
    return done, errors


async def test_one_code_claimed_in_two_servers_at_once_binds_one(
    session_factory: Sessions, course_data: Factory
) -> None:
    """Two servers racing for one course: one binds it, the other is told it is taken."""
    course_id = await _course(session_factory, course_data, "CS101")
    service = DatabaseClaimService(session_factory, SECRET, SystemClock())
    code = claim_code(SECRET, course_id)
    results = await asyncio.gather(
        service.claim(code, "111", "u1"), service.claim(code, "222", "u2"), return_exceptions=True
    )
    done, errors = _split(list(results))
    assert len(done) == 1
    assert not done[0].already_claimed
    assert len(errors) == 1
    assert isinstance(errors[0], ServerTakenError)
    assert "already bound to another Discord server" in str(errors[0])
    winner = "111" if results[0] is done[0] else "222"
    assert await _bound(session_factory) == {course_id: winner}
    assert await _claims_logged(session_factory) == 1


async def test_two_codes_claimed_in_one_server_at_once_bind_one_course(
    session_factory: Sessions, course_data: Factory
) -> None:
    """Two courses racing for one server: one gets it, the other is refused and stays unbound."""
    first = await _course(session_factory, course_data, "CS101")
    second = await _course(session_factory, course_data, "CS102")
    service = DatabaseClaimService(session_factory, SECRET, SystemClock())
    results = await asyncio.gather(
        service.claim(claim_code(SECRET, first), "111", "u1"),
        service.claim(claim_code(SECRET, second), "111", "u2"),
        return_exceptions=True,
    )
    done, errors = _split(list(results))
    assert len(done) == 1
    assert not done[0].already_claimed
    assert len(errors) == 1
    assert isinstance(errors[0], ServerTakenError)
    assert "this server is already the server of" in str(errors[0])
    loser = second if done[0].course_id == first else first
    assert await _bound(session_factory) == {done[0].course_id: "111", loser: None}
    assert await _claims_logged(session_factory) == 1


async def test_same_claim_twice_at_once_is_one_claim_and_one_repeat(
    session_factory: Sessions, course_data: Factory
) -> None:
    """A claim sent twice at once binds once; the other answer says it already was."""
    course_id = await _course(session_factory, course_data, "CS101")
    service = DatabaseClaimService(session_factory, SECRET, SystemClock())
    code = claim_code(SECRET, course_id)
    results = await asyncio.gather(
        service.claim(code, "111", "u1"), service.claim(code, "111", "u1")
    )
    assert sorted(r.already_claimed for r in results) == [False, True]
    assert await _bound(session_factory) == {course_id: "111"}
    assert await _claims_logged(session_factory) == 1


async def test_code_of_a_course_bound_elsewhere_says_so(
    session_factory: Sessions, course_data: Factory
) -> None:
    """A later claim of a bound course in another server is refused as taken, not as unknown."""
    course_id = await _course(session_factory, course_data, "CS101")
    service = DatabaseClaimService(session_factory, SECRET, SystemClock())
    code = claim_code(SECRET, course_id)
    assert not (await service.claim(code, "111", "u1")).already_claimed
    with pytest.raises(ServerTakenError, match="CS101 2027-spring is already bound"):
        await service.claim(code, "222", "u2")
    assert (await service.claim(code, "111", "u1")).already_claimed


async def test_database_refuses_one_server_for_two_courses(
    session_factory: Sessions, course_data: Factory
) -> None:
    """The partial unique index: a second course's server step cannot take a bound guild id."""
    first = await _course(session_factory, course_data, "CS101")
    second = await _course(session_factory, course_data, "CS102")
    async with session_factory.begin() as session:
        await session.execute(
            update(Step)
            .where(Step.key != SERVER_STEP)
            .values(external_id="111")  # other steps may share ids: the index is partial
        )
        await session.execute(
            update(Step)
            .where(Step.course_id == first, Step.key == SERVER_STEP)
            .values(external_id="111")
        )
    with pytest.raises(IntegrityError):
        async with session_factory.begin() as session:
            await session.execute(
                update(Step)
                .where(Step.course_id == second, Step.key == SERVER_STEP)
                .values(external_id="111")
            )
