"""`discord.revoke-invite`: the invite link of a removed lab group stops working.

The removal of a `discord.invite` step, whose external id is the hash of the invite's code (the
code itself is never stored): the guild's live invites are listed and the one with that hash is
deleted. Gone already (expired, used up, deleted): nothing is written.
"""

from __future__ import annotations

from provisioning.discord.steps.common import guild_id, reason
from provisioning.errors import PlatformError
from provisioning.step import StepContext, StepResult

UNKNOWN_INVITE = 10006


async def ensure(ctx: StepContext) -> StepResult:
    guild = guild_id(ctx)
    for invite in await ctx.discord.list_invites(guild):
        if invite.code_hash == ctx.external_id:
            try:
                await ctx.discord.delete_invite(invite.code, reason=reason(ctx))
            except PlatformError as exc:
                # Expired or deleted between the list and the delete: revoked all the same.
                if exc.code != UNKNOWN_INVITE:
                    raise
    return StepResult(ctx.external_id or "", {"guild_id": guild, "revoked": True})
