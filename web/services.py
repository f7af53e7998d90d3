"""What the web application needs from the rest of the product, and its typed keys."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.base import utc_now
from db.engine import create_session_factory, database_reachable
from db.idempotency import IdempotencyStore
from provisioning.api_tokens import ApiTokenInfo, ApiTokenService
from provisioning.audit import AuditLog
from provisioning.claims.codes import ClaimCodes, no_claim_codes
from provisioning.clock import SystemClock
from provisioning.courses.service import CourseService
from provisioning.governor import RateGovernor
from provisioning.metrics import Metrics


def _nothing() -> None:
    """The default change hook: with no runner in this process there is nobody to wake."""


@dataclass(frozen=True)
class Services:
    """The services handlers call; built once by the composition root."""

    courses: CourseService
    tokens: ApiTokenService
    idempotency: IdempotencyStore
    readiness: Callable[[], Awaitable[bool]]
    audit: AuditLog
    # The Prometheus exposition text; a closure, so the web never holds the governors itself.
    metrics: Callable[[], Awaitable[bytes]]
    # Called after a course is created or a retry made steps due, so the runner starts at once
    # instead of at its next tick. Must not block: the runner's wake() only sets an event.
    on_change: Callable[[], None] = _nothing
    # A course id to its Discord claim code (`GET /courses/{id}/claim`); a closure over the
    # secret, so the web never holds it. Without one, that route answers 404.
    claim_code: ClaimCodes = no_claim_codes
    # The bot's Discord application id, for the install link next to the claim code; without
    # one the link is left out.
    application_id: Callable[[], Awaitable[str]] | None = None


def metrics_renderer(
    metrics: Metrics,
    sessions: async_sessionmaker[AsyncSession],
    governors: Sequence[RateGovernor] = (),
) -> Callable[[], Awaitable[bytes]]:
    """The ``Services.metrics`` closure over the process's own Metrics and governors."""
    return functools.partial(metrics.render, sessions, tuple(governors))


def build_services(
    engine: AsyncEngine,
    clock: Callable[[], datetime] = utc_now,
    *,
    on_change: Callable[[], None] = _nothing,
    audit: AuditLog | None = None,
    metrics_render: Callable[[], Awaitable[bytes]] | None = None,
    claim_code: ClaimCodes = no_claim_codes,
    application_id: Callable[[], Awaitable[str]] | None = None,
) -> Services:
    """The standard wiring of the web services on one engine.

    The composition root passes the AuditLog and metrics it shares with the runner and the
    gateways; without them (tests, the API-only dev server) fresh ones on ``engine`` are used.
    """
    sessions = create_session_factory(engine)
    metrics = Metrics()
    return Services(
        courses=CourseService(sessions, clock=clock),
        tokens=ApiTokenService(sessions, clock=clock),
        idempotency=IdempotencyStore(sessions, clock=clock),
        readiness=functools.partial(database_reachable, engine),
        audit=audit if audit is not None else AuditLog(sessions, SystemClock(), metrics),
        metrics=metrics_render or metrics_renderer(metrics, sessions),
        on_change=on_change,
        claim_code=claim_code,
        application_id=application_id,
    )


SERVICES = web.AppKey("services", Services)
OPENAPI = web.AppKey("openapi", dict)
API_TOKEN = web.RequestKey("api_token", ApiTokenInfo)
