"""OAuth2 on the API side (PLATFORM.md §1.13): the token endpoint, who a token belongs to, and
adding a person to a server with their token.

- `POST /api/v10/oauth2/token` (form-encoded; client id and secret by HTTP Basic or as form
  fields): `grant_type=authorization_code` with `code` and the same `redirect_uri`, or
  `grant_type=refresh_token` → `{access_token, token_type: "Bearer", expires_in, refresh_token,
  scope}`; errors are RFC 6749's `{"error", "error_description"}` (a spent or unknown code:
  400 `invalid_grant`; wrong client: 401 `invalid_client`).
- `GET /api/v10/users/@me`: the bot (bot token) or the person (`Bearer` token with `identify`).
- `GET /api/v10/oauth2/@me` (`Bearer`): the application, the scopes, the expiry, the user.
- `PUT /api/v10/guilds/{guild_id}/members/{user_id}` (bot token; `{access_token, roles?, nick?}`,
  the person's token with `guilds.join`): 201 with the new member, 204 when already a member
  (roles and nick untouched, as on Discord). Needs CREATE_INSTANT_INVITE, MANAGE_ROLES for
  `roles` (each below the bot's top role), MANAGE_NICKNAMES for `nick`; fires GUILD_MEMBER_ADD.
"""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from sandbox.core.oauth import client_credentials
from sandbox.discord import people
from sandbox.discord.api import Api, read_json
from sandbox.discord.errors import DiscordError, discord_json, unauthorized, unknown
from sandbox.discord.fields import Body, require_snowflake
from sandbox.discord.oauth import OAuthError, bearer_token, exchange_code, refresh, token_of
from sandbox.discord.permissions import CREATE_INSTANT_INVITE, MANAGE_ROLES
from sandbox.discord.routes_app import application_json
from sandbox.discord.rules import require, require_below
from sandbox.discord.serialize import iso, me_json, member_json, user_json
from sandbox.discord.state import DiscordState

MANAGE_NICKNAMES = 1 << 27


def _oauth_error(exc: OAuthError) -> web.Response:
    return discord_json({"error": exc.error, "error_description": exc.description}, exc.status)


def person_json(state: DiscordState, user_id: int, scopes: list[str]) -> dict[str, Any]:
    """`GET /users/@me` for a person's token: the user, and the e-mail only with `email`."""
    user = state.user(user_id)
    out = me_json(user)
    if "email" in scopes:
        out["email"] = f"{user.username}@example.com"
    return out


class OAuthRoutes:
    def __init__(self, state: DiscordState) -> None:
        self.state = state

    def register(self, api: Api, app: web.Application) -> None:
        api.add(app, "POST", "/oauth2/token", self.token, auth=False)
        api.add(app, "GET", "/users/@me", self.me, bearer=True)
        api.add(app, "GET", "/oauth2/@me", self.authorization, bearer=True)
        api.add(app, "PUT", "/guilds/{guild_id}/members/{user_id}", self.add_member)

    async def token(self, request: web.Request) -> web.Response:
        if request.content_type != "application/x-www-form-urlencoded":
            return _oauth_error(
                OAuthError(
                    400,
                    "invalid_request",
                    "Content-Type: the token request is form-encoded "
                    "(application/x-www-form-urlencoded)",
                )
            )
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        client_id, client_secret = client_credentials(request, form)
        if client_id != str(self.state.world.application_id) or not secrets.compare_digest(
            client_secret or "", self.state.config.client_secret
        ):
            return _oauth_error(OAuthError(401, "invalid_client", "Invalid client credentials"))
        grant_type = form.get("grant_type")
        try:
            if grant_type == "authorization_code":
                body = exchange_code(self.state, form.get("code", ""), form.get("redirect_uri"))
            elif grant_type == "refresh_token":
                body = refresh(self.state, form.get("refresh_token", ""))
            else:
                raise OAuthError(
                    400,
                    "unsupported_grant_type",
                    'grant_type: use "authorization_code" or "refresh_token"',
                )
        except OAuthError as exc:
            return _oauth_error(exc)
        return discord_json(body, headers={"Cache-Control": "no-store"})

    def _person(self, request: web.Request, scope: str) -> tuple[int, list[str], float]:
        token = bearer_token(self.state, request)
        if token is None or scope not in token.scopes:
            raise unauthorized()
        return token.user_id, token.scopes, token.expires_at

    async def me(self, request: web.Request) -> web.Response:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return discord_json(me_json(self.state.bot))
        user_id, scopes, _ = self._person(request, "identify")
        return discord_json(person_json(self.state, user_id, scopes))

    async def authorization(self, request: web.Request) -> web.Response:
        token = bearer_token(self.state, request)
        if token is None:
            raise unauthorized()
        out: dict[str, Any] = {
            "application": application_json(self.state),
            "scopes": token.scopes,
            "expires": iso(token.expires_at),
        }
        if "identify" in token.scopes:
            out["user"] = user_json(self.state.user(token.user_id))
        return discord_json(out)

    async def add_member(self, request: web.Request) -> web.Response:
        state = self.state
        guild = state.guild(require_snowflake(request.match_info["guild_id"], "guild_id"))
        user_id = require_snowflake(request.match_info["user_id"], "user_id")
        body = Body(await read_json(request))
        access_token = body.string("access_token", required=True, max_len=10240)
        roles = body.snowflakes("roles") or []
        nick = body.string("nick", min_len=1, max_len=32)
        body.boolean("mute")
        body.boolean("deaf")
        body.done()
        token = token_of(state, access_token or "")
        if token is None or token.user_id != user_id or "guilds.join" not in token.scopes:
            raise DiscordError(403, 50025, "Invalid OAuth2 access token")
        bot = state.bot_id
        require(guild, bot, CREATE_INSTANT_INVITE)
        if user_id in guild.members:
            # Discord answers 204 and changes nothing: roles must go through the role routes.
            return web.Response(status=204)
        if roles:
            require(guild, bot, MANAGE_ROLES)
            for role_id in roles:
                role = guild.roles.get(role_id)
                if role is None:
                    raise unknown("role")
                require_below(guild, bot, role)
                if role.managed or role.id == guild.id:
                    raise DiscordError(403, 50013, "Missing Permissions")
        if nick is not None:
            require(guild, bot, MANAGE_NICKNAMES)
        member = people.add_member(state, guild, user_id, roles, nick=nick)
        return discord_json(member_json(member, state.world.users[user_id]), 201)
