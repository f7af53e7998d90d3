"""The sandbox HTTP server: one aiohttp app serving every emulator plus the common control API.

Common control routes (JSON unless noted):
- `GET /_sandbox/requests?since=&method=&path=&platform=&status=&limit=` →
  `{"requests": [{seq, time, platform, method, path, query, status, outcome, request_id, body,
  duration_ms}], "cursor": N}`, in arrival order; pass `cursor` back as `since` to see only
  newer requests (none missed, none twice: a request still being answered holds back the
  answered ones that arrived after it until it is recorded).
- `POST /_sandbox/faults` with a `FaultRule` (`kind`: status | rate_limit | reset | timeout |
  latency | apply_then_fail; `platform`, `method`, `path` glob or `path_regex` on the path inside
  the API, `count`, `probability`, `status`, `delay`, `retry_after`) → 201 rule with `id`;
  `GET /_sandbox/faults`; `DELETE /_sandbox/faults[/{id}]` → 204.
- `POST /_sandbox/reset[?journal=1]`, `POST /_sandbox/save` / `POST /_sandbox/load` with an
  optional `{"path": "name.json"}` inside the data directory (default: the `--state` file);
  `GET /_sandbox/` is the web app a person acts in (`sandbox/console/`).
Each emulator adds its own routes under `/_sandbox/<name>/` (see `sandbox/github/control.py`).
The mail emulator (`sandbox/mail/`) also runs an SMTP server on 127.0.0.1, started and stopped
with the HTTP server (`SandboxServer.smtp_port`, `GET /_sandbox/mail/info`).

Every mutating control request needs the run's secret (`X-Sandbox-Secret`, or the cookie the
console's pages set, with their CSRF token: `sandbox/console/csrf.py`) and `application/json`:
see `sandbox/core/guard.py`. The server listens on
127.0.0.1 only; with a state file it holds a lock on it while running and saves the world
after changes (at most once per `save_interval` seconds) and on stop.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType

from aiohttp import web
from aiohttp.typedefs import Middleware

from sandbox.console.app import add_console
from sandbox.console.csrf import csrf_guard
from sandbox.core.control import add_control_routes, load_file, save_file
from sandbox.core.emulator import Clock, PlatformEmulator, SystemClock
from sandbox.core.faults import FaultInjector, add_fault_routes
from sandbox.core.guard import (
    CONTROL_SECRET,
    SECRET_HEADER,
    control_guard,
    is_loopback,
    new_secret,
)
from sandbox.core.journal import Journal
from sandbox.core.persistence import (
    Autosaver,
    SandboxStartError,
    StateLock,
    secret_file,
    write_secret,
)
from sandbox.discord import DiscordSandbox
from sandbox.github import GitHubSandbox
from sandbox.mail import MailSandbox

log = logging.getLogger(__name__)

EMULATORS = web.AppKey("sandbox_emulators", list[PlatformEmulator])
JOURNAL = web.AppKey("sandbox_journal", Journal)
FAULTS = web.AppKey("sandbox_faults", FaultInjector)
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

__all__ = ["SandboxServer", "SandboxStartError", "create_sandbox_app", "default_emulators"]


# Discord's attachment limit, base64-encoded, with room for the rest of the request.
CONTROL_BODY_MAX = 16 * 1024 * 1024


def default_emulators(clock: Clock, rate_scale: float = 1.0) -> list[PlatformEmulator]:
    """GitHub, Discord and the mailbox, on one clock, the platforms' documented limits sped up
    by `rate_scale`."""
    return [
        GitHubSandbox(clock, rate_scale=rate_scale),
        DiscordSandbox(clock, rate_scale=rate_scale),
        MailSandbox(clock),
    ]


def create_sandbox_app(
    emulators: Sequence[PlatformEmulator],
    clock: Clock,
    *,
    state_path: Path | None = None,
    fault_seed: int | None = None,
    middlewares: Sequence[Middleware] = (),
    control_secret: str | None = None,
    data_dir: Path | None = None,
    on_change: Callable[[], None] | None = None,
) -> web.Application:
    """Build the app: journal and fault middlewares wrap every emulator's routes.

    `middlewares` run inside the fault layer (tests use it to record full bodies).
    `control_secret` guards the control API (a fresh one when None); `on_change` is called
    after each request that may have changed the world.
    """
    secret = control_secret or new_secret()
    journal = Journal(clock)
    injector = FaultInjector(seed=fault_seed)
    watch = [_change_watch(on_change)] if on_change is not None else []
    # The guard runs first, so a refused control request reaches nothing (and saves nothing).
    # The journal comes after the change watch so it also records what the fault layer did.
    app = web.Application(
        middlewares=[
            control_guard(secret),
            csrf_guard(secret),
            *watch,
            journal.middleware(),
            injector.middleware(),
            *middlewares,
        ],
        # A person may upload a file up to Discord's attachment limit (10 MiB), sent as base64.
        client_max_size=CONTROL_BODY_MAX,
    )
    app[EMULATORS] = list(emulators)
    app[JOURNAL] = journal
    app[FAULTS] = injector
    app[CONTROL_SECRET] = secret
    add_control_routes(app, emulators, journal, injector, state_path, data_dir)
    add_fault_routes(app, injector)
    add_console(app, emulators, journal, injector, secret)
    for emulator in emulators:
        emulator.add_routes(app)

    async def on_shutdown(app: web.Application) -> None:
        injector.release_hangs()

    app.on_shutdown.append(on_shutdown)
    return app


def _change_watch(on_change: Callable[[], None]) -> Middleware:
    @web.middleware
    async def watch(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        finally:
            # Whatever the answer (a fault may drop the connection after the change applied).
            if request.method in MUTATING:
                on_change()

    return watch


class SandboxServer:
    """Runs the sandbox on 127.0.0.1 inside the current event loop (`async with`).

    `control_secret` (generated per run) guards the control API; send it as `control_headers`.
    With a `state_path` the world is loaded at start, saved after changes and at stop, and the
    file is locked while running. `data_dir` (default: the state file's folder) is where
    save/load paths may point and where the secret is written (`secret_path`: next to the state
    file, `data/sandbox.json` → `data/sandbox.secret`). With a mail emulator, an SMTP server
    listens on `smtp_port` (0: any free port; the one picked is read back into `smtp_port`).
    """

    def __init__(
        self,
        emulators: Sequence[PlatformEmulator] | None = None,
        *,
        clock: Clock | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        rate_scale: float = 1.0,
        state_path: Path | None = None,
        data_dir: Path | None = None,
        save_interval: float = 1.0,
        fault_seed: int | None = None,
        middlewares: Sequence[Middleware] = (),
        smtp_port: int = 0,
    ) -> None:
        if not is_loopback(host):
            raise ValueError(f"host: the sandbox listens on 127.0.0.1 only, not {host!r}")
        self.clock: Clock = clock or SystemClock()
        self.emulators = (
            list(emulators)
            if emulators is not None
            else default_emulators(self.clock, rate_scale=rate_scale)
        )
        self.host = host
        self.port = port
        self.smtp_port = smtp_port
        self.state_path = state_path
        self.data_dir = data_dir if data_dir is not None else _folder_of(state_path)
        self.control_secret = new_secret()
        self.secret_path: Path | None = None
        self._lock = StateLock(state_path) if state_path is not None else None
        self._autosaver = Autosaver(self._save, save_interval) if state_path is not None else None
        self.app = create_sandbox_app(
            self.emulators,
            self.clock,
            state_path=state_path,
            fault_seed=fault_seed,
            middlewares=middlewares,
            control_secret=self.control_secret,
            data_dir=self.data_dir,
            on_change=self._autosaver.changed if self._autosaver is not None else None,
        )
        self._runner: web.AppRunner | None = None
        self.mail = next((e for e in self.emulators if isinstance(e, MailSandbox)), None)
        if self.mail is not None and self._autosaver is not None:
            # Mail arrives by SMTP, which the HTTP change watch does not see.
            self.mail.on_change = self._autosaver.changed

    @property
    def control_headers(self) -> dict[str, str]:
        """Headers that let a client use the control API (JSON bodies still name their type)."""
        return {SECRET_HEADER: self.control_secret}

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
    def smtp_host(self) -> str:
        """Where the SMTP server listens (with `smtp_port`, once started)."""
        return self.host

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
        """Lock and load the state file, listen, write the secret; `SandboxStartError` (one
        line) when the port is taken or another sandbox uses the state file."""
        if self._lock is not None:
            self._lock.acquire(self.port)
        try:
            await self._start()
        except BaseException:
            if self.mail is not None:
                await self.mail.stop_smtp()
            if self._runner is not None:
                await self._runner.cleanup()
                self._runner = None
            if self._lock is not None:
                self._lock.release()
            raise

    async def _start(self) -> None:
        if self.state_path is not None and self.state_path.exists():
            load_file(self.emulators, self.state_path)
            log.info("sandbox state loaded", extra={"path": str(self.state_path)})
        # A short shutdown timeout: hanging fault handlers are released on shutdown anyway.
        self._runner = web.AppRunner(self.app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            why = os.strerror(exc.errno) if exc.errno else str(exc)
            raise SandboxStartError(
                f"the sandbox cannot listen on {self.host}:{self.port} ({why}): "
                "choose a free port (python -m sandbox --port, SANDBOX_PORT for the bot)"
            ) from exc
        if self.port == 0:
            # Port 0 lets the OS pick; read back what it picked so the URLs are right.
            self.port = int(self._runner.addresses[0][1])
        if self.mail is not None:
            try:
                self.smtp_port = await self.mail.start_smtp(self.host, self.smtp_port)
            except OSError as exc:
                why = os.strerror(exc.errno) if exc.errno else str(exc)
                raise SandboxStartError(
                    f"the sandbox's SMTP server cannot listen on {self.host}:{self.smtp_port} "
                    f"({why}): choose a free port (python -m sandbox --smtp-port, 0 = any)"
                ) from exc
        if self._lock is not None:
            self._lock.note(self.port)
        if self.data_dir is not None:
            self.secret_path = secret_file(self.state_path, self.data_dir, self.port)
            write_secret(self.secret_path, self.control_secret)
        log.info(
            "sandbox listening",
            extra={
                "url": self.base_url,
                "smtp": f"{self.host}:{self.smtp_port}" if self.mail is not None else "",
                "secret_file": str(self.secret_path or ""),
            },
        )

    def _save(self) -> None:
        if self.state_path is not None:
            save_file(self.emulators, self.state_path)

    async def stop(self) -> None:
        if self._runner is None:
            return
        # Saved once no request (and no mail) can change the world any more.
        if self.mail is not None:
            await self.mail.stop_smtp()
        await self._runner.cleanup()
        self._runner = None
        if self._autosaver is not None:
            self._autosaver.cancel()
        with contextlib.suppress(OSError):
            self._save()
        if self._lock is not None:
            self._lock.release()

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


def _folder_of(path: Path | None) -> Path | None:
    return path.parent if path is not None else None
