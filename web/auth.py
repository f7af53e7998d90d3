"""Bearer-token authentication for course data and the audit trail (/courses, /audit)."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from web.problems import problem_response
from web.services import API_TOKEN, SERVICES

log = logging.getLogger(__name__)

# Everything else (/healthz, /readyz, /metrics, /openapi.json, /docs) holds no course data and
# is read by probes, scrapers and browsers that carry no token.
PROTECTED_PREFIXES = ("/courses", "/audit")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Reads that hand out a secret, refused to read-only tokens like a mutation: a claim code
# grants the right to bind a Discord server to the course. Route names, as `add_get(name=…)`.
CLAIM_ROUTE = "course_claim"
WRITE_TOKEN_ROUTES = frozenset({CLAIM_ROUTE})


def _protected(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PROTECTED_PREFIXES)


def _needs_write_token(request: web.Request) -> bool:
    return request.method not in SAFE_METHODS or request.match_info.route.name in WRITE_TOKEN_ROUTES


def _unauthorized(request: web.Request, detail: str, error: str | None) -> web.Response:
    challenge = 'Bearer realm="courses"'
    if error is not None:
        challenge += f', error="{error}"'
    return problem_response(
        request, 401, "Unauthorized", detail, headers={"WWW-Authenticate": challenge}
    )


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """401 without a valid token, 403 for a read-only token on a mutation or a secret."""
    if not _protected(request.path):
        return await handler(request)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return _unauthorized(request, "send an API token: Authorization: Bearer <token>", None)
    info = await request.app[SERVICES].tokens.authenticate(token)
    if info is None:
        log.info("rejected API token", extra={"path": request.path})
        return _unauthorized(request, "the API token is unknown or revoked", "invalid_token")
    if info.read_only and _needs_write_token(request):
        detail = f"the API token {info.name!r} is read-only"
        if request.method in SAFE_METHODS:
            detail += "; this answer holds a secret that only read-write tokens may read"
        return problem_response(request, 403, "Forbidden", detail)
    request[API_TOKEN] = info
    return await handler(request)
