"""Guild get/modify, members and member roles (the audit log: `sandbox.discord.audit_log`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.discord.api import Api, audit_reason, read_json
from sandbox.discord.errors import (
    DiscordError,
    bots_cannot,
    discord_json,
    missing_permissions,
    unknown,
)
from sandbox.discord.fields import Body, require_snowflake
from sandbox.discord.models import Guild, Member
from sandbox.discord.permissions import (
    KICK_MEMBERS,
    MANAGE_GUILD,
    MANAGE_ROLES,
    top_role,
)
from sandbox.discord.rules import require, require_below
from sandbox.discord.serialize import guild_json, member_json, user_json
from sandbox.discord.state import (
    AUDIT_GUILD_UPDATE,
    AUDIT_MEMBER_KICK,
    AUDIT_MEMBER_ROLE_UPDATE,
    DiscordState,
)


class GuildRoutes:
    def __init__(self, state: DiscordState) -> None:
        self.state = state

    def register(self, api: Api, app: web.Application) -> None:
        api.add(app, "POST", "/guilds", self.create_guild)
        api.add(app, "POST", "/guilds/templates/{code}", self.create_guild)
        api.add(app, "GET", "/guilds/{guild_id}", self.get_guild)
        api.add(app, "PATCH", "/guilds/{guild_id}", self.modify_guild)
        api.add(app, "GET", "/guilds/{guild_id}/members", self.list_members)
        api.add(app, "GET", "/guilds/{guild_id}/members/{user_id}", self.get_member)
        api.add(app, "DELETE", "/guilds/{guild_id}/members/{user_id}", self.kick)
        path = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"
        api.add(app, "PUT", path, self.add_role, bucket="member_role")
        api.add(app, "DELETE", path, self.remove_role, bucket="member_role")

    def _guild(self, request: web.Request) -> Guild:
        return self.state.guild(require_snowflake(request.match_info["guild_id"], "guild_id"))

    def _member(self, guild: Guild, request: web.Request) -> Member:
        uid = require_snowflake(request.match_info["user_id"], "user_id")
        member = guild.members.get(uid)
        if member is None:
            raise unknown("member")
        return member

    async def create_guild(self, request: web.Request) -> web.Response:
        # Bots lost this endpoint in July 2025 (PLATFORM.md §1.1); any body gets the same answer.
        raise bots_cannot()

    async def get_guild(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        out = guild_json(guild)
        if request.query.get("with_counts", "").lower() in ("true", "1"):
            out["approximate_member_count"] = len(guild.members)
            out["approximate_presence_count"] = 0
        return discord_json(out)

    async def modify_guild(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        require(guild, self.state.bot_id, MANAGE_GUILD)
        body = Body(await read_json(request))
        name = body.string("name", min_len=2, max_len=100)
        description = body.string("description", min_len=0, max_len=120)
        locale = body.string("preferred_locale", max_len=10)
        level = body.integer("verification_level", lo=0, hi=4)
        system_channel = body.snowflake("system_channel_id")
        body.done()
        changes: list[dict[str, Any]] = []
        if name is not None:
            changes.append({"key": "name", "old_value": guild.name, "new_value": name})
            guild.name = name
        if body.has("description"):
            guild.description = description
        if locale is not None:
            guild.preferred_locale = locale
        if level is not None:
            guild.verification_level = level
        if body.has("system_channel_id"):
            if system_channel is not None and system_channel not in guild.channels:
                raise unknown("channel")
            guild.system_channel_id = system_channel
        self.state.audit(guild, AUDIT_GUILD_UPDATE, guild.id, audit_reason(request), changes)
        self.state.emit("GUILD_UPDATE", guild_json(guild), guild.id)
        return discord_json(guild_json(guild))

    async def list_members(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        body = Body(dict(request.query))
        limit = body.integer("limit", lo=1, hi=1000) or 1
        after = body.snowflake("after") or 0
        body.done()
        members = sorted(
            (m for m in guild.members.values() if m.user_id > after), key=lambda m: m.user_id
        )
        users = self.state.world.users
        return discord_json([member_json(m, users[m.user_id]) for m in members[:limit]])

    async def get_member(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        member = self._member(guild, request)
        return discord_json(member_json(member, self.state.world.users[member.user_id]))

    async def kick(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        member = self._member(guild, request)
        bot = self.state.bot_id
        require(guild, bot, KICK_MEMBERS)
        if member.user_id in (guild.owner_id, bot):
            raise missing_permissions()
        require_below(guild, bot, top_role(guild, member.user_id))
        del guild.members[member.user_id]
        self.state.audit(guild, AUDIT_MEMBER_KICK, member.user_id, audit_reason(request))
        user = user_json(self.state.world.users[member.user_id])
        self.state.emit("GUILD_MEMBER_REMOVE", {"guild_id": str(guild.id), "user": user}, guild.id)
        return web.Response(status=204)

    async def add_role(self, request: web.Request) -> web.Response:
        return self._change_role(request, add=True)

    async def remove_role(self, request: web.Request) -> web.Response:
        return self._change_role(request, add=False)

    def _change_role(self, request: web.Request, *, add: bool) -> web.Response:
        guild = self._guild(request)
        member = self._member(guild, request)
        role = self.state.role(guild, require_snowflake(request.match_info["role_id"], "role_id"))
        bot = self.state.bot_id
        require(guild, bot, MANAGE_ROLES)
        require_below(guild, bot, role)
        if role.managed or role.id == guild.id:
            raise DiscordError(403, 50013, "Missing Permissions")
        has = role.id in member.roles
        if add != has:
            if add:
                member.roles.append(role.id)
            else:
                member.roles.remove(role.id)
            key = "$add" if add else "$remove"
            change = {"key": key, "new_value": [{"id": str(role.id), "name": role.name}]}
            self.state.audit(
                guild, AUDIT_MEMBER_ROLE_UPDATE, member.user_id, audit_reason(request), [change]
            )
            self.state.emit("GUILD_MEMBER_UPDATE", self.member_update(guild, member), guild.id)
        return web.Response(status=204)

    def member_update(self, guild: Guild, member: Member) -> dict[str, Any]:
        out = member_json(member, self.state.world.users[member.user_id])
        out["guild_id"] = str(guild.id)
        return out
