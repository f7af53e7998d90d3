"""The composition root: settings → engine → gateways → services → runner → web → bot.

Everything long-lived is built here, once, and passed down through constructors; everything is
closed here, in reverse order, when SIGINT or SIGTERM arrives.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from contextlib import AsyncExitStack

import discord
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord import app_commands
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.endpoints import Endpoints, load_secret_key, open_endpoints
from bot.settings import Settings
from clients.discord.audit import make_audit_trace
from clients.discord.gateway import DiscordRestGateway
from clients.github.gateway import PyGithubGateway
from cogs.course import CourseCommands, install
from db.engine import create_engine, create_session_factory, schema_problem
from provisioning.audit import AuditLog
from provisioning.claims.codes import claim_code
from provisioning.claims.service import DatabaseClaimService
from provisioning.clock import SystemClock
from provisioning.courses.service import CourseService
from provisioning.courses.spec import CourseSpec
from provisioning.courses.views import (
    CourseRecord,
    CourseStatus,
    CourseSummary,
    CourseUpdate,
    RetryOutcome,
)
from provisioning.discord.steps import executors as discord_executors
from provisioning.github.steps import executors as github_executors
from provisioning.governor import GovernorLimits, RateGovernor
from provisioning.metrics import Metrics
from provisioning.retry import RetryPolicy
from provisioning.runner import RunnerConfig, StepRunner
from web.app import create_app
from web.services import build_services, metrics_renderer

log = logging.getLogger(__name__)
RUNNER_TICK_S = 5.0
BOOTSTRAP_TOKEN_NAME = "bootstrap"  # noqa: S105 - the token's name, shown in the audit log
# discord.py sleeps through rate limits unless told otherwise; a day-long role bucket must
# surface as an error the runner can schedule around, not a hung step (PLATFORM.md §4.3).
DISCORD_MAX_RATELIMIT_WAIT_S = 30.0


class StartupError(Exception):
    """The product cannot start as configured; the message says how to fix it."""


class PartFailedError(StartupError):
    """A long-running part (the runner, the Discord gateway) ended on its own; the process
    exits non-zero so that its supervisor restarts it."""


async def serve(settings: Settings, *, runner_only: bool = False) -> None:
    """Run until SIGINT/SIGTERM: the runner, and unless `runner_only` the web server and bot."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncExitStack() as stack:
        engine = create_engine(settings.database_url)
        stack.push_async_callback(engine.dispose)
        await _check_schema(engine)
        sessions = create_session_factory(engine)
        clock = SystemClock()
        endpoints = await open_endpoints(settings, stack)
        metrics = Metrics()
        audit = AuditLog(sessions, clock, metrics)
        github_governor = RateGovernor("github", GovernorLimits.github(settings.rate_scale), clock)
        discord_governor = RateGovernor(
            "discord", GovernorLimits.discord(settings.rate_scale), clock
        )
        github = PyGithubGateway(
            base_url=endpoints.github_api_url,
            credentials=endpoints.github_credentials,
            governor=github_governor,
            sink=audit,
        )
        stack.push_async_callback(github.aclose)
        client = await _discord_client(endpoints, audit, stack)
        secret = load_secret_key(settings)

        def course_claim_code(course_id: str) -> str:
            return claim_code(secret, course_id)

        discord_gateway = DiscordRestGateway(client, discord_governor)
        runner = StepRunner(
            sessions=sessions,
            executors={**github_executors(), **discord_executors()},
            github=github,
            discord=discord_gateway,
            policy=RetryPolicy(),
            clock=clock,
            metrics=metrics,
            config=RunnerConfig(
                lease_s=settings.runner_lease_s, concurrency=settings.runner_concurrency
            ),
        )
        scheduler = AsyncIOScheduler()
        scheduler.add_job(runner.wake, "interval", seconds=RUNNER_TICK_S, id="runner-tick")
        scheduler.start()
        stack.callback(scheduler.shutdown, wait=False)
        failed: list[str] = []
        if not runner_only:
            services = build_services(
                engine,
                on_change=runner.wake,
                audit=audit,
                metrics_render=metrics_renderer(
                    metrics, sessions, [github_governor, discord_governor]
                ),
                claim_code=course_claim_code,
                application_id=discord_gateway.application_id,
            )
            if settings.bootstrap_api_token is not None:
                try:
                    await services.tokens.register(
                        BOOTSTRAP_TOKEN_NAME, settings.bootstrap_api_token.get_secret_value()
                    )
                except ValueError as exc:
                    raise StartupError(f"BOOTSTRAP_API_TOKEN: {exc}") from exc
            await _start_web(create_app(services), settings, stack)
            courses = _WakingCourses(services.courses, runner.wake)
            claims = DatabaseClaimService(sessions, secret, clock, on_change=runner.wake)
            tree = app_commands.CommandTree(client)
            install(
                tree,
                CourseCommands(
                    claims=claims,
                    courses=courses,
                    claim_code=course_claim_code,
                    admin_role=settings.discord_admin_role,
                    admin_guild_id=settings.discord_admin_guild_id,
                ),
            )
            # A bulk overwrite of the same commands creates nothing new, so the daily limit of
            # 200 command creates (PLATFORM.md §1.11) is not spent by restarts.
            await tree.sync()
            gateway_task = asyncio.create_task(client.connect(reconnect=True), name="discord")
            stack.push_async_callback(_cancel, gateway_task)
            _watch(gateway_task, "Discord gateway connection", stop, failed)
        # Started last: a start-up failure above leaves no runner waiting for a `stop` that
        # nothing would set. Unwinding sets `stop` before waiting for it, whatever the cause.
        runner_task = asyncio.create_task(runner.serve(stop), name="runner")
        stack.push_async_callback(_wait, runner_task)
        stack.callback(stop.set)
        _watch(runner_task, "runner", stop, failed)
        _announce(settings, endpoints, runner_only)
        await stop.wait()
        log.info("stopping")
    if failed:
        raise PartFailedError(f"the {' and the '.join(failed)} stopped; see the log above")


class _WakingCourses:
    """The course service as the slash commands use it: changes wake the runner at once."""

    def __init__(self, courses: CourseService, wake: Callable[[], None]) -> None:
        self._courses = courses
        self._wake = wake

    async def status(self, course_id: str) -> CourseStatus:
        return await self._courses.status(course_id)

    async def retry(self, course_id: str, actor: str) -> RetryOutcome:
        outcome = await self._courses.retry(course_id, actor)
        self._wake()
        return outcome

    async def get(self, course_id: str) -> CourseRecord:
        return await self._courses.get(course_id)

    async def recent(self, limit: int = 10) -> list[CourseSummary]:
        return await self._courses.recent(limit)

    async def update(self, course_id: str, spec: CourseSpec, actor: str) -> CourseUpdate:
        outcome = await self._courses.update(course_id, spec, actor)
        if outcome.added or outcome.changed or outcome.unblocked:
            self._wake()
        return outcome


async def _check_schema(engine: AsyncEngine) -> None:
    problem = await schema_problem(engine)
    if problem is not None:
        raise StartupError(problem)


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


async def _start_web(app: web.Application, settings: Settings, stack: AsyncExitStack) -> None:
    runner = web.AppRunner(app)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, settings.web_host, settings.web_port)
    try:
        await site.start()
    except OSError as exc:
        raise StartupError(
            f"cannot listen on {settings.web_host}:{settings.web_port} ({exc.strerror}): "
            "set WEB_PORT to a free port"
        ) from exc


def _announce(settings: Settings, endpoints: Endpoints, runner_only: bool) -> None:
    lines = []
    if not runner_only:
        base = f"http://{settings.web_host}:{settings.web_port}"
        lines += [f"REST API     {base}/courses", f"API docs     {base}/docs"]
    if endpoints.sandbox_url:
        lines += [f"Sandbox      {endpoints.sandbox_url}/_sandbox/  (local Discord and GitHub)"]
    lines += ["Stop with Ctrl+C."]
    print("\n".join(lines), flush=True)


def _watch(task: asyncio.Task[None], what: str, stop: asyncio.Event, failed: list[str]) -> None:
    """If `task` ends before `stop` is set, or fails at all, log why and stop the process; it
    then exits non-zero. Running on without a runner or without the gateway would look healthy
    and do nothing; a supervisor restarts a process that exits."""

    def done(task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is None and stop.is_set():
            return
        why = repr(error) if error is not None else "it ended on its own"
        log.error("the %s stopped (%s); shutting down", what, why, exc_info=error)
        failed.append(what)
        stop.set()

    task.add_done_callback(done)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    # Not `await task`: a failure was logged by `_watch` and must not stop the unwinding.
    await asyncio.wait([task])


async def _wait(task: asyncio.Task[None]) -> None:
    await asyncio.wait([task])
