"""CSRF tokens of the console's forms: a second lock behind the guard's secret cookie.

The guard (`sandbox/core/guard.py`) already refuses what another site can send. The console's
pages act with the secret cookie alone, so each of their forms also carries a token derived
from this run's secret; a mutating control request that relies on the cookie (no secret
header) must send it back in `X-CSRF-Token`. Scripts and tests that send the secret header
are not pages: they need no token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from sandbox.core.guard import SAFE_METHODS, SECRET_HEADER

CSRF_HEADER = "X-CSRF-Token"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def csrf_token(secret: str) -> str:
    """The token of this run (the secret changes at each start, so does the token)."""
    return hmac.new(secret.encode(), b"sandbox-console-csrf", hashlib.sha256).hexdigest()


def csrf_guard(secret: str) -> Middleware:
    """Refuse a cookie-authenticated change of `/_sandbox/*` without the form's token (403)."""
    expected = csrf_token(secret)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if (
            request.path.startswith("/_sandbox")
            and request.method not in SAFE_METHODS
            and SECRET_HEADER not in request.headers
        ):
            sent = request.headers.get(CSRF_HEADER, "")
            if not secrets.compare_digest(sent, expected):
                return web.json_response(
                    {
                        "message": f"{CSRF_HEADER}: this form is missing its CSRF token or it "
                        "is from an earlier run of the sandbox; reload the page and send again"
                    },
                    status=403,
                )
        return await handler(request)

    return guard
