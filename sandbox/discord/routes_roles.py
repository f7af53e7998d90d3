"""Roles: list, create, modify, delete and reorder, under the hierarchy rules."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.discord.api import Api, audit_reason, read_json
from sandbox.discord.audit_log import deleted_role_changes
from sandbox.discord.errors import DiscordError, discord_json, max_reached, missing_permissions
from sandbox.discord.fields import Body, require_snowflake
from sandbox.discord.models import Guild, Role
from sandbox.discord.permissions import MANAGE_ROLES, role_key, top_role
from sandbox.discord.rules import require, require_below, require_grantable
from sandbox.discord.serialize import role_json, sorted_roles
from sandbox.discord.state import (
    AUDIT_ROLE_CREATE,
    AUDIT_ROLE_DELETE,
    AUDIT_ROLE_UPDATE,
    DiscordState,
)


class RoleRoutes:
    def __init__(self, state: DiscordState) -> None:
        self.state = state

    def register(self, api: Api, app: web.Application) -> None:
        api.add(app, "GET", "/guilds/{guild_id}/roles", self.list_roles)
        api.add(app, "POST", "/guilds/{guild_id}/roles", self.create_role, bucket="role_create")
        api.add(app, "PATCH", "/guilds/{guild_id}/roles", self.move_roles, bucket="role_modify")
        api.add(app, "GET", "/guilds/{guild_id}/roles/{role_id}", self.get_role)
        api.add(
            app,
            "PATCH",
            "/guilds/{guild_id}/roles/{role_id}",
            self.modify_role,
            bucket="role_modify",
        )
        api.add(
            app,
            "DELETE",
            "/guilds/{guild_id}/roles/{role_id}",
            self.delete_role,
            bucket="role_modify",
        )

    def _guild(self, request: web.Request) -> Guild:
        return self.state.guild(require_snowflake(request.match_info["guild_id"], "guild_id"))

    def _role(self, guild: Guild, request: web.Request) -> Role:
        return self.state.role(guild, require_snowflake(request.match_info["role_id"], "role_id"))

    def _emit(self, event: str, guild: Guild, role: Role) -> None:
        self.state.emit(event, {"guild_id": str(guild.id), "role": role_json(role)}, guild.id)

    async def list_roles(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        return discord_json([role_json(r) for r in sorted_roles(guild)])

    async def get_role(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        return discord_json(role_json(self._role(guild, request)))

    def _read_fields(self, body: Body) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "name": body.string("name", max_len=100),
            "permissions": body.permissions("permissions"),
            "color": body.integer("color", lo=0, hi=0xFFFFFF),
            "hoist": body.boolean("hoist"),
            "mentionable": body.boolean("mentionable"),
        }
        colors = body.data.get("colors")
        if isinstance(colors, dict):
            primary = Body(colors, ("colors",)).integer("primary_color", lo=0, hi=0xFFFFFF)
            if primary is not None:
                fields["color"] = primary
        return {k: v for k, v in fields.items() if v is not None}

    async def create_role(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        bot = self.state.bot_id
        require(guild, bot, MANAGE_ROLES)
        body = Body(await read_json(request, required=False))
        fields = self._read_fields(body)
        body.done()
        require_grantable(guild, bot, fields.get("permissions", 0))
        if len(guild.roles) >= self.state.config.limits.roles_per_guild:
            raise max_reached(30005, "Maximum number of guild roles reached (250)")
        fields.setdefault("name", "new role")
        role = Role(id=self.state.new_id(), **fields)
        guild.roles[role.id] = role
        # New roles land just above @everyone, like in the client.
        moved = self.state.place_role(guild, role, 1)
        self.state.audit(
            guild, AUDIT_ROLE_CREATE, role.id, audit_reason(request), self._changes(fields)
        )
        self._emit("GUILD_ROLE_CREATE", guild, role)
        for other in moved:
            if other.id != role.id:
                self._emit("GUILD_ROLE_UPDATE", guild, other)
        return discord_json(role_json(role))

    @staticmethod
    def _changes(fields: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"key": k, "new_value": str(v) if k == "permissions" else v} for k, v in fields.items()
        ]

    async def modify_role(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        role = self._role(guild, request)
        bot = self.state.bot_id
        require(guild, bot, MANAGE_ROLES)
        body = Body(await read_json(request))
        fields = self._read_fields(body)
        body.done()
        if role.id != guild.id:
            require_below(guild, bot, role)
        if "permissions" in fields:
            require_grantable(guild, bot, fields["permissions"] & ~role.permissions)
        if role.id == guild.id:
            fields.pop("name", None)
        for key, value in fields.items():
            setattr(role, key, value)
        self.state.audit(
            guild, AUDIT_ROLE_UPDATE, role.id, audit_reason(request), self._changes(fields)
        )
        self._emit("GUILD_ROLE_UPDATE", guild, role)
        return discord_json(role_json(role))

    async def delete_role(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        role = self._role(guild, request)
        bot = self.state.bot_id
        require(guild, bot, MANAGE_ROLES)
        if role.id == guild.id or role.managed:
            raise DiscordError(400, 50028, "Invalid Role")
        require_below(guild, bot, role)
        del guild.roles[role.id]
        for member in guild.members.values():
            if role.id in member.roles:
                member.roles.remove(role.id)
        for channel in guild.channels.values():
            channel.overwrites = [
                o for o in channel.overwrites if not (o.type == 0 and o.id == role.id)
            ]
        self._renumber(guild)
        self.state.audit(
            guild, AUDIT_ROLE_DELETE, role.id, audit_reason(request), deleted_role_changes(role)
        )
        self.state.emit(
            "GUILD_ROLE_DELETE", {"guild_id": str(guild.id), "role_id": str(role.id)}, guild.id
        )
        return web.Response(status=204)

    @staticmethod
    def _renumber(guild: Guild) -> None:
        others = sorted((r for r in guild.roles.values() if r.id != guild.id), key=role_key)
        for pos, r in enumerate(others, start=1):
            r.position = pos

    async def move_roles(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        bot = self.state.bot_id
        require(guild, bot, MANAGE_ROLES)
        data = await read_json(request)
        if not isinstance(data, list):
            raise DiscordError(
                400,
                50035,
                "Invalid Form Body",
                {
                    "_errors": [
                        {
                            "code": "LIST_TYPE_CONVERT",
                            "message": "Only iterables may be used in a ListType",
                        }
                    ]
                },
            )
        moves: list[tuple[Role, int]] = []
        errors = Body({})
        for i, item in enumerate(data):
            entry = Body(item, (i,))
            rid = entry.snowflake("id", required=True)
            pos = entry.integer("position", lo=1)
            errors.errors.tree.update(entry.errors.tree)
            if rid is not None and pos is not None:
                moves.append((self.state.role(guild, rid), pos))
        errors.done()
        top = top_role(guild, bot)
        for role, pos in moves:
            # The bot may move only roles below its top role, and only to places below it.
            if guild.owner_id != bot and (role_key(role) >= role_key(top) or pos >= top.position):
                raise missing_permissions()
        moved: dict[int, Role] = {}
        for role, pos in moves:
            for r in self.state.place_role(guild, role, pos):
                moved[r.id] = r
        for r in moved.values():
            self._emit("GUILD_ROLE_UPDATE", guild, r)
        self.state.audit(guild, AUDIT_ROLE_UPDATE, None, audit_reason(request))
        return discord_json([role_json(r) for r in sorted_roles(guild)])
