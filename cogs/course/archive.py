"""`/course archive` and `/course unarchive`: what will change, then Confirm.

The preview comes from `CourseService.archive_preview`; nothing changes until Confirm
(`cogs.course.decisions`), which applies the stored draft once, however often it is clicked.
A course already in the asked state is answered in words, without buttons.
"""

from __future__ import annotations

from cogs.access import Interaction, acting_as, actor, require_admin
from cogs.course.decisions import decision_view
from cogs.render.archive import archive_preview_embed
from cogs.render.status import course_name
from cogs.services import CommandServices


async def preview_archive(
    services: CommandServices, interaction: Interaction, course: str, *, archived: bool
) -> None:
    require_admin(services.admin, interaction)
    with acting_as(interaction):
        await interaction.response.defer(ephemeral=True, thinking=True)
        course_id = await services.lookup.resolve(course)
        record = await services.courses.get(course_id)
        name = course_name(record)
        if (record.archived_at is not None) == archived:
            await interaction.followup.send(
                f"{name} is archived already; `/course unarchive` undoes it."
                if archived
                else f"{name} is not archived; nothing to undo.",
                ephemeral=True,
            )
            return
        preview = await services.courses.archive_preview(course_id, archived=archived)
        kind = "archive" if archived else "unarchive"
        draft = await services.drafts.propose(kind, record.spec, actor(interaction), course_id)
        await interaction.followup.send(
            embed=archive_preview_embed(name, record.spec, preview, archived=archived),
            view=decision_view(kind, draft.id),
            ephemeral=True,
        )
