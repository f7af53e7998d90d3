"""`discord.hidden-channel`: the channel of a removed lab group, hidden from students.

The removal of a `discord.channel` step. The channel is kept, with its messages, for staff: its
overwrites become the planned ones without the group's role (`@everyone` still denied, staff and
the bot still allowed), so the group's students no longer see it. A channel deleted by hand is
left deleted: hiding never creates anything. Already hidden: nothing is written.
"""

from __future__ import annotations

from provisioning.discord.steps.channel import desired_overwrites, same_overwrites
from provisioning.discord.steps.common import guild_id, raise_translated, reason
from provisioning.errors import PlatformError
from provisioning.step import StepContext, StepResult


async def ensure(ctx: StepContext) -> StepResult:
    guild = guild_id(ctx)
    channels = await ctx.discord.list_channels(guild)
    channel = next((c for c in channels if c.id == ctx.external_id), None)
    if channel is None:
        return StepResult(ctx.external_id or "", {"guild_id": guild, "hidden": None})
    wanted = desired_overwrites(ctx, guild, await ctx.discord.bot_user_id())
    if not same_overwrites(channel.overwrites, wanted):
        try:
            channel = await ctx.discord.modify_channel(
                channel.id, overwrites=wanted, reason=reason(ctx)
            )
        except PlatformError as exc:
            raise_translated(exc)
    return StepResult(channel.id, {"guild_id": guild, "name": channel.name, "hidden": True})
