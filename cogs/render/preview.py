"""What Confirm will do: the preview of a new course, and of a roster change."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from cogs.render.text import FIELD_MAX, TITLE_MAX, clip, duration, lines_within
from provisioning.courses.preview import CoursePreview
from provisioning.courses.roster_diff import RosterDiff
from provisioning.courses.spec import CourseSpec

PREVIEW_COLOUR = discord.Colour.blurple()


def course_preview_embed(spec: CourseSpec, preview: CoursePreview) -> discord.Embed:
    """The new course, what it creates on each platform, how many writes and how long."""
    people = f"{len(spec.staff)} staff, {len(spec.students)} students"
    if spec.groups:
        people += f", {len(spec.groups)} lab groups ({', '.join(spec.groups)})"
    embed = discord.Embed(
        title=clip(f"New course: {spec.code} · {spec.term}", TITLE_MAX),
        description=(
            f"**{spec.title}**, a {spec.kind} course on GitHub organization "
            f"`{spec.github_org}`.\n{people}.\nNothing is stored until you confirm."
        ),
        colour=PREVIEW_COLOUR,
    )
    resources = [f"- {count} {name}" for name, count in preview.resources.items()]
    embed.add_field(name="It will create", value=lines_within(resources, FIELD_MAX), inline=False)
    embed.add_field(
        name="GitHub",
        value=(
            f"{preview.github.writes} writes ({preview.github.calls} calls); "
            f"about {duration(preview.github_s)} at GitHub's rate limits, from Confirm"
        ),
        inline=False,
    )
    if preview.invitations is not None:
        embed.add_field(
            name="GitHub invitations",
            value=clip(f"{preview.invitations.message}.", FIELD_MAX),
            inline=False,
        )
    embed.add_field(
        name="Discord",
        value=(
            f"{preview.discord.writes} writes ({preview.discord.calls} calls); "
            f"about {duration(preview.discord_s)}, once the course's server is claimed"
        ),
        inline=False,
    )
    embed.set_footer(text=f"{preview.steps} steps in all")
    return embed


def _names(items: list[str]) -> str:
    return lines_within(items, FIELD_MAX)


def roster_preview_embed(
    name: str, diff: RosterDiff, over_limit: Sequence[str] = ()
) -> discord.Embed:
    """The difference a roster upload makes, person by person; `over_limit`: why the change
    is over the safety limit (Confirm then confirms those removals)."""
    embed = discord.Embed(
        title=clip(f"Roster change: {name}", TITLE_MAX),
        description=(
            f"{diff.total} students after the change. Only this difference is applied, "
            "after you confirm."
        ),
        colour=PREVIEW_COLOUR,
    )
    if diff.added:
        lines = [
            f"- {s.name} (`{s.github}`)" + (f", {s.group}" if s.group else "") for s in diff.added
        ]
        embed.add_field(name=f"Added ({len(diff.added)})", value=_names(lines), inline=False)
    if diff.removed:
        lines = [f"- {s.name} (`{s.github}`)" for s in diff.removed]
        embed.add_field(name=f"Removed ({len(diff.removed)})", value=_names(lines), inline=False)
    if diff.moved:
        lines = [
            f"- {m.student.name} (`{m.student.github}`): {m.old_group or 'no group'} → "
            f"{m.student.group or 'no group'}"
            for m in diff.moved
        ]
        embed.add_field(name=f"Moved ({len(diff.moved)})", value=_names(lines), inline=False)
    if diff.relogged:
        lines = [
            f"- {r.student.name}: `{r.old_login}` → `{r.student.github}`" for r in diff.relogged
        ]
        embed.add_field(
            name=f"Changed GitHub logins ({len(diff.relogged)})", value=_names(lines), inline=False
        )
    if over_limit:
        embed.add_field(
            name="Over the safety limit",
            value=_names([f"- {reason}" for reason in over_limit])
            + "\nConfirm applies these removals; repositories are archived, never deleted.",
            inline=False,
        )
    return embed
