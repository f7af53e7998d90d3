"""A big course update prepared in the worker process: the same result as on a thread, on
SQLite and PostgreSQL, and the same validation errors."""

from __future__ import annotations

import contextlib
import copy
import multiprocessing
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.engine import create_engine, create_session_factory
from db.models import AuditEvent, Course, LabGroup, Member, Step
from provisioning.courses.known_plan import prepare_update
from provisioning.courses.plan_worker import IN_PROCESS_STUDENTS, PlanWorker
from provisioning.courses.service import CourseService
from provisioning.courses.spec import parse_course
from provisioning.courses.stored_plan import read_stored
from provisioning.errors import CourseValidationError
from tests.conftest import DATABASES, _fresh_postgres, make_course
from tests.fakes.clocks import ManualClock

Sessions = async_sessionmaker[AsyncSession]
STUDENTS = IN_PROCESS_STUDENTS + 50


@pytest.fixture(params=DATABASES)
def twin_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two migrated, empty databases of one kind: one update through each path."""
    if request.param == "sqlite":
        paths = [tmp_path / "process.db", tmp_path / "thread.db"]
        for path in paths:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{paths[0]}", f"sqlite+aiosqlite:///{paths[1]}"
    else:
        template = request.getfixturevalue("postgres_template")
        with contextlib.ExitStack() as stack:
            first, second = (
                stack.enter_context(contextlib.contextmanager(_fresh_postgres)(request, template))
                for _ in range(2)
            )
            yield first, second


@pytest.fixture
async def worker() -> AsyncIterator[PlanWorker]:
    plan_worker = PlanWorker()
    yield plan_worker
    plan_worker.close()


def _big() -> dict[str, Any]:
    return make_course(kind="laboratory", students=STUDENTS, groups=5)


def _changed(data: dict[str, Any]) -> dict[str, Any]:
    """A login fixed, a student dropped, one moved, one added in a new group, a title changed."""
    new = copy.deepcopy(data)
    new["title"] = "Programming, revised"
    new["students"][0]["github"] = "student-0-fixed"
    del new["students"][1]
    new["students"][2]["group"] = "lab-05" if new["students"][2]["group"] != "lab-05" else "lab-01"
    new["groups"].append("lab-06")
    new["students"].append({"name": "Nora New", "github": "nora-n", "group": "lab-06"})
    return new


async def _result(sessions: Sessions, course_id: str) -> dict[str, Any]:
    """Everything an update writes, without the ids a database hands out."""
    async with sessions() as session:
        course = await session.get(Course, course_id)
        assert course is not None
        steps = (
            await session.execute(
                select(
                    Step.position,
                    Step.key,
                    Step.kind,
                    Step.depends_on,
                    Step.params,
                    Step.state,
                    Step.attempts,
                    Step.next_attempt_at,
                    Step.updated_at,
                    Step.last_error,
                )
                .where(Step.course_id == course_id)
                .order_by(Step.position)
            )
        ).all()
        members = (
            await session.execute(
                select(Member.role, Member.name, Member.email, Member.github, Member.group)
                .where(Member.course_id == course_id)
                .order_by(Member.role, Member.github)
            )
        ).all()
        groups = (
            await session.scalars(select(LabGroup.name).where(LabGroup.course_id == course_id))
        ).all()
        events = (
            await session.execute(
                select(AuditEvent.event, AuditEvent.actor, AuditEvent.request_summary)
                .where(AuditEvent.course_id == course_id)
                .order_by(AuditEvent.id)
            )
        ).all()
        return {
            "course": (course.title, course.spec, course.spec_digest, course.plan_digest),
            "steps": [tuple(row) for row in steps],
            "members": [tuple(row) for row in members],
            "groups": sorted(groups),
            "events": [tuple(row) for row in events],
        }


async def _update_big_course(sessions: Sessions, worker: PlanWorker | None) -> dict[str, Any]:
    """Create the big course, finish half its steps, update it; what the update answered and
    wrote."""
    service = CourseService(sessions, ManualClock(), plan_worker=worker)
    data = _big()
    course = await service.create(parse_course(data), actor="t")
    async with sessions.begin() as session:
        await session.execute(
            update(Step)
            .where(Step.course_id == course.id, Step.position % 2 == 0)
            .values(state="succeeded", external_id="ext", attempts=1)
        )
    outcome = await service.update_description(course.id, _changed(data), actor="api:ops")
    answer = (
        outcome.added,
        outcome.changed,
        outcome.removed,
        outcome.retired,
        outcome.unblocked,
        outcome.course.spec,
        outcome.course.plan_digest,
        outcome.status.summary.counts,
    )
    return {"answer": answer, **await _result(sessions, course.id)}


async def test_big_update_in_the_worker_process_writes_what_the_thread_path_writes(
    twin_urls: tuple[str, str], worker: PlanWorker
) -> None:
    """The same big change (a login fixed, a student dropped and one moved, a group added, the
    title changed) on two copies of a course, prepared in the worker process on one and on a
    thread on the other: the same answer, steps, plan digest, members and audit events."""
    results = []
    for url, plan_worker in zip(twin_urls, (worker, None), strict=True):
        engine = create_engine(url)
        try:
            results.append(await _update_big_course(create_session_factory(engine), plan_worker))
        finally:
            await engine.dispose()
    assert worker.calls == 1
    by_process, by_thread = results
    assert by_process["answer"][0], "the change added steps"
    assert by_process["answer"][3], "the change retired steps"
    for part in ("answer", "course", "steps", "members", "groups", "events"):
        assert by_process[part] == by_thread[part], part
    assert [event for event, *_ in by_process["events"]] == ["course.created", "course.updated"]


async def test_worker_prepares_exactly_what_the_thread_prepares(
    session_factory: Sessions, clock: ManualClock, worker: PlanWorker
) -> None:
    """The worker's `Prepared` (spec, encoded JSON, digests, the known difference with its
    people change) equals `prepare_update`'s in this process, field for field, down to which
    fields each person's description gave."""
    service = CourseService(session_factory, clock)
    data = _big()
    course = await service.create(parse_course(data), actor="t")
    async with session_factory() as session:
        stored = await read_stored(session, course.id)
    assert stored is not None
    in_worker = await worker.prepare(_changed(data), stored)
    here = prepare_update(_changed(data), stored)
    assert in_worker == here
    # The people come back as models rebuilt without validating: the same, to what was given.
    assert in_worker.spec.model_dump_json() == here.spec.model_dump_json()
    assert [s.model_fields_set for s in in_worker.spec.students] == [
        s.model_fields_set for s in here.spec.students
    ]
    assert in_worker.spec.model_fields_set == here.spec.model_fields_set
    assert here.known is not None
    assert here.known.people.students_added == ["nora-n", "student-0-fixed"]


async def test_a_validation_error_in_the_worker_comes_back_as_parse_course_raises_it(
    worker: PlanWorker,
) -> None:
    """An invalid big description raises, from the worker process, a `CourseValidationError`
    with the message and every field problem `parse_course` reports in this process."""
    bad = _big()
    bad["students"][3]["github"] = "-bad-"
    bad["students"][7]["group"] = "lab-99"
    bad["students"][9]["name"] = "Tab\tName"
    bad["title"] = ""
    with pytest.raises(CourseValidationError) as here:
        parse_course(bad)
    with pytest.raises(CourseValidationError) as there:
        await worker.prepare(bad, None)
    assert type(there.value) is CourseValidationError
    assert str(there.value) == str(here.value)
    assert there.value.detail == here.value.detail
    assert there.value.problems == here.value.problems
    assert len(there.value.problems) == 4


async def test_update_with_a_big_spec_goes_through_the_worker_and_small_ones_stay_here(
    session_factory: Sessions, clock: ManualClock, worker: PlanWorker
) -> None:
    """`update` with a validated big spec is prepared in the worker; a small course's update
    is not (the round trip would cost more), and both apply their change."""
    service = CourseService(session_factory, clock, plan_worker=worker)
    big = _big()
    course = await service.create(parse_course(big), actor="t")
    outcome = await service.update(course.id, parse_course(_changed(big)), actor="t")
    assert "github.invite:lab-06:nora-n" in outcome.added
    assert worker.calls == 1
    small = make_course(code="CS102", kind="laboratory", students=5, groups=5)
    course = await service.create(parse_course(small), actor="t")
    outcome = await service.update_description(course.id, _changed(small), actor="t")
    assert "github.invite:lab-06:nora-n" in outcome.added
    assert worker.calls == 1


async def test_a_worker_process_that_died_is_replaced_for_the_next_update(
    session_factory: Sessions, clock: ManualClock, worker: PlanWorker
) -> None:
    """The worker process killed between two big updates: the second update is prepared by a
    new process and applied, nothing lost."""
    service = CourseService(session_factory, clock, plan_worker=worker)
    data = _big()
    course = await service.create(parse_course(data), actor="t")
    first = copy.deepcopy(data)
    first["students"][0]["github"] = "student-0-fixed"
    await service.update_description(course.id, first, actor="t")
    (process,) = multiprocessing.active_children()
    process.kill()
    process.join()
    outcome = await service.update_description(course.id, _changed(data), actor="t")
    assert "github.invite:lab-06:nora-n" in outcome.added
    assert worker.calls == 2
    (replacement,) = multiprocessing.active_children()
    assert replacement.pid != process.pid
