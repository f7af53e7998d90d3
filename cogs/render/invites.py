"""`/course invites`: each invite link, what joining with it grants, when it expires."""

from __future__ import annotations

from datetime import UTC

import discord

from cogs.render.status import COLOURS
from cogs.render.text import FIELD_MAX, clip
from provisioning.discord.invite_links import InviteLink


def _expiry(link: InviteLink) -> str:
    if link.expires_at is None:
        return "never expires"
    return f"expires {link.expires_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def invites_embed(name: str, links: list[InviteLink]) -> discord.Embed:
    embed = discord.Embed(
        title=clip(f"Invite links: {name}", 256),
        description=(
            "For students only: whoever joins with a link gets its roles. Share each link with "
            "its group, never publicly."
        ),
        colour=COLOURS["in_progress"],
    )
    for link in links[:25]:
        if not link.made:
            value = "Not made yet: its step has not made it (see `/course status`)."
        elif link.url is None:
            value = "Gone (expired, used up or deleted): `/course retry` makes a new one."
        else:
            uses = f"{link.uses} of {link.max_uses} uses" if link.max_uses else f"{link.uses} uses"
            grants = ", ".join(link.grants) or "no roles"
            value = f"{link.url}\nGrants: {grants}\n{_expiry(link)}; {uses}"
        embed.add_field(name=link.name, value=clip(value, FIELD_MAX), inline=False)
    if not links:
        embed.description = "This course has no invite links yet: see `/course status`."
    return embed
