"""State objects to Discord v10 JSON (ids and permission sets as strings)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sandbox.discord.models import Channel, Command, Guild, Invite, Member, Message, Role, User
from sandbox.discord.permissions import role_key


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat()


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "username": user.username,
        "global_name": user.global_name,
        "discriminator": "0",
        "avatar": None,
        "public_flags": 0,
        "flags": 0,
        "bot": user.bot,
        "banner": None,
        "accent_color": None,
        "avatar_decoration_data": None,
        "collectibles": None,
        "primary_guild": None,
    }


def me_json(user: User) -> dict[str, Any]:
    """`GET /users/@me` (UserPIIResponse) for the bot."""
    out = user_json(user)
    out.update({"mfa_enabled": True, "locale": "en-US", "premium_type": 0, "verified": True})
    return out


def role_json(role: Role) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(role.id),
        "name": role.name,
        "permissions": str(role.permissions),
        "position": role.position,
        "color": role.color,
        "colors": {"primary_color": role.color, "secondary_color": None, "tertiary_color": None},
        "hoist": role.hoist,
        "managed": role.managed,
        "mentionable": role.mentionable,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }
    if role.bot_id is not None:
        out["tags"] = {"bot_id": str(role.bot_id)}
    return out


def sorted_roles(guild: Guild) -> list[Role]:
    return sorted(guild.roles.values(), key=role_key)


def channel_json(channel: Channel) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(channel.id),
        "type": channel.type,
        "guild_id": str(channel.guild_id),
        "name": channel.name,
        "position": channel.position,
        "flags": 0,
        "parent_id": str(channel.parent_id) if channel.parent_id is not None else None,
        "permission_overwrites": [
            {"id": str(o.id), "type": o.type, "allow": str(o.allow), "deny": str(o.deny)}
            for o in channel.overwrites
        ],
        "nsfw": channel.nsfw,
    }
    if channel.type == 2:
        out.update({"bitrate": 64000, "user_limit": 0, "rtc_region": None, "video_quality_mode": 1})
    if channel.type != 4:
        out.update(
            {
                "topic": channel.topic,
                "last_message_id": None,
                "rate_limit_per_user": channel.rate_limit_per_user,
            }
        )
    return out


def member_json(member: Member, user: User) -> dict[str, Any]:
    return {
        "user": user_json(user),
        "roles": [str(r) for r in member.roles],
        "joined_at": iso(member.joined_at),
        "nick": member.nick,
        "avatar": None,
        "banner": None,
        "communication_disabled_until": None,
        "flags": 0,
        "pending": False,
        "premium_since": None,
        "mute": False,
        "deaf": False,
    }


def guild_json(guild: Guild, application_id: int | None = None) -> dict[str, Any]:
    """GuildResponse (REST)."""
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "description": guild.description,
        "home_header": None,
        "splash": None,
        "discovery_splash": None,
        "features": [],
        "banner": None,
        "owner_id": str(guild.owner_id),
        "application_id": None,
        "region": "deprecated",
        "afk_channel_id": None,
        "afk_timeout": 300,
        "system_channel_id": str(guild.system_channel_id) if guild.system_channel_id else None,
        "system_channel_flags": 0,
        "widget_enabled": False,
        "widget_channel_id": None,
        "verification_level": guild.verification_level,
        "roles": [role_json(r) for r in sorted_roles(guild)],
        "default_message_notifications": guild.default_message_notifications,
        "mfa_level": 0,
        "explicit_content_filter": guild.explicit_content_filter,
        "max_presences": None,
        "max_members": 500000,
        "max_stage_video_channel_users": 50,
        "max_video_channel_users": 25,
        "vanity_url_code": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": guild.preferred_locale,
        "rules_channel_id": None,
        "safety_alerts_channel_id": None,
        "public_updates_channel_id": None,
        "premium_progress_bar_enabled": False,
        "nsfw": False,
        "nsfw_level": 0,
        "emojis": [],
        "stickers": [],
        "incidents_data": None,
    }


def invite_json(
    invite: Invite, guild: Guild, channel: Channel | None, inviter: User | None
) -> dict[str, Any]:
    expires = invite.expires_at()
    out: dict[str, Any] = {
        "type": 0,
        "code": invite.code,
        "inviter": user_json(inviter) if inviter else None,
        "max_age": invite.max_age,
        "created_at": iso(invite.created_at),
        "expires_at": iso(expires),
        "flags": 0,
        "guild": {
            "id": str(guild.id),
            "name": guild.name,
            "splash": None,
            "banner": None,
            "description": guild.description,
            "icon": None,
            "features": [],
            "verification_level": guild.verification_level,
            "vanity_url_code": None,
            "nsfw_level": 0,
            "nsfw": False,
            "premium_subscription_count": 0,
        },
        "guild_id": str(guild.id),
        "channel": {
            "id": str(invite.channel_id),
            "type": channel.type if channel else 0,
            "name": channel.name if channel else "deleted-channel",
        },
        "uses": invite.uses,
        "max_uses": invite.max_uses,
        "temporary": invite.temporary,
        "roles": [role_json(guild.roles[r]) for r in invite.role_ids if r in guild.roles],
    }
    return out


def command_json(command: Command, application_id: int) -> dict[str, Any]:
    out = dict(command.payload)
    out.update(
        {
            "id": str(command.id),
            "application_id": str(application_id),
            "version": str(command.version),
            "type": command.type,
            "name": command.name,
            "description": command.description,
            "default_member_permissions": out.get("default_member_permissions"),
        }
    )
    if command.guild_id is not None:
        out["guild_id"] = str(command.guild_id)
    return out


def message_json(message: Message, author: User, application_id: int) -> dict[str, Any]:
    return {
        "type": 20,
        "id": str(message.id),
        "channel_id": str(message.channel_id),
        "author": user_json(author),
        "content": message.content,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": message.embeds,
        "components": message.components,
        "timestamp": iso(message.created_at),
        "edited_timestamp": iso(message.edited_at),
        "flags": message.flags,
        "pinned": False,
        "mention_everyone": False,
        "tts": False,
        "webhook_id": str(application_id),
        "application_id": str(application_id),
    }
