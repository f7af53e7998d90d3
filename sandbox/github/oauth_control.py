"""Control routes of the GitHub OAuth app, under `/_sandbox/github/oauth-app`:

- `GET` → `{client_id, client_secret, name, callback_urls, loopback_redirects, authorize_url,
  token_url}`: what the product needs to offer "Sign in with GitHub" in development;
- `POST /callback-urls` `{"callback_url": "https://…"}` adds one; `PUT /callback-urls`
  `{"callback_urls": [...]}` replaces them all;
- `POST /authorize` `{"login", "scope"?, "redirect_uri"?}` → `{"code"}`: a person clicks
  Authorize without a browser (the code the redirect would carry).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox.github.context import GitHubContext
from sandbox.github.oauth import grant_code, parse_scopes

PREFIX = "/_sandbox/github/oauth-app"
Handler = Callable[[web.Request], Awaitable[web.Response]]


class _RequestError(Exception):
    pass


def _uri(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise _RequestError(f"{name}: an absolute http(s) URL")
    return value


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json() if request.body_exists else {}
    except ValueError as exc:
        raise _RequestError("body: a JSON object") from exc
    if not isinstance(data, dict):
        raise _RequestError("body: a JSON object")
    return data


def add_oauth_control_routes(app: web.Application, ctx: GitHubContext) -> None:
    def described(request: web.Request, status: int = 200) -> web.Response:
        base = f"{request.scheme}://{request.host}"
        spec = ctx.world.oauth_app
        return web.json_response(
            {
                "client_id": spec.client_id,
                "client_secret": spec.client_secret,
                "name": spec.name,
                "callback_urls": list(ctx.state.oauth_callback_urls),
                "loopback_redirects": True,
                "authorize_url": f"{base}/login/oauth/authorize",
                "token_url": f"{base}/login/oauth/access_token",
            },
            status=status,
        )

    async def get_app(request: web.Request) -> web.Response:
        return described(request)

    async def add_callback(request: web.Request) -> web.Response:
        url = _uri((await _body(request)).get("callback_url"), "callback_url")
        if url not in ctx.state.oauth_callback_urls:
            ctx.state.oauth_callback_urls.append(url)
        return described(request, 201)

    async def set_callbacks(request: web.Request) -> web.Response:
        raw = (await _body(request)).get("callback_urls")
        if not isinstance(raw, list):
            raise _RequestError("callback_urls: a list of absolute http(s) URLs")
        urls = [_uri(u, f"callback_urls[{i}]") for i, u in enumerate(raw)]
        ctx.state.oauth_callback_urls = list(dict.fromkeys(urls))
        return described(request)

    async def authorize(request: web.Request) -> web.Response:
        data = await _body(request)
        user = ctx.state.users.get(str(data.get("login", "")).lower())
        if user is None:
            raise _RequestError("login: no such sandbox user")
        registered = ctx.state.oauth_callback_urls
        raw = data.get("redirect_uri") or (registered[0] if registered else None)
        redirect_uri = _uri(raw, "redirect_uri")
        scopes = parse_scopes(str(data.get("scope", "")))
        code = grant_code(ctx, user.login, scopes, redirect_uri)
        return web.json_response({"code": code, "login": user.login}, status=201)

    def guarded(handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.Response:
            try:
                return await handler(request)
            except _RequestError as exc:
                return web.json_response({"message": str(exc)}, status=400)

        return wrapped

    app.router.add_get(PREFIX, guarded(get_app))
    app.router.add_post(f"{PREFIX}/callback-urls", guarded(add_callback))
    app.router.add_put(f"{PREFIX}/callback-urls", guarded(set_callbacks))
    app.router.add_post(f"{PREFIX}/authorize", guarded(authorize))
