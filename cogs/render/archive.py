"""What Confirm will do to a course at the end of term (`/course archive`) or after it
(`/course unarchive`), from `CourseService.archive_preview`."""

from __future__ import annotations

import discord

from cogs.render.text import FIELD_MAX, TITLE_MAX, clip, lines_within
from provisioning.courses.change_preview import ChangePreview, ResourceChange
from provisioning.courses.spec import CourseSpec
from provisioning.plan import repository_names

ARCHIVE_COLOUR = discord.Colour.dark_grey()
UNARCHIVE_COLOUR = discord.Colour.blurple()

# (kind, change) → the field's heading, as the instructor reads it, per direction.
_ARCHIVE_HEADINGS = {
    ("github.repo", "changed"): "Repositories archived (read-only, kept)",
    ("discord.channel", "changed"): "Channels made read-only for students",
    ("discord.invite", "removed"): "Invite links revoked",
}
_UNARCHIVE_HEADINGS = {
    ("github.repo", "changed"): "Repositories unarchived",
    ("discord.channel", "changed"): "Channels writable again for students",
    # Retired by archiving, the invite steps come back: new links, the old ones stay revoked.
    ("discord.invite", "added"): "Invite links made anew",
    ("discord.invite", "changed"): "Invite links made anew",
}
_OTHER = "Other changes"


def _name(change: ResourceChange, repositories: dict[str, str]) -> str:
    """The resource as people find it: a repository's GitHub name, a channel's name, an
    invite's audience (the step key after its kind: `discord.channel:lab-01`)."""
    name = change.key.split(":", 1)[1] if ":" in change.key else change.key
    if change.kind == "github.repo":
        return f"- `{repositories.get(name, name)}`"
    return f"- #{name}" if change.kind == "discord.channel" else f"- {name}"


def archive_preview_embed(
    name: str, spec: CourseSpec, preview: ChangePreview, *, archived: bool
) -> discord.Embed:
    """The resources archiving (or, `archived=False`, unarchiving) changes, by what happens."""
    headings = _ARCHIVE_HEADINGS if archived else _UNARCHIVE_HEADINGS
    if archived:
        title = f"Archive: {name}"
        description = (
            "End of term: repositories are archived (kept, read-only for everyone), channels "
            "become read-only for students, invite links are revoked. Roles, teams and members "
            "stay. `/course unarchive` undoes it. Nothing changes until you confirm."
        )
    else:
        title = f"Unarchive: {name}"
        description = (
            "The course as before archiving: repositories writable, channels open to students, "
            "new invite links. Nothing changes until you confirm."
        )
    embed = discord.Embed(
        title=clip(title, TITLE_MAX),
        description=description,
        colour=ARCHIVE_COLOUR if archived else UNARCHIVE_COLOUR,
    )
    repositories = repository_names(spec)
    grouped: dict[str, list[str]] = {}
    for change in preview.resources:
        heading = headings.get((change.kind, change.change), _OTHER)
        if heading == _OTHER:
            line = f"- {change.key}: {change.change}"
        else:
            line = _name(change, repositories)
        grouped.setdefault(heading, []).append(line)
    for heading in [*headings.values(), _OTHER]:
        lines = grouped.get(heading, [])
        if lines:
            embed.add_field(
                name=f"{heading} ({len(lines)})",
                value=lines_within(lines, FIELD_MAX),
                inline=False,
            )
    return embed
