"""What a Discord user may see on the status page, from their roles (DESIGN.md §8).

The admin role in the admin server may do everything. A course's own Instructor and TA roles,
in the server that course claimed, see that course; its instructors may also retry it. Roles
are read the way the product reads everything on Discord: the bot's REST view of the member.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Step
from provisioning.discord.gateway import DiscordGateway, Member
from provisioning.errors import PlatformError, ProvisioningError

log = logging.getLogger(__name__)

_KEYS = ("discord.server", "discord.role:instructor", "discord.role:ta")


class SignInError(ProvisioningError):
    """Discord refused the sign-in code or did not answer; the detail says what to do."""

    status = 502
    title = "Sign-in with Discord failed"


@dataclass(frozen=True)
class DiscordPerson:
    """Who signed in with Discord."""

    id: str
    name: str


class DiscordIdentity(Protocol):
    """Sign in with Discord (OAuth2 authorization code, `identify`): `clients.discord.oauth`."""

    def authorize_url(self, client_id: str, redirect_uri: str, state: str) -> str: ...

    async def identify(self, client_id: str, code: str, redirect_uri: str) -> DiscordPerson:
        """Who brought `code` back, or SignInError."""
        ...


@dataclass(frozen=True)
class StaffRights:
    """`admin`: everything. Otherwise the courses (ids) the user instructs and assists."""

    admin: bool
    instructs: frozenset[str] = field(default_factory=frozenset)
    assists: frozenset[str] = field(default_factory=frozenset)

    @property
    def any(self) -> bool:
        return self.admin or bool(self.instructs or self.assists)


class StaffRightsService:
    """Reads the steps' stored ids (which server, which roles) and asks Discord for the member."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        discord: DiscordGateway,
        *,
        admin_guild_id: str | None,
        admin_role: str,
    ) -> None:
        self._sessions = sessions
        self._discord = discord
        self._admin_guild_id = admin_guild_id
        self._admin_role = admin_role

    @property
    def admin_role(self) -> str:
        return self._admin_role

    async def rights_of(self, user_id: str) -> StaffRights:
        if await self._is_admin(user_id):
            return StaffRights(admin=True)
        instructs: set[str] = set()
        assists: set[str] = set()
        members: dict[str, Member | None] = {}
        for course_id, ids in (await self._course_servers()).items():
            guild = ids.get("discord.server")
            if guild is None:
                continue
            if guild not in members:
                members[guild] = await self._member(guild, user_id)
            member = members[guild]
            if member is None:
                continue
            if ids.get("discord.role:instructor") in member.role_ids:
                instructs.add(course_id)
            elif ids.get("discord.role:ta") in member.role_ids:
                assists.add(course_id)
        return StaffRights(False, frozenset(instructs), frozenset(assists))

    async def _is_admin(self, user_id: str) -> bool:
        if self._admin_guild_id is None:
            return False
        member = await self._member(self._admin_guild_id, user_id)
        if member is None:
            return False
        roles = await self._discord.list_roles(self._admin_guild_id)
        return any(r.name == self._admin_role and r.id in member.role_ids for r in roles)

    async def _member(self, guild_id: str, user_id: str) -> Member | None:
        try:
            return await self._discord.get_member(guild_id, user_id)
        except PlatformError as exc:
            if exc.status in (403, 404):  # not a member, or the bot left that server
                return None
            raise

    async def _course_servers(self) -> dict[str, dict[str, str]]:
        """Per course with a claimed server: the server's id and its staff roles' ids."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(Step.course_id, Step.key, Step.external_id).where(
                    Step.key.in_(_KEYS), Step.external_id.is_not(None)
                )
            )
        found: defaultdict[str, dict[str, str]] = defaultdict(dict)
        for course_id, key, external_id in rows:
            if external_id is not None:
                found[course_id][key] = external_id
        return dict(found)
