"""`/course roster`: the difference a CSV makes to a course's students, then Confirm.

The CSV goes through the same parser as every roster (`provisioning.roster`), against the
course's lab groups; nothing changes until Confirm (`cogs.course.decisions`), which applies the
stored description; a change the service refuses (today: removing what exists) is shown as
that refusal, with what to do. Removals over the safety limit are named in the preview, with
the number Confirm will confirm.
"""

from __future__ import annotations

import discord

from cogs.access import Interaction, acting_as, actor, require_admin
from cogs.course import roster_file
from cogs.course.decisions import decision_view
from cogs.render.preview import roster_preview_embed
from cogs.render.status import course_name
from cogs.services import CommandServices
from provisioning.courses.changes import with_roster
from provisioning.courses.roster_diff import roster_diff


async def preview_roster(
    services: CommandServices, interaction: Interaction, course: str, file: discord.Attachment
) -> None:
    require_admin(services.admin, interaction)
    roster_file.check_size(file)
    with acting_as(interaction):
        await interaction.response.defer(ephemeral=True, thinking=True)
        course_id = await services.lookup.resolve(course)
        record = await services.courses.get(course_id)
        spec = with_roster(record.spec, await roster_file.read(file))
        diff = roster_diff(record.spec, spec)
        if diff.empty:
            await interaction.followup.send(
                f"{course_name(record)}: this roster is the same as the course's; "
                "nothing to change.",
                ephemeral=True,
            )
            return
        # The safety limit: removals over it are named in the preview, and Confirm confirms
        # exactly that number (the draft keeps it), as `confirm_removals` does in the API.
        change = await services.courses.preview(course_id, spec)
        confirm = change.removals if change.confirmation_needed else None
        draft = await services.drafts.propose(
            "roster", spec, actor(interaction), course_id, confirm_removals=confirm
        )
        await interaction.followup.send(
            embed=roster_preview_embed(
                course_name(record), diff, change.reasons if confirm is not None else []
            ),
            view=decision_view("roster", draft.id),
            ephemeral=True,
        )
