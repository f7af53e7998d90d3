"""Discord's v10 JSON to the gateway's types, and back (ids and permission sets arrive as strings).

Pure functions: the discord.py adapter (`clients/discord/gateway.py`) calls them on every answer,
and tests can feed them recorded answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from provisioning.discord.gateway import (
    AuditChange,
    AuditEntry,
    Channel,
    Guild,
    Invite,
    Overwrite,
    Role,
)


def opt_id(value: Any) -> str | None:
    return None if value is None else str(value)


def role_from_api(data: dict[str, Any]) -> Role:
    return Role(
        id=str(data["id"]),
        name=str(data["name"]),
        position=int(data.get("position", 0)),
        permissions=int(data.get("permissions") or 0),
        hoist=bool(data.get("hoist")),
        mentionable=bool(data.get("mentionable")),
        managed=bool(data.get("managed")),
    )


def guild_from_api(data: dict[str, Any]) -> Guild:
    return Guild(
        id=str(data["id"]),
        name=str(data["name"]),
        owner_id=str(data.get("owner_id")),
        roles=tuple(role_from_api(r) for r in data.get("roles", [])),
    )


def overwrite_to_api(o: Overwrite) -> dict[str, Any]:
    return {"id": o.id, "type": o.type, "allow": str(o.allow), "deny": str(o.deny)}


def channel_from_api(data: dict[str, Any]) -> Channel:
    return Channel(
        id=str(data["id"]),
        name=str(data["name"]),
        type=int(data["type"]),
        parent_id=opt_id(data.get("parent_id")),
        position=int(data.get("position", 0)),
        topic=data.get("topic"),
        overwrites=tuple(
            Overwrite(
                id=str(o["id"]),
                type=int(o["type"]),
                allow=int(o.get("allow") or 0),
                deny=int(o.get("deny") or 0),
            )
            for o in data.get("permission_overwrites", [])
        ),
    )


def invite_from_api(data: dict[str, Any]) -> Invite:
    expires = data.get("expires_at")
    channel = data.get("channel") or {}
    inviter = data.get("inviter") or {}
    return Invite(
        code=str(data["code"]),
        channel_id=opt_id(channel.get("id")),
        inviter_id=opt_id(inviter.get("id")),
        role_ids=frozenset(str(r["id"]) for r in data.get("roles") or []),
        max_age=int(data.get("max_age") or 0),
        max_uses=int(data.get("max_uses") or 0),
        uses=int(data.get("uses") or 0),
        expires_at=datetime.fromisoformat(expires) if expires else None,
    )


def _person(user: dict[str, Any]) -> str:
    """How Discord shows a person: display name and @username ("Ada (@ada)")."""
    username, shown = user.get("username"), user.get("global_name")
    if not username:
        return str(shown or user["id"])
    return f"{shown} (@{username})" if shown and shown != username else f"@{username}"


def audit_entries_from_api(data: dict[str, Any]) -> list[AuditEntry]:
    """A `GET /guilds/{id}/audit-logs` answer's entries, each with its actor's (and member
    target's) name from `users`."""
    names = {str(u["id"]): _person(u) for u in data.get("users", [])}
    return [
        AuditEntry(
            id=str(e["id"]),
            action_type=int(e["action_type"]),
            user_id=opt_id(e.get("user_id")),
            target_id=opt_id(e.get("target_id")),
            reason=e.get("reason"),
            changes=tuple(
                AuditChange(str(c.get("key")), c.get("old_value"), c.get("new_value"))
                for c in e.get("changes") or []
            ),
            options={str(k): str(v) for k, v in (e.get("options") or {}).items()},
            user_name=names.get(str(e.get("user_id"))),
            target_name=names.get(str(e.get("target_id"))),
        )
        for e in data.get("audit_log_entries", [])
    ]
