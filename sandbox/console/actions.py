"""Control routes the console needs beyond the emulators' own (JSON in and out, guarded like
every control route): who the browser acts as, a slash command from a generated form (and its
autocomplete), joining and leaving a server. Adding the bot is the sandbox's own install page,
`/oauth2/authorize` (`sandbox/discord/authorize_page.py`).

- `POST /_sandbox/console/me` `{"user_id": "…"}` → the person this browser acts as (the cookie
  the authorize page reads too, so both know who is at the browser);
- `POST /_sandbox/console/run` `{"guild_id", "channel_id", "command": "course claim",
  "values": {option: value or {"filename", "content_type", "base64"}}}` → 201 `{"id"}`: the
  interaction the bot receives, its options typed and nested from the registered schema;
- `POST /_sandbox/console/autocomplete` the same body and `"focused": option` → `{"choices"}`
  the bot offers for what is typed so far (504 when it does not answer within 3 s);
- `POST /_sandbox/console/join` `{"invite": "https://discord.gg/CODE" or "CODE"}` → the person
  accepts the invite (its roles come with it);
- `POST /_sandbox/console/guilds/{guild_id}/leave` → the person leaves (not the owner).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from sandbox.console.commands import CommandForm, FormError, build_options
from sandbox.console.picker import offered_commands
from sandbox.core.oauth import remember_user, remembered_user
from sandbox.discord import client_actions, people
from sandbox.discord.errors import DiscordError
from sandbox.discord.interactions import ControlError
from sandbox.discord.models import Interaction
from sandbox.discord.serialize import user_json
from sandbox.discord.state import DiscordState

PREFIX = "/_sandbox/console"
# Real seconds to wait for the bot's autocomplete answer: the platform's window is 3 s.
AUTOCOMPLETE_WAIT_S = 3.0


def _error(status: int, message: str, field: str | None = None) -> web.Response:
    body: dict[str, Any] = {"message": message}
    if field is not None:
        body["field"] = field
    return web.json_response(body, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except json.JSONDecodeError as exc:
        raise ControlError(400, "body: expected a JSON object") from exc
    if not isinstance(data, dict):
        raise ControlError(400, "body: expected a JSON object")
    return data


def _snowflake(data: dict[str, Any], name: str) -> int:
    try:
        return int(str(data.get(name)))
    except ValueError as exc:
        raise ControlError(400, f"{name}: expected an id (digits)") from exc


def acting_user(state: DiscordState, request: web.Request) -> int | None:
    """The person this browser acts as, if the cookie names one that exists."""
    raw = remembered_user(request, "discord") or ""
    if raw.isdigit() and int(raw) in state.world.users and not state.world.users[int(raw)].bot:
        return int(raw)
    return None


def _me(state: DiscordState, request: web.Request) -> int:
    uid = acting_user(state, request)
    if uid is None:
        raise ControlError(400, "user: choose who you are first (the sandbox's home page)")
    return uid


class ConsoleActions:
    def __init__(self, state: DiscordState) -> None:
        self.state = state

    def register(self, app: web.Application) -> None:
        app.router.add_post(PREFIX + "/me", self._guarded(self.choose_me))
        app.router.add_post(PREFIX + "/run", self._guarded(self.run))
        app.router.add_post(PREFIX + "/autocomplete", self._guarded(self.autocomplete))
        app.router.add_post(PREFIX + "/join", self._guarded(self.join))
        app.router.add_post(PREFIX + "/guilds/{guild_id}/leave", self._guarded(self.leave))

    @staticmethod
    def _guarded(handler: Any) -> Any:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                response: web.StreamResponse = await handler(request)
                return response
            except FormError as exc:
                return _error(400, str(exc), exc.field)
            except ControlError as exc:
                return _error(exc.status, exc.message)

        return wrapped

    async def choose_me(self, request: web.Request) -> web.Response:
        data = await _body(request)
        uid = _snowflake(data, "user_id")
        user = self.state.world.users.get(uid)
        if user is None or user.bot:
            raise ControlError(404, "user_id: no such person in the sandbox; create one")
        response = web.json_response(user_json(user))
        remember_user(response, "discord", str(uid))
        return response

    def _form(
        self, request: web.Request, data: dict[str, Any]
    ) -> tuple[int, CommandForm, dict[str, Any]]:
        guild_id = _snowflake(data, "guild_id")
        wanted = str(data.get("command", ""))
        guild = self.state.world.guilds.get(guild_id)
        if guild is None:
            raise ControlError(404, "guild_id: no such server")
        me = _me(self.state, request)
        if me not in guild.members:
            raise ControlError(400, "guild_id: you are not a member of that server")
        forms = {form.key: form for form in offered_commands(self.state, guild, me)}
        form = forms.get(wanted)
        if form is None:
            raise ControlError(
                404, f"command: the bot registered no /{wanted} here that you may see"
            )
        values = data.get("values") or {}
        if not isinstance(values, dict):
            raise ControlError(400, "values: expected an object of option values")
        return guild_id, form, values

    def _dispatch(
        self,
        request: web.Request,
        data: dict[str, Any],
        form: CommandForm,
        guild_id: int,
        options: list[dict[str, Any]],
        autocomplete: bool,
    ) -> Interaction:
        channel = data.get("channel_id")
        return client_actions.run_command(
            self.state,
            guild_id=guild_id,
            channel_id=None if channel in (None, "") else _snowflake(data, "channel_id"),
            user_id=_me(self.state, request),
            name=form.command,
            options=options,
            base_url=f"{request.scheme}://{request.host}",
            autocomplete=autocomplete,
        )

    async def run(self, request: web.Request) -> web.Response:
        data = await _body(request)
        guild_id, form, values = self._form(request, data)
        options = build_options(form, values)
        interaction = self._dispatch(request, data, form, guild_id, options, autocomplete=False)
        return web.json_response({"id": str(interaction.id)}, status=201)

    async def autocomplete(self, request: web.Request) -> web.Response:
        data = await _body(request)
        guild_id, form, values = self._form(request, data)
        options = build_options(form, values, focused=str(data.get("focused", "")))
        interaction = self._dispatch(request, data, form, guild_id, options, autocomplete=True)
        if interaction.callback is None:
            await self.state.wait_for_answer(interaction.id, AUTOCOMPLETE_WAIT_S)
        if interaction.callback is None:
            raise ControlError(504, "the bot did not answer the autocomplete within 3 s")
        answer = interaction.callback.get("data") or {}
        choices = answer.get("choices", []) if isinstance(answer, dict) else []
        return web.json_response({"choices": choices if isinstance(choices, list) else []})

    async def join(self, request: web.Request) -> web.Response:
        data = await _body(request)
        uid = _me(self.state, request)
        # A link (discord.gg/CODE, discord.com/invite/CODE) or the code alone.
        code = str(data.get("invite", "")).strip().rstrip("/").rsplit("/", 1)[-1]
        if not code:
            raise ControlError(400, "invite: paste an invite link or its code")
        try:
            joined = people.accept_invite(self.state, code, uid)
        except DiscordError as exc:
            raise ControlError(
                404, "invite: this invite is invalid, expired, used up or not for you"
            ) from exc
        return web.json_response({"id": joined["guild_id"], **joined})

    async def leave(self, request: web.Request) -> web.Response:
        uid = _me(self.state, request)
        guild = people.existing_guild(self.state, _snowflake(dict(request.match_info), "guild_id"))
        if uid not in guild.members:
            raise ControlError(404, "you are not a member of this server")
        if guild.owner_id == uid:
            raise ControlError(400, "the owner cannot leave: Discord asks to transfer it first")
        del guild.members[uid]
        user = user_json(self.state.world.users[uid])
        self.state.emit("GUILD_MEMBER_REMOVE", {"guild_id": str(guild.id), "user": user}, guild.id)
        return web.json_response({"left": str(guild.id)})
