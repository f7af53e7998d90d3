"""Discord's OAuth2 grants: scopes, authorization codes and access tokens (PLATFORM.md §1.13).

Codes are single use and live 10 minutes; access tokens live `DiscordConfig.oauth_token_ttl`
seconds and come with a refresh token (a refresh replaces both). Everything is kept in the
`World`, so a saved sandbox keeps the people's grants.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.core.oauth import CODE_TTL, new_secret_value
from sandbox.discord.models import OAuthGrant, OAuthToken
from sandbox.discord.state import DiscordState

SCOPES: dict[str, str] = {
    "bot": "Add a bot to a server",
    "applications.commands": "Create commands in a server",
    "identify": "Access your username, avatar, and banner",
    "email": "Access your email address",
    "guilds": "Know what servers you're in",
    "guilds.join": "Join servers for you",
    "guilds.members.read": (
        "Read your member info (nickname, avatar, roles) for servers you belong to"
    ),
}
"""The scopes the sandbox knows, with what Discord's consent screen says each one grants."""
BOT_SCOPES = frozenset({"bot", "applications.commands"})


class OAuthError(Exception):
    """An RFC 6749 error answer of the token endpoint: `{"error", "error_description"}`."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


def parse_scopes(raw: str) -> list[str]:
    """The scopes asked for (space separated, order kept); ValueError names an unknown one."""
    scopes = list(dict.fromkeys(raw.split()))
    for scope in scopes:
        if scope not in SCOPES:
            raise ValueError(scope)
    return scopes


def _prune(state: DiscordState) -> None:
    now = state.now()
    world = state.world
    world.oauth_codes = {c: g for c, g in world.oauth_codes.items() if g.expires_at > now}
    world.oauth_tokens = {t: g for t, g in world.oauth_tokens.items() if g.expires_at > now}


def grant_code(
    state: DiscordState, user_id: int, scopes: list[str], redirect_uri: str | None
) -> str:
    """The person authorized: a code the application exchanges for a token."""
    _prune(state)
    code = new_secret_value()
    state.world.oauth_codes[code] = OAuthGrant(
        user_id=user_id,
        scopes=scopes,
        redirect_uri=redirect_uri,
        expires_at=state.now() + CODE_TTL,
    )
    return code


def _issue(state: DiscordState, user_id: int, scopes: list[str]) -> dict[str, Any]:
    ttl = state.config.oauth_token_ttl
    access, refresh = new_secret_value(), new_secret_value()
    state.world.oauth_tokens[access] = OAuthToken(
        user_id=user_id, scopes=scopes, expires_at=state.now() + ttl, refresh_token=refresh
    )
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ttl,
        "refresh_token": refresh,
        "scope": " ".join(scopes),
    }


def exchange_code(state: DiscordState, code: str, redirect_uri: str | None) -> dict[str, Any]:
    """`grant_type=authorization_code`: the code is spent whatever the outcome after lookup."""
    _prune(state)
    grant = state.world.oauth_codes.pop(code, None)
    if grant is None:
        raise OAuthError(400, "invalid_grant", 'Invalid "code" in request.')
    if grant.redirect_uri is not None and redirect_uri != grant.redirect_uri:
        raise OAuthError(400, "invalid_grant", 'Invalid "redirect_uri" in request.')
    return _issue(state, grant.user_id, grant.scopes)


def refresh(state: DiscordState, refresh_token: str) -> dict[str, Any]:
    """`grant_type=refresh_token`: a new pair; the old access and refresh tokens stop working."""
    _prune(state)
    tokens = state.world.oauth_tokens
    found = next((a for a, t in tokens.items() if t.refresh_token == refresh_token), None)
    if found is None:
        raise OAuthError(400, "invalid_grant", 'Invalid "refresh_token" in request.')
    old = tokens.pop(found)
    return _issue(state, old.user_id, old.scopes)


def bearer_token(state: DiscordState, request: web.Request) -> OAuthToken | None:
    """The live token of an `Authorization: Bearer` request, else None."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not value:
        return None
    token = state.world.oauth_tokens.get(value.strip())
    if token is None or token.expires_at <= state.now():
        return None
    return token


def token_of(state: DiscordState, access_token: str) -> OAuthToken | None:
    token = state.world.oauth_tokens.get(access_token)
    return token if token is not None and token.expires_at > state.now() else None
