"""Invites, including `role_ids` and the multipart `target_users_file` (PLATFORM.md §1.7)."""

from __future__ import annotations

import csv
import io
from typing import Any

from aiohttp import web

from sandbox.discord.api import Api, audit_reason, read_json, read_multipart
from sandbox.discord.errors import discord_json, max_reached, missing_permissions, unknown
from sandbox.discord.fields import Body, require_snowflake
from sandbox.discord.models import Guild, Invite
from sandbox.discord.permissions import (
    CREATE_INSTANT_INVITE,
    MANAGE_CHANNELS,
    MANAGE_GUILD,
    MANAGE_ROLES,
    VIEW_AUDIT_LOG,
    base_permissions,
    channel_permissions,
)
from sandbox.discord.rules import require, require_below, require_grantable, require_in_channel
from sandbox.discord.serialize import invite_json
from sandbox.discord.state import AUDIT_INVITE_CREATE, AUDIT_INVITE_DELETE, DiscordState


def invite_usable(invite: Invite, now: float) -> bool:
    """Not expired and not used up."""
    expires = invite.expires_at()
    if expires is not None and now >= expires:
        return False
    return invite.max_uses == 0 or invite.uses < invite.max_uses


def parse_target_users(data: bytes) -> list[int] | None:
    """User ids from a `user_id` CSV; None when a line is not a snowflake."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8", errors="replace"))))
    if rows and rows[0] and rows[0][0].strip().lower() == "user_id":
        rows = rows[1:]
    out: list[int] = []
    for row in rows:
        if not row or not row[0].strip():
            continue
        value = row[0].strip()
        if not value.isdigit():
            return None
        out.append(int(value))
    return out


class InviteRoutes:
    def __init__(self, state: DiscordState) -> None:
        self.state = state

    def register(self, api: Api, app: web.Application) -> None:
        api.add(
            app,
            "POST",
            "/channels/{channel_id}/invites",
            self.create_invite,
            bucket="invite_create",
        )
        api.add(app, "GET", "/guilds/{guild_id}/invites", self.list_invites)
        api.add(app, "GET", "/invites/{code}", self.get_invite)
        api.add(app, "DELETE", "/invites/{code}", self.delete_invite)

    def _json(self, invite: Invite, guild: Guild, *, with_uses: bool = True) -> dict[str, Any]:
        out = invite_json(
            invite,
            guild,
            guild.channels.get(invite.channel_id),
            self.state.world.users.get(invite.inviter_id),
        )
        if not with_uses:
            out.pop("uses", None)
        return out

    async def create_invite(self, request: web.Request) -> web.Response:
        guild, channel = self.state.channel(
            require_snowflake(request.match_info["channel_id"], "channel_id")
        )
        bot = self.state.bot_id
        require_in_channel(guild, channel, bot, CREATE_INSTANT_INVITE)
        body = Body(await read_json(request))
        max_age = body.integer("max_age", lo=0, hi=604800)
        max_uses = body.integer("max_uses", lo=0, hi=100)
        temporary = body.boolean("temporary")
        unique = body.boolean("unique")
        role_ids = body.snowflakes("role_ids") or []
        targets = await self._targets(request, body)
        body.done()
        if role_ids:
            require(guild, bot, MANAGE_ROLES)
            roles = [self.state.role(guild, rid) for rid in role_ids]
            for role in roles:
                require_below(guild, bot, role)
                require_grantable(guild, bot, role.permissions)
        if targets is not None:
            require(guild, bot, MANAGE_GUILD)
        now = self.state.now()
        invite = Invite(
            code="",
            guild_id=guild.id,
            channel_id=channel.id,
            inviter_id=bot,
            created_at=now,
            max_age=86400 if max_age is None else max_age,
            max_uses=max_uses or 0,
            temporary=bool(temporary),
            unique=bool(unique),
            role_ids=role_ids,
            target_user_ids=targets,
        )
        if not unique and targets is None:
            reused = self._similar(invite, now)
            if reused is not None:
                return discord_json(self._json(reused, guild))
        live = [
            i
            for i in self.state.world.invites.values()
            if i.guild_id == guild.id and invite_usable(i, now)
        ]
        if len(live) >= self.state.config.limits.invites_per_guild:
            raise max_reached(30016, "Maximum number of invites reached (1000)")
        invite.code = self.state.new_code()
        self.state.world.invites[invite.code] = invite
        changes: list[dict[str, Any]] = [
            {"key": "code", "new_value": invite.code},
            {"key": "max_uses", "new_value": invite.max_uses},
        ]
        self.state.audit(guild, AUDIT_INVITE_CREATE, None, audit_reason(request), changes)
        out = self._json(invite, guild)
        self.state.emit("INVITE_CREATE", {**out, "channel_id": str(channel.id)}, guild.id)
        return discord_json(out)

    async def _targets(self, request: web.Request, body: Body) -> list[int] | None:
        if not request.content_type.startswith("multipart/"):
            return None
        raw = (await read_multipart(request)).get("target_users_file")
        if raw is None:
            return None
        data = raw.encode() if isinstance(raw, str) else raw
        targets = parse_target_users(data)
        if targets is None or any(t not in self.state.world.users for t in targets):
            body.errors.add(
                ("target_users_file",),
                "INVALID_FILE",
                "The target users file contains invalid user ids.",
            )
            return None
        return targets

    def _similar(self, invite: Invite, now: float) -> Invite | None:
        keys = ("channel_id", "inviter_id", "max_age", "max_uses", "temporary", "role_ids")
        for other in self.state.world.invites.values():
            same = all(getattr(other, k) == getattr(invite, k) for k in keys)
            if same and other.target_user_ids is None and invite_usable(other, now):
                return other
        return None

    async def list_invites(self, request: web.Request) -> web.Response:
        guild = self.state.guild(require_snowflake(request.match_info["guild_id"], "guild_id"))
        perms = base_permissions(guild, self.state.bot_id)
        if not perms & (MANAGE_GUILD | VIEW_AUDIT_LOG):
            raise missing_permissions()
        now = self.state.now()
        invites = [
            i
            for i in self.state.world.invites.values()
            if i.guild_id == guild.id and invite_usable(i, now)
        ]
        with_uses = bool(perms & MANAGE_GUILD)
        return discord_json([self._json(i, guild, with_uses=with_uses) for i in invites])

    def _invite(self, code: str) -> tuple[Invite, Guild]:
        invite = self.state.world.invites.get(code)
        if invite is None or not invite_usable(invite, self.state.now()):
            raise unknown("invite")
        return invite, self.state.world.guilds[invite.guild_id]

    async def get_invite(self, request: web.Request) -> web.Response:
        invite, guild = self._invite(request.match_info["code"])
        out = self._json(invite, guild)
        for key in ("uses", "max_uses", "max_age", "temporary", "created_at"):
            out.pop(key, None)
        if request.query.get("with_counts", "").lower() in ("true", "1"):
            out["approximate_member_count"] = len(guild.members)
            out["approximate_presence_count"] = 0
        return discord_json(out)

    async def delete_invite(self, request: web.Request) -> web.Response:
        invite, guild = self._invite(request.match_info["code"])
        bot = self.state.bot_id
        channel = guild.channels.get(invite.channel_id)
        allowed = base_permissions(guild, bot) & MANAGE_GUILD or (
            channel is not None and channel_permissions(guild, channel, bot) & MANAGE_CHANNELS
        )
        if bot not in guild.members:
            raise unknown("invite")
        if not allowed:
            raise missing_permissions()
        del self.state.world.invites[invite.code]
        self.state.audit(
            guild,
            AUDIT_INVITE_DELETE,
            None,
            audit_reason(request),
            [{"key": "code", "old_value": invite.code}],
        )
        return discord_json(self._json(invite, guild))
