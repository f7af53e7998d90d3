"""The gateway's member events, handed to the member-join fallback (`MemberJoins`)."""

from __future__ import annotations

import logging

import discord

from provisioning.students.member_join import MemberJoins

log = logging.getLogger(__name__)


def listen_for_members(client: discord.Client, joins: MemberJoins) -> None:
    """Give roster members who join a course's server their roles (needs the members intent)."""

    async def on_member_join(member: discord.Member) -> None:
        try:
            await joins.joined(str(member.guild.id), str(member.id), member.name)
        except Exception:
            # One join's trouble (Discord refusing a role) must not break the gateway.
            log.exception("handling a member join failed", extra={"guild_id": member.guild.id})

    client.event(on_member_join)
