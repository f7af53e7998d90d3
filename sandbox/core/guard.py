"""Who may change the sandbox: the control API (`/_sandbox/*`) is guarded against other web pages.

The sandbox runs on a developer's machine, where any page the browser opens can send requests
to 127.0.0.1. A browser sends some requests cross-site without asking first (a form post, a
`fetch` with a text/plain body); the guard refuses what such a request can look like:

- every mutating control request (anything but GET/HEAD/OPTIONS) carries the per-run secret,
  in the `X-Sandbox-Secret` header (a custom header forces the browser's CORS preflight, which
  the sandbox never answers) or in the `sandbox_secret` cookie that the sandbox's own pages set
  (`SameSite=Strict`, `HttpOnly`);
- its body, if any, is `application/json` (415 otherwise); a request authenticated by the
  cookie alone must declare `application/json` even without a body, because a bodiless
  cross-origin `fetch` would otherwise carry the cookie without a preflight;
- a request with an `Origin` header comes from the sandbox's own origin;
- every `/_sandbox/*` request names a loopback host, so a DNS-rebound name cannot read the
  pages (and get the cookie) as if it were the sandbox.

Reads stay open to the local machine: they show nothing secret. The platform APIs (`/api/*`)
keep their own token auth.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

SECRET_HEADER = "X-Sandbox-Secret"  # noqa: S105 - a header name
SECRET_COOKIE = "sandbox_secret"  # noqa: S105 - a cookie name
CONTROL_PREFIX = "/_sandbox"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_secret() -> str:
    """A fresh secret for one run of the sandbox."""
    return secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    return host.strip("[]").lower() in LOOPBACK_HOSTS


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


def _host_of(authority: str) -> str:
    # `urlsplit` understands `[::1]:8081` as well as `127.0.0.1:8081`.
    return urlsplit(f"//{authority}").hostname or ""


def _is_control(path: str) -> bool:
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")


def _check(request: web.Request, secret: str) -> web.Response | None:
    """None when `request` may go on, else the refusal to send."""
    if not is_loopback(_host_of(request.host)):
        return _refuse(
            403,
            f"Host {request.host!r}: the sandbox answers control requests only to "
            "127.0.0.1 or localhost",
        )
    if request.method in SAFE_METHODS:
        return None
    origin = request.headers.get("Origin")
    if origin is not None and (
        urlsplit(origin).netloc != request.host or not is_loopback(urlsplit(origin).hostname or "")
    ):
        return _refuse(403, f"Origin {origin!r}: control requests come from the sandbox itself")
    header = request.headers.get(SECRET_HEADER)
    cookie = request.cookies.get(SECRET_COOKIE)
    if header is None and cookie is None:
        return _refuse(
            401,
            f"{SECRET_HEADER}: this control request needs the sandbox's secret (printed at "
            "start and written next to its state file, e.g. data/sandbox.secret)",
        )
    by_header = header is not None and secrets.compare_digest(header, secret)
    by_cookie = cookie is not None and secrets.compare_digest(cookie, secret)
    if not (by_header or by_cookie):
        return _refuse(
            403,
            f"{SECRET_HEADER}: wrong secret; the sandbox makes a new one at each start "
            "(see the .secret file next to its state file, e.g. data/sandbox.secret)",
        )
    declared = request.headers.get("Content-Type")
    is_json = declared is not None and request.content_type == "application/json"
    # A body must be JSON. Without one, the header alone already forced a preflight (clients
    # such as aiohttp then declare application/octet-stream), but the cookie did not.
    if not is_json and (request.body_exists or not by_header):
        return _refuse(415, f"Content-Type {declared!r}: control requests send application/json")
    return None


def control_guard(secret: str) -> Middleware:
    """The middleware applying the rules above to `/_sandbox/*`; other paths pass untouched."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if _is_control(request.path):
            refusal = _check(request, secret)
            if refusal is not None:
                return refusal
        return await handler(request)

    return guard


def set_secret_cookie(response: web.StreamResponse, request: web.Request, secret: str) -> None:
    """Let the sandbox's own pages act: the browser that opened one sends the secret back."""
    if is_loopback(_host_of(request.host)):
        response.set_cookie(
            SECRET_COOKIE, secret, path=CONTROL_PREFIX, httponly=True, samesite="Strict"
        )


# -- CSRF for the sandbox's own HTML forms (the OAuth2 authorize pages, the mailbox) ----------
# Pages outside `/_sandbox` (they sit where Discord and GitHub serve theirs) cannot use the
# control secret: a person reaches them from the product, not from the overview page. They use
# a double-submit token instead: a random value in a `SameSite=Strict` cookie, repeated in a
# hidden field. Another site can make the browser post a form, but can neither read the cookie
# nor know the value to put in the field.
CSRF_COOKIE = "sandbox_csrf"
CSRF_FIELD = "csrf_token"


def csrf_token(request: web.Request) -> str:
    """The browser's CSRF token (the cookie's, or a new one that `set_csrf_cookie` must set)."""
    existing = request.cookies.get(CSRF_COOKIE, "")
    return existing if len(existing) >= 32 else secrets.token_urlsafe(32)


def set_csrf_cookie(response: web.StreamResponse, token: str) -> None:
    response.set_cookie(CSRF_COOKIE, token, path="/", httponly=True, samesite="Strict")


def csrf_refusal(request: web.Request, submitted: str | None) -> str | None:
    """Why a form post must be refused (None when it came from the sandbox's own page)."""
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        return f"Origin {origin!r}: this form only accepts posts from the sandbox's own pages"
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted or not secrets.compare_digest(cookie, submitted):
        return (
            f"{CSRF_FIELD}: the form's security token is missing or stale; "
            "reload the page and submit it again"
        )
    return None
