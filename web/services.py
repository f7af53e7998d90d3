"""What the web application needs from the rest of the product, and its typed keys.

`bot.build` makes the one `Services` of a process from the parts it shares with the runner.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from db.idempotency import IdempotencyStore
from provisioning.api_tokens import ApiTokenInfo, ApiTokenService
from provisioning.audit import AuditLog
from provisioning.claims.codes import ClaimCodes, no_claim_codes
from provisioning.courses.service import CourseService
from provisioning.discord.steps.server import DISCORD_AUTHORIZE_URL
from web.answer_cache import AnswerCache


@dataclass(frozen=True)
class Services:
    """The services handlers call. Changes wake the runner inside the services themselves."""

    courses: CourseService
    tokens: ApiTokenService
    idempotency: IdempotencyStore
    readiness: Callable[[], Awaitable[bool]]
    audit: AuditLog
    # The Prometheus exposition text; a closure, so the web never holds the governors itself.
    metrics: Callable[[], Awaitable[bytes]]
    # A course id to its Discord claim code (`GET /courses/{id}/claim`); a closure over the
    # secret, so the web never holds it. Without one, that route answers 404.
    claim_code: ClaimCodes = no_claim_codes
    # The bot's Discord application id, for the install link next to the claim code; without
    # one the link is left out.
    application_id: Callable[[], Awaitable[str]] | None = None
    # Where the install link sends people (the sandbox's page in development).
    authorize_url: str = DISCORD_AUTHORIZE_URL


SERVICES = web.AppKey("services", Services)
ANSWERS = web.AppKey("answers", AnswerCache)
OPENAPI = web.AppKey("openapi", dict)
API_TOKEN = web.RequestKey("api_token", ApiTokenInfo)
