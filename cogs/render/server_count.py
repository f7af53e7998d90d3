"""The bot's server count near the cap of unverified apps, as people read it in Discord."""

from __future__ import annotations

import discord

from cogs.render.status import COLOURS
from cogs.render.text import FIELD_MAX, clip
from provisioning.discord.server_count import ServerCount, warning

FIELD_NAME = "Discord servers"


def add_server_warning(embed: discord.Embed, servers: ServerCount | None) -> None:
    """A `/course status` card gets a field with the warning while the count is near the cap."""
    text = warning(servers) if servers is not None else None
    if text:
        embed.add_field(name=FIELD_NAME, value=clip(text, FIELD_MAX), inline=False)


def near_cap_embed(servers: ServerCount) -> discord.Embed:
    """The course log's message when the count reaches the warning (`provisioning.discord.
    server_watch`)."""
    return discord.Embed(
        title=f"Discord: the bot is in {servers.count} of {servers.limit} servers",
        description=warning(servers) or "",
        colour=COLOURS["awaiting_action"],
    )
