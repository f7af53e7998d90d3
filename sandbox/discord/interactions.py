"""Slash-command interactions: a person runs a command (control API), the bot answers (REST).

Timing follows PLATFORM.md §1.11 on the injected clock: the first callback is due within 3 s, the
token (follow-ups, edits) lives 15 min.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

from aiohttp import web

from sandbox.discord.api import Api, read_json
from sandbox.discord.errors import DiscordError, discord_json, unknown
from sandbox.discord.fields import Body, require_snowflake
from sandbox.discord.models import Attachment, Interaction, Message
from sandbox.discord.permissions import channel_permissions
from sandbox.discord.serialize import channel_json, member_json, message_json
from sandbox.discord.state import DiscordState

EPHEMERAL = 64
LOADING = 128
CALLBACK_TYPES = (1, 4, 5, 6, 7, 8, 9, 10, 12)


class ControlError(Exception):
    """A bad control-API request (a person asked for something impossible)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _attachment(state: DiscordState, spec: Any, base_url: str) -> tuple[int, dict[str, Any]]:
    if not isinstance(spec, dict) or "filename" not in spec:
        raise ControlError(400, "attachment needs filename and text or base64")
    if "base64" in spec:
        try:
            data = base64.b64decode(str(spec["base64"]), validate=True)
        except binascii.Error as exc:
            raise ControlError(400, "attachment base64 is not valid") from exc
    else:
        data = str(spec.get("text", "")).encode()
    att = Attachment(
        id=state.new_id(),
        filename=str(spec["filename"]),
        content_type=str(spec.get("content_type", "application/octet-stream")),
        data_b64=base64.b64encode(data).decode(),
        size=len(data),
    )
    state.world.attachments[att.id] = att
    url = f"{base_url}/_sandbox/discord/attachments/{att.id}"
    return att.id, {
        "id": str(att.id),
        "filename": att.filename,
        "size": att.size,
        "url": url,
        "proxy_url": url,
        "content_type": att.content_type,
    }


def _options(
    state: DiscordState, options: Any, base_url: str, resolved: dict[str, Any]
) -> list[dict[str, Any]]:
    if not isinstance(options, list):
        raise ControlError(400, "options must be a list")
    out: list[dict[str, Any]] = []
    for opt in options:
        if not isinstance(opt, dict) or "name" not in opt or "type" not in opt:
            raise ControlError(400, "each option needs name and type")
        item: dict[str, Any] = {"name": opt["name"], "type": int(opt["type"])}
        if item["type"] in (1, 2):
            item["options"] = _options(state, opt.get("options", []), base_url, resolved)
        elif item["type"] == 11:
            att_id, att = _attachment(state, opt.get("attachment"), base_url)
            resolved.setdefault("attachments", {})[str(att_id)] = att
            item["value"] = str(att_id)
        else:
            item["value"] = opt.get("value")
        out.append(item)
    return out


def run_command(
    state: DiscordState,
    *,
    guild_id: int,
    channel_id: int | None,
    user_id: int,
    name: str,
    options: Any,
    base_url: str,
) -> Interaction:
    """What the client does when a person runs `/name`: dispatch INTERACTION_CREATE to the bot."""
    guild = state.world.guilds.get(guild_id)
    if guild is None or state.bot_id not in guild.members:
        raise ControlError(404, "the bot is not in that guild")
    member = guild.members.get(user_id)
    if member is None:
        raise ControlError(400, "the user is not a member of that guild")
    if channel_id is None:
        texts = sorted(
            (c for c in guild.channels.values() if c.type == 0), key=lambda c: c.position
        )
        if not texts:
            raise ControlError(400, "the guild has no text channel")
        channel_id = texts[0].id
    channel = guild.channels.get(channel_id)
    if channel is None:
        raise ControlError(404, "unknown channel")
    resolved: dict[str, Any] = {}
    opts = _options(state, options or [], base_url, resolved)
    registered = [
        c
        for c in state.world.commands.values()
        if c.name == name and c.guild_id in (None, guild.id)
    ]
    # Unregistered commands still dispatch: discord.py's CommandTree routes by name.
    command_id = registered[0].id if registered else state.new_id()
    member_payload = member_json(member, state.world.users[user_id])
    member_payload["permissions"] = str(channel_permissions(guild, channel, user_id))
    data: dict[str, Any] = {
        "id": str(command_id),
        "name": name,
        "type": 1,
        "options": opts,
        "guild_id": str(guild.id),
    }
    if resolved:
        data["resolved"] = resolved
    interaction = Interaction(
        id=state.new_id(),
        token="aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48),
        created_at=state.now(),
        guild_id=guild.id,
        channel_id=channel.id,
        user_id=user_id,
        name=name,
    )
    interaction.payload = {
        "id": str(interaction.id),
        "application_id": str(state.world.application_id),
        "type": 2,
        "token": interaction.token,
        "version": 1,
        "attachment_size_limit": state.config.limits.attachment_size_limit,
        "guild_id": str(guild.id),
        "guild": {"id": str(guild.id), "locale": guild.preferred_locale, "features": []},
        "guild_locale": guild.preferred_locale,
        "channel_id": str(channel.id),
        "channel": channel_json(channel),
        "member": member_payload,
        "app_permissions": str(channel_permissions(guild, channel, state.bot_id)),
        "locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(guild.id)},
        "context": 0,
        "data": data,
    }
    state.world.interactions[interaction.id] = interaction
    state.emit("INTERACTION_CREATE", interaction.payload, guild.id)
    return interaction


class InteractionRoutes:
    def __init__(self, state: DiscordState) -> None:
        self.state = state

    def register(self, api: Api, app: web.Application) -> None:
        # Interaction endpoints are exempt from the global limit and need no bot token.
        kw: dict[str, Any] = {"auth": False, "global_exempt": True}
        api.add(
            app,
            "POST",
            "/interactions/{interaction_id}/{interaction_token}/callback",
            self.callback,
            **kw,
        )
        api.add(app, "POST", "/webhooks/{webhook_id}/{webhook_token}", self.execute, **kw)
        for suffix in ("@original", "{message_id}"):
            path = "/webhooks/{webhook_id}/{webhook_token}/messages/" + suffix
            api.add(app, "GET", path, self.get_message, **kw)
            api.add(app, "PATCH", path, self.edit_message, **kw)

    async def callback(self, request: web.Request) -> web.Response:
        iid = require_snowflake(request.match_info["interaction_id"], "interaction_id")
        interaction = self.state.world.interactions.get(iid)
        if interaction is None or interaction.token != request.match_info["interaction_token"]:
            raise unknown("interaction")
        if interaction.callback is not None:
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        if (
            self.state.now() - interaction.created_at
            > self.state.config.interaction_response_window
        ):
            raise unknown("interaction")
        body = Body(await read_json(request))
        ctype = body.choice("type", CALLBACK_TYPES, default=0)
        if not body.has("type"):
            body.errors.add(("type",), "BASE_TYPE_REQUIRED", "This field is required")
        body.done()
        data = body.data.get("data") or {}
        interaction.callback = {"type": ctype, "data": data}
        flags = int(data.get("flags", 0)) if isinstance(data, dict) else 0
        message: Message | None = None
        if ctype in (4, 5):
            message = Message(
                id=self.state.new_id(),
                channel_id=interaction.channel_id,
                content=str(data.get("content", "")) if ctype == 4 else "",
                flags=(flags & EPHEMERAL) | (LOADING if ctype == 5 else 0),
                embeds=list(data.get("embeds", [])) if ctype == 4 else [],
                created_at=self.state.now(),
            )
            interaction.original = message
        if request.query.get("with_response", "").lower() not in ("1", "true"):
            return web.Response(status=204)
        info: dict[str, Any] = {"id": str(interaction.id), "type": 2}
        out: dict[str, Any] = {"interaction": info}
        if message is not None:
            info.update(
                response_message_id=str(message.id),
                response_message_loading=ctype == 5,
                response_message_ephemeral=bool(flags & EPHEMERAL),
            )
            if ctype == 4:  # the schema has resources for messages sent, not for defers
                out["resource"] = {"type": ctype, "message": self._msg(message)}
        return discord_json(out)

    def _msg(self, message: Message) -> dict[str, Any]:
        return message_json(message, self.state.bot, self.state.world.application_id)

    def _by_token(self, request: web.Request) -> Interaction:
        app_id = require_snowflake(request.match_info["webhook_id"], "webhook_id")
        token = request.match_info["webhook_token"]
        found = next((i for i in self.state.world.interactions.values() if i.token == token), None)
        if app_id != self.state.world.application_id or found is None:
            raise unknown("webhook")
        if self.state.now() - found.created_at > self.state.config.interaction_token_ttl:
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        if found.callback is None:
            raise unknown("webhook")
        return found

    def _apply(self, message: Message, body: Body) -> None:
        content = body.string("content", min_len=0, max_len=2000)
        flags = body.integer("flags", lo=0)
        body.done()
        if content is not None:
            message.content = content
        if isinstance(body.data.get("embeds"), list):
            message.embeds = list(body.data["embeds"])
        if isinstance(body.data.get("components"), list):
            message.components = list(body.data["components"])
        if flags is not None:
            message.flags = (message.flags & ~LOADING) | flags
        message.flags &= ~LOADING

    async def execute(self, request: web.Request) -> web.Response:
        interaction = self._by_token(request)
        body = Body(await read_json(request))
        message = Message(
            id=self.state.new_id(), channel_id=interaction.channel_id, created_at=self.state.now()
        )
        self._apply(message, body)
        interaction.followups.append(message)
        if request.query.get("wait", "").lower() in ("1", "true"):
            return discord_json(self._msg(message))
        return web.Response(status=204)

    def _find(self, interaction: Interaction, request: web.Request) -> Message:
        raw = request.match_info.get("message_id")
        if raw is None:
            if interaction.original is None:
                raise unknown("message")
            return interaction.original
        mid = require_snowflake(raw, "message_id")
        for message in [interaction.original, *interaction.followups]:
            if message is not None and message.id == mid:
                return message
        raise unknown("message")

    async def get_message(self, request: web.Request) -> web.Response:
        interaction = self._by_token(request)
        return discord_json(self._msg(self._find(interaction, request)))

    async def edit_message(self, request: web.Request) -> web.Response:
        interaction = self._by_token(request)
        message = self._find(interaction, request)
        self._apply(message, Body(await read_json(request)))
        message.edited_at = self.state.now()
        return discord_json(self._msg(message))
