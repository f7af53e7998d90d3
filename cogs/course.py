"""`/course claim|status|retry|roster|list`: thin adapters that defer, call services, render.

Install with `install(tree, CourseCommands(claims=..., courses=..., claim_code=...,
admin_role="Course Admin", admin_guild_id="…"))` (the services are the Protocols of
`cogs.services`). `claim_code` turns a course id into its claim code: `status`
shows it to admins while the course waits for a server (nowhere else shows it but
`GET /courses/{id}/claim`).
Permissions are checked at run time (PLATFORM.md §1.11: `default_member_permissions` is only a
hint, and does nothing on subcommands): `claim` needs Manage Server in the server being
claimed, whichever it is; every other subcommand runs only in the admin server
(`admin_guild_id`) and needs the configured admin role there. A role name alone proves nothing:
anyone can add the bot to a server of their own and make a role of that name. Without an
admin server (development), the admin subcommands are refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import discord
from discord import app_commands

from cogs.services import ClaimService, CourseCommandService
from provisioning import audit_context
from provisioning.claims.codes import waiting_for_claim
from provisioning.courses.changes import RosterChange, roster_change, with_roster
from provisioning.courses.views import CourseStatus, CourseSummary, CourseUpdate
from provisioning.errors import CourseValidationError, ProvisioningError

log = logging.getLogger(__name__)

Interaction = discord.Interaction[discord.Client]
MESSAGE_MAX = 1900  # Discord allows 2000 characters; keep room for the header
_SHOWN_STEPS = 15
_SHOWN_PROBLEMS = 15
_LISTED_COURSES = 10
# Far above any real roster (5,000 students is ~300 KB), and bounds what is read into memory.
ROSTER_MAX_BYTES = 2 * 1024 * 1024


class NotAllowedError(ProvisioningError):
    """The caller may not run this command here."""

    status = 403
    title = "Not allowed"


class RosterFileError(ProvisioningError):
    """The attached roster cannot be read as one."""

    status = 413
    title = "Roster file too large"


@contextmanager
def acting_as(interaction: Interaction) -> Iterator[None]:
    """Audit rows written while handling the command name the person, not the runner."""
    token = audit_context.current.set(
        audit_context.AuditContext(actor=f"discord:{interaction.user.id}")
    )
    try:
        yield
    finally:
        audit_context.current.reset(token)


def render_status(status: CourseStatus, claim_code: str | None = None) -> str:
    """The course state, counts, the claim code if given, and the steps that are not done
    with their error or hint."""
    counts = ", ".join(f"{n} {state}" for state, n in status.counts.items() if n)
    lines = [f"Course {status.course_id}: **{status.state}** ({counts})"]
    if claim_code is not None:
        # Right under the header, so no truncation drops it.
        lines.append(
            f"Claim code: `{claim_code}`: run `/course claim {claim_code}` in the server you "
            "created for this course. Share it only with whoever creates that server."
        )
    open_steps = [s for s in status.steps if s.state != "succeeded"]
    for step in open_steps[:_SHOWN_STEPS]:
        why = step.action_hint or step.last_error
        lines.append(f"- `{step.key}` {step.state}" + (f": {why}" if why else ""))
    if len(open_steps) > _SHOWN_STEPS:
        lines.append(f"… and {len(open_steps) - _SHOWN_STEPS} more; see the status page")
    text = "\n".join(lines)
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"


def render_roster(name: str, change: RosterChange, outcome: CourseUpdate) -> str:
    """What a roster upload changed: students, plan steps, and the course state after it."""
    if not (outcome.added or outcome.changed or outcome.removed or outcome.unblocked):
        return f"{name}: the roster is the same as before; nothing changed."
    steps = (
        f"Steps: {len(outcome.added)} added, {len(outcome.changed)} changed, "
        f"{len(outcome.removed)} removed"
    )
    if outcome.unblocked:
        steps += f", {len(outcome.unblocked)} unblocked"
    return (
        f"{name}: {change.total} students ({change.added} added, {change.removed} removed, "
        f"{change.moved} moved to another group).\n{steps}.\n"
        f"Course state: **{outcome.status.state}**."
    )


def render_courses(courses: list[CourseSummary]) -> str:
    """One line per course, newest first, with the id the other subcommands take."""
    if not courses:
        return "No courses yet."
    lines = ["Newest courses:"]
    lines += [f"- **{c.code}** {c.term}: {c.state} (`{c.id}`)" for c in courses]
    return "\n".join(lines)[:MESSAGE_MAX]


class CourseCommands(app_commands.Group):
    """The `/course` group; more subcommands can be added with `add_command`."""

    def __init__(
        self,
        *,
        claims: ClaimService,
        courses: CourseCommandService,
        claim_code: Callable[[str], str],
        admin_role: str,
        admin_guild_id: str | None,
    ) -> None:
        super().__init__(name="course", description="Course provisioning", guild_only=True)
        self._claims = claims
        self._courses = courses
        self._claim_code = claim_code
        self._admin_role = admin_role
        self._admin_guild_id = admin_guild_id

    def _require_admin(self, interaction: Interaction) -> None:
        if self._admin_guild_id is None:
            raise NotAllowedError("set DISCORD_ADMIN_GUILD_ID to the admin server's id")
        if str(interaction.guild_id) != self._admin_guild_id:
            raise NotAllowedError("this command runs only in the admin server")
        user = interaction.user
        roles = user.roles if isinstance(user, discord.Member) else []
        if not any(role.name == self._admin_role for role in roles):
            raise NotAllowedError(f"this command needs the {self._admin_role!r} role")

    @app_commands.command(name="claim", description="Make this server the course's server")
    @app_commands.describe(code="The claim code from the course status, e.g. ABCD-EFGH-JK")
    async def claim(self, interaction: Interaction, code: str) -> None:
        if interaction.guild_id is None:
            raise NotAllowedError("run /course claim inside the server you created")
        if not interaction.permissions.manage_guild:
            raise NotAllowedError("claiming a server needs Manage Server in it")
        with acting_as(interaction):
            await interaction.response.defer(ephemeral=True, thinking=True)
            result = await self._claims.claim(
                code, str(interaction.guild_id), str(interaction.user.id)
            )
            what = "already was" if result.already_claimed else "is now"
            await interaction.followup.send(
                f"This server {what} the server of {result.course_name}. Provisioning goes on "
                f"in the background: `/course status {result.course_id}`.",
                ephemeral=True,
            )

    @app_commands.command(name="status", description="Show a course's provisioning status")
    @app_commands.describe(course="The course id")
    async def status(self, interaction: Interaction, course: str) -> None:
        self._require_admin(interaction)
        with acting_as(interaction):
            await interaction.response.defer(ephemeral=True, thinking=True)
            status = await self._courses.status(course)
            code = self._claim_code(status.course_id) if waiting_for_claim(status) else None
            await interaction.followup.send(render_status(status, code), ephemeral=True)

    @app_commands.command(name="retry", description="Retry a course's failed or waiting steps")
    @app_commands.describe(course="The course id")
    async def retry(self, interaction: Interaction, course: str) -> None:
        self._require_admin(interaction)
        with acting_as(interaction):
            await interaction.response.defer(ephemeral=True, thinking=True)
            outcome = await self._courses.retry(course, f"discord:{interaction.user.id}")
            text = f"Retrying {len(outcome.retried)} step(s).\n" + render_status(outcome.status)
            await interaction.followup.send(text[:MESSAGE_MAX], ephemeral=True)

    @app_commands.command(name="roster", description="Replace a course's students from a CSV")
    @app_commands.describe(
        course="The course id",
        file="CSV with columns name, github and (laboratory) group; email, discord_id optional",
    )
    async def roster(self, interaction: Interaction, course: str, file: discord.Attachment) -> None:
        self._require_admin(interaction)
        if file.size > ROSTER_MAX_BYTES:
            raise RosterFileError(
                f"{file.filename} is {file.size} bytes; a roster may have at most "
                f"{ROSTER_MAX_BYTES // (1024 * 1024)} MiB"
            )
        with acting_as(interaction):
            await interaction.response.defer(ephemeral=True, thinking=True)
            data = await file.read()
            record = await self._courses.get(course)
            spec = with_roster(record.spec, data)
            outcome = await self._courses.update(course, spec, f"discord:{interaction.user.id}")
            text = render_roster(
                f"{record.code} {record.term}", roster_change(record.spec, spec), outcome
            )
            await interaction.followup.send(text, ephemeral=True)

    @app_commands.command(name="list", description="The newest courses and their state")
    async def list_courses(self, interaction: Interaction) -> None:
        self._require_admin(interaction)
        with acting_as(interaction):
            await interaction.response.defer(ephemeral=True, thinking=True)
            courses = await self._courses.recent(_LISTED_COURSES)
            await interaction.followup.send(render_courses(courses), ephemeral=True)


def _problems(error: CourseValidationError) -> str:
    """Every problem on its own line (a roster's name row and column), as many as fit."""
    lines = [f"\n- {p.path}: {p.message}" for p in error.problems[:_SHOWN_PROBLEMS]]
    more = len(error.problems) - _SHOWN_PROBLEMS
    if more > 0:
        lines.append(f"\n… and {more} more")
    return "".join(lines)


async def handle_error(interaction: Interaction, error: app_commands.AppCommandError) -> None:
    """The one error handler: known errors become short ephemeral replies, others are logged."""
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(original, ProvisioningError):
        text = f"{original.title}: {original.detail}"
        if isinstance(original, CourseValidationError):
            text += _problems(original)
    elif isinstance(original, app_commands.CheckFailure):
        text = "You may not run this command here."
    else:
        log.exception("slash command failed", exc_info=original)
        text = "Something went wrong; the operators can find the details in the log."
    text = text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"
    try:
        with acting_as(interaction):
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not send the error reply", exc_info=True)


def install(tree: app_commands.CommandTree[discord.Client], group: CourseCommands) -> None:
    """Add the group and make `handle_error` the tree's handler for every command.

    Only the tree's: discord.py calls a group's `on_error` *and* the tree's, which would answer
    twice."""
    tree.add_command(group)
    tree.on_error = handle_error  # type: ignore[method-assign]
