"""REST handlers for courses: read input, call one service, render the result."""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from db.idempotency import IdempotencyKeyRacedError
from provisioning.courses.changes import CourseChangeRefusedError
from provisioning.courses.spec import CourseSpec, parse_course
from provisioning.courses.views import CourseRecord, CourseUpdate
from provisioning.errors import CourseConflictError
from web.body import read_json
from web.idempotent import IdempotentRequest, idempotency_key
from web.params import course_id_param, limit_param, next_link
from web.problems import PROBLEM_JSON, domain_problem, problem_type
from web.responses import json_response
from web.schemas import CourseOut, CoursePage, CourseStatusOut, CourseUpdateOut, Problem, RetryOut
from web.services import API_TOKEN, SERVICES

log = logging.getLogger(__name__)


def _actor(request: web.Request) -> str:
    return f"api:{request[API_TOKEN].name}"


def _created(record: CourseRecord) -> web.Response:
    return json_response(
        201, CourseOut.of(record).model_dump_json(), {"Location": f"/courses/{record.id}"}
    )


async def _create_keyed(
    request: web.Request, keyed: IdempotentRequest, spec: CourseSpec
) -> web.Response:
    """Create with the answer stored in the course's own transaction (see web.idempotent)."""
    services = request.app[SERVICES]

    async def remember(session: AsyncSession, record: CourseRecord) -> None:
        answer = _created(record)
        assert answer.text is not None
        await keyed.remember_within(session, answer.status, answer.text, record.id)

    try:
        record = await services.courses.create(spec, actor=_actor(request), within=remember)
    except CourseConflictError as exc:
        conflict = domain_problem(request, exc)
        assert conflict.text is not None
        first = await keyed.remember(conflict.status, conflict.text, exc.course_id)
        # A concurrent twin of this request created the course: replay its 201, not our 409.
        if first.request_hash != keyed.request_hash or first.status != conflict.status:
            return keyed.replay(request, first)
        return conflict
    except IdempotencyKeyRacedError:
        # A concurrent request with the same key committed first; our course was rolled back.
        stored = await keyed.lookup()
        if stored is None:
            raise
        return keyed.replay(request, stored)
    services.on_change()
    return _created(record)


async def create_course(request: web.Request) -> web.Response:
    """POST /courses: validate in full, store the course and its plan; 201 + Location."""
    services = request.app[SERVICES]
    key = idempotency_key(request)
    body = await read_json(request)
    if key is not None:
        keyed = IdempotentRequest.of(
            request, services.idempotency, request[API_TOKEN].id, key, body.raw
        )
        stored = await keyed.lookup()
        if stored is not None:
            return keyed.replay(request, stored)
        return await _create_keyed(request, keyed, parse_course(body.data))
    record = await services.courses.create(parse_course(body.data), actor=_actor(request))
    services.on_change()
    return _created(record)


def _updated(outcome: CourseUpdate) -> web.Response:
    return json_response(200, CourseUpdateOut.of(outcome).model_dump_json())


def _refused(request: web.Request, error: CourseChangeRefusedError) -> web.Response:
    """409 naming the steps in the way, so a client can act on each without parsing text."""
    body = Problem(
        type=problem_type(error),
        title=error.title,
        status=error.status,
        detail=error.detail,
        instance=request.path,
        course_id=error.course_id,
        steps=error.step_keys,
    )
    return web.Response(
        status=error.status, text=body.model_dump_json(exclude_none=True), content_type=PROBLEM_JSON
    )


async def update_course(request: web.Request) -> web.Response:
    """PUT /courses/{course_id}: the full new description; apply only the difference; 200."""
    services = request.app[SERVICES]
    course_id = course_id_param(request)
    key = idempotency_key(request)
    body = await read_json(request)
    keyed = None
    if key is not None:
        keyed = IdempotentRequest.of(
            request, services.idempotency, request[API_TOKEN].id, key, body.raw
        )
        stored = await keyed.lookup()
        if stored is not None:
            return keyed.replay(request, stored)
    spec = parse_course(body.data)

    async def remember(session: AsyncSession, outcome: CourseUpdate) -> None:
        assert keyed is not None
        answer = _updated(outcome)
        assert answer.text is not None
        await keyed.remember_within(session, answer.status, answer.text, course_id)

    try:
        outcome = await services.courses.update(
            course_id, spec, _actor(request), within=None if keyed is None else remember
        )
    except CourseChangeRefusedError as exc:
        return _refused(request, exc)
    except IdempotencyKeyRacedError:
        # A concurrent request with the same key committed first; ours was rolled back.
        stored = await keyed.lookup() if keyed is not None else None
        if keyed is None or stored is None:
            raise
        return keyed.replay(request, stored)
    if outcome.added or outcome.changed or outcome.unblocked:
        services.on_change()
    return _updated(outcome)


async def list_courses(request: web.Request) -> web.Response:
    """GET /courses: one page, oldest first, with a ``next`` link while more remain."""
    limit = limit_param(request)
    page = await request.app[SERVICES].courses.list(limit=limit, cursor=request.query.get("cursor"))
    next_url = None
    headers: dict[str, str] = {}
    if page.next_cursor is not None:
        next_url, headers = next_link(request, limit=limit, cursor=page.next_cursor)
    body = CoursePage(items=[CourseOut.of(r) for r in page.items], next=next_url)
    return json_response(200, body.model_dump_json(), headers)


async def get_course(request: web.Request) -> web.Response:
    """GET /courses/{course_id}."""
    record = await request.app[SERVICES].courses.get(course_id_param(request))
    return json_response(200, CourseOut.of(record).model_dump_json())


async def course_status(request: web.Request) -> web.Response:
    """GET /courses/{course_id}/status: the derived course state and every step."""
    status = await request.app[SERVICES].courses.status(course_id_param(request))
    return json_response(200, CourseStatusOut.of(status).model_dump_json())


async def retry_course(request: web.Request) -> web.Response:
    """POST /courses/{course_id}/retry: 202 with the steps sent back to pending, or 409."""
    services = request.app[SERVICES]
    outcome = await services.courses.retry(course_id_param(request), _actor(request))
    services.on_change()
    return json_response(202, RetryOut.of(outcome).model_dump_json())


def add_routes(app: web.Application) -> None:
    app.router.add_post("/courses", create_course)
    app.router.add_get("/courses", list_courses)
    app.router.add_get("/courses/{course_id}", get_course)
    app.router.add_put("/courses/{course_id}", update_course)
    app.router.add_get("/courses/{course_id}/status", course_status)
    app.router.add_post("/courses/{course_id}/retry", retry_course)
