"""What every page request passes: errors as HTML pages, sign-in required, CSRF on posts.

Only paths under /app (and `/`) are pages; the REST API keeps its problem+json answers.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler

from provisioning.errors import CourseNotFoundError, ProvisioningError
from web.pages.render import PREFIX, VIEWER, error_page
from web.services import SERVICES
from web.session import csrf_matches, current_viewer

log = logging.getLogger(__name__)

SIGN_IN = f"{PREFIX}/sign-in"
# Pages anyone may open: the sign-in pages and the files pages load.
_OPEN = (SIGN_IN, f"{PREFIX}/static/")


def is_page(path: str) -> bool:
    return path == "/" or path == PREFIX or path.startswith(PREFIX + "/")


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: only a page of ours (no open redirect to another host)."""
    if target and target.startswith(PREFIX + "/") and not target.startswith(SIGN_IN):
        return target
    return f"{PREFIX}/courses"


def _back_to(request: web.Request) -> str:
    if request.method == "GET":
        return request.path_qs
    # A form posted after the session expired: back to the page that held the form.
    referer = request.headers.get("Referer", "")
    origin = f"{request.scheme}://{request.host}"
    return referer[len(origin) :] if referer.startswith(origin + PREFIX + "/") else ""


@web.middleware
async def page_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_page(request.path):
        return await handler(request)
    try:
        return await _guarded(request, handler)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return await _http_error(request, exc)
    except CourseNotFoundError:
        return await error_page(
            request,
            404,
            "No such course",
            "There is no course with this id.",
            hint="It may have been mistyped; the list of courses has every course.",
        )
    except ProvisioningError as exc:
        status = exc.status if 400 <= exc.status <= 599 else 502
        return await error_page(request, status, exc.title, exc.detail)
    except Exception:
        if not await request.app[SERVICES].readiness():
            log.warning("page failed: the database is not reachable", extra={"path": request.path})
            return await error_page(
                request,
                503,
                "The database is not reachable",
                "The page cannot be shown because the product cannot reach its database.",
                hint="Nothing was lost. Try again in a minute; if it lasts, tell the operators "
                "(the /readyz probe reports the same).",
            )
        log.exception("page failed", extra={"path": request.path})
        return await error_page(
            request, 500, "Something went wrong", "The page could not be shown."
        )


async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method == "POST":
        form = await request.post()
        sent = form.get("csrf_token")
        if not await csrf_matches(request, sent if isinstance(sent, str) else None):
            log.info("form refused: CSRF token missing or wrong", extra={"path": request.path})
            return await error_page(
                request,
                403,
                "This form cannot be accepted",
                "The form was not sent by this site's page, or the page is too old.",
                hint="Go back, reload the page and send the form again.",
            )
    if request.path.startswith(_OPEN):
        return await handler(request)
    viewer = await current_viewer(request)
    # A revoked token ends the sessions it started, at their next request.
    tokens = request.app[SERVICES].tokens
    if viewer is not None and viewer.via == "token" and not await tokens.is_active(viewer.name):
        viewer = None
    if viewer is None:
        raise web.HTTPSeeOther(f"{SIGN_IN}?next={quote(_back_to(request), safe='/')}")
    request[VIEWER] = viewer
    return await handler(request)


async def _http_error(request: web.Request, exc: web.HTTPException) -> web.Response:
    if exc.status == 404:
        return await error_page(request, 404, "Page not found", "There is no page at this address.")
    if exc.status == 403:
        return await error_page(request, 403, "Not allowed", exc.text or "You may not do this.")
    return await error_page(request, exc.status, exc.reason, exc.text or "")
