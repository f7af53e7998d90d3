"""Running the product: `serve` builds it (`bot.build`) and runs it until SIGINT or SIGTERM.

`run` starts what `build` made, in this order: the web server, the slash commands and the
Discord gateway connection (unless runner-only), the scheduler tick, the listener that wakes
the runner when another process makes a step ready (PostgreSQL), and the runner last; it stops
them in reverse order.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord import app_commands

from bot.build import Product, build
from bot.errors import PartFailedError, StartupError
from bot.gil import hand_over_the_gil_often
from bot.heap import freeze_startup_heap
from bot.pace_upkeep import schedule_pruning
from bot.scheduled import stoppable
from bot.settings import Settings
from bot.shutdown import PhasedExitStack, StopClock
from cogs.course.group import install
from provisioning.github.installation_watch import CHECK_EVERY_S as INSTALLATION_CHECK_EVERY_S
from web.access_log import RedactingAccessLogger

log = logging.getLogger(__name__)
RUNNER_TICK_S = 5.0
# The reminders look for people due one every hour (they are counted in days).
REMINDERS_EVERY_S = 3600.0
# The bot's server count against the cap of unverified apps: a count read from the gateway's
# guild list costs nothing, and a course server is claimed by a person, minutes apart.
SERVER_COUNT_EVERY_S = 60.0
BOOTSTRAP_TOKEN_NAME = "bootstrap"  # noqa: S105 - the token's name, shown in the audit log

__all__ = ["PartFailedError", "StartupError", "run", "serve"]


async def serve(settings: Settings, *, runner_only: bool = False) -> None:
    """Build the product and run it until SIGINT/SIGTERM."""
    hand_over_the_gil_often()
    stop = asyncio.Event()
    clock = StopClock()

    def on_signal() -> None:
        if stop.is_set():
            # A second Ctrl+C: the operator will not wait. Steps still leased are taken over
            # when their leases expire; everything finished is already committed.
            print("second signal: exiting now", file=sys.stderr, flush=True)
            os._exit(130)
        clock.signalled()
        log.info("stopping: no new steps are taken (a second signal exits at once)")
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    async with PhasedExitStack(clock) as stack:
        product = await build(settings, stack)
        freeze_startup_heap()
        await run(product, stop, runner_only=runner_only, clock=clock)
    # The last line before the process exits: the stop test compares the exit with it.
    log.info("everything stopped, +%.3f s after the signal; exiting", clock.since())


async def _remind(product: Product) -> None:
    """The reminders' round; a failure is logged and the next round tries again."""
    try:
        await product.reminders.run(product.clock.now())
    except Exception:
        log.exception("reminders round failed")


async def _count_servers(product: Product) -> None:
    """The server-count watch's round; a failure is logged and the next round tries again."""
    try:
        await product.servers.check()
    except Exception:
        log.warning("the bot's server count could not be checked", exc_info=True)


async def _check_installations(product: Product) -> None:
    """The GitHub App installation watch's round; a failure is logged, the next round tries."""
    if product.installations is None:
        return
    try:
        await product.installations.check()
    except Exception:
        log.warning("the GitHub App's installations could not be checked", exc_info=True)


async def run(
    product: Product,
    stop: asyncio.Event,
    *,
    runner_only: bool = False,
    clock: StopClock | None = None,
) -> None:
    """Run the runner, and unless `runner_only` the web server and the bot, until `stop`."""
    settings = product.settings
    failed: list[str] = []
    async with PhasedExitStack(clock or StopClock()) as stack:
        scheduler = AsyncIOScheduler()
        scheduler.add_job(
            product.runner.wake, "interval", seconds=settings.runner_poll_s, id="runner-tick"
        )
        if not runner_only and settings.reconcile_interval_s > 0:
            # One course per run, never two runs at once: a reconcile stays within the rate
            # limits whatever the number of courses (DESIGN.md §2.8).
            scheduler.add_job(
                stoppable(product.reconcile.run_round),
                "interval",
                seconds=settings.reconcile_interval_s,
                jitter=settings.reconcile_jitter_s,
                id="reconcile",
                max_instances=1,
                coalesce=True,
            )
        if not runner_only:
            scheduler.add_job(
                stoppable(_remind),
                "interval",
                args=[product],
                seconds=REMINDERS_EVERY_S,
                id="reminders",
            )
            schedule_pruning(scheduler, product.pace_buckets)
            scheduler.add_job(
                stoppable(_count_servers),
                "interval",
                args=[product],
                seconds=SERVER_COUNT_EVERY_S,
                # The first check soon after start, not a minute later: the warning and a
                # waiting server step should not wait for the first interval after a restart.
                next_run_time=datetime.now(UTC) + timedelta(seconds=RUNNER_TICK_S),
                id="server-count",
                max_instances=1,
                coalesce=True,
            )
            if product.installations is not None:
                scheduler.add_job(
                    stoppable(_check_installations),
                    "interval",
                    args=[product],
                    seconds=INSTALLATION_CHECK_EVERY_S / settings.rate_scale,
                    id="github-installations",
                    max_instances=1,
                    coalesce=True,
                )
        scheduler.start()
        stack.callback(scheduler.shutdown, wait=False)
        if not runner_only:
            if settings.bootstrap_api_token is not None:
                try:
                    await product.tokens.register(
                        BOOTSTRAP_TOKEN_NAME, settings.bootstrap_api_token.get_secret_value()
                    )
                except ValueError as exc:
                    raise StartupError(f"BOOTSTRAP_API_TOKEN: {exc}") from exc
            await _start_web(product.web_app, settings, stack)
            tree = app_commands.CommandTree(product.discord_client)
            install(tree, product.commands)
            # A bulk overwrite of the same commands creates nothing new, so the daily limit of
            # 200 command creates (PLATFORM.md §1.11) is not spent by restarts.
            await tree.sync()
            scheduler.add_job(
                stoppable(product.course_log.post_due),
                "interval",
                seconds=RUNNER_TICK_S,
                id="course-log",
            )
            gateway_task = asyncio.create_task(
                product.discord_client.connect(reconnect=True), name="discord"
            )
            stack.push_async_callback(_cancel, gateway_task)
            _watch(gateway_task, "Discord gateway connection", stop, failed)
        if product.ready_signal is not None:
            # Before the runner, so a step made ready by another process as it starts wakes
            # it; closed after it (unwinding runs in reverse).
            product.ready_signal.start()
            stack.push_async_callback(product.ready_signal.close)
        # Started last: a start-up failure above leaves no runner waiting for a `stop` that
        # nothing would set. Unwinding sets `stop` before waiting for it, whatever the cause.
        runner_task = asyncio.create_task(product.runner.serve(stop), name="runner")
        stack.push_async_callback(_wait, runner_task)
        stack.callback(stop.set)
        _watch(runner_task, "runner", stop, failed)
        _announce(product, runner_only)
        await stop.wait()
        log.info("stopping")
    if failed:
        raise PartFailedError(f"the {' and the '.join(failed)} stopped; see the log above")


async def _start_web(app: web.Application, settings: Settings, stack: AsyncExitStack) -> None:
    runner = web.AppRunner(app, access_log_class=RedactingAccessLogger)
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


def _announce(product: Product, runner_only: bool) -> None:
    settings, endpoints = product.settings, product.endpoints
    lines = []
    if not runner_only:
        base = f"http://{settings.web_host}:{settings.web_port}"
        lines += [
            f"Status page  {base}/",
            f"REST API     {base}/courses",
            f"API docs     {base}/docs",
        ]
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
