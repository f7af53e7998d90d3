"""A course's status as an embed: a progress bar, counts by state, what a person must do."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from cogs.render.text import FIELD_MAX, TITLE_MAX, clip, lines_within
from cogs.render.times import discord_time
from provisioning.courses.views import CourseRecord, StatusOverview, StepStatus

BAR_WIDTH = 20
# The order and words a person reads the states in.
STATE_WORDS = {
    "succeeded": "done",
    "running": "running",
    "pending": "waiting to run",
    "awaiting_action": "need a person",
    "blocked": "blocked",
    "failed": "failed",
}
COURSE_WORDS = {
    "pending": "Waiting to start",
    "in_progress": "Provisioning",
    "awaiting_action": "Needs a person",
    "failed": "Failed",
    "succeeded": "Done",
}
COLOURS = {
    "pending": discord.Colour.light_grey(),
    "in_progress": discord.Colour.blue(),
    "awaiting_action": discord.Colour.orange(),
    "failed": discord.Colour.red(),
    "succeeded": discord.Colour.green(),
}
FINISHED = frozenset({"succeeded", "failed"})


def progress_bar(done: int, total: int) -> str:
    """`▰▰▰▱▱▱ 50% (3 of 6 steps done)`."""
    share = done / total if total else 1.0
    filled = round(share * BAR_WIDTH)
    bar = "▰" * filled + "▱" * (BAR_WIDTH - filled)
    return f"{bar} {int(share * 100)}% ({done} of {total} steps done)"


def course_name(record: CourseRecord) -> str:
    return f"{record.code} · {record.term}"


def status_embed(
    record: CourseRecord,
    status: StatusOverview,
    claim_code: str | None = None,
    footer: str = "",
    failures: Sequence[StepStatus] = (),
) -> discord.Embed:
    """The embed of `/course status`: state, progress, counts, people's actions, and the
    first `failures` (failed and blocked steps) with their errors."""
    counts = status.summary.counts
    total = sum(counts.values())
    done = counts.get("succeeded", 0)
    embed = discord.Embed(
        title=clip(f"{course_name(record)}: {COURSE_WORDS[status.summary.state]}", TITLE_MAX),
        description=f"{record.title}\n`{progress_bar(done, total)}`",
        colour=COLOURS[status.summary.state],
    )
    shown = [f"{counts[s]} {w}" for s, w in STATE_WORDS.items() if counts.get(s)]
    embed.add_field(name="Steps", value=", ".join(shown) or "none", inline=False)
    invitations = status.summary.invitations
    if invitations is not None:
        embed.add_field(
            name=f"GitHub invitations to {record.github_org}",
            value=clip(
                f"{invitations.lead} {discord_time(invitations.last_at)}. Nothing to do: they "
                "go on their own.",
                FIELD_MAX,
            ),
            inline=False,
        )
    if claim_code is not None:
        embed.add_field(
            name="Claim code",
            value=(
                f"`{claim_code}`: create the course's server, add the bot, then run "
                f"`/course claim {claim_code}` there. Share it only with whoever creates "
                "that server."
            ),
            inline=False,
        )
    actions = [f"- `{a.step_key}`: {a.hint}" for a in status.actions]
    if actions:
        embed.add_field(
            name=f"Needs a person ({counts.get('awaiting_action', len(actions))})",
            value=lines_within(actions, FIELD_MAX),
            inline=False,
        )
    failed = [
        f"- `{s.key}` {STATE_WORDS[s.state]}" + (f": {s.last_error}" if s.last_error else "")
        for s in failures
    ]
    if failed:
        embed.add_field(
            name=f"Failed or blocked ({counts.get('failed', 0) + counts.get('blocked', 0)})",
            value=lines_within(failed, FIELD_MAX) + "\nFix the cause, then `/course retry`.",
            inline=False,
        )
    embed.set_footer(text=footer or f"Course id {record.id}")
    return embed
