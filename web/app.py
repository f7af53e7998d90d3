"""The aiohttp application factory: routes, middlewares, typed keys; nothing at import time."""

from __future__ import annotations

from aiohttp import web

from web.answer_cache import AnswerCache
from web.auth import auth_middleware
from web.body import MAX_BODY_BYTES
from web.handlers import (
    audit,
    claims,
    course_changes,
    courses,
    docs,
    drift,
    health,
    metrics,
    roster,
)
from web.join import routes as join_routes
from web.load_shedding import load_shedding
from web.openapi import build_openapi
from web.pages.routes import add_pages, page_middlewares
from web.problems import problem_middleware
from web.security import security_headers
from web.services import ANSWERS, OPENAPI, SERVICES, Services


def create_app(services: Services, *, client_max_size: int = MAX_BODY_BYTES) -> web.Application:
    """The web application on top of ``services``; the caller runs it (AppRunner/TCPSite)."""
    # The problem middleware is outside auth so errors raised by auth are rendered too; the
    # security headers go on everything, problems included; pages render their own errors.
    # Load shedding comes before anything that costs: a shed request is not authenticated,
    # has no session read and reaches no handler.
    app = web.Application(
        middlewares=[
            security_headers,
            load_shedding(services.max_in_flight, services.on_shed),
            problem_middleware,
            auth_middleware,
            *page_middlewares(services),
        ],
        client_max_size=client_max_size,
    )
    app[SERVICES] = services
    app[ANSWERS] = AnswerCache()
    app[OPENAPI] = build_openapi()
    health.add_routes(app)
    docs.add_routes(app)
    courses.add_routes(app)
    course_changes.add_routes(app)
    drift.add_routes(app)
    claims.add_routes(app)
    audit.add_routes(app)
    roster.add_routes(app)
    if services.join is not None:
        join_routes.add_routes(app, services.join)
    metrics.add_routes(app)
    add_pages(app)
    return app
