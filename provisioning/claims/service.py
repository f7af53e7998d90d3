"""Binding a Discord server to a course: the `/course claim <code>` service.

The bot cannot create servers, so the `discord.server` step waits until a person creates one,
adds the bot and claims it with the course's code. Claiming stores the guild id as the step's
external id and sends the step back to pending; the runner then verifies the bot's access and
the Discord steps go on.

One server per course, one course per server, even when claims race: the decision is taken on
the course's locked step row (re-read after the lock), and a partial unique index on the guild
id of bound server steps refuses the second of two courses claiming one guild at once.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import audit_chain
from db.models import Course, Step
from provisioning.claims.codes import SERVER_STEP, ClaimResult, course_id_from_code
from provisioning.clock import Clock
from provisioning.discord.server_count import ServerCount, claim_notice
from provisioning.errors import ProvisioningError

log = logging.getLogger(__name__)


class ServerTakenError(ProvisioningError):
    """The server, or the course, is bound already."""

    status = 409
    title = "Already claimed"


class DatabaseClaimService:
    """Implements `provisioning.claims.codes.ClaimService` on the database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        secret: bytes,
        clock: Clock,
        on_change: Callable[[], None] = lambda: None,
        servers: Callable[[], Awaitable[ServerCount]] | None = None,
    ) -> None:
        self._sessions = sessions
        self._secret = secret
        self._clock = clock
        self._on_change = on_change
        self._servers = servers

    async def claim(self, code: str, guild_id: str, user_id: str) -> ClaimResult:
        result = await self._bind(code, guild_id, user_id)
        return dataclasses.replace(result, server_notice=await self._server_notice())

    async def _server_notice(self) -> str | None:
        """Near or at the cap of unverified apps, the claim's answer says so: the next
        course may not get the bot into its server."""
        if self._servers is None:
            return None
        try:
            return claim_notice(await self._servers())
        except ProvisioningError:
            # The claim is made; only the count could not be read (it is watched anyway).
            log.warning("could not read the bot's server count after a claim", exc_info=True)
            return None

    async def _bind(self, code: str, guild_id: str, user_id: str) -> ClaimResult:
        try:
            return await self._claim(code, guild_id, user_id)
        except IntegrityError:
            # A concurrent claim bound this guild to another course first: the partial unique
            # index on bound `discord.server` steps decided, whatever each claim had read.
            async with self._sessions() as session:
                bound = await session.scalar(
                    select(Step).where(Step.key == SERVER_STEP, Step.external_id == guild_id)
                )
                if bound is None:
                    raise
                return await self._already_bound(session, bound, code)

    async def _claim(self, code: str, guild_id: str, user_id: str) -> ClaimResult:
        now = self._clock.now()
        async with self._sessions.begin() as session:
            if session.get_bind().dialect.name == "sqlite":
                # SQLite ignores FOR UPDATE and begins lazily: a no-op write takes its one write
                # lock first, so concurrent claims run one after the other and see each other.
                await session.execute(text("UPDATE steps SET id = id WHERE 1 = 0"))
            bound = await session.scalar(
                select(Step).where(Step.key == SERVER_STEP, Step.external_id == guild_id)
            )
            if bound is not None:
                return await self._already_bound(session, bound, code)
            # Every course with a server step, bound or not: a code of a course bound to
            # another server is refused as such below, not as an unknown code.
            candidates = (
                await session.scalars(select(Step.course_id).where(Step.key == SERVER_STEP))
            ).all()
            course_id = course_id_from_code(self._secret, code, candidates)
            # What was read above may be stale by now: decide on the locked row.
            step = await session.scalar(
                select(Step)
                .where(Step.course_id == course_id, Step.key == SERVER_STEP)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            course = await session.get(Course, course_id)
            assert step is not None
            assert course is not None
            if step.external_id == guild_id:
                return ClaimResult(course_id, _name(course), already_claimed=True)
            if step.external_id is not None:
                raise ServerTakenError(
                    f"{_name(course)} is already bound to another Discord server; a course "
                    "has one server (see /course status), so use this server for another course"
                )
            step.external_id = guild_id
            step.state = "pending"
            step.attempts = 0
            step.next_attempt_at = now
            # A runner may be checking the unclaimed step right now: taking its lease makes
            # its answer (the step still waits for a claim) count for nothing.
            step.lease_owner = step.lease_expires_at = None
            step.last_error = step.last_error_code = step.action_hint = None
            step.updated_at = now
            await session.flush()
            await audit_chain.append_event(
                session,
                at=now,
                actor=f"discord:{user_id}",
                event="discord.claimed",
                course_id=course_id,
                step_key=SERVER_STEP,
                summary={"guild_id": guild_id},
            )
        log.info("server claimed", extra={"course_id": course_id, "guild_id": guild_id})
        self._on_change()
        return ClaimResult(course_id, _name(course))

    async def _already_bound(self, session: AsyncSession, bound: Step, code: str) -> ClaimResult:
        """This guild is some course's server: the same course again, or `ServerTakenError`."""
        course = await session.get(Course, bound.course_id)
        assert course is not None
        if _matches(self._secret, code, bound.course_id):
            return ClaimResult(bound.course_id, _name(course), already_claimed=True)
        raise ServerTakenError(
            f"this server is already the server of {_name(course)}; create a new "
            "server for another course"
        )


def _matches(secret: bytes, code: str, course_id: str) -> bool:
    try:
        course_id_from_code(secret, code, [course_id])
    except ProvisioningError:
        return False
    return True


def _name(course: Course) -> str:
    return f"{course.code} {course.term}"
