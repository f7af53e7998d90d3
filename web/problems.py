"""RFC 9457 problem details, and the middleware that turns every error into one."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from aiohttp import web
from aiohttp.typedefs import Handler

from provisioning.errors import CourseValidationError, FieldProblem, ProvisioningError
from web.schemas import FieldError, Problem

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# Headers of aiohttp's HTTP exceptions worth keeping on the problem response.
_KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")


def _printable(text: str) -> str:
    # Field paths can echo client input; a lone surrogate there must not break serialisation.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _field_error(problem: FieldProblem) -> FieldError:
    return FieldError(path=_printable(problem.path), message=_printable(problem.message))


def problem_type(error: ProvisioningError) -> str:
    """A stable URN per error class, e.g. ``urn:course-bot:problem:course-conflict``."""
    name = type(error).__name__.removesuffix("Error")
    slug = "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")
    return f"urn:course-bot:problem:{slug}"


def problem_response(
    request: web.Request,
    status: int,
    title: str,
    detail: str | None = None,
    *,
    type_: str = "about:blank",
    problems: Sequence[FieldProblem] | None = None,
    course_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """A ``application/problem+json`` response for this request."""
    body = Problem(
        type=type_,
        title=title,
        status=status,
        detail=None if detail is None else _printable(detail),
        instance=_printable(request.path),
        errors=None if problems is None else [_field_error(p) for p in problems],
        course_id=course_id,
    )
    return web.Response(
        status=status,
        text=body.model_dump_json(exclude_none=True),
        content_type=PROBLEM_JSON,
        headers=headers,
    )


def domain_problem(request: web.Request, error: ProvisioningError) -> web.Response:
    """The problem response for a domain error, keeping its status and structured fields."""
    # Platform errors may carry 0 (no answer) or a platform's own status; never leak a 2xx/3xx.
    status = error.status if 400 <= error.status <= 599 else 502
    problems = error.problems if isinstance(error, CourseValidationError) else None
    course_id = getattr(error, "course_id", None)
    return problem_response(
        request,
        status,
        error.title,
        error.detail,
        type_=problem_type(error),
        problems=problems,
        course_id=course_id if isinstance(course_id, str) else None,
    )


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as problem+json: domain errors, HTTP errors, and bugs (as a bare 500)."""
    try:
        return await handler(request)
    except ProvisioningError as exc:
        return domain_problem(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: exc.headers[k] for k in _KEPT_HEADERS if k in exc.headers}
        detail = exc.text if exc.text and exc.text != f"{exc.status}: {exc.reason}" else None
        return problem_response(request, exc.status, exc.reason, detail, headers=headers)
    except Exception:
        # The one place a bug is logged with its traceback; the client learns nothing internal.
        log.exception("unhandled error", extra={"path": request.path, "method": request.method})
        return problem_response(request, 500, "Internal Server Error")
