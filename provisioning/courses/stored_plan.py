"""A stored course as an update compares with it, read without locking anything (`read_stored`).

The rows travel as pickled parts: to a worker process (`provisioning.courses.plan_worker`) a
list of a few dozen byte strings is a copy, where 40,000 rows would be pickled and unpickled
one object at a time, in a thread that holds the interpreter (and so the event loop) meanwhile.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import TypeVarTuple

from sqlalchemy import Select, Text, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Course, Member, Step

# Rows of a big course read per round trip (see `_pickled_parts`).
PART_ROWS = 250
_Ts = TypeVarTuple("_Ts")
MEMBER_FIELDS = ("role", "name", "email", "github", "github_lower", "discord_id", "group")


@dataclass(frozen=True)
class StoredPlan:
    """The course's digests, its fields naming GitHub resources, its description as JSON text,
    and its step and member rows, pickled `PART_ROWS` at a time."""

    course_id: str
    spec_digest: str
    plan_digest: str
    # code, term, github_org as stored: when one changes, only the full comparison, under the
    # lock, can tell whether it may.
    fixed: tuple[str, str, str]
    spec_json: str
    # Each a pickled list of (key, kind, depends_on JSON, params JSON, position).
    steps: list[bytes]
    # Each a pickled list of (id, *MEMBER_FIELDS).
    members: list[bytes]


async def read_stored(session: AsyncSession, course_id: str) -> StoredPlan | None:
    """The course as stored, or None when only the full, locked comparison can tell (no such
    course, or a description edited by hand: no digest)."""
    head = (
        await session.execute(
            select(
                Course.spec_digest,
                Course.plan_digest,
                Course.code,
                Course.term,
                Course.github_org,
                # As text: decoding 1.5 MB of JSON here would hold the event loop.
                cast(Course.spec, Text),
            ).where(Course.id == course_id)
        )
    ).first()
    if head is None:
        return None
    spec_digest, plan_digest, code, term, github_org, spec_json = head
    if spec_digest is None or spec_json is None:
        return None
    steps = await _pickled_parts(
        session,
        select(
            Step.key,
            Step.kind,
            cast(Step.depends_on, Text),
            cast(Step.params, Text),
            Step.position,
        )
        .where(Step.course_id == course_id)
        .order_by(Step.position),
    )
    members = await _pickled_parts(
        session,
        select(Member.id, *(getattr(Member, name) for name in MEMBER_FIELDS)).where(
            Member.course_id == course_id
        ),
    )
    return StoredPlan(
        course_id, spec_digest, plan_digest, (code, term, github_org), spec_json, steps, members
    )


async def _pickled_parts(session: AsyncSession, query: Select[*_Ts]) -> list[bytes]:
    """Every row of `query` as plain tuples, received and pickled `PART_ROWS` at a time.
    Received at once, the 30,000 steps of a big course are decoded and wrapped in one go (a
    few hundred milliseconds at a busy moment) in which the event loop, and every claim and
    lease renewal on it, stops; a part is a millisecond or two, and the loop turns between."""
    result = await session.stream(query.execution_options(yield_per=PART_ROWS))
    return [pickle.dumps([tuple(row) for row in part]) async for part in result.partitions()]
