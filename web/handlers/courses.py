"""REST handlers for courses: read input, call one service, render the result."""

from __future__ import annotations

import hashlib
import logging
import uuid

from aiohttp import web

from db.idempotency import StoredResponse
from provisioning.course import parse_course
from provisioning.errors import CourseConflictError, CourseNotFoundError
from web.body import read_json
from web.problems import PROBLEM_JSON, domain_problem, problem_response
from web.schemas import CourseOut, CoursePage, CourseStatusOut, RetryOut
from web.services import API_TOKEN, SERVICES

log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_LIMIT = 50


def _json(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
    content_type = PROBLEM_JSON if status >= 400 else "application/json"
    return web.Response(status=status, text=text, content_type=content_type, headers=headers)


def _course_id(request: web.Request) -> str:
    """The path's course id; anything that is not a UUID cannot name a course."""
    raw = request.match_info["course_id"]
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise CourseNotFoundError(raw[:100]) from None


def _actor(request: web.Request) -> str:
    return f"api:{request[API_TOKEN].name}"


def _replay(request: web.Request, stored: StoredResponse, request_hash: str) -> web.Response:
    if stored.request_hash != request_hash or stored.path != request.path:
        return problem_response(
            request,
            422,
            "Idempotency key reused",
            f"the {IDEMPOTENCY_HEADER} was first used with a different request; use a new key",
        )
    headers = {"Idempotent-Replayed": "true"}
    if stored.status == 201 and stored.course_id is not None:
        headers["Location"] = f"/courses/{stored.course_id}"
    return _json(stored.status, stored.body, headers)


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not 1 <= len(key) <= 255:
        raise web.HTTPBadRequest(text=f"{IDEMPOTENCY_HEADER} must be 1 to 255 characters")
    return key


async def create_course(request: web.Request) -> web.Response:
    """POST /courses: validate in full, store the course and its plan; 201 + Location."""
    services = request.app[SERVICES]
    token = request[API_TOKEN]
    key = _idempotency_key(request)
    body = await read_json(request)
    request_hash = hashlib.sha256(body.raw).hexdigest()
    if key is not None:
        stored = await services.idempotency.lookup(token.id, key)
        if stored is not None:
            return _replay(request, stored, request_hash)
    spec = parse_course(body.data)
    try:
        record = await services.courses.create(spec, actor=_actor(request))
    except CourseConflictError as exc:
        response = domain_problem(request, exc)
        course_id = exc.course_id
    else:
        course_id = record.id
        response = _json(
            201, CourseOut.of(record).model_dump_json(), {"Location": f"/courses/{record.id}"}
        )
    if key is not None:
        assert response.text is not None
        first = await services.idempotency.save(
            token.id,
            key,
            StoredResponse(
                request_hash=request_hash,
                method=request.method,
                path=request.path,
                status=response.status,
                body=response.text,
                course_id=course_id,
            ),
        )
        if first.request_hash != request_hash or first.status != response.status:
            return _replay(request, first, request_hash)
    return response


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise web.HTTPBadRequest(text="limit must be a whole number from 1 to 100")
    return int(raw)


async def list_courses(request: web.Request) -> web.Response:
    """GET /courses: one page, oldest first, with a ``next`` link while more remain."""
    limit = _limit(request)
    page = await request.app[SERVICES].courses.list(limit=limit, cursor=request.query.get("cursor"))
    next_url = None
    headers: dict[str, str] = {}
    if page.next_cursor is not None:
        next_url = str(request.rel_url.with_query(limit=limit, cursor=page.next_cursor))
        headers["Link"] = f'<{next_url}>; rel="next"'
    body = CoursePage(items=[CourseOut.of(r) for r in page.items], next=next_url)
    return _json(200, body.model_dump_json(), headers)


async def get_course(request: web.Request) -> web.Response:
    """GET /courses/{course_id}."""
    record = await request.app[SERVICES].courses.get(_course_id(request))
    return _json(200, CourseOut.of(record).model_dump_json())


async def course_status(request: web.Request) -> web.Response:
    """GET /courses/{course_id}/status: the derived course state and every step."""
    status = await request.app[SERVICES].courses.status(_course_id(request))
    return _json(200, CourseStatusOut.of(status).model_dump_json())


async def retry_course(request: web.Request) -> web.Response:
    """POST /courses/{course_id}/retry: 202 with the steps sent back to pending, or 409."""
    outcome = await request.app[SERVICES].courses.retry(_course_id(request), _actor(request))
    return _json(202, RetryOut.of(outcome).model_dump_json())


def add_routes(app: web.Application) -> None:
    app.router.add_post("/courses", create_course)
    app.router.add_get("/courses", list_courses)
    app.router.add_get("/courses/{course_id}", get_course)
    app.router.add_get("/courses/{course_id}/status", course_status)
    app.router.add_post("/courses/{course_id}/retry", retry_course)
