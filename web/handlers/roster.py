"""`GET /courses/{course_id}/roster`: who is in, per person, a page at a time."""

from __future__ import annotations

from aiohttp import web

from web.params import after_param, course_id_param, limit_param, next_link
from web.responses import json_response
from web.roster_schemas import RosterPageOut
from web.services import SERVICES


async def course_roster(request: web.Request) -> web.Response:
    """People in roster order (staff first); ``after`` = the last id seen."""
    services = request.app[SERVICES]
    if services.roster is None:
        raise web.HTTPNotFound(text="the roster status is not available in this process")
    course_id = course_id_param(request)
    limit, after = limit_param(request), after_param(request)
    page = await services.roster.page(course_id, after=after, limit=limit)
    next_url = None
    headers: dict[str, str] = {}
    if page.next_after is not None:
        next_url, headers = next_link(request, after=page.next_after, limit=limit)
    return json_response(200, RosterPageOut.of(page, next_url).model_dump_json(), headers)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/courses/{course_id}/roster", course_roster)
