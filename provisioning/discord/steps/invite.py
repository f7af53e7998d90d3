"""`discord.invite`: a live invite that grants the course roles on join.

The code is a secret meant for students (DESIGN.md §5): it is never stored, logged or returned;
the step keeps its sha256 as the external id. Whoever hands the link out reads the live invite
from Discord (`live_by_hash`). Discord drops expired and used-up invites from the guild's
list, so "listed" means "live".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from provisioning.discord.gateway import Created, DiscordGateway, Invite
from provisioning.discord.steps.common import (
    ambiguous,
    guild_id,
    raise_translated,
    reason,
)
from provisioning.errors import PlatformError
from provisioning.step import StepContext, StepResult

log = logging.getLogger(__name__)


def _live(invite: Invite) -> bool:
    return invite.max_uses == 0 or invite.uses < invite.max_uses


def live_by_hash(invites: Iterable[Invite]) -> dict[str, Invite]:
    """The live ones of a server's `invites`, by the hash of their code (the invite steps'
    external id), to show their links to staff."""
    return {i.code_hash: i for i in invites if _live(i)}


async def ensure(ctx: StepContext) -> StepResult:
    gateway, params = ctx.discord, ctx.params
    guild = guild_id(ctx)
    channel = ctx.resolve(params["channel"])
    roles = frozenset(ctx.resolve(key) for key in params.get("roles", []))
    max_age, max_uses = int(params["max_age"]), int(params["max_uses"])
    bot = await gateway.bot_user_id()
    marker = reason(ctx)

    def ours(invite: Invite) -> bool:
        # Same channel, roles and size, made by the bot: the same invite for our purpose.
        return (
            _live(invite)
            and invite.channel_id == channel
            and invite.inviter_id == bot
            and invite.role_ids == roles
            and invite.max_uses == max_uses
        )

    invites = await gateway.list_invites(guild)
    invite = next((i for i in invites if ours(i) and i.code_hash == ctx.external_id), None)
    if invite is None:
        # Adopt: an earlier attempt may have created it and died before its id was stored.
        invite = max((i for i in invites if ours(i)), key=_expiry, default=None)
    if invite is None:

        async def create() -> Created[Invite]:
            return await gateway.create_invite(
                channel,
                max_age=max_age,
                max_uses=max_uses,
                unique=True,
                role_ids=sorted(roles),
                reason=marker,
            )

        invite = await _create_one(gateway, guild, create, ours, marker)
        log.info("invite created", extra={"step": ctx.step.key, "channel_id": channel})
    facts = {
        "guild_id": guild,
        "channel_id": channel,
        "role_ids": sorted(invite.role_ids),
        "max_uses": invite.max_uses,
        "expires_at": None if invite.expires_at is None else invite.expires_at.isoformat(),
    }
    return StepResult(invite.code_hash, facts)


def _expiry(invite: Invite) -> float:
    return float("inf") if invite.expires_at is None else invite.expires_at.timestamp()


async def _create_one(
    gateway: DiscordGateway,
    guild: str,
    create: Callable[[], Awaitable[Created[Invite]]],
    ours: Callable[[Invite], bool],
    marker: str,
) -> Invite:
    """Create; after a lost or re-sent create, keep one matching invite and delete the rest.

    Before the create no matching invite was live (else it was adopted), so every match now
    is ours: no audit-log lookup is needed (and invite entries name no target id anyway).
    """
    try:
        created = await create()
    except PlatformError as exc:
        if not ambiguous(exc):
            raise_translated(exc, roles=True)
        found = [i for i in await gateway.list_invites(guild) if ours(i)]
        if not found:
            raise
        return await _keep(gateway, found, None, marker)
    if not created.resent:
        return created.value
    found = [i for i in await gateway.list_invites(guild) if ours(i)]
    if not found:
        return created.value
    return await _keep(gateway, found, created.value.code_hash, marker)


async def _keep(
    gateway: DiscordGateway, found: list[Invite], preferred: str | None, marker: str
) -> Invite:
    keep = next((i for i in found if i.code_hash == preferred), max(found, key=_expiry))
    for extra in found:
        if extra.code_hash != keep.code_hash:
            log.warning("deleting a duplicate invite we created")
            await gateway.delete_invite(extra.code, reason=marker)
    return keep
