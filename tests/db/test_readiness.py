"""Readiness as data, on SQLite and PostgreSQL: the maintained count of each step's unfinished
dependencies always equals the count from scratch, and a claim reads ready rows only."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import JSON, column, event, func, insert, select, table, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db import step_queue
from db.base import UTCDateTime
from db.engine import create_engine
from db.models import Course, Step, StepDependency, spec_digest
from provisioning.courses.changes import CourseChangeRefusedError
from provisioning.courses.service import CourseService
from provisioning.courses.spec import parse_course
from provisioning.errors import NothingToRetryError
from tests.conftest import make_course, migrate
from tests.fakes.clocks import ManualClock

Factory = Callable[..., dict[str, Any]]
Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
BIG = 10_000  # the documented maximum of students in one course


async def _assert_readiness_from_scratch(sessions: Sessions, course_id: str) -> None:
    """The stored edges and counts equal those computed from the steps' `depends_on` keys."""
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Step.id, Step.key, Step.depends_on, Step.state, Step.unfinished_deps).where(
                    Step.course_id == course_id
                )
            )
        ).all()
        edges = {
            (step_id, dep_id)
            for step_id, dep_id in await session.execute(
                select(StepDependency.step_id, StepDependency.depends_on_id)
                .join(Step, Step.id == StepDependency.step_id)
                .where(Step.course_id == course_id)
            )
        }
    by_key = {row.key: row for row in rows}
    assert edges == {
        (row.id, by_key[key].id) for row in rows for key in row.depends_on if key in by_key
    }
    counted = {row.key: row.unfinished_deps for row in rows}

    def unfinished(key: str) -> bool:
        return key in by_key and by_key[key].state != "succeeded"

    expected = {
        row.key: sum(
            1 for key in row.depends_on if key in by_key and by_key[key].state != "succeeded"
        )
        for row in rows
    }
    assert counted == expected


async def _claim_and_settle(sessions: Sessions, rng: random.Random, now: datetime) -> None:
    owner = f"runner-{rng.randrange(3)}"
    async with sessions.begin() as session:
        claimed = await step_queue.claim(
            session, owner=owner, now=now, lease=LEASE, limit=rng.randint(1, 6)
        )
    for step in claimed:
        outcome = rng.choice(["succeeded"] * 5 + ["pending", "failed", "awaiting_action", "keep"])
        if outcome == "keep":
            continue  # left running, as by a runner that died: its lease expires
        async with sessions.begin() as session:
            if outcome == "succeeded":
                await step_queue.succeed(session, step.id, owner, now, f"x-{step.id}", {})
            else:
                await step_queue.settle_error(
                    session,
                    step.id,
                    owner,
                    now,
                    state=outcome,
                    message="boom",
                    code="test",
                    hint=None,
                    next_attempt_at=now if outcome == "pending" else None,
                )


def _changed_spec(spec: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The description with one student added, dropped or renamed, or one group added."""
    new = copy.deepcopy(spec)
    students = new["students"]
    change = rng.choice(["add", "drop", "rename", "group"])
    if change == "add" or not students:
        n = rng.randrange(10_000)
        students.append({"name": f"New {n}", "github": f"new-{n}", "group": new["groups"][0]})
    elif change == "drop":
        students.pop(rng.randrange(len(students)))
    elif change == "rename":
        students[rng.randrange(len(students))]["github"] = f"renamed-{rng.randrange(10_000)}"
    else:
        new["groups"].append(f"lab-{len(new['groups']) + 1:02d}")
    return new


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_maintained_readiness_equals_readiness_from_scratch(
    session_factory: Sessions, seed: int
) -> None:
    """After every step of a random mix of create, claim, succeed, fail, wait, retry, course
    update, lease expiry and a hand-made state change, each step's stored count of unfinished
    dependencies (and the dependency rows) equal those computed from scratch."""
    rng = random.Random(seed)
    clock = ManualClock(NOW, tick=timedelta(milliseconds=1))
    service = CourseService(session_factory, clock)
    spec = make_course(kind="laboratory", students=4, groups=2)
    course_id = (await service.create(parse_course(spec), actor="t")).id
    await _assert_readiness_from_scratch(session_factory, course_id)
    for _ in range(40):
        operation = rng.choice(["claim"] * 5 + ["retry", "update", "update", "expire", "hand"])
        if operation == "claim":
            await _claim_and_settle(session_factory, rng, clock.now())
        elif operation == "retry":
            with contextlib.suppress(NothingToRetryError):  # nothing failed or waiting
                await service.retry(course_id, actor="t")
        elif operation == "update":
            candidate = _changed_spec(spec, rng)
            try:
                await service.update(course_id, parse_course(candidate), actor="t")
            except CourseChangeRefusedError:
                pass  # refused as a whole: nothing changed
            else:
                spec = candidate
        elif operation == "expire":
            clock.advance(LEASE.total_seconds() + 1)
        else:
            async with session_factory.begin() as session:
                keys = (
                    await session.scalars(select(Step.key).where(Step.course_id == course_id))
                ).all()
                await session.execute(
                    update(Step)
                    .where(Step.course_id == course_id, Step.key == rng.choice(keys))
                    .values(state=rng.choice(["succeeded", "pending", "failed"]))
                )
        await _assert_readiness_from_scratch(session_factory, course_id)


async def test_failure_blocks_every_step_waiting_on_it_transitively(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """A failed team blocks its repository's steps and everything waiting on those, and
    nothing else, with one `step.blocked` event each."""
    service = CourseService(session_factory, clock)
    course_id = (await service.create(parse_course(course_data()), actor="t")).id
    async with session_factory() as session:
        rows = (await session.scalars(select(Step).where(Step.course_id == course_id))).all()
    depends = {row.key: set(row.depends_on) for row in rows}
    team = next(key for key in depends if key.startswith("github.team:"))
    waiting = {team}
    while grown := {k for k, deps in depends.items() if deps & waiting} - waiting:
        waiting |= grown
    async with session_factory.begin() as session:
        await session.execute(
            update(Step).where(Step.key == team).values(state="running", lease_owner="r")
        )
        team_id = await session.scalar(select(Step.id).where(Step.key == team))
        assert team_id is not None
        await step_queue.settle_error(
            session,
            team_id,
            "r",
            clock.now(),
            state="failed",
            message="boom",
            code="test",
            hint=None,
            next_attempt_at=None,
        )
    async with session_factory() as session:
        states = {row.key: row.state for row in await session.scalars(select(Step))}
    assert {key for key, state in states.items() if state == "blocked"} == waiting - {team}


# The tables as migration 0003 left them (the models describe the newest schema).
_COURSES_0003 = table(
    "courses",
    *(column(name) for name in ("id", "code", "term", "title", "kind", "github_org")),
    column("spec", JSON),
    column("plan_digest"),
    column("created_at", UTCDateTime()),
)
_STEPS_0003 = table(
    "steps",
    *(column(name) for name in ("course_id", "position", "key", "kind", "state", "attempts")),
    column("depends_on", JSON),
    column("params", JSON),
    column("next_attempt_at", UTCDateTime()),
    column("updated_at", UTCDateTime()),
)


async def test_upgrade_backfills_dependencies_and_counts(empty_database_url: str) -> None:
    """Steps stored before migration 0004 get their dependency rows and counts: a step waits
    only for its dependencies that exist and have not succeeded; a pending step with no time
    is due."""
    migrate(empty_database_url, "0003")
    steps = [  # key, depends_on, state
        ("a", [], "succeeded"),
        ("b", [], "pending"),
        ("c", ["a", "b"], "pending"),
        ("d", ["a", "gone"], "pending"),
        ("e", ["c", "d"], "failed"),
    ]
    engine = create_engine(empty_database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(_COURSES_0003).values(
                    id="c1",
                    code="CS1",
                    term="t",
                    title="T",
                    kind="lecture",
                    github_org="o",
                    spec={},
                    plan_digest="x",
                    created_at=NOW,
                )
            )
            await conn.execute(
                insert(_STEPS_0003),
                [
                    {
                        "course_id": "c1",
                        "position": position,
                        "key": key,
                        "kind": "k",
                        "state": state,
                        "attempts": 0,
                        "depends_on": depends_on,
                        "params": {},
                        "next_attempt_at": None,
                        "updated_at": NOW,
                    }
                    for position, (key, depends_on, state) in enumerate(steps)
                ],
            )
        migrate(empty_database_url)
        sessions = async_sessionmaker(engine)
        await _assert_readiness_from_scratch(sessions, "c1")
        async with sessions() as session:
            counts = {s.key: s.unfinished_deps for s in await session.scalars(select(Step))}
            due = await session.scalar(select(Step.next_attempt_at).where(Step.key == "b"))
            digest = await session.scalar(select(Course.spec_digest))
        assert counts == {"a": 0, "b": 0, "c": 1, "d": 0, "e": 2}
        assert due == NOW
        assert digest == spec_digest({})
    finally:
        await engine.dispose()


async def _big_course(sessions: Sessions, clock: ManualClock) -> str:
    """A laboratory of 10,000 students (about 10,500 steps), created as the API would."""
    data = make_course(kind="laboratory", students=BIG, groups=50)
    return (await CourseService(sessions, clock).create(parse_course(data), actor="t")).id


@contextmanager
def _statements(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements (with their parameters) sent while the block runs."""
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        sent.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def _rows_of_steps_read(engine: AsyncEngine, statement: str, parameters: Any) -> int:
    """How many rows of `steps` PostgreSQL reads to answer the statement (EXPLAIN ANALYZE, in
    a transaction rolled back): rows returned plus rows filtered out, at every scan of it."""
    async with engine.connect() as conn:
        plan = (
            await conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters)
        ).scalar_one()
        await conn.rollback()
    document = json.loads(plan) if isinstance(plan, str) else plan

    def walk(node: dict[str, Any]) -> int:
        own = 0
        if node.get("Relation Name") == "steps":
            read = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
            own = read * node.get("Actual Loops", 1)
        return own + sum(walk(child) for child in node.get("Plans", []))

    return walk(document[0]["Plan"])


async def _sqlite_plan(engine: AsyncEngine, statement: str, parameters: Any) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return [str(row[-1]) for row in rows]


def _reads_steps(statement: str) -> bool:
    """A read of `steps`, or the UPDATE that leases what its sub-select of `steps` finds."""
    start = statement.lstrip()
    if start.startswith(("SELECT", "WITH")):
        return "steps" in statement
    return start.startswith("UPDATE steps") and "FROM steps" in statement


async def _assert_claim_reads_only_ready_rows(
    engine: AsyncEngine, sessions: Sessions, now: datetime, platform: str | None = None
) -> list[step_queue.ClaimedStep]:
    with _statements(engine) as sent:
        async with sessions.begin() as session:
            if platform is None:
                claimed = await step_queue.claim(session, owner="r", now=now, lease=LEASE, limit=8)
            else:  # as the runner claims: per platform, lowest claim rank first
                found = await step_queue.claim_platforms(
                    session, owner="r", now=now, lease=LEASE, platforms=[platform], slots=8
                )
                claimed = found.steps
    reads = [(s, p) for s, p in sent if _reads_steps(s)]
    # Two walks for the claim (the second inside the UPDATE that leases what it finds), one
    # for the dependencies' results if any step has some; by lane, a walk of the lanes with
    # ready steps too (one lane here: one organization).
    assert 2 <= len(reads) <= (3 if platform is None else 4)
    for statement, parameters in reads:
        if engine.dialect.name == "sqlite":
            plan = await _sqlite_plan(engine, statement, parameters)
            steps = [line for line in plan if " steps " in f" {line} "]
            assert steps, plan
            assert all(line.startswith("SEARCH steps USING") for line in steps), plan
            assert not [line for line in plan if "TEMP B-TREE" in line], plan
        else:
            # The claimed rows (up to 8), the dependencies they name, the running ones.
            assert await _rows_of_steps_read(engine, statement, parameters) <= 40, statement
    return claimed


@pytest.mark.parametrize("platform", [None, "github"])
async def test_claim_of_a_10000_student_course_reads_only_ready_rows(
    engine: AsyncEngine, session_factory: Sessions, platform: str | None
) -> None:
    """With 10,000 invites waiting for their teams, and again with all of them ready, a claim
    (of any platform, or of GitHub's in claim-rank order as the runner claims) reads a handful
    of rows through a ready index (SQLite: every access to `steps` is an index search, never a
    scan or a sort; PostgreSQL: at most 40 rows of `steps` read)."""
    clock = ManualClock(NOW, tick=timedelta(milliseconds=1))
    course_id = await _big_course(session_factory, clock)
    # Another course, smaller, ranked before the big one: its ready steps come first.
    small = make_course(code="CS102", kind="laboratory", students=10, groups=2)
    await CourseService(session_factory, clock).create(parse_course(small), actor="t")
    later = clock.now() + timedelta(seconds=1)
    claimed = await _assert_claim_reads_only_ready_rows(engine, session_factory, later, platform)
    assert len(claimed) == 8
    async with session_factory.begin() as session:
        # Every team done: every invite is ready now.
        await session.execute(
            update(Step)
            .where(Step.course_id == course_id, Step.kind == "github.team")
            .values(state="succeeded", external_id="team")
        )
        ready = await session.scalar(
            select(func.count()).where(
                Step.course_id == course_id, Step.state == "pending", Step.unfinished_deps == 0
            )
        )
    assert ready is not None
    assert ready > BIG
    claimed = await _assert_claim_reads_only_ready_rows(engine, session_factory, later, platform)
    assert len(claimed) == 8


async def test_an_update_of_a_10000_student_course_loads_only_the_rows_it_changes(
    engine: AsyncEngine, session_factory: Sessions
) -> None:
    """A login fixed in a 10,000-student course: the update compares the plans before it takes
    the lock, then loads only the invite row it drops and the team that row names (not the
    course's 30,000 steps), rewrites one member row (not 10,000), and readiness stays what it
    would be computed from scratch."""
    clock = ManualClock(NOW, tick=timedelta(milliseconds=1))
    course_id = await _big_course(session_factory, clock)
    data = make_course(kind="laboratory", students=BIG, groups=50)
    old_login = data["students"][-1]["github"]
    data["students"][-1]["github"] = "fixed-1"
    loaded: list[str] = []

    def on_load(step: Step, _context: Any) -> None:
        loaded.append(step.key)

    event.listen(Step, "load", on_load)
    try:
        with _statements(engine) as sent:
            change = await CourseService(session_factory, clock).update(
                course_id, parse_course(data), actor="t"
            )
    finally:
        event.remove(Step, "load", on_load)
    group = data["students"][-1]["group"]
    assert change.added == [f"github.invite:{group}:fixed-1"]
    assert change.removed == [f"github.invite:{group}:{old_login}"]
    # The team: were the invite retired instead of dropped, its removal would name the team.
    assert sorted(loaded) == sorted([*change.removed, f"github.team:{group}"])
    member_writes = [
        s for s, _ in sent if s.lstrip().startswith(("DELETE FROM members", "INSERT INTO members"))
    ]
    assert len(member_writes) == 2
    assert not any("members.course_id" in s for s in member_writes)
    await _assert_readiness_from_scratch(session_factory, course_id)
    assert (await CourseService(session_factory, clock).get(course_id)).spec.students[
        -1
    ].github == "fixed-1"


async def test_course_updates_and_lease_renewals_succeed_while_claims_run(
    session_factory: Sessions,
) -> None:
    """While a runner claims and completes steps of a 10,000-student course, two course
    updates (a `PUT /courses/{id}`) and a stream of lease renewals by another runner all
    succeed: no "database is locked", no lost lease."""
    clock = ManualClock(NOW, tick=timedelta(milliseconds=1))
    course_id = await _big_course(session_factory, clock)
    service = CourseService(session_factory, clock)
    async with session_factory.begin() as session:
        (held,) = await step_queue.claim(
            session, owner="other", now=clock.now(), lease=LEASE, limit=1
        )
    done = asyncio.Event()
    renewed: list[bool] = []

    async def runner() -> None:
        for _ in range(20):
            async with session_factory.begin() as session:
                claimed = await step_queue.claim(
                    session, owner="r", now=clock.now(), lease=LEASE, limit=8
                )
            for step in claimed:
                async with session_factory.begin() as session:
                    assert await step_queue.succeed(session, step.id, "r", clock.now(), "x", {})
        done.set()

    async def renewer() -> None:
        while not done.is_set() or not renewed:
            async with session_factory.begin() as session:
                until = clock.now() + LEASE
                renewed.append(await step_queue.renew(session, held.id, "other", until))

    async def changer() -> None:
        for edition in (1, 2):
            data = make_course(kind="laboratory", students=BIG, groups=50)
            # A login fixed: a new invite (and repository access) replaces one that waits.
            data["students"][-1]["github"] = f"fixed-{edition}"
            change = await service.update(course_id, parse_course(data), actor="t")
            assert change.added

    await asyncio.gather(runner(), renewer(), changer())
    assert renewed
    assert all(renewed)
    assert (await service.get(course_id)).spec.students[-1].github == "fixed-2"
    await _assert_readiness_from_scratch(session_factory, course_id)


async def test_every_change_of_the_spec_reaches_the_next_claim(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """A claim carries the spec as stored now: after a course update, and after a change made
    by hand in SQL (which clears the digest the claim would otherwise trust); an unchanged spec
    comes from the claimer's own cache, never from another's."""
    service = CourseService(session_factory, clock)
    data = course_data()
    course_id = (await service.create(parse_course(data), actor="t")).id
    specs = step_queue.SpecCache()

    async def claimed_spec(cache: step_queue.SpecCache = specs) -> dict[str, Any]:
        async with session_factory.begin() as session:
            (step,) = await step_queue.claim(
                session, owner="r", now=clock.now(), lease=LEASE, limit=1, specs=cache
            )
            await session.execute(update(Step).where(Step.id == step.id).values(state="pending"))
        return step.spec

    first = await claimed_spec()
    assert first["title"] == data["title"]
    assert await claimed_spec() is first  # the one this cache holds, not read again
    other = await claimed_spec(step_queue.SpecCache())
    assert other == first
    assert other is not first  # another product's cache is its own
    data["title"] = "Renamed"
    await service.update(course_id, parse_course(data), actor="t")
    assert (await claimed_spec())["title"] == "Renamed"
    async with session_factory.begin() as session:
        await session.execute(
            update(Course).where(Course.id == course_id).values(spec={**data, "title": "By hand"})
        )
        assert await session.scalar(select(Course.spec_digest)) is None
    assert (await claimed_spec())["title"] == "By hand"
