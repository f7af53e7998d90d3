"""REST handler for drift: what a course's last reconcile found changed by hand and repaired."""

from __future__ import annotations

from aiohttp import web

from web.params import course_id_param
from web.responses import json_response
from web.schemas import DriftReportOut
from web.services import SERVICES


async def course_drift(request: web.Request) -> web.Response:
    """GET /courses/{course_id}/drift: the drift report of the course's last reconcile."""
    report = await request.app[SERVICES].drift(course_id_param(request))
    return json_response(200, DriftReportOut.of(report).model_dump_json())


def add_routes(app: web.Application) -> None:
    app.router.add_get("/courses/{course_id}/drift", course_drift)
