"""`discord.member-unrole`: someone the course no longer lists loses the course roles it gave.

The removal of a `discord.member-role` step (a staff member's role, its external id
`<user id>:<role id>`) or of a `discord.student-roles` step (the Student and group roles in its
facts). The member is read first and a role removed only when they hold it; someone who left
the server has nothing to remove. A re-run writes nothing.
"""

from __future__ import annotations

from provisioning.discord.steps.common import UNKNOWN_MEMBER, guild_id, raise_translated, reason
from provisioning.errors import PlatformError
from provisioning.step import StepContext, StepResult


async def ensure(ctx: StepContext) -> StepResult:
    guild = guild_id(ctx)
    user_id, role_ids = ctx.params["user_id"], [str(r) for r in ctx.params["role_ids"]]
    result = StepResult(ctx.external_id or user_id, {"guild_id": guild, "removed": role_ids})
    try:
        member = await ctx.discord.get_member(guild, user_id)
    except PlatformError as exc:
        if exc.code == UNKNOWN_MEMBER:
            return result
        raise
    try:
        for role_id in role_ids:
            if role_id in member.role_ids:
                await ctx.discord.remove_member_role(guild, user_id, role_id, reason=reason(ctx))
    except PlatformError as exc:
        raise_translated(exc, roles=True)
    return result
