"""The OpenAPI 3.1 document, generated from the same pydantic models the handlers use."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from provisioning.courses.spec import CourseSpec
from web.body import MAX_BODY_TEXT
from web.load_shedding import document_shedding
from web.params import (
    DEFAULT_LIMIT,
    MAX_ID,
    MAX_LIMIT,
    STEP_STATES,
    STEPS_DEFAULT_LIMIT,
    STEPS_MAX_LIMIT,
)
from web.roster_schemas import RosterPageOut
from web.schemas import (
    AuditPageOut,
    AuditVerifyOut,
    ChangePreviewOut,
    ClaimOut,
    CourseOut,
    CoursePage,
    CourseStatusOut,
    CourseUpdateOut,
    DriftReportOut,
    Health,
    Problem,
    RetryOut,
    StatusPageOut,
)

REF = "#/components/schemas/{model}"
_MODELS: list[tuple[type[BaseModel], JsonSchemaMode]] = [
    (CourseSpec, "validation"),
    (CourseOut, "serialization"),
    (CoursePage, "serialization"),
    (CourseStatusOut, "serialization"),
    (StatusPageOut, "serialization"),
    (RetryOut, "serialization"),
    (CourseUpdateOut, "serialization"),
    (ChangePreviewOut, "serialization"),
    (DriftReportOut, "serialization"),
    (ClaimOut, "serialization"),
    (AuditPageOut, "serialization"),
    (AuditVerifyOut, "serialization"),
    (RosterPageOut, "serialization"),
    (Problem, "serialization"),
    (Health, "serialization"),
]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _problems(*statuses: int) -> dict[str, Any]:
    texts = {
        400: "Malformed request (body not UTF-8 or not JSON, bad query parameter)",
        401: "No valid API token",
        403: "The API token is read-only",
        404: "No such course",
        409: "Conflict; `steps` names the steps in the way of a refused change",
        413: f"Body larger than {MAX_BODY_TEXT}",
        415: "Body is not application/json",
        422: "Invalid input; `errors` lists every invalid field",
        503: "Not ready",
    }
    return {
        str(s): {
            "description": texts[s],
            "content": {"application/problem+json": {"schema": _ref(Problem)}},
        }
        for s in statuses
    }


COURSE_ID: dict[str, Any] = {
    "name": "course_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The course id returned on creation",
}
# Let clients (and API fuzzers) follow a created course to its other operations.
_COURSE_LINKS = {
    name: {"operationId": op, "parameters": {"course_id": "$response.body#/id"}}
    for name, op in (
        ("GetCourse", "getCourse"),
        ("GetCourseStatus", "getCourseStatus"),
        ("RetryCourse", "retryCourse"),
        ("UpdateCourse", "updateCourse"),
        ("GetCourseAudit", "getCourseAudit"),
        ("GetCourseClaim", "getCourseClaim"),
        ("GetCourseRoster", "getCourseRoster"),
    )
}
SECURED: dict[str, Any] = {"security": [{"bearerAuth": []}]}
LIMIT: dict[str, Any] = {
    "name": "limit",
    "in": "query",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
}
NEXT_LINK: dict[str, Any] = {
    "Link": {
        "description": 'The next page as `<url>; rel="next"`, while more remain',
        "schema": {"type": "string"},
    }
}


def _page(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {**_json(model, description), "headers": NEXT_LINK}


def _status_operation() -> dict[str, Any]:
    etag = {
        "ETag": {"description": "Send it back in `If-None-Match`", "schema": {"type": "string"}}
    }
    return {
        "summary": "Provisioning status: the summary and one page of steps",
        "description": "The course state, counts per state and per platform, the steps that "
        "wait for a person, and the steps in plan order, a page at a time (`next`, or the "
        "`Link` header). Poll with `If-None-Match`: 304 while nothing changed.",
        "operationId": "getCourseStatus",
        **SECURED,
        "parameters": [
            COURSE_ID,
            {
                "name": "after",
                "in": "query",
                "description": "Where the previous page ended (from its `next`); omit to start",
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
            },
            {
                "name": "limit",
                "in": "query",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": STEPS_MAX_LIMIT,
                    "default": STEPS_DEFAULT_LIMIT,
                },
            },
            {
                "name": "state",
                "in": "query",
                "description": "Only steps in these states (repeat for several)",
                "schema": {"type": "array", "items": {"type": "string", "enum": list(STEP_STATES)}},
                "style": "form",
                "explode": True,
            },
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
            },
        ],
        "responses": {
            "200": {**_json(StatusPageOut, "Status"), "headers": {**NEXT_LINK, **etag}},
            "304": {"description": "Not modified since the ETag sent", "headers": etag},
            **_problems(400, 401, 404),
        },
    }


def _roster_paths() -> dict[str, Any]:
    return {
        "/courses/{course_id}/roster": {
            "get": {
                "summary": "Who is in: the roster status per person",
                "description": "Per person, staff first: the join e-mail (sent, retrying, "
                "bounced), the GitHub invitation (pending, accepted, unknown login) and "
                "Discord; `stuck` marks the people someone must help. Page on with `next` "
                "(or the `Link` header).",
                "operationId": "getCourseRoster",
                **SECURED,
                "parameters": [
                    COURSE_ID,
                    {
                        "name": "after",
                        "in": "query",
                        "description": "The last `id` of the previous page; 0 for the first",
                        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
                    },
                    LIMIT,
                ],
                "responses": {
                    "200": _page(RosterPageOut, "One page"),
                    **_problems(400, 401, 404),
                },
            }
        },
    }


def _audit_paths() -> dict[str, Any]:
    return {
        "/courses/{course_id}/audit": {
            "get": {
                "summary": "The course's audit rows, oldest first",
                "description": "Every call made to Discord or GitHub for this course, and its "
                "domain events. Page on with `next` (or the `Link` header).",
                "operationId": "getCourseAudit",
                **SECURED,
                "parameters": [
                    COURSE_ID,
                    {
                        "name": "after",
                        "in": "query",
                        "description": "The last `id` of the previous page; 0 for the first",
                        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
                    },
                    LIMIT,
                ],
                "responses": {"200": _page(AuditPageOut, "One page"), **_problems(400, 401, 404)},
            }
        },
        "/audit/verify": {
            "get": {
                "summary": "Verify the audit log's hash chain end to end",
                "operationId": "verifyAudit",
                **SECURED,
                "responses": {"200": _json(AuditVerifyOut, "The result"), **_problems(401)},
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (text format 0.0.4)",
                "description": "No token: scrapers carry none, and it holds only counts, "
                "no course data.",
                "operationId": "metrics",
                "responses": {
                    "200": {
                        "description": "The exposition text",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }


IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Same key and body again: the first answer is replayed",
}
_UPDATE_DESCRIPTION = (
    "Send the full new description. The course is planned again and only the difference is "
    "applied: new steps are added, changed ones are done again (finished ones verified); steps "
    "no longer planned are dropped if they never ran, and otherwise become removal steps "
    "(`retired`): a team membership ended, a repository archived (never deleted), a lab channel "
    "hidden from students, an invite revoked, a staff role taken back. Code, term and GitHub "
    "organization may change while nothing exists on GitHub yet, not after (422). A change over "
    "the safety limit (see `POST /courses/{course_id}/preview`) is refused with 409 and "
    "`removals` unless `confirm_removals` names that number; one that touches steps running at "
    "that moment is refused with 409 too (send it again shortly)."
)

CONFIRM_REMOVALS: dict[str, Any] = {
    "name": "confirm_removals",
    "in": "query",
    "required": False,
    "schema": {"type": "integer", "minimum": 0},
    "description": "The `removals` of the change's preview: needed when the change is over the "
    "safety limit (may be sent in the body as well)",
}


def _preview_operation() -> dict[str, Any]:
    return {
        "summary": "Preview a change: what PUT with this body would add, change and remove",
        "description": "Nothing is stored. Per resource (step key) whether it is added, changed "
        "or removed and what a removal does; per person and group; and whether the change is "
        "over the safety limit (more than the configured share of students dropped, or any "
        "repository archived), in which case PUT needs `confirm_removals` equal to `removals`.",
        "operationId": "previewCourseChange",
        **SECURED,
        "parameters": [COURSE_ID],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref(CourseSpec)}},
        },
        "responses": {
            "200": _json(ChangePreviewOut, "What the change would do"),
            **_problems(400, 401, 403, 404, 409, 413, 415, 422),
        },
    }


def _archive_operation(archive: bool) -> dict[str, Any]:
    name = "archive" if archive else "unarchive"
    what = (
        "End of term: every repository archived (read-only, kept), the course's text channels "
        "read-only for students (staff still post), invite links revoked, roles kept; the "
        "course is marked archived (`archived_at`) and refuses changes until unarchived. "
        if archive
        else "Undo the archive exactly: repositories unarchived, channels as before, new "
        "invite links. "
    )
    return {
        "summary": f"{name.capitalize()} a course",
        "description": what + "Applied by the course's steps like any change; doing it again "
        "changes nothing.",
        "operationId": f"{name}Course",
        **SECURED,
        "parameters": [COURSE_ID],
        "responses": {
            "200": _json(
                CourseUpdateOut, "The steps changed and retired, the status summary after"
            ),
            **_problems(401, 403, 404, 409),
        },
    }


def _archive_preview_operation(archive: bool) -> dict[str, Any]:
    name = "archive" if archive else "unarchive"
    return {
        "summary": f"Preview {name}: what it would change, per resource",
        "description": "Nothing is stored.",
        "operationId": f"preview{name.capitalize()}Course",
        **SECURED,
        "parameters": [COURSE_ID],
        "responses": {
            "200": _json(ChangePreviewOut, f"What {name} would do"),
            **_problems(401, 403, 404, 409),
        },
    }


def _delete_operation() -> dict[str, Any]:
    problems = _problems(401, 403, 404, 409)
    problems["409"]["description"] = (
        "Something exists on GitHub or Discord for the course already: archive it instead"
    )
    return {
        "summary": "Delete a course nothing was made for yet",
        "description": "Removes the course, its steps and people while no step made anything "
        "on GitHub or Discord (a claimed server does not count: it is the instructor's). After "
        "that a course is never deleted: 409, pointing to archive. The audit log keeps the "
        "course's history.",
        "operationId": "deleteCourse",
        **SECURED,
        "parameters": [COURSE_ID],
        "responses": {"204": {"description": "Deleted"}, **problems},
    }


_CLAIM_DESCRIPTION = (
    "The code a person runs as `/course claim <code>` in the Discord server they created for "
    "the course, binding that server to it (the first claim wins). **Read-write tokens only**: "
    "the code grants the right to bind a server to the course, so a read-only token gets 403 "
    "as on a mutation. For the same reason it is never in the status, the log or the database "
    "(it is derived from the course id on each request) and the answer is sent with "
    "`Cache-Control: no-store`. Course admins also see it in `/course status <course>`."
)


def _claim_operation() -> dict[str, Any]:
    problems = _problems(401, 403, 404)
    problems["403"]["description"] = "The API token is read-only; the code needs a read-write one"
    problems["404"]["description"] = "No such course, or this process cannot show claim codes"
    return {
        "summary": "The Discord claim code of a course (read-write tokens only)",
        "description": _CLAIM_DESCRIPTION,
        "operationId": "getCourseClaim",
        **SECURED,
        "parameters": [COURSE_ID],
        "responses": {
            "200": {
                **_json(ClaimOut, "The claim code, and whether a server is bound already"),
                "headers": {
                    "Cache-Control": {
                        "description": "Always `no-store`: the answer holds a secret",
                        "schema": {"type": "string", "const": "no-store"},
                    }
                },
            },
            **problems,
        },
    }


def _update_operation() -> dict[str, Any]:
    return {
        "summary": "Change a course's description (roster, groups, staff, title)",
        "description": _UPDATE_DESCRIPTION,
        "operationId": "updateCourse",
        **SECURED,
        "parameters": [COURSE_ID, IDEMPOTENCY_KEY, CONFIRM_REMOVALS],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref(CourseSpec)}},
        },
        "responses": {
            "200": _json(CourseUpdateOut, "What changed, and the status summary after"),
            **_problems(400, 401, 403, 404, 409, 413, 415, 422),
        },
    }


def _paths() -> dict[str, Any]:
    return {
        "/courses": {
            "post": {
                "summary": "Create a course and plan its provisioning",
                "operationId": "createCourse",
                **SECURED,
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref(CourseSpec)}},
                },
                "responses": {
                    "201": {
                        **_json(CourseOut, "Created"),
                        "headers": {"Location": {"schema": {"type": "string"}}},
                        "links": _COURSE_LINKS,
                    },
                    **_problems(400, 401, 403, 409, 413, 415, 422),
                },
            },
            "get": {
                "summary": "List courses, oldest first",
                "operationId": "listCourses",
                **SECURED,
                "parameters": [
                    LIMIT,
                    {"name": "cursor", "in": "query", "schema": {"type": "string", "minLength": 1}},
                ],
                "responses": {"200": _page(CoursePage, "One page"), **_problems(400, 401)},
            },
        },
        "/courses/{course_id}": {
            "get": {
                "summary": "One course",
                "operationId": "getCourse",
                **SECURED,
                "parameters": [COURSE_ID],
                "responses": {"200": _json(CourseOut, "The course"), **_problems(401, 404)},
            },
            "put": _update_operation(),
            "delete": _delete_operation(),
        },
        "/courses/{course_id}/status": {"get": _status_operation()},
        "/courses/{course_id}/claim": {"get": _claim_operation()},
        "/courses/{course_id}/preview": {"post": _preview_operation()},
        "/courses/{course_id}/drift": {
            "get": {
                "summary": "Drift: what the last reconcile found changed by hand and repaired",
                "description": "A scheduled reconcile (`RECONCILE_INTERVAL_S`, default daily) "
                "re-verifies every finished step of each active course; a step that finds its "
                "resource differs from the description repairs it, and each repair is a write "
                "listed here (and in the audit log). Expired invite links and GitHub "
                "invitations are renewed the same way.",
                "operationId": "getCourseDrift",
                **SECURED,
                "parameters": [COURSE_ID],
                "responses": {
                    "200": _json(DriftReportOut, "The drift report"),
                    **_problems(401, 404),
                },
            }
        },
        "/courses/{course_id}/archive": {"post": _archive_operation(True)},
        "/courses/{course_id}/unarchive": {"post": _archive_operation(False)},
        "/courses/{course_id}/archive/preview": {"post": _archive_preview_operation(True)},
        "/courses/{course_id}/unarchive/preview": {"post": _archive_preview_operation(False)},
        "/courses/{course_id}/retry": {
            "post": {
                "summary": "Retry failed, blocked and waiting steps",
                "operationId": "retryCourse",
                **SECURED,
                "parameters": [COURSE_ID],
                "responses": {
                    "202": _json(RetryOut, "Steps sent back to pending"),
                    **_problems(401, 403, 404, 409),
                },
            }
        },
        "/healthz": {
            "get": {
                "summary": "Liveness",
                "operationId": "healthz",
                "responses": {"200": _json(Health, "Alive")},
            }
        },
        "/readyz": {
            "get": {
                "summary": "Readiness: the database answers",
                "operationId": "readyz",
                "responses": {"200": _json(Health, "Ready"), **_problems(503)},
            }
        },
        **_audit_paths(),
        **_roster_paths(),
    }


def build_openapi(version: str = "0.1.0") -> dict[str, Any]:
    """The whole document; request and response schemas come from the pydantic models."""
    _, definitions = models_json_schema(_MODELS, ref_template=REF)
    paths = _paths()
    document_shedding(paths, REF.format(model=Problem.__name__))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Course provisioning bot",
            "version": version,
            "description": "Create courses, follow their provisioning, retry what failed.",
        },
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
