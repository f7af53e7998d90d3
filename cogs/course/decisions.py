"""Confirm and Cancel under a preview (`/course create`, `roster`, `archive`, `unarchive`).

The buttons are dynamic items: their custom_id carries the draft's id
(`draft:<kind>:<confirm|cancel>:<uuid>`), and any running bot handles a click by matching it,
so a click after a restart works like one before it. What a click applies is the stored draft
(`provisioning.courses.drafts`), once, however often it is clicked.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from cogs.access import Interaction, acting_as, actor, require_admin
from cogs.errors import report
from cogs.render.claim import claim_embed
from cogs.render.status import course_name
from cogs.services import CommandServices
from provisioning.courses.drafts import ArchiveApplied
from provisioning.courses.views import CourseUpdate
from provisioning.discord.steps.server import needed_permissions, permission_names

TEMPLATE = (
    r"draft:(?P<kind>create|roster|archive|unarchive):(?P<action>confirm|cancel)"
    r":(?P<draft>[0-9a-f-]{36})"
)
Button = discord.ui.Button[discord.ui.View]


def custom_id(kind: str, action: str, draft_id: str) -> str:
    return f"draft:{kind}:{action}:{draft_id}"


def _button(kind: str, action: str, draft_id: str) -> Button:
    confirm = action == "confirm"
    return discord.ui.Button(
        label="Confirm" if confirm else "Cancel",
        style=discord.ButtonStyle.success if confirm else discord.ButtonStyle.secondary,
        custom_id=custom_id(kind, action, draft_id),
    )


def decision_view(kind: str, draft_id: str) -> discord.ui.View:
    """Confirm and Cancel for a draft; the clicks reach `DraftDecision` of whichever bot runs."""
    view = discord.ui.View(timeout=None)
    view.add_item(_button(kind, "confirm", draft_id))
    view.add_item(_button(kind, "cancel", draft_id))
    return view


def _decided(embed: discord.Embed | None, note: str) -> dict[str, Any]:
    """The preview message once decided: the same embed, the decision below, no buttons."""
    if embed is None:
        return {"content": note, "view": None}
    embed.set_footer(text=note)
    return {"embed": embed, "view": None}


def draft_decisions(services: CommandServices) -> type[discord.ui.DynamicItem[Button]]:
    """The dynamic item class handling every Confirm and Cancel, bound to `services`."""

    class DraftDecision(discord.ui.DynamicItem[Button], template=TEMPLATE):
        def __init__(self, kind: str, action: str, draft_id: str) -> None:
            super().__init__(_button(kind, action, draft_id))
            self.kind = kind
            self.action = action
            self.draft_id = draft_id

        @classmethod
        async def from_custom_id(
            cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]
        ) -> DraftDecision:
            return cls(match["kind"], match["action"], match["draft"])

        async def callback(self, interaction: Interaction) -> None:
            try:
                require_admin(services.admin, interaction)
                with acting_as(interaction):
                    # Acknowledge at once, without touching the message: a second click
                    # meanwhile is answered from the stored draft, not by a second course.
                    await interaction.response.defer()
                    preview = interaction.message.embeds[0] if interaction.message else None
                    if self.action == "cancel":
                        await self._cancel(interaction, preview)
                    elif self.kind == "create":
                        await self._create(interaction, preview)
                    elif self.kind == "roster":
                        await self._roster(interaction, preview)
                    else:
                        await self._archive(interaction, preview)
            except Exception as error:  # reported by the one error handler, as for commands
                await report(interaction, error)

        async def _cancel(self, interaction: Interaction, preview: discord.Embed | None) -> None:
            if await services.drafts.cancel(self.draft_id):
                note = f"Cancelled by {interaction.user.display_name}; nothing was stored."
                await interaction.edit_original_response(**_decided(preview, note))
            else:
                await interaction.followup.send(
                    "This preview was confirmed already; cancelling it now changes nothing.",
                    ephemeral=True,
                )

        async def _create(self, interaction: Interaction, preview: discord.Embed | None) -> None:
            confirmed = await services.drafts.confirm_course(self.draft_id, actor(interaction))
            record = confirmed.course
            note = f"Confirmed by {interaction.user.display_name}."
            await interaction.edit_original_response(**_decided(preview, note))
            link = await services.install_link(record.spec)
            embed = claim_embed(
                record,
                services.claim_code(record.id),
                link,
                permission_names(needed_permissions(record.spec)),
                confirmed.created,
                services.server_notice(),
            )
            await interaction.followup.send(embed=embed, ephemeral=True)

        async def _roster(self, interaction: Interaction, preview: discord.Embed | None) -> None:
            applied = await services.drafts.confirm_roster(self.draft_id, actor(interaction))
            note = f"Confirmed by {interaction.user.display_name}."
            await interaction.edit_original_response(**_decided(preview, note))
            name = course_name(applied.course)
            await interaction.followup.send(roster_outcome(name, applied.update), ephemeral=True)

        async def _archive(self, interaction: Interaction, preview: discord.Embed | None) -> None:
            applied = await services.drafts.confirm_archive(self.draft_id, actor(interaction))
            note = f"Confirmed by {interaction.user.display_name}."
            await interaction.edit_original_response(**_decided(preview, note))
            name = course_name(applied.course)
            await interaction.followup.send(archive_outcome(name, applied), ephemeral=True)

    return DraftDecision


def roster_outcome(name: str, outcome: CourseUpdate | None) -> str:
    """What applying a roster change did to the course's plan."""
    if outcome is None:
        return f"{name}: this roster change was applied already (an earlier Confirm)."
    if not (outcome.added or outcome.changed or outcome.removed or outcome.unblocked):
        return f"{name}: the roster is the same as the course's; nothing changed."
    steps = (
        f"{len(outcome.added)} steps added, {len(outcome.changed)} changed, "
        f"{len(outcome.removed)} removed"
    )
    if outcome.unblocked:
        steps += f", {len(outcome.unblocked)} unblocked"
    return (
        f"{name}: roster applied ({steps}). The course is now "
        f"**{outcome.status.state.replace('_', ' ')}**; follow it with `/course status`."
    )


def archive_outcome(name: str, applied: ArchiveApplied) -> str:
    """What archiving or unarchiving did; the steps then do the work on the platforms."""
    done = "archived" if applied.archived else "unarchived"
    if applied.update is None:
        return f"{name}: this course was {done} already (an earlier Confirm)."
    outcome = applied.update
    steps = f"{len(outcome.changed)} steps changed, {len(outcome.added)} added"
    if outcome.retired:
        steps += f", {len(outcome.retired)} retired"
    return (
        f"{name}: {done} ({steps}). The course is now "
        f"**{outcome.status.state.replace('_', ' ')}**; follow it with `/course status`."
    )
