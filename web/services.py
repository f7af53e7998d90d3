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
from provisioning.courses.drift_report import DriftReport
from provisioning.courses.invitation_notes import OrgInvitations, nothing_known
from provisioning.courses.overview import CourseOverview
from provisioning.courses.preview import unknown_hourly_limit
from provisioning.courses.service import CourseService
from provisioning.discord.invite_links import InviteLinks
from provisioning.discord.server_count import ServerCount
from provisioning.discord.steps.server import DISCORD_AUTHORIZE_URL
from provisioning.staff_rights import DiscordIdentity, StaffRightsService
from provisioning.students.roster_status import RosterStatusService
from web.answer_cache import AnswerCache
from web.join.parts import JoinParts


def _utc_now() -> datetime:
    return datetime.now(UTC)


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
    # The status page's list of courses (newest first, filtered, with progress).
    overview: CourseOverview
    # A course id to its Discord claim code (`GET /courses/{id}/claim`); a closure over the
    # secret, so the web never holds it. Without one, that route answers 404.
    claim_code: ClaimCodes = no_claim_codes
    # The bot's Discord application id, for the install link next to the claim code; without
    # one the link is left out.
    application_id: Callable[[], Awaitable[str]] | None = None
    # Who is in, per person (`GET /courses/{id}/roster`).
    roster: RosterStatusService | None = None
    # A course's live invite links, read from Discord for staff on the course page; without
    # it the page leaves them out.
    invites: InviteLinks | None = None
    # The students' join page (`/join/{token}`); without it the page is not served.
    join: JoinParts | None = None
    # Where the install link sends people (the sandbox's page in development).
    authorize_url: str = DISCORD_AUTHORIZE_URL
    # Where a repository's page is for people: github.com, or the sandbox's in development.
    github_web_url: str = "https://github.com"
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
    # The bot's server count while near the cap of unverified apps (`ServerCountWatch.notice`).
    server_notice: Callable[[], ServerCount | None] = lambda: None
    # The hourly GitHub limit of an organization's credential, as far as known (the preview's
    # time estimate); None: a token's 5,000.
    github_hourly: Callable[[str], int | None] = unknown_hourly_limit
    # An organization's GitHub invitations: its daily window and its courses' queue (the
    # preview says when a course needs more than a day's).
    org_invitations: Callable[[str], Awaitable[OrgInvitations]] = nothing_known
    # Load shedding (`web.load_shedding`): requests run at once before the rest get 503 (0: no
    # limit), and what counts a shed request ("api" or "page") for /metrics.
    max_in_flight: int = 0
    on_shed: Callable[[str], None] = lambda _kind: None


SERVICES = web.AppKey("services", Services)
ANSWERS = web.AppKey("answers", AnswerCache)
OPENAPI = web.AppKey("openapi", dict)
API_TOKEN = web.RequestKey("api_token", ApiTokenInfo)
