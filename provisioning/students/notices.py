"""Staff notices: what the join page refused and a person of staff must sort out, told to them
in the course log (`cogs.course_log`), so "your course staff have been told" is true.

A notice is written in the same transaction as the refusal's audit row. One more comes from a
step: a mistyped login's withdrawal that found the wrong account had accepted after all (in
the moment between the sign-in's check and the step) waits for staff, and `due` turns it into
a notice once. `post` posts a notice once (`provisioning.posted_once`: claimed, sent, given
back when sending fails).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Course, StaffNotice, Step
from provisioning.clock import Clock
from provisioning.github.steps.uninvite import WRONG_ACCOUNT_ACCEPTED
from provisioning.posted_once import claim_then_send

# Notices looked at per round, oldest first.
_BATCH = 20
# The same refusal of the same person again (a second click) within this time is not news.
REPEAT_AFTER = timedelta(days=1)
# The reason of the notice a waiting withdrawal gives (once per person and course).
WITHDRAWAL_WAITS = "github.withdrawal_waits"


@dataclass(frozen=True)
class Notice:
    """One notice as the course log shows it."""

    id: int
    course_id: str
    code: str
    term: str
    person: str
    # What the person tried and what happened; what staff should do.
    what: str
    todo: str


async def add_notice(
    session: AsyncSession,
    *,
    course_id: str,
    at: datetime,
    reason: str,
    person: str,
    what: str,
    todo: str,
    once: bool = False,
) -> None:
    """Queue a notice in the caller's transaction, unless staff have (or are about to get)
    the same one about the same person from the last day (`once`: ever)."""
    query = select(StaffNotice.id).where(
        StaffNotice.course_id == course_id,
        StaffNotice.person == person,
        StaffNotice.reason == reason,
    )
    if not once:
        query = query.where(
            or_(StaffNotice.posted_at.is_(None), StaffNotice.posted_at > at - REPEAT_AFTER)
        )
    told = await session.scalar(query.limit(1))
    if told is not None:
        return
    session.add(
        StaffNotice(
            course_id=course_id, created_at=at, reason=reason, person=person, what=what, todo=todo
        )
    )


class StaffNotices:
    """The notices not posted yet, and posting one once."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def due(self) -> list[Notice]:
        await self._from_steps()
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(StaffNotice, Course.code, Course.term)
                    .join(Course, Course.id == StaffNotice.course_id)
                    .where(StaffNotice.posted_at.is_(None))
                    .order_by(StaffNotice.id)
                    .limit(_BATCH)
                )
            ).all()
        return [
            Notice(n.id, n.course_id, code, term, n.person, n.what, n.todo)
            for n, code, term in rows
        ]

    async def _from_steps(self) -> None:
        """A notice for each withdrawal waiting because the wrong account accepted."""
        async with self._sessions.begin() as session:
            waiting = (
                await session.execute(
                    select(Step.course_id, Step.params, Step.last_error).where(
                        Step.kind == "github.uninvite",
                        Step.state == "awaiting_action",
                        Step.last_error_code == WRONG_ACCOUNT_ACCEPTED,
                    )
                )
            ).all()
            for course_id, params, error in waiting:
                person = str(params.get("person") or params["login"])
                await add_notice(
                    session,
                    course_id=course_id,
                    at=self._clock.now(),
                    reason=WITHDRAWAL_WAITS,
                    person=person,
                    what=(
                        f"{person} corrected their GitHub login on the join page from "
                        f"{params['login']} to {params.get('corrected_to')}, but the account "
                        f"{params['login']} accepted the course's invitation before it could "
                        "be withdrawn. Nobody was removed."
                    ),
                    todo=(
                        f"{error[:1].upper()}{error[1:]} (/course retry, or POST "
                        f"/courses/{course_id}/retry)."
                        if error
                        else f"Check the team membership of {params['login']} on GitHub."
                    ),
                    once=True,
                )

    async def post(self, notice: Notice, send: Callable[[], Awaitable[None]]) -> bool:
        """Claim `notice`, then `send` it; False if another round posted it already."""
        return await claim_then_send(
            self._sessions, StaffNotice, notice.id, self._clock.now(), send
        )
