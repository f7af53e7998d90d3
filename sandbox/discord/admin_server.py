"""The department's admin server, present in the sandbox from the start (development only).

Where instructors run the admin slash commands: an instructor owns it and holds the admin role,
the bot is in it, and `#course-log` is where the bot reports each course's milestones. Its ids
are fixed, so the bot finds it with no configuration, after every reset and restart.
"""

from __future__ import annotations

from sandbox.discord.config import AdminServer
from sandbox.discord.models import Channel, Guild, Member, Role, World
from sandbox.discord.permissions import (
    DEFAULT_EVERYONE,
    EMBED_LINKS,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    VIEW_CHANNEL,
)

# What the bot needs in the admin server: read commands' channels, post the course log.
_BOT_PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | READ_MESSAGE_HISTORY


def add_admin_server(world: World, spec: AdminServer, at: float) -> Guild:
    """Add the admin server to `world`: the instructor owns it and has the admin role."""
    instructor = next(u for u in world.users.values() if u.username == spec.instructor)
    gid = spec.guild_id
    ids = iter(range(gid + 1, gid + 100))
    guild = Guild(id=gid, name=spec.name, owner_id=instructor.id, created_at=at)
    guild.roles[gid] = Role(id=gid, name="@everyone", permissions=DEFAULT_EVERYONE)
    admin = Role(id=next(ids), name=spec.role, position=1, hoist=True)
    bot_role = Role(
        id=next(ids),
        name=world.users[world.bot_user_id].username,
        permissions=_BOT_PERMISSIONS,
        position=2,
        managed=True,
        bot_id=world.bot_user_id,
    )
    guild.roles.update({admin.id: admin, bot_role.id: bot_role})
    category = Channel(id=next(ids), guild_id=gid, type=4, name="Text Channels")
    general = Channel(id=next(ids), guild_id=gid, type=0, name="general", parent_id=category.id)
    log = Channel(
        id=next(ids),
        guild_id=gid,
        type=0,
        name=spec.log_channel,
        position=1,
        parent_id=category.id,
        topic="One message per milestone of each course",
    )
    for channel in (category, general, log):
        guild.channels[channel.id] = channel
    guild.system_channel_id = general.id
    guild.members[instructor.id] = Member(user_id=instructor.id, roles=[admin.id], joined_at=at)
    guild.members[world.bot_user_id] = Member(
        user_id=world.bot_user_id, roles=[bot_role.id], joined_at=at
    )
    world.guilds[gid] = guild
    return guild
