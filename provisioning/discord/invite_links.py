"""The course's invite links as staff see them: link, what joining grants, when it expires.

Invite codes are never stored (only their hashes, `provisioning.discord.steps.invite`): the
links are read from Discord when staff ask, matched to the course's invite steps by hash, and
go only into the asking staff member's ephemeral reply, never into a log.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from provisioning.courses.views import CourseStatus
from provisioning.discord.gateway import DiscordGateway
from provisioning.discord.steps.invite import live_by_hash
from provisioning.errors import ProvisioningError

SERVER_STEP = "discord.server"
INVITE_PREFIX = "discord.invite:"


class NoServerYetError(ProvisioningError):
    """The course has no Discord server yet, so no invites."""

    status = 409
    title = "No invites yet"


@dataclass(frozen=True)
class InviteLink:
    """One invite of the course. `url` is meant for students: show it only to staff."""

    name: str  # the invite step's name: "students" or a lab group
    url: str | None  # None when it is not made yet or gone (expired, used up, deleted)
    grants: list[str]
    uses: int
    max_uses: int
    expires_at: datetime | None
    # False while its step has not made it (the claim came, the step has not run yet): not
    # "gone", which asks staff to act; it comes by itself.
    made: bool = True


def links_version(status: CourseStatus) -> str:
    """What the course's invite links depend on, as a short digest: the server's id and the
    invite each invite step made. A page showing the links reads them again (two calls to
    Discord) only when it changes, not at every step of the course."""
    parts = [
        f"{step.key}={step.external_id or ''}"
        for step in status.steps
        if step.key == SERVER_STEP or step.key.startswith(INVITE_PREFIX)
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


class CourseStatusReader(Protocol):
    async def status(self, course_id: str) -> CourseStatus: ...


class InviteLinks:
    """Reads a course's invites from Discord."""

    def __init__(self, courses: CourseStatusReader, discord: DiscordGateway, base_url: str) -> None:
        self._courses = courses
        self._discord = discord
        # "https://discord.gg/", or the sandbox's join page in development.
        self._base_url = base_url

    async def links(self, course_id: str, status: CourseStatus | None = None) -> list[InviteLink]:
        """The course's invite links; `status`: the course's, when the caller just read it (a
        page does), so it is not read twice."""
        if status is None:
            status = await self._courses.status(course_id)
        server = next((s for s in status.steps if s.key == SERVER_STEP), None)
        if server is None or server.external_id is None:
            raise NoServerYetError(
                "the course's Discord server is not claimed yet: the invites are made after "
                "the claim (see /course status)"
            )
        guild = server.external_id
        roles = {r.id: r.name for r in await self._discord.list_roles(guild)}
        # The server's invites, read once for all the steps (a page re-reads them live).
        live = live_by_hash(await self._discord.list_invites(guild))
        links = []
        for step in status.steps:
            if not step.key.startswith(INVITE_PREFIX):
                continue
            name = step.key.removeprefix(INVITE_PREFIX)
            if step.external_id is None:
                links.append(InviteLink(name, None, [], 0, 0, None, made=False))
                continue
            invite = live.get(step.external_id)
            if invite is None:
                links.append(InviteLink(name, None, [], 0, 0, None))
                continue
            links.append(
                InviteLink(
                    name=name,
                    url=f"{self._base_url}{invite.code}",
                    grants=sorted(roles.get(r, r) for r in invite.role_ids),
                    uses=invite.uses,
                    max_uses=invite.max_uses,
                    expires_at=invite.expires_at,
                )
            )
        return links
