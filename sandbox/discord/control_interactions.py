"""Control routes for acting in apps as a person in the Discord client would (JSON in and out).

All under `/_sandbox/discord`; mutating calls need the sandbox's secret and `application/json`
(`sandbox.core.guard`). A person is named by `user` (a username) or `user_id`. Errors are
`{"error": "..."}` with 400 (bad request), 403, 404 (unknown thing), 409 (not possible now), 413
(file over the attachment limit) or 504 (the bot did not answer in time).

`GET /commands[?guild_id=ID]`
    The commands the bot registered (global, plus that guild's): each as the bot sent it
    (`name`, `description`, `options` with `type`, `required`, `choices`, `autocomplete`,
    nested subcommands), plus `id`. What a client builds its command form from.

`POST /interactions[?wait=1]`
    Run a slash command. Body: `{"guild_id", "user" | "user_id", "channel_id"?, "name",
    "options": [...]}`; each option `{"name", "type", "value"}`, a subcommand `{"name",
    "type": 1, "options": [...]}`, an attachment `{"name", "type": 11, "attachment":
    {"filename", "content_type"?, "text" | "base64"}}`. Answer 201: `{"id", "token"}`; with
    `wait=1`, the interaction as `GET /interactions/{id}` shows it once the bot has answered
    (or after the 3 s window, unanswered).

`POST /interactions/autocomplete`
    Type into an option: the same body, with `"focused": true` on the option being typed
    (its `value` is the text so far). Waits for the bot's answer (callback type 8, at most
    3 s). Answer 200: `{"choices": [{"name", "value"}, ...]}`; 504 if the bot did not answer.

`GET /interactions/{id}`
    What the person sees: `{"id", "type" (2 command, 3 component, 4 autocomplete, 5 modal
    submit), "name", "user_id", "acknowledged", "callback" {type, data}, "original" (the
    response message, or for callback types 6/7 the message the button was on), "followups",
    "modal" (the open modal `{custom_id, title, components}` or null), "choices" (autocomplete
    only)}`. Messages are shown as Discord sends them: `content`, `embeds`, `components`,
    `flags` (64 = ephemeral, 128 = "thinking…"), `edited_timestamp`.

`POST /interactions/{id}/modal[?wait=1]`
    Submit the modal the bot opened for interaction `id`. Body: `{"values": {custom_id:
    text}, "user"?}` (only the person it was shown to). Required fields and lengths are
    checked as the client does. Answer 201: the new MODAL_SUBMIT interaction `{"id", "token"}`
    (with `wait=1`, as `GET /interactions/{id}` shows it once answered).

`GET /messages/{message_id}`
    One message the bot sent in answer to an interaction (as above), with `interaction_id`.

`POST /messages/{message_id}/click[?wait=1]`
    Click a button. Body: `{"custom_id", "user" | "user_id"}`; an ephemeral message can be
    clicked only by whoever ran its command. Answer 201: the MESSAGE_COMPONENT interaction
    `{"id", "token"}` (with `wait=1`, as `GET /interactions/{id}` shows it once answered).

`GET /channels/{channel_id}/messages`
    The messages the bot posted in a channel (the course log), oldest first, as members see
    them (`content`, `embeds`, `timestamp`).

`GET /attachments/{attachment_id}`
    The bytes of an uploaded attachment (the URL the bot fetches).
"""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web

from sandbox.discord import client_actions, people
from sandbox.discord.control import PREFIX, Handler, _body, _guarded, _int, _json
from sandbox.discord.interactions import ControlError, find_message
from sandbox.discord.models import Interaction
from sandbox.discord.serialize import message_json
from sandbox.discord.state import DiscordState

# Real seconds a control call waits for the bot; the platform's own window is 3 s.
ANSWER_WAIT_S = 3.0


class InteractionControlRoutes:
    def __init__(self, state: DiscordState) -> None:
        self.state = state

    def register(self, app: web.Application) -> None:
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/commands", self.list_commands),
            ("POST", "/interactions", self.run_command),
            ("POST", "/interactions/autocomplete", self.autocomplete),
            ("GET", "/interactions/{interaction_id}", self.get_interaction),
            ("POST", "/interactions/{interaction_id}/modal", self.submit_modal),
            ("GET", "/messages/{message_id}", self.get_message),
            ("POST", "/messages/{message_id}/click", self.click),
            ("GET", "/channels/{channel_id}/messages", self.channel_messages),
            ("GET", "/attachments/{attachment_id}", self.attachment),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, PREFIX + path, _guarded(handler))

    async def list_commands(self, request: web.Request) -> web.Response:
        raw = request.query.get("guild_id")
        guild_id = None if raw is None else _int(raw, "guild_id")
        return _json(
            [
                {**c.payload, "id": str(c.id), "name": c.name, "type": c.type}
                for c in self.state.world.commands.values()
                if c.guild_id in (None, guild_id)
            ]
        )

    def _command(self, data: dict[str, Any], base_url: str, autocomplete: bool) -> Interaction:
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise ControlError(400, "name (the command) is required")
        channel = data.get("channel_id")
        return client_actions.run_command(
            self.state,
            guild_id=_int(data.get("guild_id"), "guild_id"),
            channel_id=None if channel is None else _int(channel, "channel_id"),
            user_id=people.resolve_user(self.state, data),
            name=name,
            options=data.get("options", []),
            base_url=base_url,
            autocomplete=autocomplete,
        )

    async def _created(self, request: web.Request, interaction: Interaction) -> web.Response:
        if request.query.get("wait", "").lower() in ("1", "true"):
            await _answered(self.state, interaction)
            return _json(self._view(interaction), 201)
        return _json({"id": str(interaction.id), "token": interaction.token}, 201)

    async def run_command(self, request: web.Request) -> web.Response:
        data = await _body(request)
        interaction = self._command(data, _base_url(request), autocomplete=False)
        return await self._created(request, interaction)

    async def autocomplete(self, request: web.Request) -> web.Response:
        data = await _body(request)
        interaction = self._command(data, _base_url(request), autocomplete=True)
        if not await _answered(self.state, interaction):
            raise ControlError(504, "the bot did not answer the autocomplete within 3 s")
        return _json({"choices": _choices(interaction)})

    def _view(self, interaction: Interaction) -> dict[str, Any]:
        original = interaction.original
        callback = interaction.callback or {}
        if callback.get("type") in (6, 7) and interaction.source_message_id is not None:
            found = find_message(self.state.world, interaction.source_message_id)
            original = None if found is None else found[1]
        view: dict[str, Any] = {
            "id": str(interaction.id),
            "type": interaction.type,
            "name": interaction.name,
            "user_id": str(interaction.user_id),
            "acknowledged": interaction.callback is not None,
            "callback": interaction.callback,
            "original": None if original is None else self._msg(original),
            "followups": [self._msg(m) for m in interaction.followups],
            "modal": interaction.modal,
        }
        if interaction.type == client_actions.AUTOCOMPLETE:
            view["choices"] = _choices(interaction)
        return view

    def _msg(self, message: Any) -> dict[str, Any]:
        return message_json(message, self.state.bot, self.state.world.application_id)

    async def get_interaction(self, request: web.Request) -> web.Response:
        iid = _int(request.match_info["interaction_id"], "interaction_id")
        interaction = self.state.world.interactions.get(iid)
        if interaction is None:
            raise ControlError(404, "unknown interaction")
        return _json(self._view(interaction))

    async def submit_modal(self, request: web.Request) -> web.Response:
        data = await _body(request)
        values = data.get("values", {})
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise ControlError(400, "values must map each field's custom_id to its text")
        user_id = None
        if "user" in data or "user_id" in data:
            user_id = people.resolve_user(self.state, data)
        interaction = client_actions.submit_modal(
            self.state,
            interaction_id=_int(request.match_info["interaction_id"], "interaction_id"),
            user_id=user_id,
            values={str(k): v for k, v in values.items()},
        )
        return await self._created(request, interaction)

    async def get_message(self, request: web.Request) -> web.Response:
        found = find_message(self.state.world, _int(request.match_info["message_id"], "message_id"))
        if found is None:
            raise ControlError(404, "unknown message")
        interaction, message = found
        return _json({**self._msg(message), "interaction_id": str(interaction.id)})

    async def click(self, request: web.Request) -> web.Response:
        data = await _body(request)
        custom_id = data.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            raise ControlError(400, "custom_id (the button's) is required")
        interaction = client_actions.click(
            self.state,
            message_id=_int(request.match_info["message_id"], "message_id"),
            user_id=people.resolve_user(self.state, data),
            custom_id=custom_id,
        )
        return await self._created(request, interaction)

    async def channel_messages(self, request: web.Request) -> web.Response:
        channel_id = _int(request.match_info["channel_id"], "channel_id")
        messages = self.state.world.messages.get(channel_id, [])
        return _json([self._msg(m) for m in messages])

    async def attachment(self, request: web.Request) -> web.Response:
        att = self.state.world.attachments.get(
            _int(request.match_info["attachment_id"], "attachment_id")
        )
        if att is None:
            raise ControlError(404, "unknown attachment")
        return web.Response(
            body=base64.b64decode(att.data_b64), headers={"Content-Type": att.content_type}
        )


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _choices(interaction: Interaction) -> list[dict[str, Any]]:
    data = (interaction.callback or {}).get("data") or {}
    choices = data.get("choices", []) if isinstance(data, dict) else []
    return list(choices) if isinstance(choices, list) else []


async def _answered(state: DiscordState, interaction: Interaction) -> bool:
    """Wait (real time, at most the 3 s window) for the bot's first callback."""
    if interaction.callback is None:
        await state.wait_for_answer(interaction.id, ANSWER_WAIT_S)
    return interaction.callback is not None
