"""`MailSandbox`: the mailbox behind the `PlatformEmulator` contract (its messages are saved,
loaded and reset with the world), plus the SMTP listener `SandboxServer` starts and stops."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox.core.emulator import Clock
from sandbox.mail.models import MailState
from sandbox.mail.receive import MailHandler, SmtpListener
from sandbox.mail.routes import add_mail_routes


class MailSandbox:
    name = "mail"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.state = MailState()
        self.on_change: Callable[[], None] | None = None
        """Called after SMTP changed the world (HTTP changes are seen by the server itself)."""
        self.host: str | None = None
        self.port: int | None = None
        self._listener = SmtpListener(MailHandler(self, clock))

    def changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    async def start_smtp(self, host: str, port: int) -> int:
        """Listen for SMTP on `host:port` (0: any free port); returns the port."""
        self.port = await self._listener.start(host, port)
        self.host = host
        return self.port

    async def stop_smtp(self) -> None:
        await self._listener.stop()

    def add_routes(self, app: web.Application) -> None:
        add_mail_routes(app, self)

    def snapshot(self) -> dict[str, Any]:
        return self.state.model_dump(mode="json")

    def restore(self, data: dict[str, Any]) -> None:
        self.state = MailState.model_validate(data)

    def reset(self) -> None:
        self.state = MailState()
