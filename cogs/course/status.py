"""`/course status`: the course as an embed, edited live while it provisions.

The reply is edited only when something changed, at most every `live_every_s` seconds (well
under Discord's edit limits), and only within the interaction token's 15 minutes; it stops at
done or failed, or says when the live updates stopped.
"""

from __future__ import annotations

import asyncio

from cogs.access import Interaction, acting_as, require_admin
from cogs.render.status import FINISHED, status_embed
from cogs.services import CommandServices
from provisioning.claims.codes import waiting_for_claim
from provisioning.courses.views import CourseRecord, CourseStatus


def _footer(record: CourseRecord, status: CourseStatus, live: bool) -> str:
    if status.state in FINISHED:
        return f"Final state · course id {record.id}"
    if live:
        return f"Updating live · course id {record.id}"
    return (
        f"Live updates stopped (Discord allows 15 minutes): run /course status again · "
        f"course id {record.id}"
    )


async def show_status(services: CommandServices, interaction: Interaction, course: str) -> None:
    require_admin(services.admin, interaction)
    with acting_as(interaction):
        await interaction.response.defer(ephemeral=True, thinking=True)
        course_id = await services.lookup.resolve(course)
        record = await services.courses.get(course_id)
        status = await services.courses.status(course_id)

        async def show(status: CourseStatus, live: bool) -> None:
            code = services.claim_code(course_id) if waiting_for_claim(status) else None
            embed = status_embed(record, status, code, _footer(record, status, live))
            await interaction.edit_original_response(embed=embed)

        await show(status, live=True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + services.live_for_s
        while status.state not in FINISHED:
            if loop.time() + services.live_every_s > deadline:
                await show(status, live=False)
                return
            await asyncio.sleep(services.live_every_s)
            latest = await services.courses.status(course_id)
            if latest != status:
                status = latest
                await show(status, live=True)
