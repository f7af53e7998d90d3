"""Prometheus metrics.

Served without a token, like /healthz: scrapers are configured with a URL, not with our API
tokens, and the text holds only counts by step state, platform, method and governor (no course
ids, names, people or secrets). Deployments that must hide even the counts keep the port internal.
"""

from __future__ import annotations

from aiohttp import web

from web.services import SERVICES

# The classic text format: every Prometheus server and agent reads it, and render() uses the
# underscore escaping it requires.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics: the exposition text, with step gauges refreshed from the database."""
    body = await request.app[SERVICES].metrics()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
