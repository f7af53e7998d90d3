"""The one error handler of every app command, button and modal.

Known errors (the domain's `ProvisioningError`s, refusals) become a short ephemeral reply that
says what to do. Anything else is logged once, with the command, the user and a reference id;
the person sees only that reference, which finds the log line.
"""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from cogs.access import Interaction, acting_as
from cogs.render.text import MESSAGE_MAX, clip
from provisioning.errors import CourseNotFoundError, CourseValidationError, ProvisioningError

log = logging.getLogger(__name__)
_SHOWN_PROBLEMS = 15


def problems(error: CourseValidationError) -> str:
    """Every problem on its own line (a roster's name row and column), as many as fit."""
    lines = [f"\n- {p.path}: {p.message}" for p in error.problems[:_SHOWN_PROBLEMS]]
    more = len(error.problems) - _SHOWN_PROBLEMS
    if more > 0:
        lines.append(f"\n… and {more} more")
    return "".join(lines)


def explain(error: BaseException) -> str | None:
    """The reply for a known error; None for one nobody expected."""
    if isinstance(error, CourseNotFoundError):
        return (
            f"Course not found: nothing matches {error.course_id!r}. Start typing the course's "
            "code or term and pick it from the list."
        )
    if isinstance(error, ProvisioningError):
        text = f"{error.title}: {error.detail}"
        if isinstance(error, CourseValidationError):
            text += problems(error)
        return text
    if isinstance(error, app_commands.CheckFailure):
        return "You may not run this command here."
    return None


def _command_name(interaction: Interaction) -> str:
    command = interaction.command
    if command is not None:
        return f"/{command.qualified_name}"
    data: dict[str, object] = dict(interaction.data or {})
    return str(data.get("custom_id") or data.get("name") or "interaction")


async def report(interaction: Interaction, error: BaseException) -> None:
    """Answer the person: the known error's reply, or a reference id to an error logged once."""
    text = explain(error)
    if text is None:
        reference = secrets.token_hex(4)
        log.error(
            "interaction failed (reference %s): %s by user %s in guild %s",
            reference,
            _command_name(interaction),
            interaction.user.id,
            interaction.guild_id,
            exc_info=error,
            extra={"reference": reference},
        )
        text = (
            f"Something went wrong on our side (reference `{reference}`). Nothing you did "
            "caused it; give the reference to the operators if it happens again."
        )
    text = clip(text, MESSAGE_MAX)
    try:
        with acting_as(interaction):
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not send the error reply", exc_info=True)


async def handle_error(interaction: Interaction, error: app_commands.AppCommandError) -> None:
    """The command tree's handler: unwrap what the command raised and report it."""
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    await report(interaction, original)
