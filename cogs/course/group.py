"""The `/course` command group: each subcommand's parameters, and where its behaviour lives.

| subcommand | module |
|---|---|
| create | `cogs.course.create` (modal, roster CSV, preview) and `cogs.course.decisions` |
| claim | `cogs.course.claim` |
| status | `cogs.course.status` (live embed) |
| retry, list, invites | here (one service call, one embed) |
| roster | `cogs.course.roster` (difference, then `cogs.course.decisions`) |
| roster-status | `cogs.course.roster_status` |
| archive, unarchive | `cogs.course.archive` (preview, then `cogs.course.decisions`) |

Courses are chosen by autocomplete over code and term (`CourseLookup.find`); the value sent is
the course id, and a typed id or "CODE TERM" is accepted too. Install with `install(tree,
group)`: it adds the group, the Confirm/Cancel handler and the one error handler.
"""

from __future__ import annotations

import discord
from discord import app_commands

from cogs.access import Interaction, NotAllowedError, acting_as, actor, require_admin
from cogs.course.archive import preview_archive
from cogs.course.chosen import chosen_course
from cogs.course.claim import claim_server
from cogs.course.create import open_modal
from cogs.course.decisions import draft_decisions
from cogs.course.roster import preview_roster
from cogs.course.roster_status import show_roster_status
from cogs.course.status import show_status
from cogs.errors import handle_error
from cogs.render.courses import courses_embed
from cogs.render.invites import invites_embed
from cogs.render.status import course_name, status_embed
from cogs.services import CommandServices

Choice = app_commands.Choice[str]
_LISTED_COURSES = 10
_COURSE_PARAMETER = "course"
_COURSE_HELP = "Start typing the course's code or term, then pick it"


class CourseCommands(app_commands.Group):
    """`/course …`."""

    def __init__(self, services: CommandServices) -> None:
        super().__init__(name="course", description="Course provisioning", guild_only=True)
        self._services = services
        # discord.py binds autocomplete per command (on this instance's copies, made above):
        # every command with a `course` parameter gets the same suggestions, so a new one
        # needs nothing but the parameter.
        for command in self.walk_commands():
            if isinstance(command, app_commands.Command) and any(
                parameter.name == _COURSE_PARAMETER for parameter in command.parameters
            ):
                command.autocomplete(_COURSE_PARAMETER)(self._courses)

    @property
    def services(self) -> CommandServices:
        return self._services

    async def _courses(self, interaction: Interaction, current: str) -> list[Choice]:
        """Autocomplete: the admin's courses matching what was typed (nobody else's)."""
        try:
            require_admin(self._services.admin, interaction)
        except NotAllowedError:
            return []
        found = await self._services.lookup.find(current)
        return [Choice(name=c.label, value=c.id) for c in found]

    @app_commands.command(name="create", description="Create a course: details, roster, preview")
    @app_commands.describe(
        kind="Lecture, or laboratory (lab groups from the roster's group column)",
        roster="CSV with columns name, github; optional email, discord_id, group",
    )
    @app_commands.choices(
        kind=[
            Choice(name="lecture", value="lecture"),
            Choice(name="laboratory", value="laboratory"),
        ]
    )
    async def create(
        self, interaction: Interaction, kind: str, roster: discord.Attachment | None = None
    ) -> None:
        await open_modal(self._services, interaction, kind, roster)

    @app_commands.command(name="claim", description="Make this server the course's server")
    @app_commands.describe(code="The claim code from the course's creation, e.g. ABCD-EFGH-JK")
    async def claim(self, interaction: Interaction, code: str) -> None:
        await claim_server(self._services, interaction, code)

    @app_commands.command(name="status", description="A course's provisioning status, live")
    @app_commands.describe(course=_COURSE_HELP)
    async def status(self, interaction: Interaction, course: str) -> None:
        await show_status(self._services, interaction, course)

    @app_commands.command(name="retry", description="Retry a course's failed or waiting steps")
    @app_commands.describe(course=_COURSE_HELP)
    async def retry(self, interaction: Interaction, course: str) -> None:
        services = self._services
        async with chosen_course(services, interaction, course) as record:
            outcome = await services.courses.retry(record.id, actor(interaction))
            embed = status_embed(record, outcome.status)
            await interaction.followup.send(
                f"Retrying {len(outcome.retried)} step(s); {len(outcome.verified)} finished "
                "step(s) are checked again.",
                embed=embed,
                ephemeral=True,
            )

    @app_commands.command(name="roster", description="Change a course's students from a CSV")
    @app_commands.describe(
        course=_COURSE_HELP,
        file="CSV with columns name, github; optional email, discord_id, group",
    )
    async def roster(self, interaction: Interaction, course: str, file: discord.Attachment) -> None:
        await preview_roster(self._services, interaction, course, file)

    @app_commands.command(name="list", description="The newest courses and their state")
    async def list_courses(self, interaction: Interaction) -> None:
        require_admin(self._services.admin, interaction)
        with acting_as(interaction):
            await interaction.response.defer(ephemeral=True, thinking=True)
            courses = await self._services.courses.recent(_LISTED_COURSES)
            await interaction.followup.send(embed=courses_embed(courses), ephemeral=True)

    @app_commands.command(name="invites", description="A course's invite links (only you see them)")
    @app_commands.describe(course=_COURSE_HELP)
    async def invites(self, interaction: Interaction, course: str) -> None:
        services = self._services
        async with chosen_course(services, interaction, course) as record:
            links = await services.invites.links(record.id)
            embed = invites_embed(course_name(record), links)
            await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(name="roster-status", description="Who is in, and who is stuck")
    @app_commands.describe(course=_COURSE_HELP)
    async def roster_status(self, interaction: Interaction, course: str) -> None:
        await show_roster_status(self._services, interaction, course)

    @app_commands.command(name="archive", description="End of term: archive a course, Confirm")
    @app_commands.describe(course=_COURSE_HELP)
    async def archive(self, interaction: Interaction, course: str) -> None:
        await preview_archive(self._services, interaction, course, archived=True)

    @app_commands.command(name="unarchive", description="Undo archiving a course, after Confirm")
    @app_commands.describe(course=_COURSE_HELP)
    async def unarchive(self, interaction: Interaction, course: str) -> None:
        await preview_archive(self._services, interaction, course, archived=False)


def install(tree: app_commands.CommandTree[discord.Client], group: CourseCommands) -> None:
    """Add `/course`, the Confirm/Cancel handler and `handle_error` as the tree's handler.

    Only the tree's handler: discord.py calls a group's `on_error` *and* the tree's, which would
    answer twice."""
    tree.add_command(group)
    tree.client.add_dynamic_items(draft_decisions(group.services))
    tree.on_error = handle_error  # type: ignore[method-assign]
