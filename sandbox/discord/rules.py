"""Today's permission and hierarchy rules, checked from the bot's side (PLATFORM.md §1.3-1.5)."""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.discord.errors import missing_access, missing_permissions
from sandbox.discord.models import Channel, Guild, Overwrite, Role
from sandbox.discord.permissions import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    MANAGE_ROLES,
    VIEW_CHANNEL,
    base_permissions,
    channel_permissions,
    is_below,
)


def require(guild: Guild, user_id: int, permission: int) -> None:
    """403/50013 unless the member has `permission` guild-wide."""
    if base_permissions(guild, user_id) & permission != permission:
        raise missing_permissions()


def require_in_channel(guild: Guild, channel: Channel, user_id: int, permission: int) -> None:
    """403/50001 if the channel is hidden from the member, 403/50013 if it lacks `permission`."""
    perms = channel_permissions(guild, channel, user_id)
    if not perms & VIEW_CHANNEL:
        raise missing_access()
    if perms & permission != permission:
        raise missing_permissions()


def can_view(guild: Guild, channel: Channel, user_id: int) -> bool:
    return bool(channel_permissions(guild, channel, user_id) & VIEW_CHANNEL)


def require_below(guild: Guild, user_id: int, role: Role) -> None:
    """Only roles strictly below the member's highest role; ADMINISTRATOR doesn't lift it."""
    if not is_below(role, guild, user_id):
        raise missing_permissions()


def require_grantable(guild: Guild, user_id: int, permissions: int) -> None:
    """A member can only hand out permissions it has itself."""
    have = base_permissions(guild, user_id)
    if have != ALL_PERMISSIONS and permissions & ~have:
        raise missing_permissions()


def require_overwrites_allowed(guild: Guild, user_id: int, overwrites: Iterable[Overwrite]) -> None:
    """Only permissions the member has can be allowed/denied; MANAGE_ROLES only by admins."""
    have = base_permissions(guild, user_id)
    admin = have == ALL_PERMISSIONS or bool(have & ADMINISTRATOR)
    for ow in overwrites:
        bits = ow.allow | ow.deny
        if not admin and (bits & ~have or bits & MANAGE_ROLES):
            raise missing_permissions()
