"""Sign in with Discord: the authorization-code flow (`identify`), `state` kept in the session
and checked on the way back, rights from the person's roles (`StaffRightsService`)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp_session import get_session

from provisioning.errors import ProvisioningError
from provisioning.staff_rights import (
    DiscordIdentity,
    SignInError,
    StaffRights,
    StaffRightsService,
)
from web.pages.guard import SIGN_IN, safe_next
from web.pages.render import error_page, render
from web.pages.sign_in import sign_in_context
from web.services import SERVICES, Services
from web.session import Viewer, sign_in

log = logging.getLogger(__name__)

START = f"{SIGN_IN}/discord"
CALLBACK = f"{SIGN_IN}/discord/callback"
_STATE = "oauth_state"
_NEXT = "oauth_next"


def _redirect_uri(request: web.Request) -> str:
    """Our callback, at the address the browser used (registered with the application)."""
    return str(request.url.with_path(CALLBACK).with_query(None))


def _configured(
    services: Services,
) -> tuple[DiscordIdentity, Callable[[], Awaitable[str]], StaffRightsService]:
    """The parts Discord sign-in needs; without them (no client secret) the pages are 404."""
    identity, application_id = services.discord_sign_in, services.application_id
    rights = services.staff_rights
    if identity is None or application_id is None or rights is None:
        raise web.HTTPNotFound()
    return identity, application_id, rights


async def start(request: web.Request) -> web.StreamResponse:
    """To Discord's authorize page, with a fresh `state` remembered in this session."""
    identity, application_id, _ = _configured(request.app[SERVICES])
    state = secrets.token_urlsafe(24)
    session = await get_session(request)
    session[_STATE] = state
    session[_NEXT] = safe_next(request.query.get("next"))
    url = identity.authorize_url(await application_id(), _redirect_uri(request), state)
    raise web.HTTPSeeOther(url)


def _viewer(name: str, rights: StaffRights, admin_role: str) -> Viewer:
    if rights.admin:
        return Viewer(name=name, via="discord", may_write=True, role=admin_role)
    role = "Instructor" if rights.instructs else "TA"
    return Viewer(
        name=name,
        via="discord",
        may_write=False,
        courses=rights.instructs | rights.assists,
        role=role,
        instructs=rights.instructs,
    )


async def callback(request: web.Request) -> web.StreamResponse:
    """Back from Discord: the state must be the one this browser was sent with."""
    identity, application_id, staff = _configured(request.app[SERVICES])
    session = await get_session(request)
    expected = session.pop(_STATE, None)
    target = safe_next(session.pop(_NEXT, None))
    sent = request.query.get("state", "")
    if not isinstance(expected, str) or not secrets.compare_digest(expected, sent):
        log.info("discord sign-in refused: state missing or wrong")
        return await error_page(
            request,
            403,
            "This sign-in link is not valid",
            "The answer from Discord does not belong to a sign-in started in this browser "
            "(or it was used already).",
            hint="Start again from the sign-in page.",
        )
    if request.query.get("error"):
        context = sign_in_context(request, target)
        context["discord_error"] = "Discord sign-in was cancelled; nothing was shared."
        return await render(request, "sign_in.html", context)
    code = request.query.get("code", "")
    try:
        person = await identity.identify(await application_id(), code, _redirect_uri(request))
        rights = await staff.rights_of(person.id)
    except SignInError as exc:
        return await error_page(request, 502, exc.title, exc.detail, hint="Sign in again.")
    except ProvisioningError as exc:
        log.warning("discord sign-in: roles unreadable", exc_info=True)
        return await error_page(
            request, 502, "Your roles could not be read", exc.detail, hint="Try again in a minute."
        )
    if not rights.any:
        log.info("discord sign-in without a role", extra={"discord_user": person.id})
        return await error_page(
            request,
            403,
            "No access for this Discord account",
            f"Signed in as {person.name}, who has neither the {staff.admin_role!r} "
            "role in the admin server nor the Instructor or TA role of a course's server.",
            hint="Ask a course admin to give you the role you need, then sign in again.",
        )
    await sign_in(request, _viewer(person.name, rights, staff.admin_role))
    log.info("signed in with discord", extra={"discord_user": person.id, "admin": rights.admin})
    raise web.HTTPSeeOther(target)


def add_routes(app: web.Application) -> None:
    app.router.add_get(START, start)
    app.router.add_get(CALLBACK, callback)
