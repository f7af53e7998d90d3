"""The audit trail over REST: one course's rows page by page, and the chain's verification."""

from __future__ import annotations

from aiohttp import web

from web.params import after_param, course_id_param, limit_param, next_link
from web.responses import json_response
from web.schemas import AuditPageOut, AuditVerifyOut
from web.services import SERVICES


async def course_audit(request: web.Request) -> web.Response:
    """GET /courses/{course_id}/audit: rows oldest first; ``after`` = the last id seen."""
    services = request.app[SERVICES]
    course_id = course_id_param(request)
    limit, after = limit_param(request), after_param(request)
    # The course must exist: an empty page would not tell a typo from a quiet course.
    await services.courses.get(course_id)
    page = await services.audit.page(course_id, after=after, limit=limit)
    next_url = None
    headers: dict[str, str] = {}
    if page.next_after is not None:
        next_url, headers = next_link(request, after=page.next_after, limit=limit)
    body = AuditPageOut.of(course_id, page, next_url)
    return json_response(200, body.model_dump_json(), headers)


async def verify_audit(request: web.Request) -> web.Response:
    """GET /audit/verify: seal the rows committed so far, then walk the whole hash chain; 200
    either way, ``ok`` says which."""
    result = await request.app[SERVICES].audit.verify()
    return json_response(200, AuditVerifyOut.of(result).model_dump_json())


def add_routes(app: web.Application) -> None:
    app.router.add_get("/courses/{course_id}/audit", course_audit)
    app.router.add_get("/audit/verify", verify_audit)
