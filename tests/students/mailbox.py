"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the tests, on the test's own event loop.

It keeps every message it accepts, parsed as a person's mail client would; it can refuse some
addresses (a bounce at RCPT time), be stopped and started again on the same port (the
e-mail server down, then back), and lose its reply to the next messages it accepts (the
connection drops after the message is stored: for the sender, as if it crashed before it could
record the send).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Received:
    """One accepted message: its envelope recipients and the parsed message."""

    recipients: list[str]
    message: EmailMessage

    def part(self, content_type: str) -> str:
        found = self.message.get_body(preferencelist=(content_type.split("/")[1],))
        assert found is not None
        assert found.get_content_type() == content_type
        return str(found.get_content())


@dataclass
class _Handler:
    refused: set[str]
    received: list[Received] = field(default_factory=list)
    lose_replies: int = 0

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.lower() in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Received(list(envelope.rcpt_tos), parsed))
        if self.lose_replies > 0:
            self.lose_replies -= 1
            # Kept, but the sender never hears so: the connection drops before the reply.
            server.transport.abort()
        return "250 2.0.0 Message accepted for delivery"


class Mailbox:
    """Start with `await mailbox.start()`; `port` stays the same across restarts."""

    def __init__(self, refused: set[str] | None = None) -> None:
        self._handler = _Handler({a.lower() for a in refused or set()})
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def received(self) -> list[Received]:
        return self._handler.received

    def lose_replies(self, count: int) -> None:
        """Keep the next `count` messages but drop the connection instead of answering."""
        self._handler.lose_replies = count

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self._handler, hostname="mailbox.test"),
            host="127.0.0.1",
            port=self.port,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
