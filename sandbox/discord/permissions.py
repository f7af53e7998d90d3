"""Permission bits, effective permissions and the role hierarchy (PLATFORM.md §1.3-1.4)."""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.discord.models import Channel, Guild, Role

# Our own table, on purpose, not the product's (`provisioning/permissions.py`): a test double
# that shared the product's bits would agree with a wrong one instead of catching it. Both
# follow Discord's documentation, each on its own.
CREATE_INSTANT_INVITE = 1 << 0
KICK_MEMBERS = 1 << 1
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
VIEW_AUDIT_LOG = 1 << 7
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
MANAGE_ROLES = 1 << 28
USE_APPLICATION_COMMANDS = 1 << 31
ALL_PERMISSIONS = (1 << 51) - 1

# What a new guild's @everyone gets (the client's defaults, trimmed to what matters here).
DEFAULT_EVERYONE = (
    CREATE_INSTANT_INVITE
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | MENTION_EVERYONE
    | USE_APPLICATION_COMMANDS
)


def role_key(role: Role) -> tuple[int, int]:
    """Sort key for the hierarchy: position, then id for equal positions."""
    return (role.position, role.id)


def everyone(guild: Guild) -> Role:
    return guild.roles[guild.id]


def member_roles(guild: Guild, user_id: int) -> list[Role]:
    member = guild.members.get(user_id)
    if member is None:
        return []
    return [guild.roles[r] for r in member.roles if r in guild.roles]


def top_role(guild: Guild, user_id: int) -> Role:
    """The member's highest role (@everyone when it has none)."""
    return max([everyone(guild), *member_roles(guild, user_id)], key=role_key)


def is_below(role: Role, guild: Guild, user_id: int) -> bool:
    """Whether `user_id` may manage `role`: the owner always, others only below their top role."""
    if guild.owner_id == user_id:
        return True
    return role_key(role) < role_key(top_role(guild, user_id))


def base_permissions(guild: Guild, user_id: int) -> int:
    """Guild-level permissions; owner and ADMINISTRATOR get everything."""
    if guild.owner_id == user_id:
        return ALL_PERMISSIONS
    perms = everyone(guild).permissions
    for role in member_roles(guild, user_id):
        perms |= role.permissions
    if perms & ADMINISTRATOR:
        return ALL_PERMISSIONS
    return perms


def apply_overwrites(
    guild: Guild, channel: Channel, base: int, role_ids: Iterable[int], user_id: int | None
) -> int:
    """Overwrites on top of `base`: @everyone, then roles (allow beats deny), then the member."""
    if base & ADMINISTRATOR:
        return ALL_PERMISSIONS
    perms = base
    by_id = {(o.type, o.id): o for o in channel.overwrites}
    ev = by_id.get((0, guild.id))
    if ev is not None:
        perms = (perms & ~ev.deny) | ev.allow
    allow = deny = 0
    for rid in role_ids:
        ow = by_id.get((0, rid))
        if ow is not None and rid != guild.id:
            allow |= ow.allow
            deny |= ow.deny
    perms = (perms & ~deny) | allow
    if user_id is not None:
        mo = by_id.get((1, user_id))
        if mo is not None:
            perms = (perms & ~mo.deny) | mo.allow
    if not perms & VIEW_CHANNEL:
        return 0
    if not perms & SEND_MESSAGES:
        perms &= ~(ATTACH_FILES | EMBED_LINKS | MENTION_EVERYONE)
    return perms


def channel_permissions(guild: Guild, channel: Channel, user_id: int) -> int:
    """Effective permissions of a member in a channel."""
    base = base_permissions(guild, user_id)
    if base == ALL_PERMISSIONS:
        return ALL_PERMISSIONS
    member = guild.members.get(user_id)
    roles = member.roles if member else []
    return apply_overwrites(guild, channel, base, roles, user_id)


def role_can_view(guild: Guild, channel: Channel, role: Role) -> bool:
    """Whether a member holding only `role` (plus @everyone) sees `channel` (for the HTML view)."""
    base = everyone(guild).permissions | role.permissions
    if base & ADMINISTRATOR:
        return True
    roles = [] if role.id == guild.id else [role.id]
    return bool(apply_overwrites(guild, channel, base, roles, None) & VIEW_CHANNEL)
