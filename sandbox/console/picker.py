"""The command picker: the slash commands the client offers a member in a server.

As Discord: the commands registered globally or for that server, without those it hides from
this member: `default_member_permissions` they lack at server level (`"0"`: administrators
only; the owner and administrators see everything) or `contexts` that leave out servers. It
only hides: a bot checks who may run a command itself (PLATFORM.md §1.11). `dm_permission`
concerns direct messages, which this client has none of.
"""

from __future__ import annotations

from typing import Any

from sandbox.console.commands import CommandForm, command_forms
from sandbox.discord.models import Guild
from sandbox.discord.permissions import ADMINISTRATOR, base_permissions
from sandbox.discord.state import DiscordState

CHAT_INPUT = 1
GUILD_CONTEXT = 0


def offered_commands(state: DiscordState, guild: Guild, user_id: int) -> list[CommandForm]:
    """One form per subcommand the member is offered in `guild`, by command name."""
    permissions = base_permissions(guild, user_id)
    forms: list[CommandForm] = []
    for command in sorted(state.world.commands.values(), key=lambda c: c.name):
        if (
            command.type == CHAT_INPUT
            and command.guild_id in (None, guild.id)
            and shown_in_server(command.payload, permissions)
        ):
            forms += command_forms({"name": command.name, **command.payload})
    return forms


def shown_in_server(payload: dict[str, Any], permissions: int) -> bool:
    """Whether a member with server-level `permissions` sees the command in a server."""
    contexts = payload.get("contexts")
    if isinstance(contexts, list) and GUILD_CONTEXT not in contexts:
        return False
    needed = payload.get("default_member_permissions")
    if needed is None:
        return True
    bits = int(needed)
    if permissions & ADMINISTRATOR:
        return True
    return bits != 0 and permissions & bits == bits
