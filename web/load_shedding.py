"""Load shedding: beyond a number of requests in flight, answer 503 at once.

The REST API, the pages, the slash commands and the step runner share one event loop. Without a
bound, a flood of polls queues without end: every answer takes seconds and the runner's steps
wait behind the queue on the loop. With it, a request over the limit costs little (no database,
no token lookup, no template) and the client is told when to come back (`Retry-After`), so the
loop keeps time for the runner and the requests it does serve.

The signal is the count of requests in flight in this application: it needs no timer, it is
exact, and it bounds the web's share of the loop's turns (the runner's steps are one task each,
a request in flight is one more). Measured with `bench/shared_process.py` (README, Benchmarks):
the loop's lag does not tell the cases apart (its p99 at 200 polls a second, 3.8 ms, is near
that of the runner alone, 2.5 ms, while the runner is already 1.4 x slower; the runner alone
has lag spikes of 80 to 800 ms), and in aiohttp a request's wait before its handler is that
same lag. A shed poll costs the process 0.15 to 0.17 ms of CPU, an answered one 1 to 2.5 ms.

Shedding happens before the handler runs, and before authentication: a shed request has read
nothing and written nothing, so a shed `POST`, `PUT` or `DELETE` is simply not done and may be
sent again as it was. A request the handler has started is never cut short.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from web.problems import problem_response

# Seconds a shed client is asked to wait: a poll interval, short enough that a person retrying
# by hand does not wait for nothing, long enough that the queue drains meanwhile.
RETRY_AFTER_S = 1
# Never shed: probes and scrapers must see the process as it is (an orchestrator that reads
# 503 from /healthz restarts a process that is only busy), and an OAuth callback carries a
# one-time code that expires: a person mid-sign-in would have to start again. The files of the
# pages and of the API docs cost little, a page loads several at once (which a small limit
# would shed half of), and the busy page itself needs its stylesheet.
_NEVER_SHED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_NEVER_SHED_PREFIXES = (
    "/join-oauth/",
    "/app/sign-in/discord/callback",
    "/app/static/",
    "/docs/",
)
# Live-update streams stay open for minutes: counted, they would fill the limit with viewers of
# the course page; shed, the browser's EventSource would give up for good.
_STREAM_SUFFIX = "/events"
_PAGE_PREFIXES = ("/app", "/join/")

_BUSY_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light dark">
  <title>Busy · Course provisioning</title>
  <link rel="stylesheet" href="/app/static/app.css">
</head>
<body>
  <main id="main">
    <section class="panel error-page" aria-labelledby="error-title">
      <p class="status-code">Error 503</p>
      <h1 id="error-title">The server is busy</h1>
      <p>Too many requests arrived at once, so this one was not started. Nothing was changed.</p>
      <p class="hint">Try again in {seconds} second{plural}: reload the page, or send the form
      again.</p>
    </section>
  </main>
</body>
</html>
"""


def document_shedding(paths: dict[str, Any], problem_ref: str) -> None:
    """Add the 503 a shed request gets to every operation of the REST API in `paths` (the
    OpenAPI document's), so clients and contract tests expect it."""
    busy = {
        "description": "Too many requests at once: not started, nothing done; send it again "
        "after `Retry-After` seconds",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before sending the request again",
                "required": True,
                "schema": {"type": "integer", "minimum": 0},
            }
        },
        "content": {"application/problem+json": {"schema": {"$ref": problem_ref}}},
    }
    for path, operations in paths.items():
        if path.startswith(("/courses", "/audit")):
            for operation in operations.values():
                operation["responses"]["503"] = busy


def never_shed(request: web.Request) -> bool:
    """Probes, metrics, OAuth callbacks, static files and live-update streams get through."""
    path = request.path
    if path in _NEVER_SHED_PATHS or path.startswith(_NEVER_SHED_PREFIXES):
        return True
    return path.startswith("/app/") and path.endswith(_STREAM_SUFFIX)


def is_page(path: str) -> bool:
    """Pages a person opens in a browser get an HTML answer; everything else problem+json."""
    return path == "/" or path.startswith(_PAGE_PREFIXES)


def busy_page(seconds: int) -> str:
    return _BUSY_PAGE.format(seconds=seconds, plural="" if seconds == 1 else "s")


def load_shedding(max_in_flight: int, on_shed: Callable[[str], None]) -> Middleware:
    """The middleware: at most `max_in_flight` requests run at once (0: no limit); the rest
    get 503 with `Retry-After`, and `on_shed("api" | "page")` counts them."""
    in_flight = 0
    page = busy_page(RETRY_AFTER_S)
    headers = {"Retry-After": str(RETRY_AFTER_S)}

    @web.middleware
    async def shed(request: web.Request, handler: Handler) -> web.StreamResponse:
        nonlocal in_flight
        if max_in_flight <= 0 or never_shed(request):
            return await handler(request)
        if in_flight >= max_in_flight:
            if is_page(request.path):
                on_shed("page")
                return web.Response(
                    status=503,
                    text=page,
                    content_type="text/html",
                    headers={**headers, "Cache-Control": "no-store"},
                )
            on_shed("api")
            return problem_response(
                request,
                503,
                "Service Unavailable",
                f"too many requests at once; nothing was done: retry in {RETRY_AFTER_S} s",
                headers=headers,
            )
        in_flight += 1
        try:
            return await handler(request)
        finally:
            in_flight -= 1

    return shed
