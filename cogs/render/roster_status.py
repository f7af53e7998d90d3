"""`/course roster-status`: how many people are at each state of joining, who is stuck and
why, and who joined the course's server without being on the roster."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import discord

from cogs.render.text import FIELD_MAX, TITLE_MAX, clip, lines_within
from provisioning.students.member_join import UnknownJoiner
from provisioning.students.roster_status import RosterSummary

ALL_IN_COLOUR = discord.Colour.green()
STUCK_COLOUR = discord.Colour.orange()


def _counts(counts: Mapping[str, int]) -> str:
    """`3 sent · 1 bounced`, the largest first; states nobody is in are left out."""
    ordered = sorted(((n, s) for s, n in counts.items() if n), key=lambda x: (-x[0], x[1]))
    return " · ".join(f"{n} {state.replace('_', ' ')}" for n, state in ordered) or "nobody"


def roster_status_embed(
    name: str, summary: RosterSummary, joiners: Sequence[UnknownJoiner]
) -> discord.Embed:
    """Counts per e-mail, GitHub and Discord state; the stuck people with what is wrong."""
    embed = discord.Embed(
        title=clip(f"Roster status: {name}", TITLE_MAX),
        description=(
            f"{summary.people} people on the roster; {summary.stuck_total} stuck."
            if summary.stuck_total
            else f"{summary.people} people on the roster; nobody is stuck."
        ),
        colour=STUCK_COLOUR if summary.stuck_total or joiners else ALL_IN_COLOUR,
    )
    embed.add_field(name="E-mail", value=_counts(summary.email), inline=False)
    github = _counts(summary.github)
    if summary.github_checked_at is not None:
        # A Discord timestamp: each reader sees the time in their own zone.
        checked = discord.utils.format_dt(summary.github_checked_at, "R")
        github += f"\nPending invitations checked on GitHub {checked}"
    embed.add_field(name="GitHub", value=clip(github, FIELD_MAX), inline=False)
    embed.add_field(name="Discord", value=_counts(summary.discord), inline=False)
    if summary.stuck:
        lines = [f"- {p.name} (`{p.github}`): {p.problem}" for p in summary.stuck]
        if summary.stuck_total > len(summary.stuck):
            lines.append(
                f"… and {summary.stuck_total - len(summary.stuck)} more: "
                f"GET /courses/{summary.course_id}/roster lists everyone"
            )
        embed.add_field(
            name=f"Stuck ({summary.stuck_total})",
            value=lines_within(lines, FIELD_MAX),
            inline=False,
        )
    if joiners:
        # A Discord timestamp: each reader sees the time in their own zone.
        lines = [
            f"- {j.name} (id {j.user_id}), joined "
            f"{discord.utils.format_dt(datetime.fromisoformat(j.at), 'f')}"
            for j in joiners
        ]
        embed.add_field(
            name=f"Joined the server, not on the roster ({len(joiners)})",
            value=lines_within(lines, FIELD_MAX),
            inline=False,
        )
    return embed
