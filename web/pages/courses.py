"""The courses page: newest first, filtered by term and state, a page at a time."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from provisioning.courses.views import InvalidCursorError
from web.pages.render import PREFIX, VIEWER, render
from web.services import SERVICES

STATES = ("pending", "in_progress", "awaiting_action", "failed", "succeeded")
STATE_WORDS = {
    "pending": "Pending",
    "in_progress": "In progress",
    "awaiting_action": "Waiting for a person",
    "failed": "Failed",
    "succeeded": "Done",
}
PAGE_SIZE = 20


async def courses_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    viewer = request[VIEWER]
    term = request.query.get("term") or None
    state = request.query.get("state") or None
    if state is not None and state not in STATES:
        state = None
    cursor = request.query.get("cursor") or None
    try:
        listing = await services.overview.page(
            term=term, state=state, limit=PAGE_SIZE, cursor=cursor
        )
    except InvalidCursorError:
        raise web.HTTPFound(f"{PREFIX}/courses") from None
    rows = [row for row in listing.rows if viewer.may_see(row.id)]
    filters = {k: v for k, v in (("term", term), ("state", state)) if v}
    first_url = f"{PREFIX}/courses?" + urlencode(filters)
    next_url = None
    if listing.next_cursor is not None:
        next_url = f"{PREFIX}/courses?" + urlencode({**filters, "cursor": listing.next_cursor})
    return await render(
        request,
        "courses.html",
        {
            "rows": rows,
            "terms": await services.overview.terms(),
            "term": term or "",
            "state": state or "",
            "states": STATE_WORDS,
            "next_url": next_url,
            "first_url": first_url if cursor else None,
        },
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{PREFIX}/courses", courses_page)
