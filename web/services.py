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
from provisioning.courses.reconcile import DriftReport
from provisioning.courses.service import CourseService
from provisioning.discord.steps.server import DISCORD_AUTHORIZE_URL
from provisioning.students.roster_status import RosterStatusService
from web.answer_cache import AnswerCache
from web.join.parts import JoinParts


@dataclass(frozen=True)
class Services:
    """The services handlers call. Changes wake the runner inside the services themselves."""

    courses: CourseService
    # The drift report of a course's last reconcile (`ReconcileService.report`).
    drift: Callable[[str], Awaitable[DriftReport]]
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
    # Who is in, per person (`GET /courses/{id}/roster`).
    roster: RosterStatusService | None = None
    # The students' join page (`/join/{token}`); without it the page is not served.
    join: JoinParts | None = None
    # Where the install link sends people (the sandbox's page in development).
    authorize_url: str = DISCORD_AUTHORIZE_URL


SERVICES = web.AppKey("services", Services)
ANSWERS = web.AppKey("answers", AnswerCache)
OPENAPI = web.AppKey("openapi", dict)
API_TOKEN = web.RequestKey("api_token", ApiTokenInfo)
