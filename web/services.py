"""What the web application needs from the rest of the product, and its typed keys."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from db.base import utc_now
from db.engine import create_session_factory, database_reachable
from db.idempotency import IdempotencyStore
from provisioning.api_tokens import ApiTokenInfo, ApiTokenService
from provisioning.courses import CourseService


@dataclass(frozen=True)
class Services:
    """The services handlers call; built once by the composition root."""

    courses: CourseService
    tokens: ApiTokenService
    idempotency: IdempotencyStore
    readiness: Callable[[], Awaitable[bool]]


def build_services(engine: AsyncEngine, clock: Callable[[], datetime] = utc_now) -> Services:
    """The standard wiring of the web services on one engine."""
    sessions = create_session_factory(engine)
    return Services(
        courses=CourseService(sessions, clock=clock),
        tokens=ApiTokenService(sessions, clock=clock),
        idempotency=IdempotencyStore(sessions, clock=clock),
        readiness=functools.partial(database_reachable, engine),
    )


SERVICES = web.AppKey("services", Services)
OPENAPI = web.AppKey("openapi", dict)
API_TOKEN = web.RequestKey("api_token", ApiTokenInfo)
