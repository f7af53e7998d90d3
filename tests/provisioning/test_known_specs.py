"""The descriptions the runner's steps read (`KnownSpecs`): those this process stores are kept
as stored and validated (nothing to decode or validate); one first met in a claim is
validated once, a big one in the worker process, whatever the number of steps waiting."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db import step_queue
from db.models import Course
from provisioning.courses.known_specs import VALIDATE_APART_STUDENTS, KnownSpecs
from provisioning.courses.plan_worker import PlanWorker
from provisioning.courses.service import CourseService
from provisioning.courses.spec import CourseSpec, parse_course
from tests.conftest import make_course
from tests.fakes.clocks import ManualClock

Sessions = async_sessionmaker[AsyncSession]
LEASE = timedelta(seconds=60)


@pytest.fixture
async def worker() -> AsyncIterator[PlanWorker]:
    plan_worker = PlanWorker()
    yield plan_worker
    plan_worker.close()


def _big() -> dict[str, Any]:
    return make_course(kind="laboratory", students=VALIDATE_APART_STUDENTS + 20, groups=4)


async def _claim(
    sessions: Sessions, clock: ManualClock, known: KnownSpecs, limit: int = 1
) -> list[step_queue.ClaimedStep]:
    async with sessions.begin() as session:
        return await step_queue.claim(
            session, owner="t", now=clock.now(), lease=LEASE, limit=limit, specs=known.stored
        )


async def _stored_spec(sessions: Sessions, course_id: str) -> dict[str, Any]:
    async with sessions() as session:
        spec = await session.scalar(select(Course.spec).where(Course.id == course_id))
    assert spec is not None
    return spec


def _held_digests(engine: AsyncEngine) -> list[str]:
    """The digests each claim's read of the specs says it holds (the database then sends no
    spec for a course whose stored digest is one of them), from now on."""
    held: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "spec_digest" in statement and "CASE" in statement:
            held.extend(p for p in parameters if isinstance(p, str) and len(p) == 64)

    return held


async def test_a_description_this_process_stores_is_known_in_both_forms(
    engine: AsyncEngine, session_factory: Sessions, clock: ManualClock, worker: PlanWorker
) -> None:
    """Created, then changed through the worker process: each time the next claim holds the
    description's new digest already (the database sends no spec) and hands out what was kept,
    equal to what is stored, and the step gets the spec the service validated; nothing is
    decoded or validated again."""
    known = KnownSpecs(worker)
    service = CourseService(session_factory, clock, plan_worker=worker, known_specs=known)
    held = _held_digests(engine)
    data = _big()
    spec = parse_course(data)
    course = await service.create(spec, actor="t")

    (step,) = await _claim(session_factory, clock, known)
    assert held == [step.spec_digest]
    assert step.spec == await _stored_spec(session_factory, course.id)
    assert await known.validated(step) is spec

    changed = copy.deepcopy(data)
    changed["title"] = "Programming, revised"
    changed["students"][0]["github"] = "student-0-fixed"
    await service.update_description(course.id, changed, actor="t")
    assert worker.calls == 1
    held.clear()
    (step,) = await _claim(session_factory, clock, known)
    assert step.spec_digest in held
    assert step.spec == await _stored_spec(session_factory, course.id)
    assert step.spec["title"] == "Programming, revised"
    again = await known.validated(step)
    assert again == parse_course(changed)
    # Rebuilt from the worker's answer, not validated here nor there again.
    assert worker.validations == 0
    assert await known.validated(step) is again


async def test_a_description_met_first_in_a_claim_is_validated_once_in_the_worker(
    session_factory: Sessions, clock: ManualClock, worker: PlanWorker
) -> None:
    """Stored by another process (a service of its own): eight steps of the big course claimed
    at once wait for one validation, in the worker process; a step cancelled while waiting
    leaves it to the others. A description of fewer students is validated here."""
    elsewhere = CourseService(session_factory, clock)
    big = await elsewhere.create(parse_course(_big()), actor="t")
    known = KnownSpecs(worker)

    steps = await _claim(session_factory, clock, known, limit=8)
    assert len(steps) == 8
    waiting = [asyncio.create_task(known.validated(step)) for step in steps]
    await asyncio.sleep(0)
    waiting[0].cancel()
    specs = await asyncio.gather(*waiting[1:])
    assert worker.validations == 1
    assert all(spec is specs[0] for spec in specs)
    assert specs[0] == CourseSpec.model_validate(await _stored_spec(session_factory, big.id))
    assert await known.validated(steps[0]) is specs[0]
    assert worker.validations == 1

    small = await elsewhere.create(
        parse_course(
            make_course(
                code="CS102", kind="laboratory", students=VALIDATE_APART_STUDENTS - 1, groups=2
            )
        ),
        actor="t",
    )
    found = await _claim(session_factory, clock, known, limit=5000)
    of_small = next(step for step in found if step.course_id == small.id)
    assert (await known.validated(of_small)).code == "CS102"
    assert worker.validations == 1


async def test_a_stored_description_that_no_longer_validates_fails_every_step(
    session_factory: Sessions, clock: ManualClock, worker: PlanWorker
) -> None:
    """A big description stored once that the code of today refuses: each step that needs it
    fails with pydantic's own error (the retry policy's to classify), and none is kept."""
    service = CourseService(session_factory, clock)
    await service.create(parse_course(_big()), actor="t")
    known = KnownSpecs(worker)
    (step,) = await _claim(session_factory, clock, known)
    broken = copy.deepcopy(step.spec)
    broken["students"][3]["group"] = 42
    refused = replace(step, spec=broken, spec_digest="0" * 64)
    for attempt in (1, 2):
        with pytest.raises(ValidationError, match=r"students\.3\.group"):
            await known.validated(refused)
        assert worker.validations == attempt
