"""`discord.category` and `discord.channel`: a category or text channel with its overwrites.

Found by the stored id, else by normalized name + type + parent (PLATFORM.md §1.5: Discord
lowercases text channel names), else created. Name, topic, parent and the overwrite set are
repaired when they drift; the position is only set at creation, so people may reorder channels.
Overwrite targets: "@everyone" is the guild id (a role), "@bot" the bot user (a member), any
other target a role step's key.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from provisioning.discord.gateway import (
    AUDIT_CHANNEL_CREATE,
    CATEGORY,
    MEMBER_TARGET,
    ROLE_TARGET,
    TEXT,
    Channel,
    Created,
    Overwrite,
)
from provisioning.discord.steps.common import (
    adopt,
    create_once,
    guild_id,
    raise_translated,
    reason,
)
from provisioning.errors import PlatformError
from provisioning.plan import BOT, EVERYONE
from provisioning.step import StepContext, StepResult

log = logging.getLogger(__name__)

_SPACES = re.compile(r"\s+")


def normalize(name: str) -> str:
    """How Discord shows a channel name: lower case, spaces as hyphens."""
    return _SPACES.sub("-", name.strip().lower())


def desired_overwrites(ctx: StepContext, guild: str, bot_id: str) -> tuple[Overwrite, ...]:
    out = []
    for item in ctx.params.get("overwrites", []):
        target, allow, deny = item["target"], int(item["allow"]), int(item["deny"])
        if target == EVERYONE:
            out.append(Overwrite(guild, ROLE_TARGET, allow, deny))
        elif target == BOT:
            out.append(Overwrite(bot_id, MEMBER_TARGET, allow, deny))
        else:
            out.append(Overwrite(ctx.resolve(target), ROLE_TARGET, allow, deny))
    return tuple(out)


def same_overwrites(a: tuple[Overwrite, ...], b: tuple[Overwrite, ...]) -> bool:
    def key(items: tuple[Overwrite, ...]) -> dict[tuple[str, int], tuple[int, int]]:
        return {(o.id, o.type): (o.allow, o.deny) for o in items}

    return key(a) == key(b)


async def ensure_category(ctx: StepContext) -> StepResult:
    return await _ensure(ctx, CATEGORY)


async def ensure_channel(ctx: StepContext) -> StepResult:
    return await _ensure(ctx, TEXT)


async def _ensure(ctx: StepContext, kind: int) -> StepResult:
    gateway, params = ctx.discord, ctx.params
    guild = guild_id(ctx)
    bot_id = await gateway.bot_user_id()
    name: str = params["name"]
    parent = ctx.resolve(params["parent"]) if params.get("parent") else None
    topic: str | None = params.get("topic") if kind != CATEGORY else None
    overwrites = desired_overwrites(ctx, guild, bot_id)
    marker = reason(ctx)

    def matches(channel: Channel) -> bool:
        return (
            channel.type == kind
            and channel.parent_id == parent
            and normalize(channel.name) == normalize(name)
        )

    channels = await gateway.list_channels(guild)
    matching = [c for c in channels if matches(c)]

    async def delete(channel: Channel) -> None:
        await gateway.delete_channel(channel.id, reason=marker)

    by_id = next((c for c in channels if c.id == ctx.external_id), None)
    found = await adopt(by_id, matching, marker=marker, delete=delete)
    if found is None:

        async def create() -> Created[Channel]:
            return await gateway.create_channel(
                guild,
                name=name,
                type=kind,
                parent_id=parent,
                position=params.get("position"),
                topic=topic,
                overwrites=overwrites,
                reason=marker,
            )

        async def relist() -> list[Channel]:
            return [c for c in await gateway.list_channels(guild) if matches(c)]

        channel = await create_once(
            gateway,
            guild,
            create=create,
            relist=relist,
            action_type=AUDIT_CHANNEL_CREATE,
            marker=marker,
            delete=delete,
        )
        log.info("channel created", extra={"step": ctx.step.key, "channel_id": channel.id})
    else:
        channel = await _repair(ctx, found, name, topic, parent, overwrites, marker)
    return StepResult(channel.id, {"guild_id": guild, "name": channel.name})


async def _repair(
    ctx: StepContext,
    channel: Channel,
    name: str,
    topic: str | None,
    parent: str | None,
    overwrites: tuple[Overwrite, ...],
    marker: str,
) -> Channel:
    changes: dict[str, Any] = {}
    if normalize(channel.name) != normalize(name):
        changes["name"] = name
    if topic is not None and channel.topic != topic:
        changes["topic"] = topic
    if parent is not None and channel.parent_id != parent:
        changes["parent_id"] = parent
    if not same_overwrites(channel.overwrites, overwrites):
        # The whole set: a stray allow on a lab channel would open it to others.
        changes["overwrites"] = overwrites
    if not changes:
        return channel
    log.info("repairing channel", extra={"channel_id": channel.id, "fields": sorted(changes)})
    try:
        return await ctx.discord.modify_channel(channel.id, reason=marker, **changes)
    except PlatformError as exc:
        raise_translated(exc)
