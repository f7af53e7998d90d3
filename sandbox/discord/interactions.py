"""The bot's side of interactions: the callback, follow-ups and edits (REST, no bot token).

A person acts through `sandbox.discord.client_actions` (driven by the control API); the bot
answers here. Timing follows PLATFORM.md §1.11 on the injected clock: the first callback is due
within 3 s, the token (follow-ups, edits) lives 15 min. Callback types by interaction type, as
Discord checks them: 4 and 5 (a message) for commands, components and modal submits; 6 and 7
(update the message the component is on) for components and modal submits from a message; 8
(choices) only for autocomplete; 9 (a modal) for commands and components, never for a modal
submit. A second callback is 40060; one after the 3 s window is 10062.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.discord.api import Api, read_json
from sandbox.discord.errors import DiscordError, discord_json, unknown
from sandbox.discord.fields import Body, require_snowflake
from sandbox.discord.models import Interaction, Message, World
from sandbox.discord.serialize import message_json
from sandbox.discord.state import DiscordState

EPHEMERAL = 64
LOADING = 128
CALLBACK_TYPES = (1, 4, 5, 6, 7, 8, 9, 10, 12)
# Interaction type → the callback types Discord accepts for it (see the module docstring).
ALLOWED_CALLBACKS: dict[int, tuple[int, ...]] = {
    2: (4, 5, 9, 10, 12),
    3: (4, 5, 6, 7, 9, 10, 12),
    4: (8,),
    5: (4, 5, 6, 7, 10, 12),
}


class ControlError(Exception):
    """A bad control-API request (a person asked for something impossible)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def find_message(world: World, message_id: int) -> tuple[Interaction, Message] | None:
    """A message the bot sent in answer to an interaction, and that interaction."""
    for interaction in world.interactions.values():
        for message in (interaction.original, *interaction.followups):
            if message is not None and message.id == message_id:
                return interaction, message
    return None


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
        raw = body.data.get("data")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if ctype not in ALLOWED_CALLBACKS.get(interaction.type, ()):
            raise DiscordError(400, 40043, "Interaction callback type is not allowed here.")
        if ctype == 9:
            self._check_modal(data)
        message = self._answer(interaction, ctype, data)
        interaction.callback = {"type": ctype, "data": data}
        self.state.answered(interaction.id)
        if request.query.get("with_response", "").lower() not in ("1", "true"):
            return web.Response(status=204)
        info: dict[str, Any] = {"id": str(interaction.id), "type": interaction.type}
        out: dict[str, Any] = {"interaction": info}
        if message is not None and ctype in (4, 5, 7):
            info.update(
                response_message_id=str(message.id),
                response_message_loading=ctype == 5,
                response_message_ephemeral=bool(message.flags & EPHEMERAL),
            )
            if ctype in (4, 7):  # the schema has resources for messages sent, not for defers
                out["resource"] = {"type": ctype, "message": self._msg(message)}
        return discord_json(out)

    def _answer(self, interaction: Interaction, ctype: int, data: dict[str, Any]) -> Message | None:
        """What the person sees after the callback: a new message (4, 5), the message the
        component is on updated (6, 7), a modal (9), choices under the option (8)."""
        if ctype in (4, 5):
            message = Message(
                id=self.state.new_id(),
                channel_id=interaction.channel_id,
                created_at=self.state.now(),
            )
            if ctype == 4:
                self._apply(message, Body(data))
            flags = int(data.get("flags", 0) or 0)
            message.flags = (flags & EPHEMERAL) | (LOADING if ctype == 5 else 0)
            interaction.original = message
            return message
        if ctype in (6, 7):
            found = self._source(interaction)
            if ctype == 7:
                self._apply(found, Body(data))
                found.edited_at = self.state.now()
            return found
        if ctype == 9:
            interaction.modal = data
        return None

    def _check_modal(self, data: dict[str, Any]) -> None:
        body = Body(data)
        body.string("custom_id", required=True)
        body.string("title", required=True, max_len=45)
        components = data.get("components")
        if not isinstance(components, list) or not 1 <= len(components) <= 5:
            body.errors.add(
                ("components",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
            )
        body.errors.raise_if_any()

    def _source(self, interaction: Interaction) -> Message:
        """The message a component interaction came from."""
        if interaction.source_message_id is None:
            raise DiscordError(400, 40043, "Interaction callback type is not allowed here.")
        found = find_message(self.state.world, interaction.source_message_id)
        if found is None:
            raise unknown("message")
        return found[1]

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
        embeds = body.data.get("embeds")
        if isinstance(embeds, list) and len(embeds) > 10:
            body.errors.add(("embeds",), "BASE_TYPE_BAD_LENGTH", "Must be 10 or fewer in length.")
        components = body.data.get("components")
        if isinstance(components, list) and len(components) > 5:
            body.errors.add(
                ("components",), "BASE_TYPE_BAD_LENGTH", "Must be 5 or fewer in length."
            )
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
            callback = interaction.callback or {}
            if callback.get("type") in (6, 7):
                return self._source(interaction)
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
