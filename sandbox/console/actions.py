"""Control routes the console needs beyond the emulators' own (JSON in and out, guarded like
every control route): who the browser acts as, a slash command from a generated form, leaving a
server and opening an install link.

- `POST /_sandbox/console/me` `{"user_id": "…"}` → the person this browser acts as (a cookie);
- `POST /_sandbox/console/run` `{"guild_id", "channel_id", "command": "course claim",
  "values": {option: value or {"filename", "content_type", "base64"}}}` → 201 `{"id"}`: the
  interaction the bot receives, its options typed and nested from the registered schema;
- `POST /_sandbox/console/join` `{"invite": "https://discord.gg/CODE" or "CODE"}` → the person
  accepts the invite (its roles come with it);
- `POST /_sandbox/console/guilds/{guild_id}/leave` → the person leaves (not the owner);
- `POST /_sandbox/console/guilds/{guild_id}/install` `{"link": "…"}` → the bot joins with the
  permissions the install link asks for, when the person may manage the server.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web

from sandbox.console.commands import FormError, build_options, command_forms
from sandbox.discord import people
from sandbox.discord.errors import DiscordError
from sandbox.discord.interactions import ControlError, run_command
from sandbox.discord.permissions import MANAGE_GUILD, base_permissions
from sandbox.discord.serialize import user_json
from sandbox.discord.state import DiscordState

ACTING_COOKIE = "sandbox_as"
PREFIX = "/_sandbox/console"


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
    raw = request.cookies.get(ACTING_COOKIE, "")
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
        app.router.add_post(PREFIX + "/join", self._guarded(self.join))
        app.router.add_post(PREFIX + "/guilds/{guild_id}/leave", self._guarded(self.leave))
        app.router.add_post(PREFIX + "/guilds/{guild_id}/install", self._guarded(self.install))

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
        response.set_cookie(ACTING_COOKIE, str(uid), path="/_sandbox", samesite="Strict")
        return response

    async def run(self, request: web.Request) -> web.Response:
        data = await _body(request)
        guild_id = _snowflake(data, "guild_id")
        wanted = str(data.get("command", ""))
        forms = {
            form.key: form
            for command in self.state.world.commands.values()
            if command.type == 1 and command.guild_id in (None, guild_id)
            for form in command_forms({"name": command.name, **command.payload})
        }
        form = forms.get(wanted)
        if form is None:
            raise ControlError(404, f"command: the bot registered no /{wanted} here")
        values = data.get("values") or {}
        if not isinstance(values, dict):
            raise ControlError(400, "values: expected an object of option values")
        channel = data.get("channel_id")
        interaction = run_command(
            self.state,
            guild_id=guild_id,
            channel_id=None if channel in (None, "") else _snowflake(data, "channel_id"),
            user_id=_me(self.state, request),
            name=form.command,
            options=build_options(form, values),
            base_url=f"{request.scheme}://{request.host}",
        )
        return web.json_response({"id": str(interaction.id)}, status=201)

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

    async def install(self, request: web.Request) -> web.Response:
        data = await _body(request)
        uid = _me(self.state, request)
        guild = people.existing_guild(self.state, _snowflake(dict(request.match_info), "guild_id"))
        query = parse_qs(urlsplit(str(data.get("link", "")).strip()).query)
        client = (query.get("client_id") or [""])[0]
        if client != str(self.state.world.application_id):
            raise ControlError(
                400, "link: not this bot's install link (its client_id is the application id)"
            )
        if "bot" not in (query.get("scope") or [""])[0].split():
            raise ControlError(400, "link: the install link has no bot scope")
        if not base_permissions(guild, uid) & MANAGE_GUILD:
            raise ControlError(403, "you need Manage Server in this server to add a bot")
        raw = (query.get("permissions") or ["0"])[0]
        if not raw.isdigit():
            raise ControlError(400, "link: permissions must be a number")
        role = people.add_bot(self.state, guild.id, int(raw))
        return web.json_response({"guild_id": str(guild.id), "role": role.name}, status=201)
