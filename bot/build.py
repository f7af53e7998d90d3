"""The one place that composes the product: settings → engine → platforms → runner → services.

`build` makes every part and starts none: no runner loop, no web site, no gateway connection,
no scheduler (`bot.app.run` starts those). Connecting is part of building: the database engine,
the embedded sandbox in development, and the Discord REST login (the install link needs the
application id). `python -m bot`, the end-to-end tests, the benchmark and the contract scenario
all get their product from here, so the tests exercise the wiring production runs.
"""

from __future__ import annotations

import functools
import hmac
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta

import discord
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.endpoints import (
    Endpoints,
    github_web_url,
    load_secret_key,
    oauth_apps,
    open_endpoints,
    smtp_config,
)
from bot.errors import StartupError
from bot.member_events import listen_for_members
from bot.settings import Settings
from clients.discord import log_redaction as discord_log_redaction
from clients.discord.audit import make_audit_trace
from clients.discord.gateway import DiscordRestGateway
from clients.discord.oauth import DiscordOAuth
from clients.github.gateway import AppCredentials, AppKeyCredentials, PyGithubGateway
from clients.github.installations import InstallationGateways
from clients.oauth.sign_in import OAuthSignIn
from clients.smtp.gateway import SmtpMailGateway
from cogs.course.group import CourseCommands
from cogs.course.status import LiveUpdates
from cogs.course_log import CourseLog
from cogs.server_count_log import ServerCountLog
from cogs.services import AdminPolicy, CommandServices
from db.engine import create_engine, create_session_factory, database_reachable, schema_problem
from db.idempotency import IdempotencyStore
from db.invitation_windows import DatabaseInvitationWindows
from db.pace_ledger import DatabaseBuckets, DatabasePaceLedger
from db.ready_signal import ReadySignal
from provisioning import governor
from provisioning.api_tokens import ApiTokenService
from provisioning.audit import AuditLog
from provisioning.audit_sealer import AuditSealer
from provisioning.claims.codes import claim_code
from provisioning.claims.service import DatabaseClaimService
from provisioning.clock import Clock, SystemClock
from provisioning.courses.change_preview import SafetyLimit
from provisioning.courses.drafts import DraftService
from provisioning.courses.drift_notices import DriftNotices
from provisioning.courses.invitation_notes import OrgInvitationLookup
from provisioning.courses.known_specs import KnownSpecs
from provisioning.courses.milestones import MilestoneTracker
from provisioning.courses.overview import CourseOverview
from provisioning.courses.plan_worker import PlanWorker
from provisioning.courses.reconcile import ReconcileService
from provisioning.courses.search import CourseFinder
from provisioning.courses.service import CourseService
from provisioning.courses.spec import CourseSpec
from provisioning.discord.invite_links import InviteLinks
from provisioning.discord.server_watch import ServerCountWatch
from provisioning.discord.steps import executors as discord_executors
from provisioning.discord.steps.server import install_link
from provisioning.github.installation_watch import InstallationWatch
from provisioning.github.invitations import (
    InvitationBudget,
    InvitationStore,
    MemoryInvitationStore,
)
from provisioning.github.steps import executors as github_executors
from provisioning.governor import GovernorLimits, RateGovernor
from provisioning.metrics import GovernorSeries, GovernorSource, Metrics
from provisioning.pace import MemoryPaceLedger, PaceLedger, credential_key
from provisioning.retry import RetryPolicy
from provisioning.runner import RunnerConfig, StepRunner
from provisioning.staff_rights import StaffRightsService
from provisioning.students import message
from provisioning.students.join import JoinService
from provisioning.students.join_actions import JoinActions
from provisioning.students.links import JoinLinks
from provisioning.students.member_join import MemberJoins
from provisioning.students.notices import StaffNotices
from provisioning.students.reminders import Reminders
from provisioning.students.roster_status import RosterStatusService
from provisioning.students.steps import executors as student_executors
from provisioning.students.steps.join_email import JoinEmail
from web.app import create_app
from web.join.parts import JoinParts
from web.services import Services

# discord.py sleeps through rate limits unless told otherwise; a day-long role bucket must
# surface as an error the runner can schedule around, not a hung step (PLATFORM.md §4.3).
DISCORD_MAX_RATELIMIT_WAIT_S = 30.0
# A live `/course status` reply is edited at most this often (Discord limits edits per token).
LIVE_STATUS_EVERY_S = 5.0
LIVE_STATUS_MIN_S = 0.05


@dataclass(frozen=True)
class Product:
    """Every long-lived part of one process, built and connected, none of it running."""

    settings: Settings
    clock: Clock
    endpoints: Endpoints
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    metrics: Metrics
    audit: AuditLog
    # The token's governor; with a GitHub App, the App's own (each installation has its own).
    github_governor: RateGovernor
    discord_governor: RateGovernor
    # Every governor in use, labelled (an App's installations by id and org), as /metrics has them.
    governors: GovernorSource
    github: PyGithubGateway | InstallationGateways
    # The rate-limit buckets shared in the database (PostgreSQL), pruned on the schedule.
    pace_buckets: DatabaseBuckets | None
    discord_client: discord.Client
    discord: DiscordRestGateway
    runner: StepRunner
    # Course descriptions as stored and validated, shared by the runner and `courses`.
    known_specs: KnownSpecs
    # Wakes the runner when another process makes a step ready (PostgreSQL; None on SQLite).
    ready_signal: ReadySignal | None
    courses: CourseService
    reconcile: ReconcileService
    claims: DatabaseClaimService
    tokens: ApiTokenService
    services: Services
    web_app: web.Application
    commands: CourseCommands
    course_log: CourseLog
    # The bot's server count against the cap of unverified apps (checked on the schedule).
    servers: ServerCountWatch
    # Steps waiting for a GitHub App's installation (checked on the schedule); None with a token.
    installations: InstallationWatch | None
    secret: bytes
    join_links: JoinLinks
    roster: RosterStatusService
    reminders: Reminders
    member_joins: MemberJoins

    def claim_code(self, course_id: str) -> str:
        """The course's Discord claim code (what `/course status` shows its admins)."""
        return claim_code(self.secret, course_id)


async def build(
    settings: Settings,
    stack: AsyncExitStack,
    *,
    clock: Clock | None = None,
    policy: RetryPolicy | None = None,
) -> Product:
    """Build the product; everything it opens is closed when `stack` unwinds.

    `clock` (default: the system clock) is the one clock of every part. `policy` replaces the
    retry policy, which otherwise backs off as the platforms' limits are scaled
    (`RetryPolicy.scaled(settings.rate_scale)`).
    """
    clock = clock or SystemClock()
    engine, sessions = await open_database(settings, stack)
    endpoints = await open_endpoints(settings, stack)
    metrics = Metrics()
    # Chains the audit rows every part writes unsealed. Started here, not in `bot.app.run`:
    # every process built (runner, bot, benchmarks, tests) writes rows, and its own rows are
    # sealed at the latest when it stops (registered before the parts that write, so closed
    # after them, before the engine).
    sealer = AuditSealer(sessions)
    sealer.start()
    stack.push_async_callback(sealer.close)
    audit = AuditLog(sessions, clock, metrics, on_written=sealer.wake)
    ledger = pace_ledger(engine, clock)
    # Closed after the runner and the GitHub clients (pushed before them): the marks of the
    # writes they stopped are released for the other processes.
    stack.push_async_callback(ledger.close)
    discord_governor = RateGovernor(
        "discord",
        GovernorLimits.discord(settings.rate_scale),
        clock,
        ledger=ledger,
        credential=credential_key("discord", endpoints.discord_token),
    )
    github, github_governor = _github(settings, endpoints, clock, ledger, audit)
    stack.push_async_callback(github.aclose)
    governors = functools.partial(governor_series, github, github_governor, discord_governor)
    # discord.py's DEBUG lines would carry invite codes and people's OAuth2 tokens.
    discord_log_redaction.install()
    client = await _discord_client(endpoints, audit, stack)
    discord_gateway = DiscordRestGateway(
        client,
        discord_governor,
        endpoints.authorize_url,
        app_verified=settings.discord_app_verified,
    )
    member_joins = MemberJoins(sessions, discord_gateway, clock)
    listen_for_members(client, member_joins)
    secret = load_secret_key(settings)
    join_links = JoinLinks(secret)
    join_email = _join_email(settings, endpoints, audit, join_links, clock)
    invitations = invitation_budget(engine, clock, settings.rate_scale)
    org_invitations = OrgInvitationLookup(sessions, invitations)
    # A big course's CPU work (an update's, a description's validation) runs in a process of
    # its own, off the runner's loop.
    plan_worker = PlanWorker()
    stack.callback(plan_worker.close)
    # Descriptions as stored and validated, for the runner's steps; the course service keeps
    # those it stores.
    known_specs = KnownSpecs(plan_worker)
    runner = StepRunner(
        sessions=sessions,
        executors={
            **github_executors(invitations),
            **discord_executors(),
            **student_executors(join_email),
        },
        github=github,
        discord=discord_gateway,
        policy=policy or RetryPolicy.scaled(settings.rate_scale),
        clock=clock,
        metrics=metrics,
        config=RunnerConfig(
            lease_s=settings.runner_lease_s,
            concurrency=settings.runner_concurrency,
            idle_poll_s=settings.runner_poll_s,
        ),
        known_specs=known_specs,
    )
    safety = SafetyLimit(settings.change_confirm_share, settings.change_confirm_archive)
    courses = CourseService(
        sessions,
        clock,
        on_change=runner.wake,
        safety=safety,
        leave_org=settings.dropped_leave_org,
        plan_worker=plan_worker,
        known_specs=known_specs,
    )
    admin_guild_id = settings.discord_admin_guild_id or endpoints.admin_guild_id
    course_log = CourseLog(
        client,
        MilestoneTracker(sessions, clock),
        admin_guild_id,
        settings.discord_log_channel,
        notices=StaffNotices(sessions, clock),
        drift=DriftNotices(sessions, clock),
    )
    # Names who changed things by hand from the guild's audit log; what it repaired is stored
    # for the course log (`DriftNotices`).
    reconcile = ReconcileService(sessions, clock, on_change=runner.wake, discord=discord_gateway)
    claims = DatabaseClaimService(
        sessions, secret, clock, on_change=runner.wake, servers=discord_gateway.bot_servers
    )
    tokens = token_service(sessions, clock)
    roster = RosterStatusService(sessions, person_of=join_links.person)
    join_view = JoinService(
        sessions, join_links, clock, roster, github_web_url=github_web_url(settings, endpoints)
    )
    apps = oauth_apps(settings, endpoints)
    join = JoinParts(
        view=join_view,
        public_url=settings.join_base_url,
        sign_in=(
            OAuthSignIn(apps, audit, discord_gateway.application_id) if apps is not None else None
        ),
        actions=(
            JoinActions(sessions, join_view, courses, discord_gateway, github, clock)
            if apps is not None
            else None
        ),
    )
    invites = InviteLinks(courses, discord_gateway, endpoints.invite_url)
    servers = ServerCountWatch(
        sessions,
        discord_gateway.bot_servers,
        clock,
        gauges=metrics.observe_servers,
        on_change=runner.wake,
        announce=ServerCountLog(client, admin_guild_id, settings.discord_log_channel).post,
    )
    installations = (
        InstallationWatch(sessions, github.usable, clock, on_change=runner.wake)
        if isinstance(github, InstallationGateways)
        else None
    )
    services = Services(
        courses=courses,
        drift=reconcile.report,
        tokens=tokens,
        idempotency=IdempotencyStore(sessions, now=clock.now),
        readiness=functools.partial(database_reachable, engine),
        audit=audit,
        metrics=functools.partial(metrics.render, sessions, governors),
        claim_code=functools.partial(claim_code, secret),
        application_id=discord_gateway.application_id,
        roster=roster,
        invites=invites,
        join=join,
        authorize_url=endpoints.authorize_url,
        github_web_url=github_web_url(settings, endpoints),
        overview=CourseOverview(sessions),
        session_key=hmac.digest(secret, b"web session cookie", "sha256"),
        secure_cookies=settings.app_env != "development",
        now=clock.now,
        discord_sign_in=_discord_sign_in(endpoints),
        server_notice=servers.notice,
        github_hourly=github.hourly_limit,
        org_invitations=org_invitations,
        max_in_flight=settings.web_max_in_flight,
        on_shed=metrics.count_shed,
        staff_rights=StaffRightsService(
            sessions,
            discord_gateway,
            admin_guild_id=settings.discord_admin_guild_id,
            admin_role=settings.discord_admin_role,
        ),
    )
    live = LiveUpdates()
    # Registered after the Discord client: stopped before it closes.
    stack.push_async_callback(live.close)
    commands = CourseCommands(
        CommandServices(
            claims=claims,
            courses=courses,
            drafts=DraftService(sessions, clock, courses),
            lookup=CourseFinder(sessions),
            invites=invites,
            roster_status=roster,
            joiners=member_joins,
            claim_code=functools.partial(claim_code, secret),
            install_link=functools.partial(_install_link, discord_gateway),
            admin=AdminPolicy(
                role=settings.discord_admin_role,
                # Development: the sandbox's admin server, so every command works at once.
                guild_id=admin_guild_id,
            ),
            live=live,
            github_hourly=github.hourly_limit,
            org_invitations=org_invitations,
            # The sandbox's limits shrink with RATE_SCALE; so does the wait between edits.
            live_every_s=max(LIVE_STATUS_MIN_S, LIVE_STATUS_EVERY_S / settings.rate_scale),
            server_notice=servers.notice,
            drift=reconcile.report,
        )
    )
    return Product(
        settings=settings,
        clock=clock,
        endpoints=endpoints,
        engine=engine,
        sessions=sessions,
        metrics=metrics,
        audit=audit,
        github_governor=github_governor,
        discord_governor=discord_governor,
        governors=governors,
        github=github,
        pace_buckets=ledger.buckets if isinstance(ledger, DatabasePaceLedger) else None,
        discord_client=client,
        discord=discord_gateway,
        runner=runner,
        known_specs=known_specs,
        ready_signal=ReadySignal.for_engine(engine, runner.wake),
        courses=courses,
        reconcile=reconcile,
        claims=claims,
        tokens=tokens,
        services=services,
        web_app=create_app(services),
        commands=commands,
        servers=servers,
        installations=installations,
        course_log=course_log,
        secret=secret,
        join_links=join_links,
        roster=roster,
        member_joins=member_joins,
        reminders=Reminders(
            sessions,
            join_links.person,
            on_change=runner.wake,
            email_after=timedelta(days=settings.reminder_days),
            github=github,
        ),
    )


def _join_email(
    settings: Settings, endpoints: Endpoints, audit: AuditLog, links: JoinLinks, clock: Clock
) -> JoinEmail:
    config = smtp_config(settings, endpoints)
    mail = SmtpMailGateway(config, audit) if config is not None else None
    return JoinEmail(
        mail=mail,
        links=links,
        clock=clock,
        templates=message.environment(),
        public_url=settings.join_base_url,
        link_ttl=timedelta(days=settings.join_link_days),
        message_domain=(config.sender if config else "course-bot.invalid").rpartition("@")[2],
    )


async def open_database(
    settings: Settings, stack: AsyncExitStack
) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    """The engine and session factory on a reachable, migrated database, or `StartupError`
    saying which of the two it is not."""
    engine = create_engine(settings.database_url)
    stack.push_async_callback(engine.dispose)
    problem = await schema_problem(engine)
    if problem is not None:
        raise StartupError(problem)
    return engine, create_session_factory(engine)


async def _install_link(gateway: DiscordRestGateway, spec: CourseSpec) -> str:
    return install_link(await gateway.application_id(), spec, gateway.authorize_url)


def _discord_sign_in(endpoints: Endpoints) -> DiscordOAuth | None:
    if endpoints.discord_client_secret is None:
        return None
    return DiscordOAuth(
        web_url=endpoints.discord_web_url,
        api_url=discord.http.Route.BASE,
        client_secret=endpoints.discord_client_secret,
    )


def pace_ledger(engine: AsyncEngine, clock: Clock) -> PaceLedger:
    """Where the governors keep each credential's pace: in the database when several
    processes may share it (PostgreSQL), in memory on SQLite (one process)."""
    if engine.dialect.name == "postgresql":
        buckets = DatabaseBuckets(
            engine,
            margin_s=governor.RESET_MARGIN_S,
            same_window_s=governor.SAME_WINDOW_S,
            learn_timeout_s=governor.LEARN_TIMEOUT_S,
            poll_s=governor.LEARN_POLL_S,
        )
        return DatabasePaceLedger(engine, buckets)
    return MemoryPaceLedger(clock)


def invitation_budget(engine: AsyncEngine, clock: Clock, scale: float) -> InvitationBudget:
    """GitHub organizations' daily invitations: counted in the database when several processes
    may send them (PostgreSQL), in memory on SQLite (one process)."""
    if engine.dialect.name == "postgresql":
        store: InvitationStore = DatabaseInvitationWindows(engine)
    else:
        store = MemoryInvitationStore(clock)
    return InvitationBudget(store, clock, scale)


def _github(
    settings: Settings, endpoints: Endpoints, clock: Clock, ledger: PaceLedger, audit: AuditLog
) -> tuple[PyGithubGateway | InstallationGateways, RateGovernor]:
    """The GitHub gateways and the governor of the configured credential: a token serves every
    organization; a GitHub App finds each organization's installation (or uses the pinned
    one), a credential with its own gateway and governor, and the App's own governor is
    returned."""

    def governor(identity: str) -> RateGovernor:
        # The API URL too: the same token string on two servers is two credentials. An App
        # installation is one credential whatever token it currently holds.
        account = credential_key("github", f"{endpoints.github_api_url} {identity}")
        limits = GovernorLimits.github(settings.rate_scale)
        return RateGovernor("github", limits, clock, ledger=ledger, credential=account)

    credentials = endpoints.github_credentials
    if isinstance(credentials, AppKeyCredentials | AppCredentials):
        # A pinned installation (GITHUB_INSTALLATION_ID) too: the App's key is what finds
        # out, and re-checks, whether it is suspended or gone.
        pinned = credentials.installation_id if isinstance(credentials, AppCredentials) else None
        gateways = InstallationGateways(
            base_url=endpoints.github_api_url,
            web_url=_github_web_url(endpoints.github_api_url),
            app=AppKeyCredentials(credentials.app_id, credentials.private_key),
            governor_for=governor,
            sink=audit,
            timeout_s=settings.github_timeout_s,
            pinned=pinned,
        )
        return gateways, gateways.app_governor
    only = governor(credentials.token)
    gateway = PyGithubGateway(
        base_url=endpoints.github_api_url,
        credentials=credentials,
        governor=only,
        sink=audit,
        timeout_s=settings.github_timeout_s,
    )
    return gateway, only


def governor_series(
    github: PyGithubGateway | InstallationGateways,
    github_governor: RateGovernor,
    discord_governor: RateGovernor,
) -> list[GovernorSeries]:
    """The governors in use now: a GitHub App's installations come as their orgs are met."""
    found = [GovernorSeries(github_governor), GovernorSeries(discord_governor)]
    if isinstance(github, InstallationGateways):
        found += [GovernorSeries(i.governor, str(i.id), i.org) for i in github.installations()]
    return found


def _github_web_url(api_url: str) -> str:
    """GitHub's pages (an App's install page) for its API URL: github.com, or the Enterprise
    Server's (or the sandbox's) root."""
    api = api_url.rstrip("/")
    return "https://github.com" if api == "https://api.github.com" else api.removesuffix("/api/v3")


def token_service(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> ApiTokenService:
    """The API tokens, for the product and for `python -m bot token` alone."""
    return ApiTokenService(sessions, clock)


async def _discord_client(
    endpoints: Endpoints, audit: AuditLog, stack: AsyncExitStack
) -> discord.Client:
    # GUILD_MEMBERS is privileged: enable "Server Members Intent" for the bot in the developer
    # portal; it lets roster members who join some other way get their roles (member_events).
    intents = discord.Intents.default()
    intents.members = True
    client = discord.Client(
        intents=intents,
        http_trace=make_audit_trace(audit),
        max_ratelimit_timeout=DISCORD_MAX_RATELIMIT_WAIT_S,
    )
    try:
        await client.login(endpoints.discord_token)
    except discord.LoginFailure as exc:
        await client.close()
        raise StartupError("Discord refused the bot token: check DISCORD_TOKEN") from exc
    except Exception as exc:
        # A network error or a 5xx: close the client's HTTP session, and say where we looked.
        await client.close()
        raise StartupError(
            f"cannot reach Discord ({discord.http.Route.BASE}): {str(exc) or type(exc).__name__}"
        ) from exc
    except BaseException:
        await client.close()
        raise
    stack.push_async_callback(client.close)
    return client
