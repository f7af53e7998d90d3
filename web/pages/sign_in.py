"""Signing in with an API token (exchanged once for a session), and signing out."""

from __future__ import annotations

import logging

from aiohttp import web

from web.pages.guard import SIGN_IN, safe_next
from web.pages.render import PREFIX, render
from web.services import SERVICES
from web.session import Viewer, current_viewer, sign_in, sign_out

log = logging.getLogger(__name__)


def sign_in_context(
    request: web.Request, target: str, *, error: str | None = None, expired: bool = False
) -> dict[str, object]:
    services = request.app[SERVICES]
    return {
        "next": target,
        "error": error,
        "expired": expired,
        "discord": services.discord_sign_in is not None,
        "discord_error": None,
    }


async def sign_in_page(request: web.Request) -> web.StreamResponse:
    """The sign-in form; already signed in, straight on to where the person was going."""
    target = safe_next(request.query.get("next"))
    if await current_viewer(request) is not None:
        raise web.HTTPSeeOther(target)
    expired = bool(request.query.get("next"))
    return await render(request, "sign_in.html", sign_in_context(request, target, expired=expired))


async def sign_in_with_token(request: web.Request) -> web.StreamResponse:
    """POST: a valid API token starts a session with that token's rights; the token itself is
    not kept (the session ends when the token is revoked)."""
    form = await request.post()
    target = safe_next(str(form.get("next", "")))
    token = str(form.get("token", "")).strip()
    info = await request.app[SERVICES].tokens.authenticate(token) if token else None
    if info is None:
        error = (
            "Enter an API token (python -m bot token create NAME prints one)."
            if not token
            else "This token is unknown or revoked. Check it, or ask an operator for a new one."
        )
        context = sign_in_context(request, target, error=error)
        return await render(request, "sign_in.html", context, status=401 if token else 400)
    role = "read-only token" if info.read_only else "read-write token"
    viewer = Viewer(name=info.name, via="token", may_write=not info.read_only, role=role)
    await sign_in(request, viewer)
    log.info("signed in with an API token", extra={"token_name": info.name})
    raise web.HTTPSeeOther(target)


async def sign_out_action(request: web.Request) -> web.StreamResponse:
    await sign_out(request)
    raise web.HTTPSeeOther(SIGN_IN)


async def home(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(f"{PREFIX}/courses")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get(PREFIX, home)
    app.router.add_get(SIGN_IN, sign_in_page)
    app.router.add_post(SIGN_IN, sign_in_with_token)
    app.router.add_post(f"{PREFIX}/sign-out", sign_out_action)
