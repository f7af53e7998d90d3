"""`discord.member-role`: a staff member who is in the server gets their role.

GET the member first and skip when the role is there (a re-run writes nothing); the PUT is
idempotent anyway. Someone not in the server yet is a person's job: they must join first.
"""

from __future__ import annotations

import logging

from provisioning.discord.steps.common import (
    UNKNOWN_MEMBER,
    guild_id,
    hierarchy_error,
    raise_translated,
    reason,
)
from provisioning.errors import ActionRequiredError, PlatformError, StepFailedError
from provisioning.step import StepContext, StepResult

log = logging.getLogger(__name__)


def _person(ctx: StepContext, user_id: str) -> str:
    for member in ctx.spec.staff:
        if member.discord_id == user_id:
            return member.name
    return f"the Discord user {user_id}"


async def ensure(ctx: StepContext) -> StepResult:
    gateway = ctx.discord
    guild = guild_id(ctx)
    user_id: str = ctx.params["user_id"]
    role_id = ctx.resolve(ctx.params["role"])
    result = StepResult(f"{user_id}:{role_id}", {"guild_id": guild})
    try:
        member = await gateway.get_member(guild, user_id)
    except PlatformError as exc:
        if exc.code == UNKNOWN_MEMBER:
            name = _person(ctx, user_id)
            raise ActionRequiredError(
                "discord.not_member", f"ask {name} to join the server, then retry"
            ) from exc
        raise
    if role_id in member.role_ids:
        return result
    standing = await gateway.bot_standing(guild)
    role = next((r for r in standing.guild.roles if r.id == role_id), None)
    if role is None:
        raise StepFailedError(
            f"the role of {ctx.params['role']} no longer exists in the server; retry the "
            "course: it re-checks every finished step and recreates what was deleted"
        )
    if role.position >= standing.top_role_position and not standing.is_owner:
        raise hierarchy_error()
    try:
        await gateway.add_member_role(guild, user_id, role_id, reason=reason(ctx))
    except PlatformError as exc:
        raise_translated(exc, roles=True)
    log.info("role granted", extra={"step": ctx.step.key})
    return result
