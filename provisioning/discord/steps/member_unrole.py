"""`discord.member-unrole`: a staff member the course no longer lists loses their course role.

The removal of a `discord.member-role` step, whose external id is `<user id>:<role id>`. The
member is read first and the role removed only when they hold it; someone who left the server
has nothing to remove. A re-run writes nothing.
"""

from __future__ import annotations

from provisioning.discord.steps.common import UNKNOWN_MEMBER, guild_id, raise_translated, reason
from provisioning.errors import PlatformError
from provisioning.step import StepContext, StepResult


async def ensure(ctx: StepContext) -> StepResult:
    guild = guild_id(ctx)
    user_id, role_id = ctx.params["user_id"], ctx.params["role_id"]
    result = StepResult(f"{user_id}:{role_id}", {"guild_id": guild, "removed": True})
    try:
        member = await ctx.discord.get_member(guild, user_id)
    except PlatformError as exc:
        if exc.code == UNKNOWN_MEMBER:
            return result
        raise
    if role_id in member.role_ids:
        try:
            await ctx.discord.remove_member_role(guild, user_id, role_id, reason=reason(ctx))
        except PlatformError as exc:
            raise_translated(exc, roles=True)
    return result
