"""The course log: one message per milestone of each course in a channel of the admin server,
so staff see progress without asking (`provisioning.courses.milestones` decides what is due).

`CourseLog.post_due` runs on the bot's scheduler tick. Without the channel (not configured, or
not found in the admin server) it does nothing, and says so once.

Besides milestones it posts what is stored for it, each once: staff notices
(`provisioning.students.notices`) and the message of each reconcile that repaired something
(`provisioning.courses.drift_notices`, stored with the report, so a restart loses none).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import discord

from cogs.render.drift import drift_log_embed
from cogs.render.status import COLOURS
from cogs.render.text import clip
from provisioning import audit_context
from provisioning.courses.drift_notices import DriftNotice
from provisioning.courses.milestones import Milestone
from provisioning.discord.server_count import CAP_WAIT
from provisioning.students.notices import Notice

log = logging.getLogger(__name__)

HEADLINES = {
    "created": ("Course created", "pending", "GitHub is being set up; the server comes next."),
    "waiting_for_server": (
        "Waiting for its server",
        "awaiting_action",
        "Create a server, add the bot and run /course claim there (see /course status).",
    ),
    # The step's own words (why, what to do) are the description; this is for their absence.
    "waiting_for_cap": ("Waiting: the bot is at Discord's server cap", "awaiting_action", CAP_WAIT),
    "claimed": ("Server claimed", "in_progress", "The bot is setting up the Discord server."),
    "needs_person": ("Needs a person", "awaiting_action", "See /course status for what to do."),
    "failed": ("Failed", "failed", "Fix the cause, then /course retry."),
    "done": ("Done", "succeeded", "Everything is provisioned."),
}


ACTOR = "course-log"


class _OfCourse(Protocol):
    @property
    def course_id(self) -> str: ...


Item = TypeVar("Item", bound=_OfCourse)


class Due(Protocol[Item]):
    """What the log posts each once: `due` lists them, `post` sends one and records it."""

    async def due(self) -> list[Item]: ...

    async def post(self, item: Item, send: Callable[[], Awaitable[None]]) -> bool: ...


# `provisioning.courses.milestones.MilestoneTracker`, `provisioning.students.notices.StaffNotices`,
# `provisioning.courses.drift_notices.DriftNotices`.
Milestones = Due[Milestone]
Notices = Due[Notice]
DriftMessages = Due[DriftNotice]


def notice_embed(notice: Notice) -> discord.Embed:
    """A join-page refusal staff must act on: who, what they tried, what to do."""
    embed = discord.Embed(
        title=clip(f"{notice.code} · {notice.term}: {notice.person} needs staff", 256),
        description=clip(f"{notice.what}\n\n**What to do:** {notice.todo}", 4096),
        colour=COLOURS["awaiting_action"],
    )
    embed.set_footer(text=f"Course id {notice.course_id}")
    return embed


def milestone_embed(milestone: Milestone) -> discord.Embed:
    headline, colour, next_step = HEADLINES[milestone.name]
    description = f"{milestone.title}\n{milestone.why or next_step}"
    if milestone.steps:
        description += f"\n{milestone.steps} step(s)"
        if milestone.first_hint:
            description += f"; first: {clip(milestone.first_hint, 500)}"
    embed = discord.Embed(
        title=clip(f"{milestone.code} · {milestone.term}: {headline}", 256),
        description=clip(description, 4096),
        colour=COLOURS[colour],
    )
    embed.set_footer(text=f"Course id {milestone.course_id}")
    return embed


class CourseLog:
    """Posts what is due (milestones, staff notices, drift messages) to the log channel of the
    admin server."""

    def __init__(
        self,
        client: discord.Client,
        milestones: Milestones,
        guild_id: str | None,
        channel_name: str,
        notices: Notices | None = None,
        drift: DriftMessages | None = None,
    ) -> None:
        self._client = client
        self._milestones = milestones
        self._notices = notices
        self._drift = drift
        self._guild_id = guild_id
        self._channel_name = channel_name
        self._missing_said = False
        # One round at a time: a slow round is not overtaken by the next tick.
        self._lock = asyncio.Lock()

    def _channel(self) -> discord.TextChannel | None:
        if not self._channel_name or self._guild_id is None:
            return None
        guild = self._client.get_guild(int(self._guild_id))
        channel = None
        if guild is not None:
            channel = discord.utils.get(guild.text_channels, name=self._channel_name)
        if channel is None and not self._missing_said:
            log.warning(
                "no #%s channel in the admin server (%s): the course log is off until it "
                "exists (DISCORD_LOG_CHANNEL names it)",
                self._channel_name,
                self._guild_id,
            )
            self._missing_said = True
        return channel

    async def post_due(self) -> int:
        """Post every milestone reached, and every notice and drift message stored, since the
        last round; how many were posted."""
        if self._lock.locked():
            return 0
        async with self._lock:
            channel = self._channel()
            if channel is None:
                return 0
            post = self._post_each
            posted = await post(channel, self._milestones, milestone_embed, "milestone")
            if self._notices is not None:
                posted += await post(channel, self._notices, notice_embed, "staff notice")
            if self._drift is not None:
                posted += await post(channel, self._drift, drift_log_embed, "drift message")
            return posted

    @staticmethod
    async def _post_each(
        channel: discord.TextChannel,
        source: Due[Item],
        embed_of: Callable[[Item], discord.Embed],
        what: str,
    ) -> int:
        """Post what `source` has due, each once (its `post` records it); stop at the first
        refusal, the rest are due again next round."""
        posted = 0
        for item in await source.due():
            embed = embed_of(item)

            async def send(embed: discord.Embed = embed) -> None:
                await channel.send(embed=embed)

            context = audit_context.AuditContext(actor=ACTOR, course_id=item.course_id)
            token = audit_context.current.set(context)
            try:
                posted += await source.post(item, send)
            except discord.HTTPException:
                log.warning("could not post a %s to the course log", what, exc_info=True)
                break
            finally:
                audit_context.current.reset(token)
        return posted
