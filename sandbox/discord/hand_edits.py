"""A person changing a server by hand, as in Discord's own app: control routes under
`/_sandbox/discord/` that act as `actor` (a username or user id), with that person's rights.

- `PUT|DELETE /guilds/{guild_id}/members/{user_id}/roles/{role_id}`: give or take a role;
- `DELETE /guilds/{guild_id}/roles/{role_id}`: delete a role;
- `DELETE /channels/{channel_id}/permissions/{overwrite_id}`: remove a channel's overwrite.

Each takes `{"actor", "reason"?}` and answers JSON (`{"changed"}` or `{"deleted"}`). It is
refused (403 50013) as Discord refuses it when the person lacks MANAGE_ROLES or the role is not
below their highest one (the owner may do anything). It records an audit-log entry naming the
person (the same entry the API's write records for the bot) and sends the gateway event, so the
bot sees the change as it would on Discord.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox.discord import people
from sandbox.discord.audit_log import deleted_role_changes, overwrite_changes, overwrite_options
from sandbox.discord.errors import DiscordError, unknown
from sandbox.discord.interactions import ControlError
from sandbox.discord.models import Guild, Role
from sandbox.discord.permissions import MANAGE_ROLES
from sandbox.discord.rules import require, require_below, require_in_channel
from sandbox.discord.serialize import channel_json, member_json
from sandbox.discord.state import (
    AUDIT_MEMBER_ROLE_UPDATE,
    AUDIT_OVERWRITE_DELETE,
    AUDIT_ROLE_DELETE,
    DiscordState,
)


def _actor(state: DiscordState, data: dict[str, Any], guild: Guild) -> int:
    who = data.get("actor")
    if not isinstance(who, str | int) or isinstance(who, bool) or who == "":
        raise ControlError(400, "actor is required: the username or id of the person acting")
    key = "user_id" if str(who).isdigit() else "user"
    user_id = people.resolve_user(state, {key: who})
    if user_id not in guild.members:
        raise ControlError(403, f"actor {who!r} is not a member of this server")
    return user_id


def _reason(data: dict[str, Any]) -> str | None:
    reason = data.get("reason")
    if reason is None:
        return None
    if not isinstance(reason, str) or not 1 <= len(reason) <= 512:
        raise ControlError(400, "reason must be a text of 1 to 512 characters")
    return reason


def _manageable_role(guild: Guild, actor: int, role: Role) -> None:
    require(guild, actor, MANAGE_ROLES)
    require_below(guild, actor, role)
    if role.managed or role.id == guild.id:
        raise DiscordError(403, 50013, "Missing Permissions")


def change_member_role(
    state: DiscordState,
    data: dict[str, Any],
    guild_id: int,
    user_id: int,
    role_id: int,
    *,
    add: bool,
) -> bool:
    """A person gives (or takes) a member's role; False when there was nothing to change."""
    guild = state.guild(guild_id)
    actor = _actor(state, data, guild)
    reason = _reason(data)
    member = guild.members.get(user_id)
    if member is None:
        raise unknown("member")
    role = state.role(guild, role_id)
    _manageable_role(guild, actor, role)
    if add == (role.id in member.roles):
        return False
    if add:
        member.roles.append(role.id)
    else:
        member.roles.remove(role.id)
    change = {
        "key": "$add" if add else "$remove",
        "new_value": [{"id": str(role.id), "name": role.name}],
    }
    state.audit(guild, AUDIT_MEMBER_ROLE_UPDATE, user_id, reason, [change], user_id=actor)
    payload = member_json(member, state.world.users[user_id])
    payload["guild_id"] = str(guild.id)
    state.emit("GUILD_MEMBER_UPDATE", payload, guild.id)
    return True


def delete_role(state: DiscordState, data: dict[str, Any], guild_id: int, role_id: int) -> None:
    """A person deletes a role: members lose it, channels lose its overwrites."""
    guild = state.guild(guild_id)
    actor = _actor(state, data, guild)
    reason = _reason(data)
    role = state.role(guild, role_id)
    _manageable_role(guild, actor, role)
    del guild.roles[role.id]
    for member in guild.members.values():
        if role.id in member.roles:
            member.roles.remove(role.id)
    for channel in guild.channels.values():
        channel.overwrites = [
            o for o in channel.overwrites if not (o.type == 0 and o.id == role.id)
        ]
    state.audit(
        guild, AUDIT_ROLE_DELETE, role.id, reason, deleted_role_changes(role), user_id=actor
    )
    state.emit("GUILD_ROLE_DELETE", {"guild_id": str(guild.id), "role_id": str(role.id)}, guild.id)


def delete_overwrite(
    state: DiscordState, data: dict[str, Any], channel_id: int, overwrite_id: int
) -> None:
    """A person removes a channel's permission overwrite for a role or member."""
    guild, channel = state.channel(channel_id)
    actor = _actor(state, data, guild)
    reason = _reason(data)
    require_in_channel(guild, channel, actor, MANAGE_ROLES)
    gone = next((o for o in channel.overwrites if o.id == overwrite_id), None)
    if gone is None:
        raise DiscordError(404, 10009, "Unknown Overwrite")
    channel.overwrites = [o for o in channel.overwrites if o.id != overwrite_id]
    state.audit(
        guild,
        AUDIT_OVERWRITE_DELETE,
        channel.id,
        reason,
        overwrite_changes(gone),
        user_id=actor,
        options=overwrite_options(guild, gone),
    )
    state.emit("CHANNEL_UPDATE", channel_json(channel), guild.id)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ReadBody = Callable[[web.Request], Awaitable[dict[str, Any]]]


def routes(state: DiscordState, body: ReadBody) -> list[tuple[str, str, Handler]]:
    """The hand-edit routes for `ControlRoutes.register` (`body` reads a control request's
    JSON object)."""

    def snowflake(request: web.Request, name: str) -> int:
        try:
            return int(request.match_info[name])
        except ValueError as exc:
            raise ControlError(400, f"{name} must be a snowflake") from exc

    async def member_role(request: web.Request) -> web.Response:
        changed = change_member_role(
            state,
            await body(request),
            snowflake(request, "guild_id"),
            snowflake(request, "user_id"),
            snowflake(request, "role_id"),
            add=request.method == "PUT",
        )
        return web.json_response({"changed": changed})

    async def role(request: web.Request) -> web.Response:
        delete_role(
            state,
            await body(request),
            snowflake(request, "guild_id"),
            snowflake(request, "role_id"),
        )
        return web.json_response({"deleted": True})

    async def overwrite(request: web.Request) -> web.Response:
        delete_overwrite(
            state,
            await body(request),
            snowflake(request, "channel_id"),
            snowflake(request, "overwrite_id"),
        )
        return web.json_response({"deleted": True})

    member_path = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"
    return [
        ("PUT", member_path, member_role),
        ("DELETE", member_path, member_role),
        ("DELETE", "/guilds/{guild_id}/roles/{role_id}", role),
        ("DELETE", "/channels/{channel_id}/permissions/{overwrite_id}", overwrite),
    ]
