"""Course updates on SQLite and PostgreSQL: only the difference of the new plan is applied."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import audit_chain, step_queue
from db.models import AuditEvent, Course, LabGroup, Member, Step
from provisioning.courses.changes import StepsRunningError
from provisioning.courses.service import CourseService
from provisioning.courses.spec import parse_course
from provisioning.courses.views import CourseUpdate
from provisioning.errors import CourseConflictError, CourseNotFoundError, CourseValidationError
from provisioning.plan import plan_course
from tests.fakes.clocks import ManualClock

Factory = Callable[..., dict[str, Any]]
Sessions = async_sessionmaker[AsyncSession]
NEW_STUDENT = {"name": "Nora New", "github": "nora-n"}


async def _steps(sessions: Sessions, course_id: str) -> dict[str, Step]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Step).where(Step.course_id == course_id).order_by(Step.position)
        )
        return {row.key: row for row in rows}


async def _set(sessions: Sessions, course_id: str, **values: Any) -> None:
    """Every step of the course to ``values``, as if a runner had been at work."""
    async with sessions.begin() as session:
        await session.execute(update(Step).where(Step.course_id == course_id).values(**values))


async def _set_states(sessions: Sessions, course_id: str, states: dict[str, str]) -> None:
    async with sessions.begin() as session:
        for key, state in states.items():
            await session.execute(
                update(Step)
                .where(Step.course_id == course_id, Step.key == key)
                .values(state=state, attempts=3, last_error="boom", action_hint="do this")
            )


async def _events(sessions: Sessions) -> list[AuditEvent]:
    async with sessions() as session:
        return list((await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all())


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    before = {s.key: s for s in plan_course(parse_course(old))}
    return {s.key for s in plan_course(parse_course(new)) if s.key in before and before[s.key] != s}


async def _finished(
    service: CourseService, sessions: Sessions, data: dict[str, Any]
) -> tuple[str, dict[str, Step]]:
    """A created course whose every step succeeded with an external id."""
    course = await service.create(parse_course(data), actor="t")
    await _set(sessions, course.id, state="succeeded", external_id="ext", attempts=1)
    return course.id, await _steps(sessions, course.id)


async def test_added_student_gets_one_pending_invite_the_runner_can_claim(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """A student added to a finished lecture: one new invite step, pending after the others,
    claimable at once; nothing else moves, and one course.updated event counts it."""
    service = CourseService(session_factory, clock)
    data = course_data()
    course_id, before = await _finished(service, session_factory, data)
    data["students"].append(NEW_STUDENT)
    outcome = await service.update(course_id, parse_course(data), actor="api:ops")

    key = "github.invite:students:nora-n"
    assert (outcome.added, outcome.changed, outcome.removed) == ([key], [], [])
    assert outcome.status.state == "in_progress"
    after = await _steps(session_factory, course_id)
    assert list(after)[-1] == key
    assert after[key].position == max(s.position for s in before.values()) + 1
    assert {k: s.state for k, s in after.items() if k != key} == dict.fromkeys(before, "succeeded")
    event = (await _events(session_factory))[-1]
    assert (event.event, event.actor) == ("course.updated", "api:ops")
    assert event.request_summary is not None
    assert (event.request_summary["added"], event.request_summary["changed"]) == (1, 0)
    assert event.request_summary["removed"] == 0
    async with session_factory.begin() as session:
        claimed = await step_queue.claim(
            session, owner="r", now=clock.now(), lease=timedelta(seconds=60), limit=10
        )
    assert [c.key for c in claimed] == [key]


async def test_added_group_plans_its_steps_and_revisits_what_spans_groups(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """A new lab group with a student: the group's team, repository, role, channel and invite
    steps are added; the role order is changed and goes back to pending, keeping its id."""
    service = CourseService(session_factory, clock)
    old = course_data(kind="laboratory", students=4, groups=2)
    course_id, _ = await _finished(service, session_factory, old)
    new = copy.deepcopy(old)
    new["groups"].append("lab-03")
    new["students"].append({**NEW_STUDENT, "group": "lab-03"})
    outcome = await service.update(course_id, parse_course(new), actor="t")

    old_keys = {s.key for s in plan_course(parse_course(old))}
    expected = [s.key for s in plan_course(parse_course(new)) if s.key not in old_keys]
    assert outcome.added == expected
    for key in ("github.team:lab-03", "github.repo:lab-03", "github.protection:lab-03"):
        assert key in expected
    assert "discord.channel:lab-03" in expected
    assert "github.invite:lab-03:nora-n" in expected
    assert set(outcome.changed) == _changed_keys(old, new) == {"discord.role-order"}
    order = (await _steps(session_factory, course_id))["discord.role-order"]
    assert (order.state, order.attempts, order.external_id) == ("pending", 0, "ext")
    assert "discord.role:lab-03" in order.depends_on
    async with session_factory() as session:
        groups = (await session.scalars(select(LabGroup.name).order_by(LabGroup.name))).all()
    assert groups == ["lab-01", "lab-02", "lab-03"]


async def test_fixed_login_replaces_the_waiting_invite_step(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """The invite waiting for a mistyped login is dropped (it created nothing) and one for the
    corrected login is added; the course no longer waits for a person."""
    service = CourseService(session_factory, clock)
    data = course_data()
    course_id, _ = await _finished(service, session_factory, data)
    typo = "github.invite:students:student-2"
    async with session_factory.begin() as session:
        await session.execute(
            update(Step)
            .where(Step.course_id == course_id, Step.key == typo)
            .values(state="awaiting_action", external_id=None, action_hint="fix the login")
        )
    assert (await service.status(course_id)).state == "awaiting_action"
    data["students"][2]["github"] = "student-two"
    outcome = await service.update(course_id, parse_course(data), actor="t")

    assert outcome.removed == [typo]
    assert outcome.added == ["github.invite:students:student-two"]
    assert outcome.status.actions == []
    assert outcome.status.state == "in_progress"
    async with session_factory() as session:
        logins = set((await session.scalars(select(Member.github))).all())
    assert "student-two" in logins
    assert "student-2" not in logins


async def test_changed_params_send_finished_steps_back_to_be_verified(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """A new title changes the repository description and server name: those steps are pending
    again with their external ids kept (verify and repair); the others stay succeeded."""
    service = CourseService(session_factory, clock)
    old = course_data()
    course_id, _ = await _finished(service, session_factory, old)
    new = {**old, "title": "Programming, Revised"}
    outcome = await service.update(course_id, parse_course(new), actor="t")

    assert set(outcome.changed) == _changed_keys(old, new)
    assert {"github.repo:lecture", "discord.server"} <= set(outcome.changed)
    assert (outcome.added, outcome.removed) == ([], [])
    steps = await _steps(session_factory, course_id)
    for key, step in steps.items():
        if key in outcome.changed:
            assert (step.state, step.attempts, step.external_id) == ("pending", 0, "ext"), key
        else:
            assert step.state == "succeeded", key
    assert steps["discord.server"].params["name"].startswith("CS101 · Programming, Revised")
    assert outcome.course.title == "Programming, Revised"


async def test_dropping_a_provisioned_student_retires_their_invite_step(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """A student whose invite succeeded is dropped: the step stays, with its id, as a pending
    `github.uninvite` (a removal step), never deleted; the audit event counts it as retired."""
    service = CourseService(session_factory, clock)
    data = course_data()
    course_id, before = await _finished(service, session_factory, data)
    dropped = copy.deepcopy(data)
    dropped["students"].pop(1)
    outcome = await service.update(course_id, parse_course(dropped), actor="t", confirm_removals=1)

    key = "github.invite:students:student-1"
    # Their join e-mail step goes too (nothing to undo: a sent e-mail stays sent).
    assert outcome.retired == [key]
    assert sorted(outcome.removed) == [f"email.join:{data['students'][1]['email']}", key]
    after = await _steps(session_factory, course_id)
    step = after[key]
    assert (step.kind, step.state, step.external_id, step.attempts) == (
        "github.uninvite",
        "pending",
        "ext",
        0,
    )
    assert step.params == {
        "org": "uni-cs",
        "team": "cs101-2027-spring-students",
        "login": "student-1",
        # The invite step recorded no organization invitation of ours: the org is left alone.
        "leave_org": False,
    }
    assert step.depends_on == []
    # Every other step stays; only the e-mail step, which has nothing to undo, is gone.
    assert set(after) == set(before) - {f"email.join:{data['students'][1]['email']}"}
    event = (await _events(session_factory))[-1]
    assert event.event == "course.updated"
    assert event.request_summary is not None
    assert event.request_summary["retired"] == 1
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Member)) == 4


async def test_a_retired_step_stays_retired_and_comes_back_when_planned_again(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """Another change leaves a removal step alone; putting the student back plans the invite
    again on the same row (its old kind, pending), so nothing is lost or duplicated."""
    service = CourseService(session_factory, clock)
    data = course_data()
    course_id, _ = await _finished(service, session_factory, data)
    dropped = copy.deepcopy(data)
    dropped["students"].pop(1)
    await service.update(course_id, parse_course(dropped), actor="t", confirm_removals=1)
    key = "github.invite:students:student-1"
    retitled = await service.update(
        course_id, parse_course({**dropped, "title": "Another title"}), actor="t"
    )
    assert key not in retitled.removed + retitled.changed
    assert (await _steps(session_factory, course_id))[key].kind == "github.uninvite"

    back = await service.update(course_id, parse_course(data), actor="t")
    assert key in back.changed
    row = (await _steps(session_factory, course_id))[key]
    assert (row.kind, row.state) == ("github.invite", "pending")


@pytest.mark.parametrize(
    ("field", "value"), [("code", "CS102"), ("term", "2027-fall"), ("github_org", "other")]
)
async def test_code_term_and_organization_change_while_github_has_nothing(
    session_factory: Sessions, clock: ManualClock, course_data: Factory, field: str, value: str
) -> None:
    """Before any GitHub step made something (the organization was mistyped: the repository
    step failed), the field changes and every GitHub step starts afresh with the new value."""
    service = CourseService(session_factory, clock)
    data = course_data()
    course = await service.create(parse_course(data), actor="t")
    await _set_states(session_factory, course.id, {"github.repo:lecture": "failed"})
    outcome = await service.update(course.id, parse_course({**data, field: value}), actor="t")
    record = await service.get(course.id)
    assert getattr(record, field) == value
    assert record.spec == parse_course({**data, field: value})
    steps = await _steps(session_factory, course.id)
    assert steps["github.repo:lecture"].state == "pending"
    assert steps["github.repo:lecture"].last_error is None
    if field == "github_org":
        assert "github.repo:lecture" in outcome.changed
        assert {s.params["org"] for k, s in steps.items() if k.startswith("github.")} == {value}


@pytest.mark.parametrize(
    ("field", "value"), [("code", "CS102"), ("term", "2027-fall"), ("github_org", "other")]
)
async def test_code_term_and_organization_cannot_change_once_github_has_something(
    session_factory: Sessions, clock: ManualClock, course_data: Factory, field: str, value: str
) -> None:
    """Once a repository or team exists, changing a field that names them is a 422 naming the
    field, what exists and what to do; nothing changes."""
    service = CourseService(session_factory, clock)
    data = course_data()
    course = await service.create(parse_course(data), actor="t")
    async with session_factory.begin() as session:
        await session.execute(
            update(Step)
            .where(Step.course_id == course.id, Step.key == "github.repo:lecture")
            .values(state="succeeded", external_id="42")
        )
    with pytest.raises(CourseValidationError) as caught:
        await service.update(course.id, parse_course({**data, field: value}), actor="t")
    assert [p.path for p in caught.value.problems] == [field]
    message = caught.value.problems[0].message
    assert "github.repo:lecture" in message
    assert "archive this course and create a new one" in message
    assert (await service.get(course.id)).spec == parse_course(data)


async def test_new_code_and_term_of_another_course_is_a_conflict(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """A code change that would make two courses of one code and term is refused as 409."""
    service = CourseService(session_factory, clock)
    data = course_data()
    course = await service.create(parse_course(data), actor="t")
    other = await service.create(parse_course({**data, "code": "CS102"}), actor="t")
    with pytest.raises(CourseConflictError) as caught:
        await service.update(course.id, parse_course({**data, "code": "CS102"}), actor="t")
    assert caught.value.course_id == other.id
    assert (await service.get(course.id)).code == data["code"]


async def test_unknown_course_is_not_found(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """Updating an id no course has raises CourseNotFoundError."""
    with pytest.raises(CourseNotFoundError):
        await CourseService(session_factory, clock).update("nope", parse_course(course_data()), "t")


async def test_changed_failed_step_restarts_and_unblocks_its_dependants(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """A failed repository step whose params change starts afresh (attempts 0, old error gone)
    and the steps it blocked go back to pending with it."""
    service = CourseService(session_factory, clock)
    old = course_data()
    course = await service.create(parse_course(old), actor="t")
    dependants = [
        "github.seed:lecture",
        "github.protection:lecture",
        *(f"github.access:lecture:{t}" for t in ("instructors", "tas", "students")),
    ]
    await _set_states(
        session_factory,
        course.id,
        {"github.repo:lecture": "failed", **dict.fromkeys(dependants, "blocked")},
    )
    outcome = await service.update(
        course.id, parse_course({**old, "title": "New title"}), actor="t"
    )

    # The seed's params carry a digest of the title it renders, so it changed too.
    assert {"github.repo:lecture", "github.seed:lecture"} <= set(outcome.changed)
    assert sorted(outcome.unblocked) == sorted(set(dependants) - {"github.seed:lecture"})
    steps = await _steps(session_factory, course.id)
    for key in ["github.repo:lecture", *dependants]:
        assert (steps[key].state, steps[key].attempts, steps[key].last_error) == (
            "pending",
            0,
            None,
        ), key
    assert outcome.status.state == "pending"


async def test_new_step_waiting_on_a_failed_one_is_blocked(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """A student added while the students team has failed gets an invite step that is blocked,
    saying by which step, as the runner blocks dependants of a failure."""
    service = CourseService(session_factory, clock)
    data = course_data()
    course = await service.create(parse_course(data), actor="t")
    await _set_states(session_factory, course.id, {"github.team:students": "failed"})
    data["students"].append(NEW_STUDENT)
    outcome = await service.update(course.id, parse_course(data), actor="t")

    step = (await _steps(session_factory, course.id))["github.invite:students:nora-n"]
    assert outcome.added == [step.key]
    assert step.state == "blocked"
    assert step.last_error == "waits for github.team:students, which failed"
    assert outcome.status.state == "failed"


async def test_steps_running_now_are_not_changed_under_the_runner(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """A change touching a step a runner holds (changed or removed) is refused as busy; the
    same change goes through once the step has settled."""
    service = CourseService(session_factory, clock)
    data = course_data()
    course_id, _ = await _finished(service, session_factory, data)
    await _set_states(session_factory, course_id, {"github.repo:lecture": "running"})
    new = parse_course({**data, "title": "New title"})
    with pytest.raises(StepsRunningError) as caught:
        await service.update(course_id, new, actor="t")
    assert caught.value.step_keys == ["github.repo:lecture"]
    assert (await service.get(course_id)).spec == parse_course(data)

    await _set_states(session_factory, course_id, {"github.repo:lecture": "succeeded"})
    outcome = await service.update(course_id, new, actor="t")
    assert "github.repo:lecture" in outcome.changed


async def test_same_description_changes_nothing_and_records_nothing(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """Sending the stored description again is a no-op: no step touched, no audit event."""
    service = CourseService(session_factory, clock)
    data = course_data(kind="laboratory")
    course_id, before = await _finished(service, session_factory, data)
    events = len(await _events(session_factory))
    outcome = await service.update(course_id, parse_course(data), actor="t")
    assert (outcome.added, outcome.changed, outcome.removed, outcome.unblocked) == ([],) * 4
    assert outcome.status.state == "succeeded"
    after = await _steps(session_factory, course_id)
    assert {k: s.updated_at for k, s in after.items()} == {
        k: s.updated_at for k, s in before.items()
    }
    assert len(await _events(session_factory)) == events


async def test_people_follow_the_description_even_without_plan_changes(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """A changed name changes no step, a changed e-mail only its join e-mail step, and both are
    stored: members and spec follow."""
    service = CourseService(session_factory, clock)
    data = course_data()
    course = await service.create(parse_course(data), actor="t")
    old_email = data["students"][0]["email"]
    data["students"][0].update(name="Renamed Student", email="renamed@example.edu")
    outcome = await service.update(course.id, parse_course(data), actor="t")
    assert (outcome.added, outcome.changed, outcome.removed) == (
        ["email.join:renamed@example.edu"],
        [],
        [f"email.join:{old_email}"],
    )
    async with session_factory() as session:
        member = await session.scalar(select(Member).where(Member.github == "student-0"))
        stored = await session.get(Course, course.id)
    assert member is not None
    assert (member.name, member.email) == ("Renamed Student", "renamed@example.edu")
    assert stored is not None
    assert stored.spec["students"][0]["name"] == "Renamed Student"
    assert [e.event for e in await _events(session_factory)][-1] == "course.updated"


async def test_failure_inside_the_transaction_changes_nothing(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """If the caller's in-transaction work fails, the update is rolled back entirely."""
    service = CourseService(session_factory, clock)
    data = course_data()
    course = await service.create(parse_course(data), actor="t")
    data["students"].append(NEW_STUDENT)

    async def broken(session: AsyncSession, outcome: CourseUpdate) -> None:
        raise RuntimeError("lost")

    with pytest.raises(RuntimeError):
        await service.update(course.id, parse_course(data), actor="t", within=broken)
    assert "github.invite:students:nora-n" not in await _steps(session_factory, course.id)
    assert len((await service.get(course.id)).spec.students) == 3


async def test_concurrent_updates_leave_steps_matching_the_stored_description(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """Two updates at once are serialised by the course lock: whichever commits last, the steps
    are exactly the plan of the stored description, and the audit chain is intact."""
    service = CourseService(session_factory, clock)
    data = course_data()
    course = await service.create(parse_course(data), actor="t")
    one, two = copy.deepcopy(data), copy.deepcopy(data)
    one["students"].append(NEW_STUDENT)
    two["students"].append({"name": "Otto Other", "github": "otto-o"})
    await asyncio.gather(
        service.update(course.id, parse_course(one), actor="a"),
        CourseService(session_factory, clock).update(course.id, parse_course(two), actor="b"),
    )
    stored = (await service.get(course.id)).spec
    assert stored in (parse_course(one), parse_course(two))
    assert list(await _steps(session_factory, course.id)) == [
        s.key for s in plan_course(parse_course(data))
    ] + [f"github.invite:students:{stored.students[-1].github}"]
    async with session_factory() as session:
        assert (await audit_chain.verify(session)).ok


async def test_recent_lists_the_newest_courses_with_their_state(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """recent() gives the newest courses first, each with the state derived from its steps."""
    service = CourseService(session_factory, clock)
    ids = []
    for code in ("CS101", "CS102", "CS103"):
        ids.append((await service.create(parse_course(course_data(code=code)), "t")).id)
        clock.advance(60)
    await _set(session_factory, ids[1], state="succeeded")
    recent = await service.recent(2)
    assert [(c.id, c.code, c.state) for c in recent] == [
        (ids[2], "CS103", "pending"),
        (ids[1], "CS102", "succeeded"),
    ]
