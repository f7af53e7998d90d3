"""REST handlers for what happens to a course after it is made: preview a change, archive it
at the end of term (and back), delete it.

`PUT /courses/{id}` itself lives with the other course routes (`courses.py`); it takes the same
body as the preview here, plus `confirm_removals` when the preview says one is needed.
"""

from __future__ import annotations

from aiohttp import web

from provisioning.courses.changes import CourseChangeRefusedError
from web.body import read_json
from web.handlers.courses import actor_of, parse_off_loop, refused
from web.params import course_id_param, split_confirmation
from web.responses import json_response
from web.schemas import ChangePreviewOut, CourseUpdateOut
from web.services import SERVICES


async def preview_course(request: web.Request) -> web.Response:
    """POST /courses/{course_id}/preview: the PUT body; what it would add, change and remove,
    and whether it needs `confirm_removals`. Nothing is stored."""
    course_id = course_id_param(request)
    body = await read_json(request)
    description, _ = split_confirmation(request, body.data)
    spec = await parse_off_loop(description)
    try:
        preview = await request.app[SERVICES].courses.preview(course_id, spec)
    except CourseChangeRefusedError as exc:
        return refused(request, exc)
    return json_response(200, ChangePreviewOut.of(preview).model_dump_json())


async def delete_course(request: web.Request) -> web.Response:
    """DELETE /courses/{course_id}: 204 while nothing was made for the course; 409 after,
    pointing to archive."""
    course_id = course_id_param(request)
    try:
        await request.app[SERVICES].courses.delete(course_id, actor_of(request))
    except CourseChangeRefusedError as exc:
        return refused(request, exc)
    return web.Response(status=204)


async def archive_course(request: web.Request) -> web.Response:
    """POST /courses/{course_id}/archive: repositories archived, channels read-only for
    students, invites revoked; 200 with the steps changed and retired (none the second time)."""
    outcome = await request.app[SERVICES].courses.archive(
        course_id_param(request), actor_of(request)
    )
    return json_response(200, CourseUpdateOut.of(outcome).model_dump_json())


async def unarchive_course(request: web.Request) -> web.Response:
    """POST /courses/{course_id}/unarchive: the course as it was before its archive."""
    outcome = await request.app[SERVICES].courses.unarchive(
        course_id_param(request), actor_of(request)
    )
    return json_response(200, CourseUpdateOut.of(outcome).model_dump_json())


async def archive_preview(request: web.Request) -> web.Response:
    """POST /courses/{course_id}/archive/preview: what archiving would change; stores nothing."""
    preview = await request.app[SERVICES].courses.archive_preview(course_id_param(request))
    return json_response(200, ChangePreviewOut.of(preview).model_dump_json())


async def unarchive_preview(request: web.Request) -> web.Response:
    """POST /courses/{course_id}/unarchive/preview: what unarchiving would change."""
    preview = await request.app[SERVICES].courses.archive_preview(
        course_id_param(request), archived=False
    )
    return json_response(200, ChangePreviewOut.of(preview).model_dump_json())


def add_routes(app: web.Application) -> None:
    app.router.add_delete("/courses/{course_id}", delete_course)
    app.router.add_post("/courses/{course_id}/preview", preview_course)
    app.router.add_post("/courses/{course_id}/archive", archive_course)
    app.router.add_post("/courses/{course_id}/unarchive", unarchive_course)
    app.router.add_post("/courses/{course_id}/archive/preview", archive_preview)
    app.router.add_post("/courses/{course_id}/unarchive/preview", unarchive_preview)
