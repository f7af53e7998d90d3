"""Course milestones for the course log: created, waiting for its server (or waiting because
the bot is at the server cap of unverified Discord apps, when nobody could add it to a server),
claimed, done, needs a person, failed; each posted once per course.

`due` finds the milestones courses have reached that were not posted yet, from the step states;
`post` records one, then posts it: once even with several bots (the primary key decides), and
a failed post is tried again later. A crash between the record and the post loses that one
message rather than ever posting it twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Course, CourseMilestone, Step
from provisioning.clock import Clock
from provisioning.discord.server_count import CAP_REASON

log = logging.getLogger(__name__)

# In the order a course reaches them (and the log shows them).
MILESTONES = (
    "created",
    "waiting_for_cap",
    "waiting_for_server",
    "claimed",
    "needs_person",
    "failed",
    "done",
)
SERVER_STEP = "discord.server"
# Courses looked at per round: the oldest not done first.
_BATCH = 50


@dataclass(frozen=True)
class Milestone:
    course_id: str
    code: str
    term: str
    title: str
    name: str  # one of MILESTONES
    # For needs_person and failed: how many steps, and the first step's hint or error.
    steps: int = 0
    first_hint: str | None = None
    # For waiting_for_cap: the server step's own words (why it waits, what to do).
    why: str | None = None


def reached(
    states: list[str],
    server_bound: bool,
    server_state: str | None,
    server_reason: str | None = None,
) -> list[str]:
    """The milestones a course with these step states has reached, in order. An unclaimed
    server step waits for a claim, unless the bot is at the server cap (`server_reason`): then
    no server could add it, and the course log says that instead of asking for a claim."""
    out = ["created"]
    if server_state == "awaiting_action" and not server_bound:
        out.append("waiting_for_cap" if server_reason == CAP_REASON else "waiting_for_server")
    if server_bound:
        out.append("claimed")
    if states.count("awaiting_action") > (0 if server_bound else 1):
        out.append("needs_person")
    if "failed" in states:
        out.append("failed")
    if states and all(s == "succeeded" for s in states):
        out.append("done")
    return out


class MilestoneTracker:
    """Which milestones each course reached and which were posted."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def due(self) -> list[Milestone]:
        """Milestones reached and not posted yet, of courses not yet done."""
        done = select(CourseMilestone.course_id).where(CourseMilestone.milestone == "done")
        async with self._sessions() as session:
            courses = (
                await session.execute(
                    select(Course.id, Course.code, Course.term, Course.title)
                    .where(Course.id.not_in(done))
                    .order_by(Course.created_at, Course.id)
                    .limit(_BATCH)
                )
            ).all()
            ids = [c.id for c in courses]
            posted = (
                await session.execute(
                    select(CourseMilestone.course_id, CourseMilestone.milestone).where(
                        CourseMilestone.course_id.in_(ids)
                    )
                )
            ).all()
            steps = (
                await session.execute(
                    select(
                        Step.course_id,
                        Step.key,
                        Step.state,
                        Step.external_id,
                        Step.action_hint,
                        Step.last_error,
                        Step.last_error_code,
                    )
                    .where(Step.course_id.in_(ids))
                    .order_by(Step.course_id, Step.position)
                )
            ).all()
        seen = {(p.course_id, p.milestone) for p in posted}
        by_course = defaultdict(list)
        for step in steps:
            by_course[step.course_id].append(step)
        due: list[Milestone] = []
        for course in courses:
            rows = by_course[course.id]
            server = next((r for r in rows if r.key == SERVER_STEP), None)
            bound = server is not None and server.external_id is not None
            states = [r.state for r in rows]
            waits = (None, None) if server is None else (server.state, server.last_error_code)
            for name in reached(states, bound, *waits):
                if (course.id, name) in seen:
                    continue
                wanted = "failed" if name == "failed" else "awaiting_action"
                involved = [
                    r
                    for r in rows
                    if r.state == wanted and not (r.key == SERVER_STEP and not bound)
                ]
                hint = None
                if name in ("needs_person", "failed") and involved:
                    hint = involved[0].action_hint or involved[0].last_error
                due.append(
                    Milestone(
                        course.id,
                        course.code,
                        course.term,
                        course.title,
                        name,
                        len(involved) if name in ("needs_person", "failed") else 0,
                        hint,
                        server.action_hint if name == "waiting_for_cap" and server else None,
                    )
                )
        return due

    async def post(self, milestone: Milestone, send: Callable[[], Awaitable[None]]) -> bool:
        """Record `milestone`, then `send` it; False if it was posted already.

        The record is committed first (its primary key lets one bot of several post it) and
        removed again if sending fails, so the next round tries again. Sending inside the
        transaction would hold SQLite's one write lock while the send's own audit row waits
        for it."""
        try:
            async with self._sessions.begin() as session:
                session.add(
                    CourseMilestone(
                        course_id=milestone.course_id,
                        milestone=milestone.name,
                        posted_at=self._clock.now(),
                    )
                )
        except IntegrityError:
            return False
        try:
            await send()
        except BaseException:
            async with self._sessions.begin() as session:
                await session.execute(
                    delete(CourseMilestone).where(
                        CourseMilestone.course_id == milestone.course_id,
                        CourseMilestone.milestone == milestone.name,
                    )
                )
            raise
        return True
