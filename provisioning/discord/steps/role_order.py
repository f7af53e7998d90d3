"""`discord.role-order`: the course roles in plan order (Instructor on top), below the bot.

A role the bot cannot move (at or above its own top role) needs the server owner: the step
waits with the hierarchy message instead of failing on 50013.
"""

from __future__ import annotations

import itertools
import logging

from provisioning.discord.gateway import Role
from provisioning.discord.steps.common import guild_id, hierarchy_error, raise_translated, reason
from provisioning.errors import PlatformError, StepFailedError
from provisioning.step import StepContext, StepResult

log = logging.getLogger(__name__)


def _rank(role: Role) -> tuple[int, int]:
    # Discord's order: position, then id for equal positions (PLATFORM.md §1.4).
    return (role.position, int(role.id))


def in_order(roles: dict[str, Role], order: list[str], top: int | None) -> bool:
    """Each role below the one before it in `order`, and all below the bot's `top` role."""
    ranks = [_rank(roles[r]) for r in order]
    below = top is None or all(roles[r].position < top for r in order)
    return below and all(a > b for a, b in itertools.pairwise(ranks))


async def ensure(ctx: StepContext) -> StepResult:
    gateway = ctx.discord
    guild = guild_id(ctx)
    order = [ctx.resolve(key) for key in ctx.params["order"]]
    standing = await gateway.bot_standing(guild)
    roles = {r.id: r for r in standing.guild.roles}
    missing = [key for key, rid in zip(ctx.params["order"], order, strict=True) if rid not in roles]
    if missing:
        # A role deleted by hand since its step ran. A retry of the course re-runs every
        # finished step, the role steps before this one, and they recreate it.
        raise StepFailedError(
            f"the role of {', '.join(missing)} no longer exists in the server; retry the "
            "course: it re-checks every finished step and recreates what was deleted"
        )
    top = standing.top_role_position
    if not in_order(roles, order, top):
        if not standing.is_owner and any(roles[r].position >= top for r in order):
            raise hierarchy_error()
        # Top down, each just below the previous: valid whatever else sits in between.
        positions = [(rid, top - 1 - i) for i, rid in enumerate(order)]
        log.info("reordering roles", extra={"guild_id": guild, "count": len(order)})
        try:
            moved = await gateway.modify_role_positions(guild, positions, reason=reason(ctx))
        except PlatformError as exc:
            raise_translated(exc, roles=True)
        roles = {r.id: r for r in moved} or roles
        # The bot's own role moves too as roles are renumbered: check the relative order only.
        if not in_order(roles, order, None):
            raise PlatformError("discord", 409, "Discord did not apply the role order yet")
    return StepResult(guild, {"guild_id": guild, "order": order})
