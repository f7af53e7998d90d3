"""`discord.settings`: the claimed server gets the course's name (`CS101 · Title · Term`)."""

from __future__ import annotations

import logging

from provisioning.discord.steps.common import guild_id, raise_translated, reason
from provisioning.errors import PlatformError
from provisioning.step import StepContext, StepResult

log = logging.getLogger(__name__)


async def ensure(ctx: StepContext) -> StepResult:
    guild_ref = guild_id(ctx)
    name: str = ctx.params["name"]
    guild = await ctx.discord.get_guild(guild_ref)
    if guild.name != name:
        log.info("renaming server", extra={"guild_id": guild_ref})
        try:
            guild = await ctx.discord.modify_guild(guild_ref, name=name, reason=reason(ctx))
        except PlatformError as exc:
            raise_translated(exc)
    return StepResult(guild_ref, {"guild_id": guild_ref, "name": guild.name})
