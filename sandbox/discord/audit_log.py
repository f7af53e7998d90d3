"""The guild audit log as Discord serves it: `GET /guilds/{guild_id}/audit-logs`.

Entries are recorded by `DiscordState.audit` wherever the world changes: the API's writes (the
bot acting, with its `X-Audit-Log-Reason`) and a person's changes through the control routes
(`sandbox.discord.hand_edits`, adding the bot), each with who acted. Served newest first with the
spec's filters (`user_id`, `target_id`, `action_type`, `before`, `after`, `limit` 1-100,
default 50), and the users the entries name (actors and member targets) in `users`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.discord.api import Api
from sandbox.discord.errors import discord_json
from sandbox.discord.fields import Body, require_snowflake
from sandbox.discord.models import AuditEntry, Guild, Overwrite, Role
from sandbox.discord.permissions import VIEW_AUDIT_LOG
from sandbox.discord.rules import require
from sandbox.discord.serialize import user_json
from sandbox.discord.state import DiscordState

_EMPTY_LISTS = (
    "integrations",
    "webhooks",
    "guild_scheduled_events",
    "threads",
    "application_commands",
    "auto_moderation_rules",
)


def deleted_role_changes(role: Role) -> list[dict[str, Any]]:
    """A role delete names what the role was (Discord lists its old values)."""
    return [
        {"key": "name", "old_value": role.name},
        {"key": "permissions", "old_value": str(role.permissions)},
        {"key": "color", "old_value": role.color},
        {"key": "hoist", "old_value": role.hoist},
        {"key": "mentionable", "old_value": role.mentionable},
    ]


def overwrite_options(guild: Guild, overwrite: Overwrite) -> dict[str, str]:
    """Which role or member an overwrite entry is about (`options` of types 13-15)."""
    options = {"id": str(overwrite.id), "type": str(overwrite.type)}
    role = guild.roles.get(overwrite.id) if overwrite.type == 0 else None
    if role is not None:
        options["role_name"] = role.name
    return options


def overwrite_changes(overwrite: Overwrite) -> list[dict[str, Any]]:
    """A removed overwrite: what it allowed and denied."""
    return [
        {"key": "id", "old_value": str(overwrite.id)},
        {"key": "type", "old_value": overwrite.type},
        {"key": "allow", "old_value": str(overwrite.allow)},
        {"key": "deny", "old_value": str(overwrite.deny)},
    ]


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(entry.id),
        "action_type": entry.action_type,
        "user_id": str(entry.user_id),
        "target_id": entry.target_id,
        "changes": entry.changes,
    }
    if entry.options:
        out["options"] = entry.options
    if entry.reason is not None:  # the schema has no null reason: omit it
        out["reason"] = entry.reason
    return out


class AuditLogRoutes:
    def __init__(self, state: DiscordState) -> None:
        self.state = state

    def register(self, api: Api, app: web.Application) -> None:
        api.add(app, "GET", "/guilds/{guild_id}/audit-logs", self.audit_log)

    async def audit_log(self, request: web.Request) -> web.Response:
        guild = self.state.guild(require_snowflake(request.match_info["guild_id"], "guild_id"))
        require(guild, self.state.bot_id, VIEW_AUDIT_LOG)
        body = Body(dict(request.query))
        user_id = body.snowflake("user_id")
        target_id = body.snowflake("target_id")
        action = body.integer("action_type")
        before = body.snowflake("before")
        after = body.snowflake("after")
        limit = body.integer("limit", lo=1, hi=100) or 50
        body.done()
        entries = [
            e
            for e in reversed(guild.audit_log)
            if (user_id is None or e.user_id == user_id)
            and (target_id is None or e.target_id == str(target_id))
            and (action is None or e.action_type == action)
            and (before is None or e.id < before)
            and (after is None or e.id > after)
        ][:limit]
        named: dict[int, None] = {}
        for e in entries:
            named[e.user_id] = None
            if e.target_id is not None and e.target_id.isdigit():
                named[int(e.target_id)] = None
        users = self.state.world.users
        payload: dict[str, Any] = {
            "audit_log_entries": [entry_json(e) for e in entries],
            "users": [user_json(users[u]) for u in named if u in users],
        }
        payload.update({key: [] for key in _EMPTY_LISTS})
        return discord_json(payload)
