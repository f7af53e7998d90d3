"""Binding a Discord server to a course: the `/course claim <code>` service.

The bot cannot create servers, so the `discord.server` step waits until a person creates one,
adds the bot and claims it with the course's code. Claiming stores the guild id as the step's
external id and sends the step back to pending; the runner then verifies the bot's access and
the Discord steps go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Course, Step
from provisioning import audit_chain
from provisioning.claims import SERVER_STEP, ClaimResult, course_id_from_code
from provisioning.clock import Clock
from provisioning.errors import ProvisioningError

log = logging.getLogger(__name__)


class ServerTakenError(ProvisioningError):
    """The server, or the course, is bound already."""

    status = 409
    title = "Already claimed"


class DatabaseClaimService:
    """Implements `provisioning.claims.ClaimService` on the database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        secret: bytes,
        clock: Clock,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._secret = secret
        self._clock = clock
        self._on_change = on_change

    async def claim(self, code: str, guild_id: str, user_id: str) -> ClaimResult:
        now = self._clock.now()
        async with self._sessions.begin() as session:
            waiting = (
                await session.scalars(
                    select(Step.course_id).where(
                        Step.key == SERVER_STEP, Step.external_id.is_(None)
                    )
                )
            ).all()
            bound = await session.scalar(
                select(Step).where(Step.key == SERVER_STEP, Step.external_id == guild_id)
            )
            if bound is not None:
                course = await session.get(Course, bound.course_id)
                assert course is not None
                if _matches(self._secret, code, bound.course_id):
                    return ClaimResult(bound.course_id, _name(course), already_claimed=True)
                raise ServerTakenError(
                    f"this server is already the server of {_name(course)}; create a new "
                    "server for another course"
                )
            course_id = course_id_from_code(self._secret, code, waiting)
            step = await session.scalar(
                select(Step)
                .where(Step.course_id == course_id, Step.key == SERVER_STEP)
                .with_for_update()
            )
            course = await session.get(Course, course_id)
            assert step is not None
            assert course is not None
            step.external_id = guild_id
            step.state = "pending"
            step.attempts = 0
            step.next_attempt_at = now
            step.last_error = step.last_error_code = step.action_hint = None
            step.updated_at = now
            await audit_chain.append(
                session,
                audit_chain.AuditEntry(
                    at=now,
                    actor=f"discord:{user_id}",
                    kind="event",
                    event="discord.claimed",
                    course_id=course_id,
                    step_key=SERVER_STEP,
                    request_summary={"guild_id": guild_id},
                ),
            )
        log.info("server claimed", extra={"course_id": course_id, "guild_id": guild_id})
        self._on_change()
        return ClaimResult(course_id, _name(course))


def _matches(secret: bytes, code: str, course_id: str) -> bool:
    try:
        course_id_from_code(secret, code, [course_id])
    except ProvisioningError:
        return False
    return True


def _name(course: Course) -> str:
    return f"{course.code} {course.term}"
