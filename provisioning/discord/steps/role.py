"""`discord.role`: one course role (Instructor, TA, Student, a lab group).

Roles carry no free-text field, so the name is the tag (PLATFORM.md §1.4): found by the stored
id, else by exact name, else created. Permissions, hoist and mentionable are repaired when they
drift, which needs the role below the bot's top role.
"""

from __future__ import annotations

import logging
from typing import Any

from provisioning.discord.gateway import AUDIT_ROLE_CREATE, Created, Role
from provisioning.discord.steps.common import (
    adopt,
    create_once,
    guild_id,
    hierarchy_error,
    raise_translated,
    reason,
)
from provisioning.errors import PlatformError
from provisioning.step import StepContext, StepResult

log = logging.getLogger(__name__)


async def ensure(ctx: StepContext) -> StepResult:
    gateway, params = ctx.discord, ctx.params
    guild = guild_id(ctx)
    name: str = params["name"]
    permissions = int(params.get("permissions", 0))
    hoist = bool(params.get("hoist", False))
    mentionable = bool(params.get("mentionable", False))
    wanted: dict[str, Any] = {
        "permissions": permissions,
        "hoist": hoist,
        "mentionable": mentionable,
    }
    marker = reason(ctx)
    roles = await gateway.list_roles(guild)
    same_name = [r for r in roles if r.name == name and not r.managed]

    async def delete(extra: Role) -> None:
        await gateway.delete_role(guild, extra.id, reason=marker)

    # Roles are tagged by name only, so same-name roles in the course's server are ours.
    by_id = next((r for r in roles if r.id == ctx.external_id), None)
    role = await adopt(by_id, same_name, marker=marker, delete=delete)
    if role is None:

        async def create() -> Created[Role]:
            return await gateway.create_role(
                guild,
                name=name,
                permissions=permissions,
                hoist=hoist,
                mentionable=mentionable,
                reason=marker,
            )

        async def relist() -> list[Role]:
            return [r for r in await gateway.list_roles(guild) if r.name == name]

        role = await create_once(
            gateway,
            guild,
            create=create,
            relist=relist,
            action_type=AUDIT_ROLE_CREATE,
            marker=marker,
            delete=delete,
            roles=True,
        )
        log.info("role created", extra={"step": ctx.step.key, "role_id": role.id})
    else:
        role = await _repair(ctx, guild, role, name, wanted, marker)
    return StepResult(role.id, {"guild_id": guild, "name": role.name})


async def _repair(
    ctx: StepContext, guild: str, role: Role, name: str, wanted: dict[str, Any], marker: str
) -> Role:
    changes = {k: v for k, v in wanted.items() if getattr(role, k) != v}
    if role.name != name:
        changes["name"] = name
    if not changes:
        return role
    standing = await ctx.discord.bot_standing(guild)
    if role.position >= standing.top_role_position and not standing.is_owner:
        raise hierarchy_error()
    log.info("repairing role", extra={"role_id": role.id, "fields": sorted(changes)})
    try:
        return await ctx.discord.modify_role(guild, role.id, reason=marker, **changes)
    except PlatformError as exc:
        raise_translated(exc, roles=True)
