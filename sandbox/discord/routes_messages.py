"""Channel messages the bot posts (the course log): create and list.

Only what a bot posting announcements needs: content and embeds (components ignored), the
permissions Discord checks (view, send; embeds need Embed Links, else they are dropped as
Discord drops them), and the 2000-character and 10-embed limits.
"""

from __future__ import annotations

from aiohttp import web

from sandbox.discord.api import Api, read_json
from sandbox.discord.errors import discord_json
from sandbox.discord.fields import Body, require_snowflake
from sandbox.discord.models import Message
from sandbox.discord.permissions import EMBED_LINKS, SEND_MESSAGES, channel_permissions
from sandbox.discord.rules import require_in_channel
from sandbox.discord.serialize import message_json
from sandbox.discord.state import DiscordState

TEXT_CHANNEL = 0
_LISTED_MAX = 100


class MessageRoutes:
    def __init__(self, state: DiscordState) -> None:
        self.state = state

    def register(self, api: Api, app: web.Application) -> None:
        path = "/channels/{channel_id}/messages"
        api.add(app, "POST", path, self.create_message, bucket="message_create")
        api.add(app, "GET", path, self.list_messages)

    def _json(self, message: Message) -> dict[str, object]:
        out = message_json(message, self.state.bot, self.state.world.application_id)
        # A message posted by the bot itself, not an interaction's webhook message.
        out["type"] = 0
        out.pop("webhook_id", None)
        return out

    async def create_message(self, request: web.Request) -> web.Response:
        channel_id = require_snowflake(request.match_info["channel_id"], "channel_id")
        guild, channel = self.state.channel(channel_id)
        require_in_channel(guild, channel, self.state.bot_id, SEND_MESSAGES)
        body = Body(await read_json(request))
        content = body.string("content", min_len=0, max_len=2000)
        embeds = body.data.get("embeds")
        if embeds is not None and (not isinstance(embeds, list) or len(embeds) > 10):
            body.errors.add(("embeds",), "BASE_TYPE_BAD_LENGTH", "Must be 10 or fewer in length.")
        body.done()
        if not content and not embeds:
            body.errors.add(("content",), "BASE_TYPE_REQUIRED", "Cannot send an empty message")
            body.done()
        perms = channel_permissions(guild, channel, self.state.bot_id)
        message = Message(
            id=self.state.new_id(),
            channel_id=channel.id,
            content=content or "",
            embeds=list(embeds or []) if perms & EMBED_LINKS else [],
            created_at=self.state.now(),
        )
        self.state.world.messages.setdefault(channel.id, []).append(message)
        payload = {**self._json(message), "guild_id": str(guild.id)}
        self.state.emit("MESSAGE_CREATE", payload, guild.id)
        return discord_json(self._json(message))

    async def list_messages(self, request: web.Request) -> web.Response:
        channel_id = require_snowflake(request.match_info["channel_id"], "channel_id")
        guild, channel = self.state.channel(channel_id)
        require_in_channel(guild, channel, self.state.bot_id, 0)
        messages = self.state.world.messages.get(channel.id, [])[-_LISTED_MAX:]
        return discord_json([self._json(m) for m in reversed(messages)])
