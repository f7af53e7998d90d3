"""What the web application needs from the rest of the product, and its typed keys.

`bot.build` makes the one `Services` of a process from the parts it shares with the runner.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from db.idempotency import IdempotencyStore
from provisioning.api_tokens import ApiTokenInfo, ApiTokenService
from provisioning.audit import AuditLog
from provisioning.claims.codes import ClaimCodes, no_claim_codes
from provisioning.courses.overview import CourseOverview
from provisioning.courses.service import CourseService
from provisioning.staff_rights import DiscordIdentity, StaffRightsService
from web.answer_cache import AnswerCache


def _utc_now() -> datetime:
    return datetime.now(UTC)


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
    # The status page's list of courses (newest first, filtered, with progress).
    overview: CourseOverview
    # A course id to its Discord claim code (`GET /courses/{id}/claim`); a closure over the
    # secret, so the web never holds it. Without one, that route answers 404.
    claim_code: ClaimCodes = no_claim_codes
    # The bot's Discord application id, for the install link next to the claim code; without
    # one the link is left out.
    application_id: Callable[[], Awaitable[str]] | None = None
    # The status page's signed-in sessions: the key of their encrypted cookie (derived from
    # the product's secret; None: a random key per application, sessions end with it), and
    # whether the cookie needs HTTPS (everywhere but development).
    session_key: bytes | None = None
    secure_cookies: bool = False
    # The product's clock: sessions expire by it.
    now: Callable[[], datetime] = _utc_now
    # Sign in with Discord, and what a Discord user may see; without them, tokens only.
    discord_sign_in: DiscordIdentity | None = None
    staff_rights: StaffRightsService | None = None


SERVICES = web.AppKey("services", Services)
ANSWERS = web.AppKey("answers", AnswerCache)
OPENAPI = web.AppKey("openapi", dict)
API_TOKEN = web.RequestKey("api_token", ApiTokenInfo)
