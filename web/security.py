"""Security headers on every answer: no inline scripts, no framing, no MIME sniffing."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

# Pages load scripts and styles from our own origin only; `connect-src 'self'` covers the
# live-update stream. Inline scripts are refused, so injected markup cannot run.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
    "frame-ancestors 'none'"
)
# Swagger UI sets style attributes from its script and shows data: images; still no inline
# scripts and nothing from another host.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; object-src 'none'; "
    "frame-ancestors 'none'"
)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Adds the headers to answers and to errors alike (an error page is a page too)."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _add(request, exc)
        raise
    _add(request, response)
    return response


def _add(request: web.Request, response: web.StreamResponse) -> None:
    if response.prepared:
        return  # a stream (live updates) got its headers in its handler
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    csp = DOCS_CSP if request.path == "/docs" or request.path.startswith("/docs/") else PAGE_CSP
    headers.setdefault("Content-Security-Policy", csp)
