"""`/course archive` and `/course unarchive`: what will change, then Confirm.

The preview comes from `CourseService.archive_preview`; nothing changes until Confirm
(`cogs.course.decisions`), which applies the stored draft once, however often it is clicked.
A course already in the asked state is answered in words, without buttons.
"""

from __future__ import annotations

from cogs.access import Interaction, actor
from cogs.course.chosen import chosen_course
from cogs.course.decisions import decision_view
from cogs.render.archive import archive_preview_embed
from cogs.render.status import course_name
from cogs.services import CommandServices


async def preview_archive(
    services: CommandServices, interaction: Interaction, course: str, *, archived: bool
) -> None:
    async with chosen_course(services, interaction, course) as record:
        name = course_name(record)
        if (record.archived_at is not None) == archived:
            await interaction.followup.send(
                f"{name} is archived already; `/course unarchive` undoes it."
                if archived
                else f"{name} is not archived; nothing to undo.",
                ephemeral=True,
            )
            return
        preview = await services.courses.archive_preview(record.id, archived=archived)
        kind = "archive" if archived else "unarchive"
        draft = await services.drafts.propose(kind, record.spec, actor(interaction), record.id)
        await interaction.followup.send(
            embed=archive_preview_embed(name, record.spec, preview, archived=archived),
            view=decision_view(kind, draft.id),
            ephemeral=True,
        )
