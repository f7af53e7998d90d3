"""The course log: one message per milestone of each course in a channel of the admin server,
so staff see progress without asking (`provisioning.courses.milestones` decides what is due).

`CourseLog.post_due` runs on the bot's scheduler tick. Without the channel (not configured, or
not found in the admin server) it does nothing, and says so once.

A drift reconcile that repaired something tells the log when it records its report
(`post_drift`); a message that could not be sent is tried again on the next ticks (kept in
memory: a restart loses it, the report itself stays in `GET /courses/{id}/drift`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

import discord

from cogs.render.drift import drift_log_embed
from cogs.render.status import COLOURS
from cogs.render.text import clip
from provisioning import audit_context
from provisioning.courses.milestones import Milestone
from provisioning.courses.reconcile import DriftNotice
from provisioning.students.notices import Notice

log = logging.getLogger(__name__)

HEADLINES = {
    "created": ("Course created", "pending", "GitHub is being set up; the server comes next."),
    "waiting_for_server": (
        "Waiting for its server",
        "awaiting_action",
        "Create a server, add the bot and run /course claim there (see /course status).",
    ),
    "claimed": ("Server claimed", "in_progress", "The bot is setting up the Discord server."),
    "needs_person": ("Needs a person", "awaiting_action", "See /course status for what to do."),
    "failed": ("Failed", "failed", "Fix the cause, then /course retry."),
    "done": ("Done", "succeeded", "Everything is provisioned."),
}


ACTOR = "course-log"
# Drift messages waiting to be sent again, at most (the oldest are dropped first).
_DRIFT_PENDING_MAX = 50


class Milestones(Protocol):
    """`provisioning.courses.milestones.MilestoneTracker`."""

    async def due(self) -> list[Milestone]: ...

    async def post(self, milestone: Milestone, send: Callable[[], Awaitable[None]]) -> bool: ...


class Notices(Protocol):
    """`provisioning.students.notices.StaffNotices`."""

    async def due(self) -> list[Notice]: ...

    async def post(self, notice: Notice, send: Callable[[], Awaitable[None]]) -> bool: ...


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
    description = f"{milestone.title}\n{next_step}"
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
    """Posts due milestones to the log channel of the admin server."""

    def __init__(
        self,
        client: discord.Client,
        milestones: Milestones,
        guild_id: str | None,
        channel_name: str,
        notices: Notices | None = None,
    ) -> None:
        self._client = client
        self._milestones = milestones
        self._notices = notices
        self._guild_id = guild_id
        self._channel_name = channel_name
        self._missing_said = False
        self._drift_pending: list[DriftNotice] = []
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
        """Post every milestone reached since the last round; how many were posted."""
        if self._lock.locked():
            return 0
        async with self._lock:
            channel = self._channel()
            if channel is None:
                return 0
            posted = 0
            for milestone in await self._milestones.due():
                embed = milestone_embed(milestone)

                async def send(embed: discord.Embed = embed) -> None:
                    await channel.send(embed=embed)

                context = audit_context.AuditContext(actor=ACTOR, course_id=milestone.course_id)
                token = audit_context.current.set(context)
                try:
                    posted += await self._milestones.post(milestone, send)
                except discord.HTTPException:
                    log.warning("could not post to the course log", exc_info=True)
                    break
                finally:
                    audit_context.current.reset(token)
            posted += await self._post_notices(channel)
            return posted + await self._send_drift(channel)

    async def _post_notices(self, channel: discord.TextChannel) -> int:
        if self._notices is None:
            return 0
        posted = 0
        for notice in await self._notices.due():
            embed = notice_embed(notice)

            async def send(embed: discord.Embed = embed) -> None:
                await channel.send(embed=embed)

            context = audit_context.AuditContext(actor=ACTOR, course_id=notice.course_id)
            token = audit_context.current.set(context)
            try:
                posted += await self._notices.post(notice, send)
            except discord.HTTPException:
                log.warning("could not post a staff notice to the course log", exc_info=True)
                break
            finally:
                audit_context.current.reset(token)
        return posted

    async def post_drift(self, notice: DriftNotice) -> None:
        """Post a recorded drift report now (or on a later tick if that fails)."""
        self._drift_pending = [*self._drift_pending, notice][-_DRIFT_PENDING_MAX:]
        if self._lock.locked():
            return  # the round under way, or the next, sends it
        async with self._lock:
            channel = self._channel()
            if channel is not None:
                await self._send_drift(channel)

    async def _send_drift(self, channel: discord.TextChannel) -> int:
        sent = 0
        while self._drift_pending:
            notice = self._drift_pending[0]
            context = audit_context.AuditContext(actor=ACTOR, course_id=notice.course_id)
            token = audit_context.current.set(context)
            try:
                await channel.send(embed=drift_log_embed(notice))
            except discord.HTTPException:
                log.warning("could not post a drift report to the course log", exc_info=True)
                break
            finally:
                audit_context.current.reset(token)
            self._drift_pending.pop(0)
            sent += 1
        return sent
