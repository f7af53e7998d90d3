"""REST handlers for courses: read input, call one service, render the result."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from aiohttp import web

from provisioning.courses.changes import CourseChangeRefusedError
from provisioning.courses.spec import CourseSpec, parse_course
from provisioning.courses.views import CourseRecord, CourseUpdate
from provisioning.discord.server_count import ServerCount
from provisioning.errors import CourseConflictError
from web.body import JsonBody
from web.idempotent import Remember, idempotent
from web.params import (
    course_id_param,
    limit_param,
    next_link,
    position_after_param,
    split_confirmation,
    states_param,
    steps_limit_param,
)
from web.problems import PROBLEM_JSON, problem_type
from web.responses import json_response
from web.schemas import CourseOut, CoursePage, CourseUpdateOut, Problem, RetryOut, StatusPageOut
from web.services import ANSWERS, API_TOKEN, SERVICES

log = logging.getLogger(__name__)


async def parse_off_loop(description: Any) -> CourseSpec:
    """`parse_course` on a worker thread: validating 10,000 students takes a few hundred
    milliseconds, which on the event loop would stop every claim, lease renewal and request
    of the process for as long (a step's lease is renewed from this loop too)."""
    return await asyncio.to_thread(parse_course, description)


def actor_of(request: web.Request) -> str:
    return f"api:{request[API_TOKEN].name}"


def _created(record: CourseRecord) -> web.Response:
    return json_response(
        201, CourseOut.of(record).model_dump_json(), {"Location": f"/courses/{record.id}"}
    )


def _id_of_created(record: CourseRecord) -> str:
    return record.id


# A conflict is an answer too: a retry with the same key must get it again, not a 201 for a
# course someone else created in between.
@idempotent(final=(CourseConflictError,))
async def create_course(request: web.Request, body: JsonBody, remember: Remember) -> web.Response:
    """POST /courses: validate in full, store the course and its plan; 201 + Location."""
    services = request.app[SERVICES]
    record = await services.courses.create(
        await parse_off_loop(body.data),
        actor=actor_of(request),
        within=remember(_created, _id_of_created),
    )
    return _created(record)


def _updated(outcome: CourseUpdate) -> web.Response:
    return json_response(200, CourseUpdateOut.of(outcome).model_dump_json())


def _id_of_updated(outcome: CourseUpdate) -> str:
    return outcome.course.id


def refused(request: web.Request, error: CourseChangeRefusedError) -> web.Response:
    """409 naming the steps in the way, so a client can act on each without parsing text."""
    body = Problem(
        type=problem_type(error),
        title=error.title,
        status=error.status,
        detail=error.detail,
        instance=request.path,
        course_id=error.course_id,
        steps=error.step_keys,
        removals=getattr(error, "removals", None),
    )
    return web.Response(
        status=error.status, text=body.model_dump_json(exclude_none=True), content_type=PROBLEM_JSON
    )


# A refusal is not stored: once the steps in the way are dealt with, the same request (and key)
# must be able to succeed. The course id is checked first, so a malformed one is a 404 whatever
# the key or body.
@idempotent(checked_first=course_id_param)
async def update_course(request: web.Request, body: JsonBody, remember: Remember) -> web.Response:
    """PUT /courses/{course_id}: the full new description; apply only the difference; 200."""
    services = request.app[SERVICES]
    course_id = course_id_param(request)
    description, confirm = split_confirmation(request, body.data)
    try:
        # Validated with the plan, off the event loop (a big one in the worker process).
        outcome = await services.courses.update_description(
            course_id,
            description,
            actor_of(request),
            within=remember(_updated, _id_of_updated),
            confirm_removals=confirm,
        )
    except CourseChangeRefusedError as exc:
        return refused(request, exc)
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
    """GET /courses/{course_id}/status: the summary and one page of steps, with an ETag so a
    poller that has the current answer gets 304 without the steps being read."""
    course_id = course_id_param(request)
    limit, after, states = (
        steps_limit_param(request),
        position_after_param(request),
        states_param(request),
    )
    courses = request.app[SERVICES].courses
    answers = request.app[ANSWERS]
    summary = await answers.summaries.read(course_id, lambda: courses.status_summary(course_id))
    servers = request.app[SERVICES].server_notice()
    # The version changes with any step; the query picks the page: together, this answer
    # (and the bot's server count, while it is near the cap).
    etag = f'"{summary.version}-{_query_tag(request)}{_servers_tag(servers)}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in _if_none_match(request):
        return web.Response(status=304, headers=headers)
    cached = answers.get(etag)
    if cached is None:

        async def render() -> tuple[str, dict[str, str]]:
            page = await courses.status_page(course_id, limit=limit, after=after, states=states)
            rendered = dict(headers)
            next_url = None
            if page.next_after is not None:
                next_url, link = next_link(request, after=page.next_after, limit=limit)
                rendered.update(link)
            body = StatusPageOut.of(page, next_url, servers).model_dump_json()
            answers.put(etag, body, rendered)
            return body, rendered

        # Pollers that miss together (the course just changed) share one read and rendering.
        cached = await answers.pages.read(etag, render)
    body, headers = cached
    return json_response(200, body, headers)


def _servers_tag(servers: ServerCount | None) -> str:
    return "" if servers is None else f"-s{servers.count}"


def _query_tag(request: web.Request) -> str:
    return hashlib.sha256(request.rel_url.query_string.encode()).hexdigest()[:12]


def _if_none_match(request: web.Request) -> set[str]:
    raw = request.headers.get("If-None-Match", "")
    return {tag.strip().removeprefix("W/") for tag in raw.split(",") if tag.strip()}


async def retry_course(request: web.Request) -> web.Response:
    """POST /courses/{course_id}/retry: 202 with the steps sent back to pending, or 409."""
    services = request.app[SERVICES]
    outcome = await services.courses.retry(course_id_param(request), actor_of(request))
    return json_response(202, RetryOut.of(outcome).model_dump_json())


def add_routes(app: web.Application) -> None:
    app.router.add_post("/courses", create_course)
    app.router.add_get("/courses", list_courses)
    app.router.add_get("/courses/{course_id}", get_course)
    app.router.add_put("/courses/{course_id}", update_course)
    app.router.add_get("/courses/{course_id}/status", course_status)
    app.router.add_post("/courses/{course_id}/retry", retry_course)
