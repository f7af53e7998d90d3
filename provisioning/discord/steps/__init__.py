"""The Discord step executors, one module per step kind (see `provisioning.plan`).

Every executor ensures: the stored id still exists → verify and repair; else find by name and
adopt; else create, once. Each result's facts carry `guild_id`, so later steps find the server
through any dependency. A finished course run again makes no write at all.
"""

from __future__ import annotations

from provisioning.discord.steps import (
    channel,
    hidden_channel,
    invite,
    member_role,
    member_unrole,
    revoke_invite,
    role,
    role_order,
    server,
    server_name,
    student_roles,
)
from provisioning.step import Executor


def executors() -> dict[str, Executor]:
    """Executors by step kind. The server step's waiting message never holds the claim code
    (it says where to get it), so no secret is needed here."""
    return {
        "discord.server": server.ensure,
        "discord.settings": server_name.ensure,
        "discord.role": role.ensure,
        "discord.role-order": role_order.ensure,
        "discord.category": channel.ensure_category,
        "discord.channel": channel.ensure_channel,
        "discord.invite": invite.ensure,
        "discord.member-role": member_role.ensure,
        "discord.student-roles": student_roles.ensure,
        # Removals: what a changed description no longer wants (`provisioning.courses.retire`).
        "discord.hidden-channel": hidden_channel.ensure,
        "discord.revoke-invite": revoke_invite.ensure,
        "discord.member-unrole": member_unrole.ensure,
    }
