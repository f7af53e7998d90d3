"""The step queue: claiming due steps under a lease, and recording what became of them.

PostgreSQL hands out steps with `FOR UPDATE SKIP LOCKED`, so runner processes never claim the
same step; SQLite has one writer, and one runner process per SQLite file. A claim is a lease:
a runner that dies leaves a `running` step whose lease expires, and the next claim takes it.
Every state change of a step writes an audit event in the same transaction.
"""

from __future__ import annotations

import functools
from collections import Counter, OrderedDict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol, TypeVar, cast

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    Row,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningUpdate, Update

from db import audit_chain
from db.models import Course, Step, StepDependency

_T = TypeVar("_T")


class Produced(NamedTuple):
    """What a succeeded step stored: its external id and facts."""

    external_id: str | None
    facts: dict[str, Any]


@dataclass(frozen=True)
class ClaimedStep:
    """A step this runner holds a lease on, with what its executor needs from the database.

    Plain data (`db` knows nothing of the domain's types): the course's spec as stored, and what
    each dependency produced, by step key.
    """

    id: int
    course_id: str
    key: str
    kind: str
    depends_on: tuple[str, ...]
    params: dict[str, Any]
    attempt: int
    external_id: str | None
    facts: dict[str, Any]
    spec: dict[str, Any]
    dependencies: dict[str, Produced]
    # Names the spec's content (None for a spec edited by hand): a reader may cache by it.
    spec_digest: str | None = None
    # The credential its calls are paced on (`Step.lane`): a runner keeps so many of each.
    lane: str = ""


async def claim(
    session: AsyncSession,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    platform: str | None = None,
    specs: SpecCache | None = None,
) -> list[ClaimedStep]:
    """Lease up to `limit` steps that are due and whose dependencies all succeeded (of
    `platform` only, if given), each with its course's spec and its dependencies' results,
    read in this same transaction; `specs` keeps the specs between claims (without it, each
    claim reads them whole)."""
    await _take_write_lock(session)
    steps, started = await _lease(session, owner, now, lease, limit, platform)
    return await _claimed(session, steps, started, specs)


@dataclass(frozen=True)
class PlatformClaims:
    """What `claim_platforms` leased, and the platforms with no step pending or running."""

    steps: list[ClaimedStep]
    none_left: list[str]


async def claim_platforms(
    session: AsyncSession,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    platforms: Iterable[str],
    slots: int,
    busy: Mapping[tuple[str, str], int] | None = None,
    specs: SpecCache | None = None,
    overdue: Collection[str] | None = None,
) -> PlatformClaims:
    """`claim` for several platforms at once: up to `slots` steps running of each platform
    (counting the `busy` ones, running here already, by (platform, lane)), shared fairly by
    its lanes (credentials), each lane's lowest claim rank first. One append (one INSERT) of
    all their `step.started` events, the transaction's last statement.

    Each lane with work (ready here, or running) is first given up to its share of the slots
    (`slots` / lanes, rounded up), then what is left goes to the lanes that have more ready:
    a step waiting for one GitHub organization's write pace holds a slot of that organization's
    share, not one another organization's step could use. Claimed in one rank order across
    organizations, the smallest courses' steps filled every slot with the few organizations
    they were in while the organization with the most work (the department's bound) sat idle
    (measured: its writes paused for seconds).

    `overdue`: the platforms whose expired leases (and pending steps with no due time) are
    looked for in this round (None: all); the caller looks now and then, not every round."""
    await _take_write_lock(session)
    running = busy or {}
    steps: list[Row[Any]] = []
    started: list[audit_chain.AuditEntry] = []
    none_left: list[str] = []
    for platform in platforms:
        mine = {lane: n for (p, lane), n in running.items() if p == platform and n > 0}
        free = slots - sum(mine.values())
        found: list[Row[Any]] = []
        events: list[audit_chain.AuditEntry] = []
        if free > 0:
            if overdue is None or platform in overdue:
                # Expired leases and steps with no due time first (a handful at most),
                # whatever their lane: they were claimed once already.
                found, events = await _lease(
                    session, owner, now, lease, free, platform, overdue=True
                )
                free -= len(found)
            taken = Counter(step.lane for step in found)
            lanes = await _ready_lanes(session, platform)
            share = -(-slots // max(1, len(set(lanes) | set(mine))))
            more_ready = list(lanes)
            for cap in (share, slots):
                for lane in list(more_ready):
                    wanted = min(free, cap - mine.get(lane, 0) - taken[lane])
                    if wanted <= 0:
                        continue
                    more, more_events = await _lease(
                        session, owner, now, lease, wanted, platform, overdue=False, lane=lane
                    )
                    found += more
                    events += more_events
                    taken[lane] += len(more)
                    free -= len(more)
                    if len(more) < wanted:
                        more_ready.remove(lane)  # none ready left in it
        steps += found
        started += events
        if not found and not mine and not await has_unfinished(session, platform):
            none_left.append(platform)
    return PlatformClaims(await _claimed(session, steps, started, specs), none_left)


async def _ready_lanes(session: AsyncSession, platform: str) -> list[str]:
    """The platform's lanes with a ready step: a walk of `ix_steps_lane_ready`, one probe per
    lane (a recursive query: `SELECT DISTINCT` would read every ready row of the platform)."""
    rows = await session.execute(_READY_LANES, {"platform": platform})
    return [lane for (lane,) in rows]


_READY_LANES = text(
    """
    WITH RECURSIVE lanes(lane) AS (
        SELECT (
            SELECT lane FROM steps
            WHERE platform = :platform AND state = 'pending' AND unfinished_deps = 0
            ORDER BY lane LIMIT 1
        )
        UNION ALL
        SELECT (
            SELECT next.lane FROM steps AS next
            WHERE next.platform = :platform AND next.state = 'pending'
                AND next.unfinished_deps = 0 AND next.lane > lanes.lane
            ORDER BY next.lane LIMIT 1
        )
        FROM lanes WHERE lanes.lane IS NOT NULL
    )
    SELECT lane FROM lanes WHERE lane IS NOT NULL
    """
)


async def _take_write_lock(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "sqlite":
        # SQLite ignores FOR UPDATE and its driver begins transactions lazily, so two claimers
        # could read the same candidates. A no-op write takes the database's write lock first:
        # claimers, in this process or another, then take turns.
        await session.execute(text("UPDATE steps SET id = id WHERE 1 = 0"))


async def _lease(
    session: AsyncSession,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    platform: str | None,
    *,
    overdue: bool | None = None,
    lane: str | None = None,
) -> tuple[list[Row[Any]], list[audit_chain.AuditEntry]]:
    """Lease up to `limit` steps that are ready and due (of `platform`, of `lane` in the due
    walk): their rows as leased, in claim order, and their `step.started` events. Locked
    (PostgreSQL skips rows another claimer holds).

    Readiness is data (`unfinished_deps`, kept by triggers), so the claim is two index walks
    whatever the number of waiting steps: first the overdue (expired leases, due before anything
    pending now, and pending steps with no time set: a handful at most), then pending steps in
    the order they fell due, stopping after `limit`. One query with an OR of both could not walk
    one index in order and would read every ready row. `overdue`: only the first walk (True)
    or only the second (False).

    For one platform the due steps come lowest `claim_rank` first, then plan position
    (`ix_steps_lane_ready`): the course with the least work left first, so a small course,
    created after a big one or with it, is done in about its own time; the big one takes the
    slots the small ones leave (a course's steps are ready a few at a time) and, aged by its
    creation, waits behind newer courses no longer than its own work's worth of seconds.
    Ordering by plan position alone made courses advance one position at a time together: a
    small course was done only when every course had reached its last position, and a
    course's Discord steps (planned after its GitHub ones) waited for every smaller course's.
    Steps not due yet (a backoff) are skipped on the way.

    Core statements built once, the due walk and its lease one UPDATE: loaded, changed and
    flushed as ORM objects, a claim round cost 5.7 ms of CPU on PostgreSQL (9 ms on SQLite)
    for two steps."""
    walks = {None: (True, False), True: (True,), False: (False,)}[overdue]
    steps: list[Row[Any]] = []
    started: list[audit_chain.AuditEntry] = []
    values = {"owner": owner, "until": now + lease, "now": now}
    for late in walks:
        wanted = limit - len(steps)
        if wanted <= 0:
            break
        if late:
            # Expired leases and pending steps with no due time: a handful at most, running
            # or pending, so their state is read first for the events' "from".
            found = (
                await session.execute(
                    _late_query(platform is not None),
                    {"of_platform": platform, "now": now, "limit": wanted},
                )
            ).all()
            if not found:
                continue
            before = {row.id: row.state for row in found}
            rows = (await session.execute(_lease_by_id(), {**values, "ids": list(before)})).all()
            rows.sort(key=lambda row: row.id)
        else:
            sqlite = session.get_bind().dialect.name == "sqlite"
            rows = (
                await session.execute(
                    _lease_due(platform is not None, lane is not None, sqlite),
                    {**values, "of_platform": platform, "of_lane": lane, "limit": wanted},
                )
            ).all()
            # RETURNING promises no order: the claim order, again.
            if platform is None:
                rows.sort(key=lambda row: (row.next_attempt_at, row.position))
            else:
                rows.sort(key=lambda row: (row.claim_rank, row.position))
            before = {row.id: "pending" for row in rows}
        steps += rows
        started += [
            _entry(row, now, owner, "step.started", {"from": before[row.id]}) for row in rows
        ]
    return steps, started


def _steps_table() -> Table:
    return cast(Table, Step.__table__)


def _leased_columns() -> tuple[ColumnElement[Any], ...]:
    """What a claim hands on (`_claimed`) and orders by, returned by the leasing UPDATE."""
    c = _steps_table().c
    return (
        c.id,
        c.course_id,
        c.key,
        c.kind,
        c.depends_on,
        c.params,
        c.attempts,
        c.external_id,
        c.facts,
        c.lane,
        c.claim_rank,
        c.position,
        c.next_attempt_at,
    )


def _leasing() -> Update:
    """The lease's UPDATE, its WHERE still to come: running, this owner's, one more attempt.
    No parameter of it or of its WHERE may take a column's name: an UPDATE executed with a
    parameter named like a column sets that column."""
    table = _steps_table()
    c = table.c
    return update(table).values(
        state="running",
        attempts=c.attempts + 1,
        lease_owner=bindparam("owner", type_=String),
        lease_expires_at=bindparam("until", type_=c.lease_expires_at.type),
        updated_at=bindparam("now", type_=c.updated_at.type),
    )


@functools.cache
def _lease_by_id() -> ReturningUpdate[Any]:
    """The lease of the steps the overdue walk found, by id."""
    c = _steps_table().c
    ids = bindparam("ids", expanding=True, type_=Integer)
    return _leasing().where(c.id.in_(ids)).returning(*_leased_columns())


@functools.cache
def _late_query(of_platform: bool) -> Select[int, str]:
    """The overdue walk (see `_lease`): ids and states, locked (PostgreSQL skips rows another
    claimer holds)."""
    c = _steps_table().c
    now = bindparam("now", type_=c.updated_at.type)
    query = select(c.id, c.state).where(
        c.unfinished_deps == 0,
        or_(
            and_(c.state == "running", c.lease_expires_at < now),
            and_(c.state == "pending", c.next_attempt_at.is_(None)),
        ),
    )
    if of_platform:
        query = query.where(c.platform == bindparam("of_platform", type_=String))
    return query.limit(bindparam("limit", type_=Integer)).with_for_update(skip_locked=True)


@functools.cache
def _lease_due(of_platform: bool, of_lane: bool, sqlite: bool) -> ReturningUpdate[Any]:
    """The due walk (see `_lease`) and its lease in one statement: UPDATE of the ids a locked
    sub-select picks, in claim order, up to the limit."""
    c = _steps_table().c
    now = bindparam("now", type_=c.updated_at.type)
    due_now: ColumnElement[bool] = c.next_attempt_at <= now
    if of_platform and sqlite:
        # Nearly every ready step is due. Told nothing, SQLite's planner (it keeps no
        # statistics) takes the range on `next_attempt_at` through `ix_steps_ready` and then
        # sorts every ready row of the platform (10,000 invites of a big course).
        due_now = func.likely(due_now, type_=Boolean)
    picked = select(c.id).where(c.unfinished_deps == 0, c.state == "pending", due_now)
    if of_platform:
        picked = picked.where(c.platform == bindparam("of_platform", type_=String))
        picked = picked.order_by(c.claim_rank, c.position)
    else:
        picked = picked.order_by(c.next_attempt_at, c.position)
    if of_lane:
        picked = picked.where(c.lane == bindparam("of_lane", type_=String))
    picked = picked.limit(bindparam("limit", type_=Integer)).with_for_update(skip_locked=True)
    return _leasing().where(c.id.in_(picked)).returning(*_leased_columns())


async def _claimed(
    session: AsyncSession,
    steps: list[Row[Any]],
    started: list[audit_chain.AuditEntry],
    specs: SpecCache | None,
) -> list[ClaimedStep]:
    """The leased steps with what their executors need, read before the events are appended
    (see `_settle`): nothing after the append but the commit."""
    if not steps:
        return []
    by_course = await (specs or SpecCache()).read(session, {step.course_id for step in steps})
    produced = await _produced(
        session, {(step.course_id, key) for step in steps for key in step.depends_on}
    )
    # The events in one batch: one lock, one head read, one insert for all.
    await audit_chain.append_many(session, started)
    return [
        ClaimedStep(
            id=step.id,
            course_id=step.course_id,
            key=step.key,
            kind=step.kind,
            depends_on=tuple(step.depends_on),
            params=dict(step.params),
            attempt=step.attempts,
            external_id=step.external_id,
            facts=dict(step.facts or {}),
            spec=by_course[step.course_id][1],
            spec_digest=by_course[step.course_id][0],
            lane=step.lane,
            dependencies={
                key: produced[(step.course_id, key)]
                for key in step.depends_on
                if (step.course_id, key) in produced
            },
        )
        for step in steps
    ]


class SpecCache:
    """Course specs by (course id, digest), newest use last, for the claims of one product.

    A claim of a 10,000-student course would otherwise read and parse 1.5 MB of JSON each time,
    the one cost that grew with the course. Keyed by content, so a changed spec is a miss,
    whichever process changed it. The specs handed out are shared by the claimed steps: never
    mutated (the runner validates each into a CourseSpec). One per product (its `KnownSpecs`,
    which the course service fills with each spec it stores: `keep`), so products in one
    process (tests, benches) never see each other's.
    """

    def __init__(self, kept: int = 16) -> None:
        self._kept = kept
        self._specs: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()

    def keep(self, course_id: str, digest: str, spec: dict[str, Any]) -> None:
        """A spec its writer has at hand (stored with this digest, or about to be): the next
        claim need not read and decode it. Kept by content, so one never stored is never
        handed out."""
        self._specs[(course_id, digest)] = spec
        self._specs.move_to_end((course_id, digest))
        self._evict()

    async def read(
        self, session: AsyncSession, course_ids: Iterable[str]
    ) -> dict[str, tuple[str | None, dict[str, Any]]]:
        """The stored spec of each course, in one query. Read at every claim, so a roster
        change reaches the next step at once; but the database sends the spec only when its
        digest is not one this cache holds already."""
        wanted = sorted(course_ids)
        # Copied now: another claim in this process may evict them while this one awaits.
        held = {key: spec for key, spec in self._specs.items() if key[0] in wanted}
        spec_unless_held = case(
            (
                or_(
                    false(),
                    *(and_(Course.id == c, Course.spec_digest == d) for c, d in sorted(held)),
                ),
                None,
            ),
            else_=Course.spec,
        )
        rows = await session.execute(
            select(Course.id, Course.spec_digest, spec_unless_held).where(Course.id.in_(wanted))
        )
        specs: dict[str, tuple[str | None, dict[str, Any]]] = {}
        for course_id, digest, spec in rows:
            if spec is None:  # one we hold
                specs[course_id] = digest, held[(course_id, digest)]
                if (course_id, digest) in self._specs:
                    self._specs.move_to_end((course_id, digest))
                continue
            specs[course_id] = digest, spec
            if digest is not None:
                self._specs[(course_id, digest)] = spec
                self._evict()
        return specs

    def _evict(self) -> None:
        while len(self._specs) > self._kept:
            self._specs.popitem(last=False)


async def _produced(
    session: AsyncSession, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Produced]:
    """What the named steps produced, by (course id, step key), in one query for all of them."""
    by_course: dict[str, set[str]] = {}
    for course_id, key in keys:
        by_course.setdefault(course_id, set()).add(key)
    if not by_course:
        return {}
    # Per course, `course_id = ? AND key IN (...)`: a search of the (course_id, key) index.
    # SQLite plans a row-value IN over both columns as a scan of every step.
    rows = await session.execute(
        select(Step.course_id, Step.key, Step.external_id, Step.facts).where(
            or_(
                *(
                    and_(Step.course_id == course_id, Step.key.in_(sorted(wanted)))
                    for course_id, wanted in sorted(by_course.items())
                )
            )
        )
    )
    return {
        (course_id, key): Produced(external_id, dict(facts or {}))
        for course_id, key, external_id, facts in rows
    }


async def has_unfinished(session: AsyncSession, platform: str) -> bool:
    """Whether any step of `platform`, of any course, is pending or running (one index probe:
    a runner that finds none stops asking for that platform's steps until woken)."""
    found = await session.scalar(
        select(Step.id)
        .where(Step.platform == platform, Step.state.in_(("pending", "running")))
        .limit(1)
    )
    return found is not None


async def link_dependencies(
    session: AsyncSession, course_id: str, *, only: Collection[str] | None = None
) -> None:
    """Make the course's `step_dependencies` rows match its steps' `depends_on` keys, and
    give the steps their claim rank (`rank_steps`).

    Call after adding steps or changing their dependencies (course create and update); the
    triggers then count each step's unfinished dependencies. A key naming no step of the
    course is no edge, as it was no obstacle before: only existing steps can be unfinished.
    `only`: just the edges from the steps with these keys (the caller knows no other step's
    edges changed), read through the (course_id, key) index instead of every step.
    """
    await rank_steps(session, course_id, only=only)
    await session.flush()
    query = select(Step.id, Step.key, Step.depends_on).where(Step.course_id == course_id)
    if only is None:
        rows = (await session.execute(query)).all()
        ids = {key: step_id for step_id, key, _ in rows}
    else:
        rows = []
        for keys in chunks(sorted(only)):
            rows += (await session.execute(query.where(Step.key.in_(keys)))).all()
        named = sorted({key for _, _, depends_on in rows for key in depends_on})
        ids = {key: step_id for step_id, key, _ in rows}
        for keys in chunks(named):
            ids.update(
                (key, step_id)
                for step_id, key in await session.execute(
                    select(Step.id, Step.key).where(Step.course_id == course_id, Step.key.in_(keys))
                )
            )
    wanted = {
        (step_id, ids[key]) for step_id, _, depends_on in rows for key in depends_on if key in ids
    }
    edges = select(StepDependency.step_id, StepDependency.depends_on_id)
    existing: set[tuple[int, int]] = set()
    if only is None:
        found = edges.join(Step, Step.id == StepDependency.step_id).where(
            Step.course_id == course_id
        )
        existing.update(tuple(edge) for edge in await session.execute(found))  # type: ignore[misc]
    else:
        for step_ids in chunks(sorted(step_id for step_id, _, _ in rows)):
            found = edges.where(StepDependency.step_id.in_(step_ids))
            existing.update(tuple(edge) for edge in await session.execute(found))  # type: ignore[misc]
    for part in chunks(sorted(existing - wanted)):
        await session.execute(
            delete(StepDependency).where(
                tuple_(StepDependency.step_id, StepDependency.depends_on_id).in_(part)
            )
        )
    new = sorted(wanted - existing)
    if new:
        await session.execute(
            insert(StepDependency),
            [{"step_id": step_id, "depends_on_id": dep_id} for step_id, dep_id in new],
        )


# What one step left to do weighs against a second of a course's age in `claim_rank`: a
# course created this many seconds per step of its work before a smaller one still goes first.
RANK_SECONDS_PER_STEP = 1
# `claim_rank` counts milliseconds: two courses with as much work left, created within the same
# second, do not tie (a tie is broken by plan position, which interleaves them: every course of
# a batch created together was done only when all were), the older goes first.
_RANK_UNITS_PER_SECOND = 1000


def lane_of(platform: str, github_org: str) -> str:
    """The credential a step's calls are paced on: each GitHub organization's own (a GitHub
    App's installation, or the token's pace for that organization's writes), one Discord bot,
    one mail sender."""
    return f"github:{github_org}" if platform == "github" else platform


async def rank_steps(
    session: AsyncSession, course_id: str, *, only: Collection[str] | None = None
) -> None:
    """Give the course's steps about to be written (new in the session, or loaded with a key
    in `only`) their lane (`lane_of`) and `claim_rank`: the course's creation in epoch
    milliseconds plus `RANK_SECONDS_PER_STEP` seconds per step of it on the same platform not
    yet succeeded (a lane is one platform's: a course's GitHub work says nothing of how long
    its Discord work takes, and counting it sent a big course's few Discord steps after every
    small course's; measured in `bench/department.py`). Set on the objects before
    the flush, so each row is written once, with them (an UPDATE of a 30,000-step course after
    its INSERT doubled its row versions until a vacuum). Static: a step keeps the rank it got
    when planned (ranking every step again at each success would write the whole course each
    time); a course update ranks the steps it adds or changes by the work left then. A step
    written otherwise keeps lane '' and rank 0: claimed first, in its platform's one lane."""
    wanted = set() if only is None else set(only)
    # Taken once: `session.new` builds a new set at each access.
    new = [obj for obj in session.new if isinstance(obj, Step) and obj.course_id == course_id]
    loaded = [
        obj
        for obj in session.identity_map.values()
        if isinstance(obj, Step) and obj.course_id == course_id and obj.key in wanted
    ]
    steps = [*new, *loaded]
    if not steps:
        return
    with session.no_autoflush:
        # The caller's object when it holds one (an update may have changed its organization).
        course = await session.get(Course, course_id)
        # By kind, not platform: `ix_steps_course_status` (course, state, kind) answers alone
        # (a step's platform is its kind's first part).
        written = await session.execute(
            select(Step.kind, func.count())
            .where(Step.course_id == course_id, Step.state != "succeeded")
            .group_by(Step.kind)
        )
    if course is None:
        return
    left = Counter(step.platform for step in new)
    for kind, count in written:
        left[kind.split(".", 1)[0]] += count
    created = int(course.created_at.timestamp() * _RANK_UNITS_PER_SECOND)
    per_step = RANK_SECONDS_PER_STEP * _RANK_UNITS_PER_SECOND
    for step in steps:
        step.lane = lane_of(step.platform, course.github_org)
        step.claim_rank = created + per_step * left[step.platform]


async def unlink_steps(session: AsyncSession, step_ids: Sequence[int]) -> None:
    """Drop the dependency rows of steps about to be deleted, before they are.

    A cascade would drop them too, but after the step is gone, when the trigger can no longer
    tell whether the dependency it uncounts had succeeded.
    """
    for ids in chunks(list(step_ids)):
        await session.execute(
            delete(StepDependency).where(
                or_(StepDependency.step_id.in_(ids), StepDependency.depends_on_id.in_(ids))
            )
        )


def chunks(items: Sequence[_T], size: int = 2000) -> list[Sequence[_T]]:
    """Slices of at most `size`: both drivers cap the bound parameters of one statement."""
    return [items[i : i + size] for i in range(0, len(items), size)]


@functools.cache
def _renew_statement() -> Update:
    """`renew`'s UPDATE, built once (as `_succeed_statement`): every running step renews its
    lease every 20 s, and building the statement through the ORM per renewal cost more CPU
    than running it (a renewal was one of the few slow claims of `bench/big_course.py`)."""
    columns = _steps_table().c
    return (
        update(_steps_table())
        .where(
            columns.id == bindparam("step_id", type_=Integer),
            columns.lease_owner == bindparam("owner", type_=String),
            columns.state == "running",
        )
        .values(lease_expires_at=bindparam("until", type_=columns.lease_expires_at.type))
    )


async def renew(session: AsyncSession, step_id: int, owner: str, until: datetime) -> bool:
    """Extend our lease; False when it is no longer ours (expired and taken by another)."""
    result = await session.execute(
        _renew_statement(), {"step_id": step_id, "owner": owner, "until": until}
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def hand_back(
    session: AsyncSession, step_ids: Sequence[int], owner: str, now: datetime
) -> list[str]:
    """Steps this runner started but stops before finishing (it is shutting down): pending
    again and due now, their attempt not counted, so the next runner (or the next start)
    takes them at once instead of waiting for their leases to expire. Their keys."""
    if not step_ids:
        return []
    steps = (
        await session.scalars(
            select(Step).where(
                Step.id.in_(sorted(step_ids)), Step.lease_owner == owner, Step.state == "running"
            )
        )
    ).all()
    for step in steps:
        step.state = "pending"
        step.attempts = max(0, step.attempts - 1)
        step.lease_owner = None
        step.lease_expires_at = None
        step.next_attempt_at = now
        step.updated_at = now
        await _event(session, step, now, owner, "step.handed_back", {})
    return [step.key for step in steps]


async def _owned(session: AsyncSession, step_id: int, owner: str) -> Step | None:
    step = await session.get(Step, step_id, with_for_update=True)
    if step is None or step.lease_owner != owner or step.state != "running":
        return None  # our lease expired and another runner took over: its word counts
    return step


@functools.cache
def _succeed_statement() -> ReturningUpdate[str, str, int]:
    """`succeed`'s UPDATE, built once on the table (a Core statement: the ORM's bulk update
    path and building the statement per step were most of its CPU); the step and its outcome
    are parameters."""
    table = _steps_table()
    columns = table.c
    return (
        update(table)
        .where(
            columns.id == bindparam("step_id", type_=Integer),
            columns.lease_owner == bindparam("owner", type_=String),
            columns.state == "running",
        )
        .values(
            state="succeeded",
            external_id=bindparam("done_external_id", type_=columns.external_id.type),
            facts=bindparam("done_facts", type_=columns.facts.type),
            last_error=None,
            last_error_code=None,
            action_hint=None,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=bindparam("done_at", type_=columns.updated_at.type),
        )
        .returning(columns.course_id, columns.key, columns.attempts)
    )


async def succeed(
    session: AsyncSession,
    step_id: int,
    owner: str,
    now: datetime,
    external_id: str,
    facts: dict[str, Any],
) -> bool:
    """Mark the step done and store what it produced, in the caller's transaction: one UPDATE
    of the row if this runner still holds its lease (another runner's word counts otherwise),
    then its event. Every step ends here: read, locked and flushed through the ORM, it took
    three statements and a tenth of a runner's CPU."""
    done = (
        await session.execute(
            _succeed_statement(),
            {
                "step_id": step_id,
                "owner": owner,
                "done_external_id": external_id,
                "done_facts": facts,
                "done_at": now,
            },
        )
    ).first()
    if done is None:
        return False
    event = _entry(done, now, owner, "step.succeeded", {"external_id": external_id})
    await audit_chain.append_many(session, [event])
    return True


async def settle_error(
    session: AsyncSession,
    step_id: int,
    owner: str,
    now: datetime,
    *,
    state: str,
    message: str,
    code: str,
    hint: str | None,
    next_attempt_at: datetime | None,
    attempt_used: bool = True,
) -> bool:
    """Record a failed attempt: back to pending, waiting for a person, or failed for good.
    `attempt_used=False` gives the attempt back (the step only waits for a known limit)."""
    step = await _owned(session, step_id, owner)
    if step is None:
        return False
    if not attempt_used:
        step.attempts = max(0, step.attempts - 1)
    step.state = state
    step.last_error = message[:2000]
    step.last_error_code = code
    step.action_hint = hint
    step.next_attempt_at = next_attempt_at
    _release(step, now)
    events = [_entry(step, now, owner, f"step.{state}", {"code": code})]
    if state == "failed":
        events += await _block_dependants(session, step, now, owner)
    await _settle(session, events)
    return True


async def _settle(session: AsyncSession, events: list[audit_chain.AuditEntry]) -> None:
    """Write the step rows changed so far, then the events.

    Appending takes no lock (`audit_chain.seal` chains the rows after the commit), so the
    order is for the reader: the step rows (whose triggers update the counts of their
    dependants), then the events that record them, in one transaction.
    """
    await session.flush()
    await audit_chain.append_many(session, events)


def _release(step: Step, now: datetime) -> None:
    step.lease_owner = None
    step.lease_expires_at = None
    step.updated_at = now


async def _block_dependants(
    session: AsyncSession, failed: Step, now: datetime, owner: str
) -> list[audit_chain.AuditEntry]:
    """Block what waits, directly or not, on the failed step: a walk of the reverse index,
    one query per level of the plan, reading only the steps it reaches. Their events."""
    reached: set[int] = {failed.id}
    frontier = [failed.id]
    while frontier:
        found: set[int] = set()
        for part in chunks(frontier):
            found.update(
                await session.scalars(
                    select(StepDependency.step_id).where(StepDependency.depends_on_id.in_(part))
                )
            )
        frontier = sorted(found - reached)
        reached.update(frontier)
    steps: list[Step] = []
    for part in chunks(sorted(reached - {failed.id})):
        steps.extend(await session.scalars(select(Step).where(Step.id.in_(part))))
    steps.sort(key=lambda step: step.position)
    blocked = []
    for step in steps:
        if step.state in ("pending", "awaiting_action"):
            step.state = "blocked"
            step.last_error = f"waits for {failed.key}, which failed"
            step.updated_at = now
            blocked.append(_entry(step, now, owner, "step.blocked", {"by": failed.key}))
    return blocked


async def _event(
    session: AsyncSession,
    step: Step,
    now: datetime,
    actor: str,
    event: str,
    summary: dict[str, Any],
) -> None:
    """One step's event, after its row (see `_settle`)."""
    await _settle(session, [_entry(step, now, actor, event, summary)])


class _StepNamed(Protocol):
    """What a step's event names: a `Step`, or a row of its columns (the RETURNING of a
    claim's lease or of `succeed`)."""

    @property
    def course_id(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def attempts(self) -> int: ...


def _entry(
    step: _StepNamed, now: datetime, actor: str, event: str, summary: dict[str, Any]
) -> audit_chain.AuditEntry:
    return audit_chain.event_entry(
        at=now,
        actor=actor,
        event=event,
        course_id=step.course_id,
        step_key=step.key,
        attempt=step.attempts,
        summary=summary,
    )


def keys_of(steps: Sequence[ClaimedStep]) -> list[str]:
    """Step keys, for logs."""
    return [s.key for s in steps]
