"""Reading a JSON request body strictly: size, media type, UTF-8, JSON syntax, clean text."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import NoReturn

from aiohttp import web

from provisioning.errors import CourseValidationError, FieldProblem

# The largest course description accepted. It must admit the courses the description's own
# limits allow: 10,000 students (limits.STUDENTS_MAX), each with a 100-character name in a
# non-Latin script, a long email, a 37-character login and a Discord id, come to 3.3 MiB (3.7 MiB
# with non-ASCII escaped); a typical 10,000-student roster is about 1.8 MB. The test of the
# documented maximum posts such a course; the margin leaves room for longer emails.
MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_BODY_TEXT = "8 MiB"
# Bodies larger than this are parsed on a thread (a course of a few hundred students: ~50 KB).
PARSE_ON_LOOP_MAX = 64 * 1024


@dataclass(frozen=True)
class JsonBody:
    """The decoded document and the exact bytes it came from (for idempotency hashes)."""

    data: object
    raw: bytes


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _text_problem(value: str, path: str) -> FieldProblem | None:
    if "\x00" in value:
        return FieldProblem(path or "(body)", "text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return FieldProblem(path or "(body)", "text contains an unpaired surrogate")
    return None


def _bad_text(document: object) -> list[FieldProblem]:
    """Strings the databases cannot store: NUL (PostgreSQL) and lone surrogates (any UTF-8).

    Iterative, so a deeply nested document cannot exhaust the stack.
    """
    problems: list[FieldProblem] = []
    stack: list[tuple[object, str]] = [(document, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            problem = _text_problem(value, path)
            if problem is not None:
                problems.append(problem)
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]") for i, item in enumerate(value))
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                stack.extend([(key, child), (item, child)])
    return sorted(problems, key=lambda p: p.path)


async def read_json(request: web.Request) -> JsonBody:
    """The request's JSON document, or an HTTP error (413, 415, 400) / validation error (422)."""
    limit = request.client_max_size
    # Refuse early on a declared size, without reading a byte of the body.
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    if request.content_type != "application/json" and not request.content_type.endswith("+json"):
        raise web.HTTPUnsupportedMediaType(text="send the body as application/json")
    raw = await request.read()
    if len(raw) > PARSE_ON_LOOP_MAX:
        # A 10,000-student description (1.4 MB) took 13 ms to parse and 44 ms to check on the
        # event loop. On a thread, the check (Python) lets the loop's claims and polls run
        # between its slices; the parse (C) still holds the interpreter for its 13 ms.
        return await asyncio.to_thread(_parsed, raw)
    return _parsed(raw)


def _parsed(raw: bytes) -> JsonBody:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise web.HTTPBadRequest(text=f"the body is not valid UTF-8 (byte {exc.start})") from exc
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise web.HTTPBadRequest(
            text=f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except (ValueError, RecursionError) as exc:
        raise web.HTTPBadRequest(text=f"the body is not valid JSON: {exc}") from exc
    problems = _bad_text(data)
    if problems:
        raise CourseValidationError(problems)
    return JsonBody(data=data, raw=raw)
