"""How every admin command on one course starts: the admin check, the person named in the
audit rows, the deferred (ephemeral) answer, and the course the `course` option chose."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from cogs.access import Interaction, acting_as, require_admin
from cogs.services import CommandServices
from provisioning.courses.views import CourseRecord


@asynccontextmanager
async def chosen_course(
    services: CommandServices, interaction: Interaction, course: str
) -> AsyncIterator[CourseRecord]:
    """The course named by ``course`` (an id, or "CODE TERM"), for a command body that answers
    with `interaction.followup`; refused (`NotAllowedError`) before anything is deferred for
    anyone but the admins."""
    require_admin(services.admin, interaction)
    with acting_as(interaction):
        await interaction.response.defer(ephemeral=True, thinking=True)
        yield await services.courses.get(await services.lookup.resolve(course))
