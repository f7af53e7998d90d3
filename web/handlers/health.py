"""Liveness and readiness probes."""

from __future__ import annotations

from aiohttp import web

from web.problems import problem_response
from web.schemas import Health
from web.services import SERVICES


async def healthz(_request: web.Request) -> web.Response:
    """The process answers."""
    return web.json_response(text=Health(status="ok").model_dump_json())


async def readyz(request: web.Request) -> web.Response:
    """The process can serve: its database answers."""
    if await request.app[SERVICES].readiness():
        return web.json_response(text=Health(status="ok").model_dump_json())
    return problem_response(request, 503, "Service Unavailable", "the database is not reachable")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
