"""The order a platform's ready steps are claimed in, on SQLite and PostgreSQL: the course with
the least work left first (`claim_rank`), a big course still progressing in the slots the
small ones leave, and no course waiting behind newer ones for ever."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import step_queue
from db.models import Step
from provisioning.courses.service import CourseService
from provisioning.courses.spec import parse_course
from tests.conftest import make_course
from tests.fakes.clocks import ManualClock

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
SLOTS = 4


async def _create(sessions: Sessions, clock: ManualClock, code: str, students: int) -> str:
    data = make_course(code=code, students=students)  # one organization: one credential
    return (await CourseService(sessions, clock).create(parse_course(data), actor="t")).id


async def _round(sessions: Sessions, clock: ManualClock) -> list[tuple[str, str]]:
    """One runner round on GitHub: claim up to SLOTS ready steps, and each succeeds."""
    async with sessions.begin() as session:
        found = await step_queue.claim_platforms(
            session,
            owner="r",
            now=clock.now(),
            lease=LEASE,
            platforms=["github"],
            slots=SLOTS,
        )
    for step in found.steps:
        async with sessions.begin() as session:
            assert await step_queue.succeed(session, step.id, "r", clock.now(), "x", {})
    return [(step.course_id, step.key) for step in found.steps]


async def _left(sessions: Sessions, course_id: str) -> int:
    async with sessions() as session:
        states = await session.scalars(
            select(Step.state).where(Step.course_id == course_id, Step.platform == "github")
        )
        return sum(1 for state in states if state != "succeeded")


async def test_a_small_course_created_after_a_big_one_is_done_first_and_the_big_one_progresses(
    session_factory: Sessions,
) -> None:
    """A 3-student course created after a 40-student one in the same organization has all its
    GitHub steps claimed and done while most of the big course's still wait (by plan position
    alone, the two took turns and the small one finished after about twice its own steps), and
    the big course's steps fill the slots the small one leaves meanwhile."""
    clock = ManualClock(NOW, tick=timedelta(milliseconds=1))
    big = await _create(session_factory, clock, "BIG101", students=40)
    clock.advance(5)
    small = await _create(session_factory, clock, "SML101", students=3)
    small_total = await _left(session_factory, small)
    big_total = await _left(session_factory, big)
    rounds = 0
    big_done_meanwhile = 0
    while await _left(session_factory, small):
        claimed = await _round(session_factory, clock)
        assert claimed, "nothing claimable while the small course has steps left"
        big_done_meanwhile += sum(1 for course_id, _ in claimed if course_id == big)
        rounds += 1
    # Every round but the last is full; the small course's steps come first in each.
    assert rounds * SLOTS <= small_total + 2 * SLOTS, (rounds, small_total)
    assert big_done_meanwhile >= 1
    assert await _left(session_factory, big) >= big_total - small_total - SLOTS
    # The big course then runs to its end.
    while await _round(session_factory, clock):
        pass
    assert await _left(session_factory, big) == 0


async def test_of_two_alike_courses_created_in_one_second_the_older_is_done_first(
    session_factory: Sessions,
) -> None:
    """Courses created together with as much work each (a department's batch) are served
    oldest first, not a plan position of each in turn: ranked in whole seconds they tied, and
    the first was done only with the last. The newer one's steps fill only the slots the older
    one's dependencies leave free."""
    clock = ManualClock(NOW, tick=timedelta(milliseconds=1))
    first = await _create(session_factory, clock, "ONE101", students=12)
    second = await _create(session_factory, clock, "TWO101", students=12)
    total = await _left(session_factory, second)
    second_done = 0
    while await _left(session_factory, first):
        claimed = await _round(session_factory, clock)
        assert claimed
        second_done += sum(1 for course_id, _ in claimed if course_id == second)
    assert second_done <= total // 4, (second_done, total)


async def test_a_course_waiting_longer_than_its_work_goes_before_a_newer_smaller_one(
    session_factory: Sessions,
) -> None:
    """Aging: a course created more seconds before another than it has steps more (one second a
    step, `RANK_SECONDS_PER_STEP`) is claimed first, however small the newer one: a stream of
    small courses cannot hold a big one back for ever."""
    clock = ManualClock(NOW, tick=timedelta(milliseconds=1))
    old = await _create(session_factory, clock, "OLD101", students=10)
    async with session_factory() as session:
        old_steps = len((await session.scalars(select(Step.id).where(Step.course_id == old))).all())
    clock.advance(step_queue.RANK_SECONDS_PER_STEP * old_steps + 1)
    new = await _create(session_factory, clock, "NEW101", students=1)
    claimed = await _round(session_factory, clock)
    assert {course_id for course_id, _ in claimed} == {old}, claimed
    assert new != old


async def test_ranks_follow_the_work_left_and_an_update_ranks_the_steps_it_adds(
    session_factory: Sessions,
) -> None:
    """A new course's steps of one platform share one rank, its creation plus one per step of
    that platform (a lane is one platform's: its Discord steps are not ranked by its GitHub
    work); steps a later update adds are ranked by the work the course has left then on their
    platform (less, once most of it is done), and the steps it did not touch keep theirs."""
    clock = ManualClock(NOW, tick=timedelta(milliseconds=1))
    service = CourseService(session_factory, clock)
    data = make_course(code="UPD101", students=3)
    course_id = (await service.create(parse_course(data), actor="t")).id
    async with session_factory() as session:
        rows = (
            await session.execute(
                select(Step.key, Step.platform, Step.claim_rank).where(Step.course_id == course_id)
            )
        ).all()
    ranks: dict[str, int] = {row.key: row.claim_rank for row in rows}
    per_platform = Counter(row.platform for row in rows)
    assert set(per_platform) == {"github", "discord", "email"}
    assert per_platform["github"] != per_platform["discord"]
    created, second = int(NOW.timestamp() * 1000), 1000  # ranks count milliseconds
    for row in rows:
        assert row.claim_rank == created + second * per_platform[row.platform], row
    while await _round(session_factory, clock):
        pass
    grown = {**data, "students": [*data["students"], {"name": "New", "github": "newcomer"}]}
    await service.update(course_id, parse_course(grown), actor="t")
    async with session_factory() as session:
        after = {
            key: (rank, state)
            for key, rank, state in await session.execute(
                select(Step.key, Step.claim_rank, Step.state).where(Step.course_id == course_id)
            )
        }
    added = {key for key in after if key not in ranks}
    assert "github.invite:students:newcomer" in added
    left = sum(
        1 for key, (_, state) in after.items() if state != "succeeded" and key.startswith("github.")
    )
    assert {after[key][0] for key in added} == {created + second * left}
    assert left < per_platform["github"]
    assert all(after[key][0] == ranks[key] for key in ranks if key in after and key not in added)


async def test_each_organization_is_a_lane_of_its_own_slots(session_factory: Sessions) -> None:
    """Steps are claimed per lane (the credential their calls are paced on), each lane its
    share of the platform's slots: with one organization's share busy (its steps waiting for
    its write pace), a claim hands out the other organization's steps, of a bigger course
    ranked after, and not more of the busy one's; Discord and e-mail are lanes of their own."""
    clock = ManualClock(NOW, tick=timedelta(milliseconds=1))
    service = CourseService(session_factory, clock)
    small = make_course(code="SML101", students=2)
    big = {**make_course(code="BIG101", students=30), "github_org": "uni-physics"}
    small_id = (await service.create(parse_course(small), actor="t")).id
    big_id = (await service.create(parse_course(big), actor="t")).id
    async with session_factory() as session:
        lanes = {
            (row.course_id, row.platform, row.lane)
            for row in await session.execute(select(Step.course_id, Step.platform, Step.lane))
        }
    assert lanes == {
        (small_id, "github", "github:uni-cs"),
        (small_id, "email", "email"),
        (small_id, "discord", "discord"),
        (big_id, "github", "github:uni-physics"),
        (big_id, "email", "email"),
        (big_id, "discord", "discord"),
    }
    async with session_factory.begin() as session:
        found = await step_queue.claim_platforms(
            session,
            owner="r",
            now=clock.now(),
            lease=LEASE,
            platforms=["github"],
            slots=4,
            busy={("github", "github:uni-cs"): 2},
        )
    assert [(s.course_id, s.lane) for s in found.steps] == [(big_id, "github:uni-physics")] * 2
    async with session_factory.begin() as session:
        found = await step_queue.claim_platforms(
            session, owner="r", now=clock.now(), lease=LEASE, platforms=["github"], slots=4
        )
    # Its share free again, the small course's steps come, besides the big one's.
    assert sorted(s.lane for s in found.steps) == ["github:uni-cs"] * 2 + ["github:uni-physics"] * 2
