"""Discord-shaped errors and JSON responses (exact `application/json`, see PLATFORM.md §3.2)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web


def discord_json(
    payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON response whose Content-Type is exactly `application/json` (no charset)."""
    return web.Response(
        status=status,
        body=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


class DiscordError(Exception):
    """An API error answered as `{"message", "code", "errors"?}` with an HTTP status."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            out["errors"] = self.errors
        return out

    def response(self) -> web.Response:
        return discord_json(self.body(), self.status)


_UNKNOWN = {
    "channel": (10003, "Unknown Channel"),
    "guild": (10004, "Unknown Guild"),
    "invite": (10006, "Unknown Invite"),
    "member": (10007, "Unknown Member"),
    "overwrite": (10009, "Unknown Overwrite"),
    "role": (10011, "Unknown Role"),
    "user": (10013, "Unknown User"),
    "message": (10008, "Unknown Message"),
    "webhook": (10015, "Unknown Webhook"),
    "interaction": (10062, "Unknown interaction"),
    "command": (10063, "Unknown application command"),
    "application": (10002, "Unknown Application"),
}


def unknown(kind: str) -> DiscordError:
    """404 for a missing object of `kind` (channel, guild, invite, member, overwrite, role …)."""
    code, message = _UNKNOWN[kind]
    return DiscordError(404, code, message)


def missing_permissions() -> DiscordError:
    """403/50013: a missing permission or a role-hierarchy violation."""
    return DiscordError(403, 50013, "Missing Permissions")


def missing_access() -> DiscordError:
    return DiscordError(403, 50001, "Missing Access")


def unauthorized() -> DiscordError:
    return DiscordError(401, 0, "401: Unauthorized")


def bots_cannot() -> DiscordError:
    return DiscordError(400, 20001, "Bots cannot use this endpoint")


def max_reached(code: int, message: str) -> DiscordError:
    return DiscordError(400, code, message)


class FormErrors:
    """Collects field errors into Discord's nested `errors` tree for 50035."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def raise_if_any(self) -> None:
        if self.tree:
            raise DiscordError(400, 50035, "Invalid Form Body", self.tree)


def invalid_form(path: tuple[str | int, ...], code: str, message: str) -> DiscordError:
    """A 50035 error with one field error at `path`."""
    errors = FormErrors()
    errors.add(path, code, message)
    return DiscordError(400, 50035, "Invalid Form Body", errors.tree)
