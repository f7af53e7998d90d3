"""The GitHub API middleware: auth, rate limits, error bodies and the headers on every answer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from sandbox.core.fault_responses import GITHUB_SECONDARY_DOCS, GITHUB_SECONDARY_MESSAGE
from sandbox.core.journal import CREDENTIAL, REQUEST_ID
from sandbox.github.auth import authenticate
from sandbox.github.context import PRINCIPAL, GitHubContext
from sandbox.github.errors import ApiError
from sandbox.github.invitations import sweep_expired
from sandbox.github.ratelimit import PrimaryStatus

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PRIMARY_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits"
)


def _rate_headers(status: PrimaryStatus) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(status.limit),
        "x-ratelimit-remaining": str(status.remaining),
        "x-ratelimit-used": str(status.used),
        "x-ratelimit-reset": str(status.reset_epoch),
        "x-ratelimit-resource": "core",
    }


def _secondary(retry_after: float) -> ApiError:
    return ApiError(
        403,
        GITHUB_SECONDARY_MESSAGE,
        documentation_url=GITHUB_SECONDARY_DOCS,
        headers={"retry-after": str(max(1, round(retry_after + 0.4999)))},
    )


def _token_of(request: web.Request) -> str:
    return request.headers.get("Authorization", "").partition(" ")[2].strip()


def github_middleware(
    ctx: GitHubContext,
) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        headers = {
            "x-github-request-id": request.get(REQUEST_ID, "SANDBOX"),
            "x-github-api-version-selected": request.headers.get(
                "X-GitHub-Api-Version", "2022-11-28"
            ),
            "x-github-media-type": "github.v3; format=json",
        }
        response: web.StreamResponse
        key = "anonymous"
        limit: int | None = None
        try:
            who = authenticate(ctx, request)
            key = who.key
            request[CREDENTIAL] = key
            scopes = ctx.state.oauth_scopes.get(_token_of(request))
            if scopes is not None:
                # What an OAuth app's user token carries, as GitHub says on every answer.
                headers["x-oauth-scopes"] = ", ".join(scopes)
            request[PRINCIPAL] = who
            limit = ctx.primary_limit(who)
            status = ctx.limiter.take_primary(key, limit)
            headers.update(_rate_headers(status))
            if status.exceeded:
                raise ApiError(
                    403,
                    f"API rate limit exceeded for user ID {who.user_id}.",
                    documentation_url=PRIMARY_DOCS,
                )
            if request.method not in ("GET", "HEAD"):
                wait = ctx.limiter.take_content(key)
                if wait is not None:
                    raise _secondary(wait)
            if not ctx.limiter.enter(key):
                raise _secondary(60.0)
            sweep_expired(ctx)
            try:
                response = await handler(request)
            finally:
                ctx.limiter.leave(key)
        except ApiError as exc:
            if "x-ratelimit-limit" not in headers:
                headers.update(_rate_headers(ctx.limiter.peek_primary(key, limit)))
            headers.update(exc.headers)
            response = web.json_response(exc.body(), status=exc.status)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
            response = web.json_response(ApiError(404, "Not Found").body(), status=404)
        response.headers.update(headers)
        return response

    return middleware
