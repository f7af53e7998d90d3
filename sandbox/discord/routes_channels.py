"""Channels and categories, and their permission overwrites."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.discord.api import Api, audit_reason, read_json
from sandbox.discord.audit_log import overwrite_changes, overwrite_options
from sandbox.discord.errors import DiscordError, discord_json, invalid_form, max_reached, unknown
from sandbox.discord.fields import Body, require_snowflake
from sandbox.discord.models import Channel, Guild, Overwrite
from sandbox.discord.permissions import MANAGE_CHANNELS, MANAGE_ROLES, VIEW_CHANNEL
from sandbox.discord.rules import can_view, require, require_in_channel, require_overwrites_allowed
from sandbox.discord.serialize import channel_json
from sandbox.discord.state import (
    AUDIT_CHANNEL_CREATE,
    AUDIT_CHANNEL_DELETE,
    AUDIT_CHANNEL_UPDATE,
    AUDIT_OVERWRITE_CREATE,
    AUDIT_OVERWRITE_DELETE,
    AUDIT_OVERWRITE_UPDATE,
    DiscordState,
)

CATEGORY = 4
CHANNEL_TYPES = (0, 2, 4)


class ChannelRoutes:
    def __init__(self, state: DiscordState) -> None:
        self.state = state

    def register(self, api: Api, app: web.Application) -> None:
        api.add(app, "GET", "/guilds/{guild_id}/channels", self.list_channels)
        api.add(
            app, "POST", "/guilds/{guild_id}/channels", self.create_channel, bucket="channel_create"
        )
        api.add(app, "GET", "/channels/{channel_id}", self.get_channel)
        api.add(app, "PATCH", "/channels/{channel_id}", self.modify_channel)
        api.add(app, "DELETE", "/channels/{channel_id}", self.delete_channel)
        path = "/channels/{channel_id}/permissions/{overwrite_id}"
        api.add(app, "PUT", path, self.put_overwrite, bucket="overwrite")
        api.add(app, "DELETE", path, self.delete_overwrite, bucket="overwrite")

    def _channel(self, request: web.Request) -> tuple[Guild, Channel]:
        return self.state.channel(require_snowflake(request.match_info["channel_id"], "channel_id"))

    def _emit(self, event: str, channel: Channel) -> None:
        self.state.emit(event, channel_json(channel), channel.guild_id)

    async def list_channels(self, request: web.Request) -> web.Response:
        guild = self.state.guild(require_snowflake(request.match_info["guild_id"], "guild_id"))
        bot = self.state.bot_id
        # Channels the bot can't see are omitted entirely (PLATFORM.md §1.5).
        visible = [c for c in guild.channels.values() if can_view(guild, c, bot)]
        visible.sort(key=lambda c: (c.position, c.id))
        return discord_json([channel_json(c) for c in visible])

    async def get_channel(self, request: web.Request) -> web.Response:
        guild, channel = self._channel(request)
        require_in_channel(guild, channel, self.state.bot_id, VIEW_CHANNEL)
        return discord_json(channel_json(channel))

    def _parent(self, guild: Guild, parent_id: int | None, channel_type: int) -> int | None:
        if parent_id is None:
            return None
        parent = guild.channels.get(parent_id)
        if parent is None or parent.type != CATEGORY or channel_type == CATEGORY:
            raise invalid_form(("parent_id",), "CHANNEL_PARENT_INVALID", "Category does not exist")
        limit = self.state.config.limits.channels_per_category
        children = sum(1 for c in guild.channels.values() if c.parent_id == parent_id)
        if children >= limit:
            raise invalid_form(
                ("parent_id",),
                "CHANNEL_PARENT_MAX_CHANNELS",
                f"Maximum number of channels in category reached ({limit})",
            )
        return parent_id

    async def create_channel(self, request: web.Request) -> web.Response:
        guild = self.state.guild(require_snowflake(request.match_info["guild_id"], "guild_id"))
        bot = self.state.bot_id
        require(guild, bot, MANAGE_CHANNELS)
        limits = self.state.config.limits
        body = Body(await read_json(request))
        name = body.string("name", required=True, max_len=100)
        ctype = body.choice("type", CHANNEL_TYPES, default=0)
        topic = body.string("topic", min_len=0, max_len=1024)
        position = body.integer("position", lo=0)
        parent_id = body.snowflake("parent_id")
        nsfw = body.boolean("nsfw")
        slowmode = body.integer("rate_limit_per_user", lo=0, hi=21600)
        overwrites = body.overwrites("permission_overwrites", limits.overwrites_per_channel)
        body.done()
        assert name is not None
        parent = self._parent(guild, parent_id, ctype)
        if overwrites:
            require(guild, bot, MANAGE_ROLES)
            require_overwrites_allowed(guild, bot, overwrites)
        if len(guild.channels) >= limits.channels_per_guild:
            raise max_reached(
                30013, f"Maximum number of guild channels reached ({limits.channels_per_guild})"
            )
        if overwrites is None and parent is not None:
            # Without explicit overwrites a child starts synced with its category.
            overwrites = [o.model_copy() for o in guild.channels[parent].overwrites]
        if position is None:
            position = max((c.position for c in guild.channels.values()), default=-1) + 1
        channel = Channel(
            id=self.state.new_id(),
            guild_id=guild.id,
            type=ctype,
            name=name,
            position=position,
            parent_id=parent,
            topic=topic if ctype != CATEGORY else None,
            nsfw=bool(nsfw),
            rate_limit_per_user=slowmode or 0,
            overwrites=overwrites or [],
        )
        guild.channels[channel.id] = channel
        changes: list[dict[str, Any]] = [
            {"key": "name", "new_value": name},
            {"key": "type", "new_value": ctype},
        ]
        self.state.audit(guild, AUDIT_CHANNEL_CREATE, channel.id, audit_reason(request), changes)
        self._emit("CHANNEL_CREATE", channel)
        return discord_json(channel_json(channel), 201)

    async def modify_channel(self, request: web.Request) -> web.Response:
        guild, channel = self._channel(request)
        bot = self.state.bot_id
        require_in_channel(guild, channel, bot, MANAGE_CHANNELS)
        body = Body(await read_json(request))
        fields: dict[str, Any] = {
            "name": body.string("name", max_len=100),
            "topic": body.string("topic", min_len=0, max_len=1024),
            "position": body.integer("position", lo=0),
            "nsfw": body.boolean("nsfw"),
            "rate_limit_per_user": body.integer("rate_limit_per_user", lo=0, hi=21600),
        }
        parent_id = body.snowflake("parent_id")
        overwrites = body.overwrites(
            "permission_overwrites", self.state.config.limits.overwrites_per_channel
        )
        body.done()
        changes = {k: v for k, v in fields.items() if v is not None}
        if body.has("parent_id") and parent_id != channel.parent_id:
            changes["parent_id"] = self._parent(guild, parent_id, channel.type)
        if overwrites is not None:
            require_in_channel(guild, channel, bot, MANAGE_ROLES)
            require_overwrites_allowed(guild, bot, overwrites)
            changes["overwrites"] = overwrites
        for key, value in changes.items():
            setattr(channel, key, value)
        audit: list[dict[str, Any]] = [
            {"key": k, "new_value": v} for k, v in changes.items() if k != "overwrites"
        ]
        self.state.audit(guild, AUDIT_CHANNEL_UPDATE, channel.id, audit_reason(request), audit)
        self._emit("CHANNEL_UPDATE", channel)
        return discord_json(channel_json(channel))

    async def delete_channel(self, request: web.Request) -> web.Response:
        guild, channel = self._channel(request)
        require_in_channel(guild, channel, self.state.bot_id, MANAGE_CHANNELS)
        del guild.channels[channel.id]
        for child in guild.channels.values():
            if child.parent_id == channel.id:
                child.parent_id = None
        for code in [
            c for c, inv in self.state.world.invites.items() if inv.channel_id == channel.id
        ]:
            del self.state.world.invites[code]
        gone: list[dict[str, Any]] = [
            {"key": "name", "old_value": channel.name},
            {"key": "type", "old_value": channel.type},
        ]
        self.state.audit(guild, AUDIT_CHANNEL_DELETE, channel.id, audit_reason(request), gone)
        self._emit("CHANNEL_DELETE", channel)
        return discord_json(channel_json(channel))

    async def put_overwrite(self, request: web.Request) -> web.Response:
        guild, channel = self._channel(request)
        bot = self.state.bot_id
        target = require_snowflake(request.match_info["overwrite_id"], "overwrite_id")
        require_in_channel(guild, channel, bot, MANAGE_ROLES)
        body = Body(await read_json(request))
        otype = body.choice("type", (0, 1), default=-1)
        if not body.has("type"):
            body.errors.add(("type",), "BASE_TYPE_REQUIRED", "This field is required")
        allow = body.permissions("allow") or 0
        deny = body.permissions("deny") or 0
        body.done()
        if otype == 0 and target not in guild.roles:
            raise unknown("role")
        if otype == 1 and target not in guild.members:
            raise unknown("member")
        overwrite = Overwrite(id=target, type=otype, allow=allow, deny=deny)
        require_overwrites_allowed(guild, bot, [overwrite])
        kept = [o for o in channel.overwrites if o.id != target]
        if len(kept) >= self.state.config.limits.overwrites_per_channel:
            raise max_reached(30060, "Maximum number of permission overwrites reached")
        before = next((o for o in channel.overwrites if o.id == target), None)
        channel.overwrites = [*kept, overwrite]
        change = [
            {"key": "allow", "new_value": str(allow)},
            {"key": "deny", "new_value": str(deny)},
        ]
        action = AUDIT_OVERWRITE_CREATE
        if before is not None:  # an update names what it had
            action = AUDIT_OVERWRITE_UPDATE
            change[0]["old_value"] = str(before.allow)
            change[1]["old_value"] = str(before.deny)
        self.state.audit(
            guild,
            action,
            channel.id,
            audit_reason(request),
            change,
            options=overwrite_options(guild, overwrite),
        )
        self._emit("CHANNEL_UPDATE", channel)
        return web.Response(status=204)

    async def delete_overwrite(self, request: web.Request) -> web.Response:
        guild, channel = self._channel(request)
        target = require_snowflake(request.match_info["overwrite_id"], "overwrite_id")
        require_in_channel(guild, channel, self.state.bot_id, MANAGE_ROLES)
        gone = next((o for o in channel.overwrites if o.id == target), None)
        if gone is None:
            raise DiscordError(404, 10009, "Unknown Overwrite")
        channel.overwrites = [o for o in channel.overwrites if o.id != target]
        self.state.audit(
            guild,
            AUDIT_OVERWRITE_DELETE,
            channel.id,
            audit_reason(request),
            overwrite_changes(gone),
            options=overwrite_options(guild, gone),
        )
        self._emit("CHANNEL_UPDATE", channel)
        return web.Response(status=204)
