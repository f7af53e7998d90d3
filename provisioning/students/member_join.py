"""The member-join fallback: someone joins a course's server some other way than the join page
(a plain invite link, an old link). A person whose Discord id the roster holds gets their
roles; anyone else gets nothing and is listed for staff (an audit event), never guessed at.

Needs the privileged GUILD_MEMBERS intent (PLATFORM.md §1.13): without it Discord sends no
member events and this never runs (the join page and the group invite links still work).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import audit_chain
from db.models import AuditEvent, Member, Step
from provisioning import audit_context
from provisioning.clock import Clock
from provisioning.discord.gateway import DiscordGateway
from provisioning.students.member_roles import SERVER_STEP, role_keys, server_and_roles

log = logging.getLogger(__name__)
ACTOR = "member-join"
UNKNOWN_EVENT = "discord.unknown_member_joined"
Outcome = Literal["roles_given", "roles_pending", "unknown", "not_ours"]


@dataclass(frozen=True)
class UnknownJoiner:
    """Someone who joined a course's server and is on nobody's roster line."""

    user_id: str
    name: str
    at: str


class MemberJoins:
    """Handles GUILD_MEMBER_ADD for the course servers."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], discord: DiscordGateway, clock: Clock
    ) -> None:
        self._sessions = sessions
        self._discord = discord
        self._clock = clock

    async def joined(self, guild_id: str, user_id: str, name: str) -> Outcome:
        async with self._sessions() as session:
            course_id = await session.scalar(
                select(Step.course_id).where(
                    Step.key == SERVER_STEP, Step.external_id == guild_id, Step.state == "succeeded"
                )
            )
            if course_id is None:
                return "not_ours"
            member = await session.scalar(
                select(Member)
                .where(Member.course_id == course_id, Member.discord_id == user_id)
                .limit(1)
            )
            if member is None:
                await self._unknown(session, course_id, user_id, name)
                await session.commit()
                return "unknown"
            _, role_ids = await server_and_roles(
                session, course_id, role_keys(member.role, member.group)
            )
        if role_ids is None:
            # The roles are still being made; the member-role steps (staff) or the person's
            # next visit to the join page give them later.
            return "roles_pending"
        scope = audit_context.current.set(audit_context.AuditContext(ACTOR, course_id))
        try:
            current = await self._discord.get_member(guild_id, user_id)
            for role_id in role_ids:
                if role_id not in current.role_ids:
                    await self._discord.add_member_role(
                        guild_id, user_id, role_id, reason="course roster: member joined"
                    )
        finally:
            audit_context.current.reset(scope)
        log.info("roster member joined; roles given", extra={"course_id": course_id})
        return "roles_given"

    async def unknown_joiners(self, course_id: str, limit: int = 50) -> list[UnknownJoiner]:
        """Who joined the course's server without being on the roster, newest first."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.course_id == course_id, AuditEvent.event == UNKNOWN_EVENT)
                    .order_by(AuditEvent.id.desc())
                    .limit(limit)
                )
            ).all()
        return [
            UnknownJoiner(
                user_id=str((r.request_summary or {}).get("user_id")),
                name=str((r.request_summary or {}).get("name")),
                at=r.at.isoformat(),
            )
            for r in rows
        ]

    async def _unknown(
        self, session: AsyncSession, course_id: str, user_id: str, name: str
    ) -> None:
        await audit_chain.append_event(
            session,
            at=self._clock.now(),
            actor=ACTOR,
            event=UNKNOWN_EVENT,
            course_id=course_id,
            summary={"user_id": user_id, "name": name[:100]},
        )
        log.info("unknown member joined a course server", extra={"course_id": course_id})
