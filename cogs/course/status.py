"""`/course status`: the course as an embed, edited live while it provisions.

The reply is edited only when something changed, at most every `live_every_s` seconds (well
under Discord's edit limits), and only within the interaction token's 15 minutes; it stops at
done or failed, or says when the live updates stopped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from cogs.access import Interaction, acting_as
from cogs.course.chosen import chosen_course
from cogs.render.drift import add_drift_field
from cogs.render.server_count import add_server_warning
from cogs.render.status import FINISHED, status_embed
from cogs.services import CommandServices
from provisioning.claims.codes import SERVER_STEP, server_waits_for_claim
from provisioning.courses.views import CourseRecord, StatusOverview, StepStatus

log = logging.getLogger(__name__)
# The failed and blocked steps a reply names (the field holds about this many); the count
# says how many there are in all.
FAILURES_SHOWN = 20
PROBLEM_STATES = ("failed", "blocked")
# How long stopping the bot waits for live updates to finish their current read.
CLOSE_WAIT_S = 10.0


class LiveUpdates:
    """The live status replies being edited; `close` stops them with the bot.

    They stop between two reads, never inside one: a task cancelled in the middle of a
    database call could leave its connection unreturned."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = asyncio.Event()

    def start(self, updates: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(updates, name="live course status")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def pause(self, seconds: float) -> bool:
        """Wait `seconds`; False (at once) when the bot is stopping."""
        try:
            async with asyncio.timeout(seconds):
                await self._closing.wait()
        except TimeoutError:
            return True
        return False

    async def close(self) -> None:
        self._closing.set()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=CLOSE_WAIT_S)
        for task in self._tasks:
            task.cancel()


@dataclass(frozen=True)
class _Shown:
    """What the reply shows, read from the summary and two small index reads: never every
    step of the course, however big it is."""

    status: StatusOverview
    failures: list[StepStatus]
    waits_for_claim: bool

    @property
    def state(self) -> str:
        return self.status.state


async def _read(services: CommandServices, course_id: str) -> _Shown:
    page = await services.courses.status_page(
        course_id, limit=FAILURES_SHOWN, states=PROBLEM_STATES
    )
    server = await services.courses.step_status(course_id, SERVER_STEP)
    return _Shown(
        StatusOverview(page.summary, page.actions), page.steps, server_waits_for_claim(server)
    )


def _footer(record: CourseRecord, status: _Shown, live: bool) -> str:
    if status.state in FINISHED:
        return f"Final state · course id {record.id}"
    if live:
        return f"Updating live · course id {record.id}"
    return (
        f"Live updates stopped (Discord allows 15 minutes): run /course status again · "
        f"course id {record.id}"
    )


async def show_status(services: CommandServices, interaction: Interaction, course: str) -> None:
    """Answer with the status now, then keep the answer up to date in the background."""
    async with chosen_course(services, interaction, course) as record:
        status = await _read(services, record.id)
        await _show(services, interaction, record, status, live=True)
        if status.state not in FINISHED:
            services.live.start(_follow(services, interaction, record, status))


async def _show(
    services: CommandServices,
    interaction: Interaction,
    record: CourseRecord,
    status: _Shown,
    live: bool,
) -> None:
    code = services.claim_code(record.id) if status.waits_for_claim else None
    footer = _footer(record, status, live)
    embed = status_embed(record, status.status, code, footer, status.failures)
    add_server_warning(embed, services.server_notice())
    if services.drift is not None:
        add_drift_field(embed, await services.drift(record.id))
    await interaction.edit_original_response(embed=embed)


async def _follow(
    services: CommandServices,
    interaction: Interaction,
    record: CourseRecord,
    status: _Shown,
) -> None:
    """Edit the reply when the status changes, until done or failed or the window ends."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + services.live_for_s
    try:
        with acting_as(interaction):
            while status.state not in FINISHED:
                if loop.time() + services.live_every_s > deadline:
                    await _show(services, interaction, record, status, live=False)
                    return
                if not await services.live.pause(services.live_every_s):
                    return
                latest = await _read(services, record.id)
                if latest != status:
                    status = latest
                    await _show(services, interaction, record, status, live=True)
    except Exception:
        # The person has the last state shown; a failed edit must not end anything else.
        log.warning("live status updates stopped", exc_info=True, extra={"course_id": record.id})
