"""Who may run what, checked at run time (PLATFORM.md §1.11: `default_member_permissions` is
only a hint, and does nothing on subcommands), and who the audit log names.

`claim` needs Manage Server in the server being claimed, whichever it is; every other
subcommand runs only in the admin server and needs the configured admin role there. A role name
alone proves nothing: anyone can add the bot to a server of their own and make a role of that
name. Without an admin server (a deployment that did not set one), the admin commands are
refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import discord

from cogs.services import AdminPolicy
from provisioning import audit_context
from provisioning.errors import ProvisioningError

Interaction = discord.Interaction[discord.Client]


class NotAllowedError(ProvisioningError):
    """The caller may not run this command here."""

    status = 403
    title = "Not allowed"


def require_admin(policy: AdminPolicy, interaction: Interaction) -> None:
    """Refuse, saying which server and which role are needed, unless the caller is an admin."""
    if policy.guild_id is None:
        raise NotAllowedError("no admin server is configured: set DISCORD_ADMIN_GUILD_ID to its id")
    if str(interaction.guild_id) != policy.guild_id:
        raise NotAllowedError(
            f"this command runs only in the admin server (id {policy.guild_id}), by members "
            f"with the {policy.role!r} role there"
        )
    user = interaction.user
    roles = user.roles if isinstance(user, discord.Member) else []
    if not any(role.name == policy.role for role in roles):
        raise NotAllowedError(
            f"this command needs the {policy.role!r} role in this server; ask its owner"
        )


def actor(interaction: Interaction) -> str:
    """How the audit log names the person behind an interaction."""
    return f"discord:{interaction.user.id}"


@contextmanager
def acting_as(interaction: Interaction) -> Iterator[None]:
    """Audit rows written while handling the command name the person, not the runner."""
    token = audit_context.current.set(audit_context.AuditContext(actor=actor(interaction)))
    try:
        yield
    finally:
        audit_context.current.reset(token)
