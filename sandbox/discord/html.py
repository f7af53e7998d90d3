"""The Discord part of the `/_sandbox/` overview page (escaped HTML fragment)."""

from __future__ import annotations

from html import escape

from sandbox.discord.models import Guild
from sandbox.discord.permissions import role_can_view
from sandbox.discord.serialize import sorted_roles
from sandbox.discord.state import DiscordState


def _mask(code: str) -> str:
    # Student invite codes are secrets (DESIGN.md §5): show just enough to tell them apart.
    return code[:2] + "…" + code[-1:] if len(code) > 3 else "…"


def _guild(state: DiscordState, guild: Guild) -> str:
    users = state.world.users
    roles = sorted_roles(guild)
    parts = [
        f"<section class='discord-guild'><h3>{escape(guild.name)} <small>{guild.id}</small></h3>"
    ]
    owner = users.get(guild.owner_id)
    parts.append(f"<p>Owner: {escape(owner.username if owner else str(guild.owner_id))}</p>")
    parts.append(
        "<table><caption>Roles</caption><tr><th>Position</th><th>Name</th><th>Permissions</th></tr>"
    )
    for role in reversed(roles):
        managed = " (managed)" if role.managed else ""
        parts.append(
            f"<tr><td>{role.position}</td><td>{escape(role.name)}{managed}</td><td>{role.permissions}</td></tr>"
        )
    parts.append("</table>")
    parts.append(
        "<table><caption>Channels</caption><tr><th>Name</th><th>Type</th><th>Category</th>"
        "<th>Visible to</th></tr>"
    )
    channels = sorted(
        guild.channels.values(), key=lambda c: (c.parent_id or c.id, c.type != 4, c.position)
    )
    for ch in channels:
        parent = guild.channels.get(ch.parent_id) if ch.parent_id else None
        seen = [r.name for r in roles if role_can_view(guild, ch, r)]
        members = [
            users[o.id].username
            for o in ch.overwrites
            if o.type == 1 and o.allow & 1024 and o.id in users
        ]
        visible = ", ".join(escape(n) for n in [*seen, *members]) or "owner and administrators only"
        kind = {0: "text", 2: "voice", 4: "category", 5: "announcement"}.get(ch.type, str(ch.type))
        parts.append(
            f"<tr><td>{escape(ch.name)}</td><td>{kind}</td>"
            f"<td>{escape(parent.name) if parent else ''}</td><td>{visible}</td></tr>"
        )
    parts.append("</table>")
    parts.append("<table><caption>Members</caption><tr><th>User</th><th>Roles</th></tr>")
    for member in guild.members.values():
        user = users.get(member.user_id)
        names = ", ".join(escape(guild.roles[r].name) for r in member.roles if r in guild.roles)
        uname = escape(user.username if user else str(member.user_id))
        parts.append(f"<tr><td>{uname}</td><td>{names}</td></tr>")
    parts.append("</table>")
    invites = [i for i in state.world.invites.values() if i.guild_id == guild.id]
    if invites:
        parts.append(
            "<table><caption>Invites</caption><tr><th>Code</th><th>Channel</th><th>Uses</th>"
            "<th>Roles</th></tr>"
        )
        for inv in invites:
            inv_ch = guild.channels.get(inv.channel_id)
            rnames = ", ".join(
                escape(guild.roles[r].name) for r in inv.role_ids if r in guild.roles
            )
            limit = inv.max_uses or "∞"
            parts.append(
                f"<tr><td><code>{escape(_mask(inv.code))}</code></td>"
                f"<td>{escape(inv_ch.name if inv_ch else '?')}</td>"
                f"<td>{inv.uses}/{limit}</td><td>{rnames}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</section>")
    return "".join(parts)


def render(state: DiscordState) -> str:
    """All guilds with roles, channels (and who sees them), members and masked invites."""
    if not state.world.guilds:
        hint = "<code>POST /_sandbox/discord/guilds</code>"
        return f"<p>No Discord servers yet. Create one with {hint}.</p>"
    return "".join(_guild(state, g) for g in state.world.guilds.values())
