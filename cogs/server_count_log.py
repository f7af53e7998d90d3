"""The course log's message about the bot itself: its server count reached the warning.

`provisioning.discord.server_watch` decides when (once per crossing); this posts it to the
course log channel of the admin server, the channel `cogs.course_log` posts milestones to.
"""

from __future__ import annotations

import discord

from cogs.course_log import ACTOR
from cogs.render.server_count import near_cap_embed
from provisioning import audit_context
from provisioning.discord.server_count import ServerCount


class ServerCountLog:
    """`Announce` of the server-count watch, on the bot's client."""

    def __init__(self, client: discord.Client, guild_id: str | None, channel_name: str) -> None:
        self._client = client
        self._guild_id = guild_id
        self._channel_name = channel_name

    def _channel(self) -> discord.TextChannel | None:
        if not self._channel_name or self._guild_id is None:
            return None
        guild = self._client.get_guild(int(self._guild_id))
        if guild is None:
            return None
        return discord.utils.get(guild.text_channels, name=self._channel_name)

    async def post(self, servers: ServerCount) -> bool:
        """Post the warning; False when the channel is not there (yet): not connected, not
        configured or missing (`cogs.course_log` says so in the log)."""
        channel = self._channel()
        if channel is None:
            return False
        token = audit_context.current.set(audit_context.AuditContext(actor=ACTOR))
        try:
            await channel.send(embed=near_cap_embed(servers))
        finally:
            audit_context.current.reset(token)
        return True
