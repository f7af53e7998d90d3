"""The join page's sign-ins: `GET /join/{token}/{github|discord}` → the platform's consent page
→ `GET /join-oauth/{provider}/callback` → back to the join page.

CSRF and replay: the start sets a short-lived cookie (HttpOnly, SameSite=Lax, only sent to the
callback path) holding a random nonce and the personal link; the `state` sent to the platform
is that nonce. A callback whose state is not the cookie's nonce, or that comes without the
cookie (another browser, a second use of the same callback), is refused; the cookie is cleared
on every callback, so a code works once here whatever the platform does.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Literal

from aiohttp import web

from provisioning.errors import ProvisioningError
from provisioning.students.join_actions import JoinRefusedError
from provisioning.students.links import JoinLinkError
from provisioning.students.sign_in import SignInError
from web.join.pages import JOIN_PARTS, link_problem_page, render

log = logging.getLogger(__name__)

Provider = Literal["github", "discord"]
COOKIE = "join_oauth"
COOKIE_PATH = "/join-oauth"
COOKIE_MAX_AGE_S = 600
_NAMES = {"github": "GitHub", "discord": "Discord"}


def _provider(request: web.Request) -> Provider:
    provider = request.match_info["provider"]
    if provider == "github":
        return "github"
    if provider == "discord":
        return "discord"
    raise web.HTTPNotFound()


async def start(request: web.Request) -> web.StreamResponse:
    """Check the link, then send the browser to the platform's consent page."""
    parts = request.app[JOIN_PARTS]
    provider = _provider(request)
    token = request.match_info["token"]
    try:
        view = await parts.view.view(token)
    except JoinLinkError as exc:
        return link_problem_page(request, exc)
    if parts.sign_in is None:
        return _refused(request, token, "Signing in is not set up on this server yet.")
    if provider == "discord" and not view.discord_ready:
        return _refused(
            request, token, "The course's Discord server is not ready yet: come back later."
        )
    nonce = secrets.token_urlsafe(24)
    uri = parts.redirect_uri(provider)
    if provider == "github":
        target = parts.sign_in.github_authorize_url(nonce, uri)
    else:
        target = await parts.sign_in.discord_authorize_url(nonce, uri)
    response = _see_other(target)
    response.set_cookie(
        COOKIE,
        f"{provider}~{nonce}~{token}",
        max_age=COOKIE_MAX_AGE_S,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Lax",
        secure=parts.secure_cookies,
    )
    return response


async def callback(request: web.Request) -> web.StreamResponse:
    """Check the state against the cookie, exchange the code, apply, go back to the page."""
    provider = _provider(request)
    provider_name, _, rest = request.cookies.get(COOKIE, "").partition("~")
    nonce, _, token = rest.partition("~")
    state = request.query.get("state", "")
    valid = (
        provider_name == provider
        and bool(nonce)
        and bool(token)
        and hmac.compare_digest(state.encode(), nonce.encode())
    )
    response: web.StreamResponse
    if not valid:
        log.info("join sign-in refused: state mismatch", extra={"provider": provider})
        response = _problem(
            request,
            f"This {_NAMES[provider]} sign-in could not be matched to a visit of your join page "
            "(it was started in another browser, or used already). Nothing was changed: open "
            "your join link again and sign in from there.",
        )
    elif "error" in request.query or "code" not in request.query:
        response = _refused(
            request, token, f"{_NAMES[provider]} sign-in was cancelled. Nothing was changed."
        )
    else:
        response = await _apply(request, provider, token, request.query["code"])
    response.del_cookie(COOKIE, path=COOKIE_PATH)
    return response


async def _apply(
    request: web.Request, provider: Provider, token: str, code: str
) -> web.StreamResponse:
    parts = request.app[JOIN_PARTS]
    # The routes exist only with both.
    assert parts.sign_in is not None
    assert parts.actions is not None
    uri = parts.redirect_uri(provider)
    try:
        if provider == "github":
            identity = await parts.sign_in.github_identity(code, uri)
            await parts.actions.github_signed_in(token, identity)
        else:
            person = await parts.sign_in.discord_identity(code, uri)
            await parts.actions.discord_signed_in(token, person)
    except JoinLinkError as exc:
        return link_problem_page(request, exc)
    except (SignInError, JoinRefusedError) as exc:
        return _refused(request, token, str(exc))
    except ProvisioningError as exc:
        # A platform error while joining (Discord refused the member): say so, keep the link.
        log.warning("join sign-in failed", extra={"provider": provider, "error": exc.detail})
        return _refused(
            request, token, f"{_NAMES[provider]} did not accept the request: {exc.detail}"
        )
    return _see_other(f"/join/{token}")


def _see_other(location: str) -> web.Response:
    return web.Response(
        status=303,
        headers={
            "Location": location,
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


def _refused(request: web.Request, token: str, message: str) -> web.Response:
    return render(request, 409, "refused.html", message=message, back=f"/join/{token}")


def _problem(request: web.Request, message: str) -> web.Response:
    return render(request, 400, "refused.html", message=message, back=None)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/join/{token}/{provider}", start, name="join_sign_in")
    app.router.add_get("/join-oauth/{provider}/callback", callback, name="join_callback")
