"""`/course create`: a modal for the details, the roster from an attached CSV, a preview.

The modal must be the first answer (PLATFORM.md §1.11: no defer before it), so the command
only checks the caller and the file's size, and opens it. The submit defers, reads the CSV
(the same parser and errors as the API's rosters), validates everything at once, stores a
draft and shows the preview with Confirm and Cancel (`cogs.course.decisions`).
"""

from __future__ import annotations

import secrets
from typing import Any

import discord

from cogs.access import Interaction, acting_as, actor, require_admin
from cogs.course import roster_file
from cogs.course.decisions import decision_view
from cogs.errors import report
from cogs.render.preview import course_preview_embed
from cogs.services import CommandServices
from provisioning.courses.preview import preview_course
from provisioning.courses.spec import CourseSpec, parse_course
from provisioning.errors import CourseValidationError, FieldProblem
from provisioning.roster import group_names, parse_roster

MODAL_TIMEOUT_S = 15 * 60.0


def course_document(
    fields: dict[str, str], kind: str, instructor: dict[str, Any], students: list[Any]
) -> dict[str, Any]:
    """The course description the API would receive for these modal fields and roster."""
    groups = sorted({s.group for s in students if s.group}) if kind == "laboratory" else []
    return {
        "code": fields["code"].strip(),
        "title": fields["title"].strip(),
        "term": fields["term"].strip(),
        "kind": kind,
        "github_org": fields["github_org"].strip(),
        "staff": [instructor],
        "groups": groups,
        "students": [s.model_dump(mode="json") for s in students],
    }


def build_spec(
    fields: dict[str, str], kind: str, instructor: dict[str, Any], roster: bytes | None
) -> CourseSpec:
    """Validate the modal's fields and the roster together: every problem at once."""
    problems: list[FieldProblem] = []
    students: list[Any] = []
    roster_failed = False
    if roster is not None:
        # A lecture has no groups; a laboratory's are those its roster names, and every
        # student needs one of them.
        groups = group_names(roster) if kind == "laboratory" else []
        try:
            students = parse_roster(roster, groups=groups or ([] if kind == "lecture" else None))
        except CourseValidationError as exc:
            problems += exc.problems
            roster_failed = True
    try:
        spec = parse_course(course_document(fields, kind, instructor, students))
    except CourseValidationError as exc:
        # Without readable rows a laboratory has no groups yet: that is the roster's problem.
        problems += [p for p in exc.problems if not (roster_failed and p.path == "groups")]
    if problems:
        raise CourseValidationError(problems)
    return spec


class CourseModal(discord.ui.Modal):
    """Code, title, term, GitHub organization and the instructor's own GitHub login."""

    code: discord.ui.TextInput[CourseModal] = discord.ui.TextInput(
        label="Course code", placeholder="CS101", custom_id="code", max_length=20
    )
    course_title: discord.ui.TextInput[CourseModal] = discord.ui.TextInput(
        label="Title", placeholder="Introduction to Programming", custom_id="title", max_length=100
    )
    term: discord.ui.TextInput[CourseModal] = discord.ui.TextInput(
        label="Term", placeholder="2027-spring", custom_id="term", max_length=20
    )
    github_org: discord.ui.TextInput[CourseModal] = discord.ui.TextInput(
        label="GitHub organization", placeholder="demo-university", custom_id="github_org"
    )
    github_login: discord.ui.TextInput[CourseModal] = discord.ui.TextInput(
        label="Your GitHub login (you are the instructor)",
        placeholder="ada",
        custom_id="github_login",
        max_length=39,
    )

    def __init__(
        self, services: CommandServices, kind: str, roster: discord.Attachment | None
    ) -> None:
        kind_name = "laboratory" if kind == "laboratory" else "lecture"
        super().__init__(
            title=f"New {kind_name} course",
            custom_id=f"course-create:{secrets.token_hex(8)}",
            timeout=MODAL_TIMEOUT_S,
        )
        self._services = services
        self._kind = kind
        self._roster = roster

    async def on_submit(self, interaction: Interaction) -> None:
        require_admin(self._services.admin, interaction)
        with acting_as(interaction):
            await interaction.response.defer(ephemeral=True, thinking=True)
            data = None if self._roster is None else await roster_file.read(self._roster)
            user = interaction.user
            instructor = {
                "role": "instructor",
                "name": user.display_name,
                "github": self.github_login.value.strip(),
                "discord_id": str(user.id),
            }
            fields = {
                "code": self.code.value,
                "title": self.course_title.value,
                "term": self.term.value,
                "github_org": self.github_org.value,
            }
            spec = build_spec(fields, self._kind, instructor, data)
            draft = await self._services.drafts.propose("create", spec, actor(interaction))
            await interaction.followup.send(
                embed=course_preview_embed(
                    spec,
                    preview_course(
                        spec,
                        github_hourly=self._services.github_hourly(spec.github_org),
                        org_invitations=await self._services.org_invitations(spec.github_org),
                    ),
                ),
                view=decision_view("create", draft.id),
                ephemeral=True,
            )

    async def on_error(self, interaction: Interaction, error: Exception) -> None:  # type: ignore[override]
        await report(interaction, error)


async def open_modal(
    services: CommandServices,
    interaction: Interaction,
    kind: str,
    roster: discord.Attachment | None,
) -> None:
    """The command itself: refuse early what no modal can fix, else open the modal."""
    require_admin(services.admin, interaction)
    if roster is not None:
        roster_file.check_size(roster)
    with acting_as(interaction):
        await interaction.response.send_modal(CourseModal(services, kind, roster))
