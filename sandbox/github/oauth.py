"""Sign in with GitHub, the token side (PLATFORM.md §2.10), served at the sandbox root where
github.com serves it (not under `/api/v3`):

`POST /login/oauth/access_token` with `client_id`, `client_secret`, `code`, `redirect_uri`
(form-encoded, JSON or in the query; client credentials also by HTTP Basic). The answer is
JSON with `Accept: application/json`, else form-encoded, as on GitHub:
`{access_token: "gho_…", token_type: "bearer", scope}`. Every error is a **200** too, with
`error` = `incorrect_client_credentials`, `bad_verification_code` (unknown, spent or expired
code) or `redirect_uri_mismatch`. The token then works on `GET /api/v3/user` (`Authorization:
Bearer|token`). Codes are single use and live 10 minutes.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from urllib.parse import urlencode

from aiohttp import web

from sandbox.core.oauth import CODE_TTL, client_credentials, new_secret_value
from sandbox.github.context import GitHubContext
from sandbox.github.models import OAuthCode

TROUBLESHOOTING = (
    "https://docs.github.com/apps/managing-oauth-apps/"
    "troubleshooting-oauth-app-access-token-request-errors"
)
SCOPES: dict[str, str] = {
    "read:user": "Read all user profile data",
    "user:email": "Access user email addresses (read-only)",
    "user": "Read and write all user profile data",
    "read:org": "Read org and team membership, read org projects",
    "public_repo": "Access public repositories",
    "repo": "Full control of private repositories",
}
"""Scopes the sandbox grants, with what GitHub's consent screen says; unknown ones are dropped,
as GitHub does."""
NO_SCOPE = "Public data only: limited access to your public information"
_ERRORS = {
    "incorrect_client_credentials": "The client_id and/or client_secret passed are incorrect.",
    "bad_verification_code": "The code passed is incorrect or expired.",
    "redirect_uri_mismatch": "The redirect_uri MUST match the registered callback URL for "
    "this application.",
}


def parse_scopes(raw: str) -> list[str]:
    """GitHub separates scopes by spaces or commas and ignores the ones it does not know."""
    asked = raw.replace(",", " ").split()
    return [s for s in dict.fromkeys(asked) if s in SCOPES]


def grant_code(ctx: GitHubContext, login: str, scopes: list[str], redirect_uri: str) -> str:
    now = ctx.now()
    ctx.state.oauth_codes = {c: g for c, g in ctx.state.oauth_codes.items() if g.expires_at > now}
    code = secrets.token_hex(10)  # GitHub's codes are 20 hex characters
    ctx.state.oauth_codes[code] = OAuthCode(
        login=login, scopes=scopes, redirect_uri=redirect_uri, expires_at=now + CODE_TTL
    )
    return code


def _answer(request: web.Request, payload: Mapping[str, str]) -> web.Response:
    if "application/json" in request.headers.get("Accept", ""):
        return web.Response(text=json.dumps(payload), content_type="application/json")
    return web.Response(text=urlencode(payload), content_type="application/x-www-form-urlencoded")


def _error(request: web.Request, error: str) -> web.Response:
    # GitHub answers these with 200: a client must look for `error` in the body.
    payload = {
        "error": error,
        "error_description": _ERRORS[error],
        "error_uri": f"{TROUBLESHOOTING}#{error.replace('_', '-')}",
    }
    return _answer(request, payload)


async def _params(request: web.Request) -> dict[str, str]:
    params = dict(request.query)
    if request.content_type == "application/json":
        try:
            data = json.loads(await request.text() or "{}")
        except ValueError:
            data = {}
        if isinstance(data, dict):
            params.update({k: str(v) for k, v in data.items() if v is not None})
    elif request.body_exists:
        params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    return params


def add_oauth_routes(app: web.Application, ctx: GitHubContext) -> None:
    async def access_token(request: web.Request) -> web.Response:
        params = await _params(request)
        client_id, client_secret = client_credentials(request, params)
        spec = ctx.world.oauth_app
        if client_id != spec.client_id or not secrets.compare_digest(
            client_secret or "", spec.client_secret
        ):
            return _error(request, "incorrect_client_credentials")
        now = ctx.now()
        grant = ctx.state.oauth_codes.pop(params.get("code", ""), None)
        if grant is None or grant.expires_at <= now:
            return _error(request, "bad_verification_code")
        redirect_uri = params.get("redirect_uri")
        if redirect_uri is not None and redirect_uri != grant.redirect_uri:
            return _error(request, "redirect_uri_mismatch")
        token = new_secret_value("gho_")
        ctx.state.tokens[token] = grant.login
        ctx.state.oauth_scopes[token] = grant.scopes
        scope = ",".join(grant.scopes)
        return _answer(request, {"access_token": token, "token_type": "bearer", "scope": scope})

    app.router.add_post("/login/oauth/access_token", access_token)
