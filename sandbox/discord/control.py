"""Control routes under `/_sandbox/discord/`: act on the sandbox as a person would (JSON in/out).

Running commands, autocomplete, clicking buttons and submitting modals are in
`sandbox.discord.control_interactions`, which documents its routes.

The bot's server count (`sandbox.discord.bot_guilds`): `GET /_sandbox/discord/bot-guilds`
answers `{"count", "others", "limit", "verified"}` (`limit` null when the app is verified);
`PUT /_sandbox/discord/bot-guilds {"others": N}` makes the bot a member of exactly N filler
guilds besides its real servers (joined with GUILD_CREATE, left with GUILD_DELETE), refused
with 400 when an unverified app would pass 100. Like every change, it needs the secret.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox.discord import bot_guilds, hand_edits, people
from sandbox.discord.errors import DiscordError
from sandbox.discord.gateway import Gateway, gateway_guild
from sandbox.discord.interactions import ControlError
from sandbox.discord.oauth import SCOPES, grant_code, parse_scopes
from sandbox.discord.ratelimit import RateLimiter
from sandbox.discord.serialize import member_json, role_json, sorted_roles, user_json
from sandbox.discord.state import DiscordState

PREFIX = "/_sandbox/discord"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, body=json.dumps(payload).encode(), content_type="application/json"
    )


def _guarded(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ControlError as exc:
            return _json({"error": exc.message}, exc.status)
        except DiscordError as exc:
            return _json({"error": exc.message, "code": exc.code}, exc.status)

    return wrapped


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json() if request.can_read_body else {}
    except json.JSONDecodeError as exc:
        raise ControlError(400, "body must be JSON") from exc
    if not isinstance(data, dict):
        raise ControlError(400, "body must be a JSON object")
    return data


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ControlError(400, f"{name} must be an integer") from exc


class ControlRoutes:
    def __init__(self, state: DiscordState, gateway: Gateway, limiter: RateLimiter) -> None:
        self.state = state
        self.gateway = gateway
        self.limiter = limiter

    def register(self, app: web.Application) -> None:
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/users", self.list_users),
            ("POST", "/users", self.create_user),
            ("GET", "/guilds", self.list_guilds),
            ("POST", "/guilds", self.create_guild),
            ("GET", "/guilds/{guild_id}", self.get_guild),
            ("POST", "/guilds/{guild_id}/bot", self.add_bot),
            ("POST", "/guilds/{guild_id}/bot-role", self.move_bot_role),
            ("POST", "/guilds/{guild_id}/members", self.add_member),
            ("GET", "/bot-guilds", self.get_bot_guilds),
            ("PUT", "/bot-guilds", self.set_bot_guilds),
            ("POST", "/invites/{code}/accept", self.accept_invite),
            ("GET", "/invalid-requests", self.invalid_requests),
            ("GET", "/gateway", self.gateway_info),
            ("POST", "/gateway/reconnect", self.reconnect),
            ("GET", "/oauth2", self.oauth_app),
            ("POST", "/oauth2/redirect-uris", self.add_redirect_uri),
            ("PUT", "/oauth2/redirect-uris", self.set_redirect_uris),
            ("POST", "/oauth2/authorize", self.authorize),
        ]
        routes += hand_edits.routes(self.state, _body)
        for method, path, handler in routes:
            app.router.add_route(method, PREFIX + path, _guarded(handler))

    async def list_users(self, request: web.Request) -> web.Response:
        return _json([user_json(u) for u in self.state.world.users.values()])

    async def create_user(self, request: web.Request) -> web.Response:
        data = await _body(request)
        name = data.get("username")
        if not isinstance(name, str) or not name:
            raise ControlError(400, "username is required")
        user = people.create_user(self.state, name, data.get("global_name"))
        return _json(user_json(user), 201)

    def _summary(self, guild_id: int) -> dict[str, Any]:
        guild = people.existing_guild(self.state, guild_id)
        return {
            "id": str(guild.id),
            "name": guild.name,
            "owner_id": str(guild.owner_id),
            "bot_member": self.state.bot_id in guild.members,
            "roles": [role_json(r) for r in sorted_roles(guild)],
            "channels": [
                {"id": str(c.id), "name": c.name, "type": c.type} for c in guild.channels.values()
            ],
            "member_count": len(guild.members),
        }

    async def list_guilds(self, request: web.Request) -> web.Response:
        return _json([self._summary(g) for g in self.state.world.guilds])

    async def create_guild(self, request: web.Request) -> web.Response:
        data = await _body(request)
        name = data.get("name")
        if not isinstance(name, str) or not 2 <= len(name) <= 100:
            raise ControlError(400, "name (2-100 characters) is required")
        owner = data.get("owner_id") or data.get("owner")
        owner_id = people.resolve_user(
            self.state, {"user_id": owner} if "owner_id" in data else {"user": owner}
        )
        guild = people.create_guild(self.state, name, owner_id)
        return _json(self._summary(guild.id), 201)

    async def get_guild(self, request: web.Request) -> web.Response:
        guild = people.existing_guild(self.state, _int(request.match_info["guild_id"], "guild_id"))
        out = gateway_guild(self.state, guild)
        out["audit_log"] = [e.model_dump(mode="json") for e in guild.audit_log]
        return _json(out)

    async def add_bot(self, request: web.Request) -> web.Response:
        data = await _body(request)
        guild_id = _int(request.match_info["guild_id"], "guild_id")
        role = people.add_bot(self.state, guild_id, _int(data.get("permissions", 0), "permissions"))
        return _json({"guild_id": str(guild_id), "role": role_json(role)}, 201)

    async def move_bot_role(self, request: web.Request) -> web.Response:
        data = await _body(request)
        guild_id = _int(request.match_info["guild_id"], "guild_id")
        people.move_bot_role(self.state, guild_id, _int(data.get("position"), "position"))
        guild = people.existing_guild(self.state, guild_id)
        return _json([role_json(r) for r in sorted_roles(guild)])

    async def get_bot_guilds(self, request: web.Request) -> web.Response:
        return _json(bot_guilds.summary(self.state))

    async def set_bot_guilds(self, request: web.Request) -> web.Response:
        data = await _body(request)
        return _json(bot_guilds.set_others(self.state, _int(data.get("others"), "others")))

    async def add_member(self, request: web.Request) -> web.Response:
        data = await _body(request)
        guild = people.existing_guild(self.state, _int(request.match_info["guild_id"], "guild_id"))
        uid = people.resolve_user(self.state, data)
        if uid in guild.members:
            raise ControlError(409, "already a member")
        member = people.add_member(self.state, guild, uid, [])
        return _json(member_json(member, self.state.world.users[uid]), 201)

    async def accept_invite(self, request: web.Request) -> web.Response:
        data = await _body(request)
        uid = people.resolve_user(self.state, data)
        return _json(people.accept_invite(self.state, request.match_info["code"], uid))

    async def invalid_requests(self, request: web.Request) -> web.Response:
        return _json(
            {"count": self.limiter.invalid_count(), "window_seconds": self.limiter.invalid_window}
        )

    async def gateway_info(self, request: web.Request) -> web.Response:
        return _json(
            {"connected": self.gateway.connected(), "sessions": len(self.gateway.sessions)}
        )

    async def reconnect(self, request: web.Request) -> web.Response:
        return _json({"reconnected": self.gateway.reconnect_all()})

    # -- OAuth2: the application's credentials and redirect URIs, a person's consent -----------

    def _oauth_json(self, request: web.Request) -> dict[str, Any]:
        base = f"{request.scheme}://{request.host}"
        return {
            "client_id": str(self.state.world.application_id),
            "client_secret": self.state.config.client_secret,
            "redirect_uris": list(self.state.world.redirect_uris),
            "loopback_redirects": True,
            "authorize_url": f"{base}/oauth2/authorize",
            "token_url": f"{base}/api/v10/oauth2/token",
        }

    async def oauth_app(self, request: web.Request) -> web.Response:
        return _json(self._oauth_json(request))

    @staticmethod
    def _uri(value: Any, name: str) -> str:
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            raise ControlError(400, f"{name}: an absolute http(s) URI")
        return value

    async def add_redirect_uri(self, request: web.Request) -> web.Response:
        uri = self._uri((await _body(request)).get("redirect_uri"), "redirect_uri")
        if uri not in self.state.world.redirect_uris:
            self.state.world.redirect_uris.append(uri)
        return _json(self._oauth_json(request), 201)

    async def set_redirect_uris(self, request: web.Request) -> web.Response:
        raw = (await _body(request)).get("redirect_uris")
        if not isinstance(raw, list):
            raise ControlError(400, "redirect_uris: a list of absolute http(s) URIs")
        uris = [self._uri(u, f"redirect_uris[{i}]") for i, u in enumerate(raw)]
        self.state.world.redirect_uris = list(dict.fromkeys(uris))
        return _json(self._oauth_json(request))

    async def authorize(self, request: web.Request) -> web.Response:
        """A person clicks Authorize without a browser: the code the redirect would carry."""
        data = await _body(request)
        uid = people.resolve_user(self.state, data)
        try:
            scopes = parse_scopes(str(data.get("scope", "identify")))
        except ValueError as exc:
            known = ", ".join(SCOPES)
            raise ControlError(400, f"scope: {exc.args[0]!r} is not one of {known}") from exc
        raw = data.get("redirect_uri")
        redirect = None if raw is None else self._uri(raw, "redirect_uri")
        code = grant_code(self.state, uid, scopes, redirect)
        return _json({"code": code, "user_id": str(uid), "scope": " ".join(scopes)}, 201)
