"""What people do in the Discord client: sign up, create a server, add the bot, join, move roles."""

from __future__ import annotations

from typing import Any

from sandbox.discord import bot_guilds
from sandbox.discord.errors import DiscordError, unknown
from sandbox.discord.interactions import ControlError
from sandbox.discord.models import Channel, Guild, Member, Role, User
from sandbox.discord.permissions import DEFAULT_EVERYONE
from sandbox.discord.routes_invites import invite_usable
from sandbox.discord.serialize import member_json, role_json
from sandbox.discord.state import DiscordState

AUDIT_BOT_ADD = bot_guilds.AUDIT_BOT_ADD


def create_user(state: DiscordState, username: str, global_name: str | None = None) -> User:
    if any(u.username == username for u in state.world.users.values()):
        raise ControlError(409, f"username {username!r} is taken")
    user = User(id=state.new_id(), username=username, global_name=global_name)
    state.world.users[user.id] = user
    return user


def create_guild(state: DiscordState, name: str, owner_id: int) -> Guild:
    """A server as the client creates it: @everyone, a text and a voice category, #general."""
    if owner_id not in state.world.users or state.world.users[owner_id].bot:
        raise ControlError(400, "the owner must be an existing person")
    now = state.now()
    gid = state.new_id()
    guild = Guild(id=gid, name=name, owner_id=owner_id, created_at=now)
    guild.roles[gid] = Role(id=gid, name="@everyone", permissions=DEFAULT_EVERYONE, position=0)
    text_cat = Channel(id=state.new_id(), guild_id=gid, type=4, name="Text Channels", position=0)
    general = Channel(
        id=state.new_id(), guild_id=gid, type=0, name="general", position=0, parent_id=text_cat.id
    )
    voice_cat = Channel(id=state.new_id(), guild_id=gid, type=4, name="Voice Channels", position=1)
    voice = Channel(
        id=state.new_id(), guild_id=gid, type=2, name="General", position=0, parent_id=voice_cat.id
    )
    for channel in (text_cat, general, voice_cat, voice):
        guild.channels[channel.id] = channel
    guild.system_channel_id = general.id
    guild.members[owner_id] = Member(user_id=owner_id, joined_at=now)
    state.world.guilds[gid] = guild
    return guild


def existing_guild(state: DiscordState, guild_id: int) -> Guild:
    guild = state.world.guilds.get(guild_id)
    if guild is None:
        raise ControlError(404, "unknown guild")
    return guild


def add_bot(state: DiscordState, guild_id: int, permissions: int) -> Role:
    """The install link: a managed bot role just above @everyone, the bot member, GUILD_CREATE;
    refused when an unverified app is in 100 servers already (`sandbox.discord.bot_guilds`)."""
    guild = existing_guild(state, guild_id)
    if state.bot_id in guild.members:
        raise ControlError(409, "the bot is already in this guild")
    bot_guilds.check_room(state)
    return bot_guilds.join_bot(state, guild, permissions, by=guild.owner_id)


def move_bot_role(state: DiscordState, guild_id: int, position: int) -> list[Role]:
    """The owner drags the bot's role to `position` (1 = just above @everyone)."""
    guild = existing_guild(state, guild_id)
    role = next((r for r in guild.roles.values() if r.bot_id == state.bot_id), None)
    if role is None:
        raise ControlError(400, "the bot is not in this guild")
    moved = state.place_role(guild, role, max(1, position))
    for r in moved:
        state.emit("GUILD_ROLE_UPDATE", {"guild_id": str(guild.id), "role": role_json(r)}, guild.id)
    return moved


def add_member(
    state: DiscordState, guild: Guild, user_id: int, roles: list[int], nick: str | None = None
) -> Member:
    """A person joins (invite, OAuth2 `guilds.join`, control API); GUILD_MEMBER_ADD follows."""
    member = Member(
        user_id=user_id,
        roles=[r for r in roles if r in guild.roles],
        joined_at=state.now(),
        nick=nick,
    )
    guild.members[user_id] = member
    payload = member_json(member, state.world.users[user_id])
    payload["guild_id"] = str(guild.id)
    state.emit("GUILD_MEMBER_ADD", payload, guild.id)
    return member


def accept_invite(state: DiscordState, code: str, user_id: int) -> dict[str, Any]:
    """A person accepts an invite: 10006 when it is unknown, expired, used up or not for them."""
    invite = state.world.invites.get(code)
    if invite is None or not invite_usable(invite, state.now()):
        raise unknown("invite")
    if invite.target_user_ids is not None and user_id not in invite.target_user_ids:
        raise unknown("invite")
    if user_id not in state.world.users:
        raise ControlError(404, "unknown user")
    guild = state.world.guilds[invite.guild_id]
    member = guild.members.get(user_id)
    if member is not None:
        # Already a member: Discord just opens the server; role_ids on existing members is
        # undocumented (PLATFORM.md §1.7), so nothing changes and no use is counted.
        return {
            "guild_id": str(guild.id),
            "new_member": False,
            **member_json(member, state.world.users[user_id]),
        }
    invite.uses += 1
    member = add_member(state, guild, user_id, invite.role_ids)
    return {
        "guild_id": str(guild.id),
        "new_member": True,
        **member_json(member, state.world.users[user_id]),
    }


def resolve_user(state: DiscordState, data: dict[str, Any]) -> int:
    """`user_id` or `user` (a username) from a control request."""
    if "user_id" in data:
        try:
            uid = int(data["user_id"])
        except (TypeError, ValueError) as exc:
            raise ControlError(400, "user_id must be a snowflake") from exc
        if uid not in state.world.users:
            raise ControlError(404, "unknown user")
        return uid
    if "user" in data:
        try:
            return state.user_by_name(str(data["user"])).id
        except DiscordError as exc:
            raise ControlError(404, f"unknown user {data['user']!r}") from exc
    raise ControlError(400, "give user_id or user (a username)")
