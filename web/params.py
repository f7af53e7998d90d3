"""Path and query parameters shared by the routes; bad values are 4xx problems, never 500s."""

from __future__ import annotations

import uuid

from aiohttp import web

from provisioning.errors import CourseNotFoundError, CourseValidationError, FieldProblem

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
# Audit ids are 64-bit; a larger `after` would overflow the database parameter, not just match
# nothing, so it is refused here as a client error.
MAX_ID = 2**63 - 1


def course_id_param(request: web.Request) -> str:
    """The path's course id; anything that is not a UUID cannot name a course (404)."""
    raw = request.match_info["course_id"]
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise CourseNotFoundError(raw[:100]) from None


def _whole_number(raw: str) -> int | None:
    # str.isdigit() accepts other scripts' digits ("٣") that int() also takes; only ASCII counts.
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 19 else None


def _query_int(
    request: web.Request, name: str, default: int, low: int, high: int, must: str
) -> int:
    """A whole-number query parameter from `low` to `high`, `default` when absent; else 400
    saying what it `must` be."""
    raw = request.query.get(name)
    if raw is None:
        return default
    value = _whole_number(raw)
    if value is None or not low <= value <= high:
        raise web.HTTPBadRequest(text=f"{name} must be {must}")
    return value


def limit_param(request: web.Request) -> int:
    """``limit``: 1 to 100, default 50."""
    return _query_int(
        request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT, f"a whole number from 1 to {MAX_LIMIT}"
    )


def after_param(request: web.Request) -> int:
    """``after``: the last id of the previous page, 0 (the default) for the first page."""
    return _query_int(
        request, "after", 0, 0, MAX_ID, "the last id of the previous page (0 or more)"
    )


def next_link(request: web.Request, **query: str | int) -> tuple[str, dict[str, str]]:
    """The relative URL of the next page and the ``Link`` header that announces it."""
    url = str(request.rel_url.with_query(**query))
    return url, {"Link": f'<{url}>; rel="next"'}


STEPS_DEFAULT_LIMIT = 100
STEPS_MAX_LIMIT = 1000
STEP_STATES = ("pending", "running", "succeeded", "failed", "awaiting_action", "blocked")


def steps_limit_param(request: web.Request) -> int:
    """``limit`` of a page of steps: 1 to 1000, default 100."""
    return _query_int(
        request,
        "limit",
        STEPS_DEFAULT_LIMIT,
        1,
        STEPS_MAX_LIMIT,
        f"a whole number from 1 to {STEPS_MAX_LIMIT}",
    )


def position_after_param(request: web.Request) -> int:
    """``after``: the plan position the previous page ended at; -1 (the default) to start."""
    return _query_int(
        request, "after", -1, 0, MAX_ID, "the value the previous page's next link had"
    )


def states_param(request: web.Request) -> list[str]:
    """``state`` (repeatable): only steps in these states; all when absent."""
    states = request.query.getall("state", [])
    unknown = sorted(set(states) - set(STEP_STATES))
    if unknown:
        raise web.HTTPBadRequest(
            text=f"state must be one of {', '.join(STEP_STATES)} (got {', '.join(unknown)[:100]})"
        )
    return states


CONFIRM_REMOVALS = "confirm_removals"


def split_confirmation(request: web.Request, document: object) -> tuple[object, int | None]:
    """A change's description and its `confirm_removals`, from the query or the body (where
    it is taken out before the description is validated); a bad value is 422 naming it."""
    raw: object = request.query.get(CONFIRM_REMOVALS)
    if isinstance(document, dict) and CONFIRM_REMOVALS in document:
        document = dict(document)
        raw = document.pop(CONFIRM_REMOVALS)
    if raw is None:
        return document, None
    value = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
    if isinstance(raw, str):
        value = _whole_number(raw)
    if value is None or value < 0:
        raise CourseValidationError(
            [
                FieldProblem(
                    CONFIRM_REMOVALS,
                    "must be a whole number: the `removals` of the change's preview "
                    "(POST /courses/{id}/preview)",
                )
            ]
        )
    return document, value
