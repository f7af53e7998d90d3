"""The answer to Confirm: what the instructor does next to get the course's Discord server (and,
while the bot is at the server cap of unverified Discord apps, that this has to wait)."""

from __future__ import annotations

import discord

from cogs.render.server_count import FIELD_NAME as SERVERS_FIELD
from cogs.render.server_count import add_server_warning
from cogs.render.status import COLOURS
from cogs.render.text import FIELD_MAX, clip
from provisioning.courses.views import CourseRecord
from provisioning.discord.server_count import ServerCount

_YOURS = "Discord bots cannot create servers, so the course's server is yours to create"
# At the cap the install link is refused: the steps are for later, and the field says why.
_AT_CAP = (
    "The course's Discord server has to wait: the bot is at the cap of servers an unverified "
    f"Discord app may join, so no server can add it now (**{SERVERS_FIELD}** below says what "
    "to do). Once it can join again, the course's server is yours to create"
)


def claim_embed(
    record: CourseRecord,
    code: str,
    link: str,
    permissions: list[str],
    created: bool,
    servers: ServerCount | None = None,
) -> discord.Embed:
    """The install link (with exactly the permissions the plan needs), the claim code, and the
    steps in order; the bot's server count when it is near the cap (`servers`)."""
    head = "Course created" if created else "Course already created (by an earlier Confirm)"
    at_cap = servers is not None and servers.at_cap
    embed = discord.Embed(
        title=clip(f"{head}: {record.code} · {record.term}", 256),
        description=(
            f"GitHub is being set up now. {_AT_CAP if at_cap else _YOURS}:\n"
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
    add_server_warning(embed, servers)
    embed.set_footer(text=f"Course id {record.id}")
    return embed
