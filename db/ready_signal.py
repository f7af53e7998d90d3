"""Wakes this process's runner when any process makes a step ready (PostgreSQL only).

The triggers of migration 0014 send a notification on `CHANNEL` (payload: the step's platform)
from every transaction that makes a step ready; PostgreSQL delivers it at commit to every
connection that listens. `ReadySignal` listens on one connection of its own, outside the pool
(a pooled connection is handed to others between uses and would lose the LISTEN), and calls
`on_ready` (the runner's `wake`) once per burst: a step's success that readies ten dependants,
a few runners committing at once.

It outlives the database: when the connection drops (a restart, a failover, a terminated
backend) it says so once, reconnects with a capped backoff (one more line when it is back), and
wakes the runner then, since notifications sent meanwhile were lost. Without it the runner
still finds its work at its next poll; it is only slower.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

# The channel the triggers of migration 0014 notify (a copy there: migrations do not import).
CHANNEL = "steps_ready"
# What the connection is called in `pg_stat_activity`, for an operator (and the tests).
APPLICATION_NAME = "course-bot ready signal"
# asyncpg's own options among the engine's connect arguments, not server settings.
_POOL_ONLY_OPTIONS = ("prepared_statement_cache_size", "prepared_statement_name_func")

Connect = Callable[[], Awaitable[Any]]
# Told the platforms that have a step ready now; None: any platform may (notifications lost).
OnReady = Callable[[Collection[str] | None], None]


@dataclass(frozen=True)
class SignalTiming:
    """How the listener waits: bursts merged, reconnects spaced, the connection checked."""

    # Notifications this close together give one wake (a claim round takes longer anyway).
    debounce_s: float = 0.01
    # Reconnecting after a drop: first after `retry_first_s`, doubling up to `retry_max_s`.
    retry_first_s: float = 0.1
    retry_max_s: float = 5.0
    # A connection silently gone (a network cut sends no close) is found by a ping this often.
    check_s: float = 30.0
    # Connecting, a ping, and closing on shutdown wait at most this long each.
    timeout_s: float = 5.0
    close_s: float = 0.5


def engine_connect(engine: AsyncEngine) -> Connect:
    """Opens an asyncpg connection to the engine's database with the engine's own connect
    arguments (host, user, password, TLS options of the URL), outside its pool."""
    _, options = engine.dialect.create_connect_args(engine.url)
    options = {k: v for k, v in options.items() if k not in _POOL_ONLY_OPTIONS}
    server_settings = {**options.pop("server_settings", {}), "application_name": APPLICATION_NAME}

    async def connect() -> Any:
        return await asyncpg.connect(**options, server_settings=server_settings)

    return connect


class ReadySignal:
    """One LISTEN connection calling `on_ready` when a step became ready anywhere."""

    def __init__(
        self,
        connect: Connect,
        on_ready: OnReady,
        timing: SignalTiming | None = None,
    ) -> None:
        self._connect = connect
        self._on_ready = on_ready
        # The platforms notified since the last wake (the payload of each notification).
        self._platforms: set[str] = set()
        self._timing = timing or SignalTiming()
        self._task: asyncio.Task[None] | None = None
        self._connection: Any = None
        self._wake_soon: asyncio.TimerHandle | None = None
        # Counters an operator's debugger and the tests read.
        self.notifications = 0
        self.wakes = 0
        self.connects = 0
        self.failed_attempts = 0

    @classmethod
    def for_engine(
        cls, engine: AsyncEngine, on_ready: OnReady, timing: SignalTiming | None = None
    ) -> ReadySignal | None:
        """A signal on the engine's database, or None on SQLite (one process per file: the
        runner is woken in-process)."""
        if engine.dialect.name != "postgresql":
            return None
        return cls(engine_connect(engine), on_ready, timing)

    @property
    def listening(self) -> bool:
        """Whether a connection is listening now."""
        return self._connection is not None and not self._connection.is_closed()

    @property
    def backend_pid(self) -> int | None:
        """The server process of the listening connection (as `pg_stat_activity` shows it)."""
        return int(self._connection.get_server_pid()) if self.listening else None

    def start(self) -> None:
        """Listen in the background from now until `close`."""
        if self._task is None:
            self._task = asyncio.create_task(self._serve(), name="ready-signal")

    async def close(self) -> None:
        """Stop listening and close the connection (at most `close_s`: it is shutdown time)."""
        if self._wake_soon is not None:
            self._wake_soon.cancel()
            self._wake_soon = None
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self._drop()

    async def _serve(self) -> None:
        retry_s = self._timing.retry_first_s
        failures = 0
        while True:
            try:
                await self._listen()
            except Exception as exc:  # refused, unknown host, shutting down, a bad password
                await self._drop()
                self.failed_attempts += 1
                if failures == 0:
                    # Once per outage: a database down for minutes must not flood the log.
                    log.warning(
                        "cannot listen for ready steps (%s); retrying, up to every %.0f s "
                        "(meanwhile the runner finds new work at its poll)",
                        type(exc).__name__,
                        self._timing.retry_max_s,
                    )
                failures += 1
                await asyncio.sleep(retry_s)
                retry_s = min(retry_s * 2, self._timing.retry_max_s)
                continue
            if failures:
                log.info("listening for ready steps again after %d failed attempts", failures)
            elif self.connects == 1:
                log.info("listening for ready steps: runners in other processes wake this one")
            else:
                log.info("listening for ready steps again")
            if self.connects > 1:
                # Notifications sent while nobody listened are lost: look for work now.
                self._wake(everything=True)
            failures, retry_s = 0, self._timing.retry_first_s
            await self._watch()
            log.warning("the connection listening for ready steps was lost; reconnecting")
            await self._drop()

    async def _listen(self) -> None:
        connection = await asyncio.wait_for(self._connect(), self._timing.timeout_s)
        try:
            await asyncio.wait_for(
                connection.add_listener(CHANNEL, self._notified), self._timing.timeout_s
            )
        except BaseException:
            connection.terminate()
            raise
        # Only now `listening`: a notification committed from here on reaches it.
        self._connection = connection
        self.connects += 1

    async def _watch(self) -> None:
        """Return when the connection is gone: closed by the server (the termination
        callback), or found dead by a ping."""
        connection = self._connection
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        while not lost.is_set() and not connection.is_closed():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), self._timing.check_s)
                return
            try:
                await asyncio.wait_for(connection.execute("SELECT 1"), self._timing.timeout_s)
            except Exception:  # whatever broke it, this connection hears nothing more
                return

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None or connection.is_closed():
            return
        try:
            await asyncio.wait_for(connection.close(), self._timing.close_s)
        except Exception:  # a server that does not answer the goodbye: just hang up
            connection.terminate()

    def _notified(self, _connection: Any, _pid: int, _channel: str, platform: str) -> None:
        self.notifications += 1
        log.debug("a step became ready", extra={"platform": platform})
        self._platforms.add(platform)
        if self._wake_soon is None:
            loop = asyncio.get_running_loop()
            self._wake_soon = loop.call_later(self._timing.debounce_s, self._wake)

    def _wake(self, *, everything: bool = False) -> None:
        if self._wake_soon is not None:
            self._wake_soon.cancel()
            self._wake_soon = None
        platforms, self._platforms = self._platforms, set()
        self.wakes += 1
        self._on_ready(None if everything else platforms)
