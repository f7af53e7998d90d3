"""`/course roster-status`: who is in, per state, and who is stuck (read-only, only the admin
who asked sees it)."""

from __future__ import annotations

from cogs.access import Interaction
from cogs.course.chosen import chosen_course
from cogs.render.roster_status import roster_status_embed
from cogs.render.status import course_name
from cogs.services import CommandServices

# Unknown joiners shown: the newest; the audit log keeps all of them.
JOINERS_SHOWN = 10


async def show_roster_status(
    services: CommandServices, interaction: Interaction, course: str
) -> None:
    async with chosen_course(services, interaction, course) as record:
        summary = await services.roster_status.summary(record.id)
        joiners = await services.joiners.unknown_joiners(record.id, JOINERS_SHOWN)
        embed = roster_status_embed(course_name(record), summary, joiners)
        await interaction.followup.send(embed=embed, ephemeral=True)
