"""The sandbox HTTP server: one aiohttp app serving every emulator plus the common control API.

Common control routes (JSON unless noted):
- `GET /_sandbox/requests?since=&method=&path=&platform=&status=&limit=` →
  `{"requests": [{seq, time, platform, method, path, query, status, outcome, request_id, body,
  duration_ms}], "cursor": N}`; pass `cursor` back as `since` to see only newer requests.
- `POST /_sandbox/faults` with a `FaultRule` (`kind`: status | rate_limit | reset | timeout |
  latency | apply_then_fail; `platform`, `method`, `path` glob or `path_regex` on the path inside
  the API, `count`, `probability`, `status`, `delay`, `retry_after`) → 201 rule with `id`;
  `GET /_sandbox/faults`; `DELETE /_sandbox/faults[/{id}]` → 204.
- `POST /_sandbox/reset[?journal=1]`, `POST /_sandbox/save` / `POST /_sandbox/load` with an
  optional `{"path": ...}` (default: the `--state` file); `GET /_sandbox/` is the HTML overview.
Each emulator adds its own routes under `/_sandbox/<name>/` (see `sandbox/github/control.py`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from aiohttp import web
from aiohttp.typedefs import Middleware

from sandbox.core.control import add_control_routes, load_file, save_file
from sandbox.core.emulator import Clock, PlatformEmulator, SystemClock
from sandbox.core.faults import FaultInjector, add_fault_routes
from sandbox.core.journal import Journal
from sandbox.discord import DiscordSandbox
from sandbox.github import GitHubSandbox

log = logging.getLogger(__name__)

EMULATORS = web.AppKey("sandbox_emulators", list[PlatformEmulator])
JOURNAL = web.AppKey("sandbox_journal", Journal)
FAULTS = web.AppKey("sandbox_faults", FaultInjector)


def default_emulators(clock: Clock, rate_scale: float = 1.0) -> list[PlatformEmulator]:
    """GitHub and Discord, on one clock, their documented limits sped up by `rate_scale`."""
    return [
        GitHubSandbox(clock, rate_scale=rate_scale),
        DiscordSandbox(clock, rate_scale=rate_scale),
    ]


def create_sandbox_app(
    emulators: Sequence[PlatformEmulator],
    clock: Clock,
    *,
    state_path: Path | None = None,
    fault_seed: int | None = None,
    middlewares: Sequence[Middleware] = (),
) -> web.Application:
    """Build the app: journal and fault middlewares wrap every emulator's routes.

    `middlewares` run inside the fault layer (tests use it to record full bodies).
    """
    journal = Journal(clock)
    injector = FaultInjector(seed=fault_seed)
    # The journal is outermost so it also records what the fault layer did.
    app = web.Application(middlewares=[journal.middleware(), injector.middleware(), *middlewares])
    app[EMULATORS] = list(emulators)
    app[JOURNAL] = journal
    app[FAULTS] = injector
    add_control_routes(app, emulators, journal, injector, state_path)
    add_fault_routes(app, injector)
    for emulator in emulators:
        emulator.add_routes(app)

    async def on_shutdown(app: web.Application) -> None:
        injector.release_hangs()

    app.on_shutdown.append(on_shutdown)
    return app


class SandboxServer:
    """Runs the sandbox on 127.0.0.1 inside the current event loop (`async with`)."""

    def __init__(
        self,
        emulators: Sequence[PlatformEmulator] | None = None,
        *,
        clock: Clock | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        rate_scale: float = 1.0,
        state_path: Path | None = None,
        fault_seed: int | None = None,
        middlewares: Sequence[Middleware] = (),
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.emulators = (
            list(emulators)
            if emulators is not None
            else default_emulators(self.clock, rate_scale=rate_scale)
        )
        self.host = host
        self.port = port
        self.state_path = state_path
        self.app = create_sandbox_app(
            self.emulators,
            self.clock,
            state_path=state_path,
            fault_seed=fault_seed,
            middlewares=middlewares,
        )
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def github_api_url(self) -> str:
        return f"{self.base_url}/api/v3"

    @property
    def discord_api_url(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def journal(self) -> Journal:
        return self.app[JOURNAL]

    @property
    def faults(self) -> FaultInjector:
        return self.app[FAULTS]

    def emulator(self, name: str) -> PlatformEmulator:
        for e in self.emulators:
            if e.name == name:
                return e
        raise KeyError(name)

    async def start(self) -> None:
        if self.state_path is not None and self.state_path.exists():
            load_file(self.emulators, self.state_path)
            log.info("sandbox state loaded", extra={"path": str(self.state_path)})
        # A short shutdown timeout: hanging fault handlers are released on shutdown anyway.
        self._runner = web.AppRunner(self.app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            # Port 0 lets the OS pick; read back what it picked so the URLs are right.
            self.port = int(self._runner.addresses[0][1])
        log.info("sandbox listening", extra={"url": self.base_url})

    async def stop(self) -> None:
        if self._runner is None:
            return
        if self.state_path is not None:
            with contextlib.suppress(OSError):
                save_file(self.emulators, self.state_path)
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
