"""The one place that composes the product: settings → engine → platforms → runner → services.

`build` makes every part and starts none: no runner loop, no web site, no gateway connection,
no scheduler (`bot.app.run` starts those). Connecting is part of building: the database engine,
the embedded sandbox in development, and the Discord REST login (the install link needs the
application id). `python -m bot`, the end-to-end tests, the benchmark and the contract scenario
all get their product from here, so the tests exercise the wiring production runs.
"""

from __future__ import annotations

import functools
from contextlib import AsyncExitStack
from dataclasses import dataclass

import discord
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.endpoints import Endpoints, load_secret_key, open_endpoints
from bot.errors import StartupError
from bot.settings import Settings
from clients.discord.audit import make_audit_trace
from clients.discord.gateway import DiscordRestGateway
from clients.github.gateway import AppCredentials, PyGithubGateway
from cogs.course import CourseCommands
from db.engine import create_engine, create_session_factory, database_reachable, schema_problem
from db.idempotency import IdempotencyStore
from db.pace_ledger import DatabasePaceLedger
from provisioning.api_tokens import ApiTokenService
from provisioning.audit import AuditLog
from provisioning.claims.codes import claim_code
from provisioning.claims.service import DatabaseClaimService
from provisioning.clock import Clock, SystemClock
from provisioning.courses.service import CourseService
from provisioning.discord.steps import executors as discord_executors
from provisioning.github.steps import executors as github_executors
from provisioning.governor import GovernorLimits, RateGovernor
from provisioning.metrics import Metrics
from provisioning.pace import MemoryPaceLedger, PaceLedger, credential_key
from provisioning.retry import RetryPolicy
from provisioning.runner import RunnerConfig, StepRunner
from web.app import create_app
from web.services import Services

# discord.py sleeps through rate limits unless told otherwise; a day-long role bucket must
# surface as an error the runner can schedule around, not a hung step (PLATFORM.md §4.3).
DISCORD_MAX_RATELIMIT_WAIT_S = 30.0


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
    github_governor: RateGovernor
    discord_governor: RateGovernor
    github: PyGithubGateway
    discord_client: discord.Client
    discord: DiscordRestGateway
    runner: StepRunner
    courses: CourseService
    claims: DatabaseClaimService
    tokens: ApiTokenService
    services: Services
    web_app: web.Application
    commands: CourseCommands
    secret: bytes

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
    audit = AuditLog(sessions, clock, metrics)
    ledger = pace_ledger(engine, clock)
    github_governor = RateGovernor(
        "github",
        GovernorLimits.github(settings.rate_scale),
        clock,
        ledger=ledger,
        credential=_github_credential_key(endpoints),
    )
    discord_governor = RateGovernor(
        "discord",
        GovernorLimits.discord(settings.rate_scale),
        clock,
        ledger=ledger,
        credential=credential_key("discord", endpoints.discord_token),
    )
    github = PyGithubGateway(
        base_url=endpoints.github_api_url,
        credentials=endpoints.github_credentials,
        governor=github_governor,
        sink=audit,
        timeout_s=settings.github_timeout_s,
    )
    stack.push_async_callback(github.aclose)
    client = await _discord_client(endpoints, audit, stack)
    discord_gateway = DiscordRestGateway(client, discord_governor)
    runner = StepRunner(
        sessions=sessions,
        executors={**github_executors(), **discord_executors()},
        github=github,
        discord=discord_gateway,
        policy=policy or RetryPolicy.scaled(settings.rate_scale),
        clock=clock,
        metrics=metrics,
        config=RunnerConfig(
            lease_s=settings.runner_lease_s, concurrency=settings.runner_concurrency
        ),
    )
    secret = load_secret_key(settings)
    courses = CourseService(sessions, clock, on_change=runner.wake)
    claims = DatabaseClaimService(sessions, secret, clock, on_change=runner.wake)
    tokens = token_service(sessions, clock)
    services = Services(
        courses=courses,
        tokens=tokens,
        idempotency=IdempotencyStore(sessions, now=clock.now),
        readiness=functools.partial(database_reachable, engine),
        audit=audit,
        metrics=functools.partial(metrics.render, sessions, (github_governor, discord_governor)),
        claim_code=functools.partial(claim_code, secret),
        application_id=discord_gateway.application_id,
    )
    commands = CourseCommands(
        claims=claims,
        courses=courses,
        claim_code=functools.partial(claim_code, secret),
        admin_role=settings.discord_admin_role,
        admin_guild_id=settings.discord_admin_guild_id,
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
        github=github,
        discord_client=client,
        discord=discord_gateway,
        runner=runner,
        courses=courses,
        claims=claims,
        tokens=tokens,
        services=services,
        web_app=create_app(services),
        commands=commands,
        secret=secret,
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


def pace_ledger(engine: AsyncEngine, clock: Clock) -> PaceLedger:
    """Where the governors keep each credential's pace: in the database when several
    processes may share it (PostgreSQL), in memory on SQLite (one process)."""
    if engine.dialect.name == "postgresql":
        return DatabasePaceLedger(engine)
    return MemoryPaceLedger(clock)


def _github_credential_key(endpoints: Endpoints) -> str:
    credentials = endpoints.github_credentials
    if isinstance(credentials, AppCredentials):
        # One installation, one set of limits, whatever token it currently holds.
        identity = f"app:{credentials.app_id}:{credentials.installation_id}"
    else:
        identity = credentials.token
    # The API URL too: the same token string on two servers is two credentials.
    return credential_key("github", f"{endpoints.github_api_url} {identity}")


def token_service(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> ApiTokenService:
    """The API tokens, for the product and for `python -m bot token` alone."""
    return ApiTokenService(sessions, clock)


async def _discord_client(
    endpoints: Endpoints, audit: AuditLog, stack: AsyncExitStack
) -> discord.Client:
    client = discord.Client(
        intents=discord.Intents.default(),
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
