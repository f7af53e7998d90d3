"""The answer to Confirm: what the instructor does next to get the course's Discord server."""

from __future__ import annotations

import discord

from cogs.render.status import COLOURS
from cogs.render.text import FIELD_MAX, clip
from provisioning.courses.views import CourseRecord


def claim_embed(
    record: CourseRecord, code: str, link: str, permissions: list[str], created: bool
) -> discord.Embed:
    """The install link (with exactly the permissions the plan needs), the claim code, and the
    steps in order."""
    head = "Course created" if created else "Course already created (by an earlier Confirm)"
    embed = discord.Embed(
        title=clip(f"{head}: {record.code} · {record.term}", 256),
        description=(
            "GitHub is being set up now. Discord bots cannot create servers, so the course's "
            "server is yours to create:\n"
            "1. In Discord, create a new server for the course (+ Add a Server → Create My Own).\n"
            f"2. Add the bot to it with [this install link]({link}).\n"
            f"3. In that server run `/course claim {code}`.\n"
            "4. Follow the progress here with `/course status` (type the course's code)."
        ),
        colour=COLOURS["awaiting_action"],
    )
    embed.add_field(
        name="Claim code",
        value=f"`{code}` (share it only with whoever creates the server)",
        inline=False,
    )
    embed.add_field(
        name="The bot asks for exactly",
        value=clip(", ".join(permissions), FIELD_MAX),
        inline=False,
    )
    embed.add_field(name="Install link", value=clip(link, FIELD_MAX), inline=False)
    embed.set_footer(text=f"Course id {record.id}")
    return embed
