"""`discord.student-roles`: a student known on Discord holds the Student role and their group's.

Students join with an invite link that grants those roles; this step keeps them right after
that, when the description changes: a student moved to another group loses the old group's
role (whose channel they then no longer see) and gets the new one. Only roles this step granted
or counted before (its facts) are ever taken away: roles people gave by hand stay. A student
not in the server yet is no one's job here: the invite gives the roles on join. A re-run of a
finished course writes nothing.
"""

from __future__ import annotations

import logging

from provisioning.discord.steps.common import UNKNOWN_MEMBER, guild_id, raise_translated, reason
from provisioning.errors import PlatformError
from provisioning.step import StepContext, StepResult

log = logging.getLogger(__name__)


async def ensure(ctx: StepContext) -> StepResult:
    guild = guild_id(ctx)
    user_id: str = ctx.params["user_id"]
    wanted = [ctx.resolve(key) for key in ctx.params["roles"]]
    before = [str(r) for r in ctx.facts.get("role_ids", [])]
    result = StepResult(user_id, {"guild_id": guild, "role_ids": wanted})
    try:
        member = await ctx.discord.get_member(guild, user_id)
    except PlatformError as exc:
        if exc.code == UNKNOWN_MEMBER:
            return StepResult(user_id, {**result.facts, "joined": False})
        raise
    marker = reason(ctx)
    try:
        for role_id in before:
            if role_id not in wanted and role_id in member.role_ids:
                await ctx.discord.remove_member_role(guild, user_id, role_id, reason=marker)
        for role_id in wanted:
            if role_id not in member.role_ids:
                await ctx.discord.add_member_role(guild, user_id, role_id, reason=marker)
    except PlatformError as exc:
        raise_translated(exc, roles=True)
    return StepResult(user_id, {**result.facts, "joined": True})
