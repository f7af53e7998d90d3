"""Authentication: user tokens, GitHub App JWTs and installation tokens."""

from __future__ import annotations

import base64
import json
from typing import Any

from aiohttp import web

from sandbox.github import installations
from sandbox.github.context import GitHubContext, Principal
from sandbox.github.errors import ApiError

BAD_CREDENTIALS = "Bad credentials"


def _jwt_claims(token: str) -> dict[str, Any] | None:
    # App JWTs are accepted on their claims alone: the sandbox has no app private keys to check
    # signatures against, and the point is to exercise the token exchange, not RS256.
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def _installed(ctx: GitHubContext, installation_id: int) -> bool:
    # A deleted installation's tokens are revoked with it (the App uninstalled from the org).
    return any(installation_id in app.installations for app in ctx.world.apps)


def authenticate(ctx: GitHubContext, request: web.Request) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise ApiError(401, "Requires authentication")
    if scheme.lower() not in ("token", "bearer") or not token:
        raise ApiError(401, BAD_CREDENTIALS)
    token = token.strip()
    login = ctx.state.tokens.get(token)
    if login is not None:
        user = ctx.state.users.get(login.lower())
        if user is not None:
            return Principal("user", user.login, f"user:{user.login}", user.id)
    inst = ctx.state.installation_tokens.get(token)
    if inst is not None and inst.expires_at > ctx.now() and _installed(ctx, inst.installation_id):
        held = installations.suspension(ctx, inst.installation_id)
        if held is not None:
            # A token minted before the suspension is refused while it lasts, not revoked.
            raise ApiError(403, installations.refused_message(inst.org, held))
        bot = f"{inst.app_slug}[bot]"
        return Principal("installation", bot, f"inst:{inst.installation_id}", 0, inst.org)
    claims = _jwt_claims(token)
    if claims is not None:
        app = next((a for a in ctx.world.apps if str(a.app_id) == str(claims.get("iss"))), None)
        exp = claims.get("exp")
        if app is not None and isinstance(exp, int | float) and exp > ctx.now():
            return Principal("app", app.slug, f"app:{app.app_id}", app.app_id)
    raise ApiError(401, BAD_CREDENTIALS)
