"""Lists of courses: `/course list`."""

from __future__ import annotations

import discord

from cogs.render.status import COLOURS, COURSE_WORDS
from cogs.render.text import DESCRIPTION_MAX, lines_within
from provisioning.courses.views import CourseSummary


def courses_embed(courses: list[CourseSummary]) -> discord.Embed:
    """One line per course, newest first: code, term, title and state."""
    if not courses:
        return discord.Embed(
            title="No courses yet",
            description="Create one with `/course create`.",
            colour=COLOURS["pending"],
        )
    lines = [f"**{c.code}** · {c.term} · {c.title}: {COURSE_WORDS[c.state]}" for c in courses]
    embed = discord.Embed(
        title=f"Newest courses ({len(courses)})",
        description=lines_within(lines, DESCRIPTION_MAX),
        colour=COLOURS["in_progress"],
    )
    embed.set_footer(text="See one with /course status (type its code or term)")
    return embed
