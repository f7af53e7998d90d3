"""`/course claim`: run in the server an instructor created, it binds that server to the course."""

from __future__ import annotations

from cogs.access import Interaction, NotAllowedError, acting_as
from cogs.services import CommandServices


async def claim_server(services: CommandServices, interaction: Interaction, code: str) -> None:
    if interaction.guild_id is None:
        raise NotAllowedError("run /course claim inside the server you created for the course")
    if not interaction.permissions.manage_guild:
        raise NotAllowedError(
            "claiming a server needs Manage Server in it: ask its owner to run the command"
        )
    with acting_as(interaction):
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await services.claims.claim(
            code.strip(), str(interaction.guild_id), str(interaction.user.id)
        )
        what = "already was" if result.already_claimed else "is now"
        answer = (
            f"This server {what} the server of {result.course_name}. The bot sets up its "
            "roles, channels and invites now; course admins follow it with `/course status` "
            "in the admin server."
        )
        if result.server_notice:
            answer += f"\n\n**Discord servers:** {result.server_notice}"
        await interaction.followup.send(answer, ephemeral=True)
