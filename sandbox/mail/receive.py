"""The SMTP side: aiosmtpd's handler that files each message in the mailbox (or refuses it
while the fault switch is on), and the listener started and stopped with the sandbox."""

from __future__ import annotations

import asyncio
import email
import logging
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Protocol

from aiosmtpd.smtp import SMTP, Envelope, Session

from sandbox.core.emulator import Clock
from sandbox.mail.models import MailMessage, MailState

log = logging.getLogger(__name__)

REFUSED = "451 4.3.0 Mail server temporarily unavailable (sandbox fault); try again later"
ACCEPTED = "250 2.0.0 Message accepted for delivery"
HOSTNAME = "mail.sandbox.localhost"  # named, so aiosmtpd does not ask the DNS for our FQDN


def _part(message: EmailMessage, subtype: str) -> str | None:
    body = message.get_body(preferencelist=(subtype,))
    if body is None or body.get_content_type() != f"text/{subtype}":
        return None
    content = body.get_content()
    return content if isinstance(content, str) else None


def parse(
    raw: bytes, envelope_from: str, rcpt_tos: list[str], peer: str, msg_id: int, now: float
) -> MailMessage:
    # SMTP carries CRLF line ends; Python's email package reads (and gives back) plain LF.
    message = email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=default_policy)
    assert isinstance(message, EmailMessage)  # the default policy makes EmailMessage objects
    return MailMessage(
        id=msg_id,
        received_at=now,
        peer=peer,
        mail_from=envelope_from,
        rcpt_tos=list(rcpt_tos),
        headers=[(k, str(v)) for k, v in message.items()],
        subject=str(message.get("Subject", "")),
        from_header=str(message.get("From", envelope_from)),
        to_header=str(message.get("To", ", ".join(rcpt_tos))),
        date_header=None if message.get("Date") is None else str(message["Date"]),
        text=_part(message, "plain"),
        html=_part(message, "html"),
        size=len(raw),
    )


class Mailbox(Protocol):
    """Where messages go: read at each message, since a reset or a load replaces the state."""

    state: MailState

    def changed(self) -> None:
        """The world changed: save it soon."""
        ...


class MailHandler:
    """aiosmtpd calls `handle_DATA` once per message, on the sandbox's event loop."""

    def __init__(self, mailbox: Mailbox, clock: Clock) -> None:
        self.mailbox = mailbox
        self.clock = clock

    @property
    def state(self) -> MailState:
        return self.mailbox.state

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        refusal = self.state.refusal
        if refusal.active:
            if refusal.remaining is not None:
                refusal.remaining -= 1
                if refusal.remaining <= 0:
                    refusal.active, refusal.remaining = False, None
            self.mailbox.changed()
            return REFUSED
        raw = envelope.original_content or b""
        state = self.state
        state.next_id += 1
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer or "")
        state.messages.append(
            parse(
                raw,
                envelope.mail_from or "",
                envelope.rcpt_tos,
                peer,
                state.next_id,
                self.clock.time(),
            )
        )
        self.mailbox.changed()
        return ACCEPTED


class SmtpListener:
    """The SMTP server on `host:port` inside the running event loop (port 0: any free one)."""

    def __init__(self, handler: MailHandler) -> None:
        self.handler = handler
        self._server: asyncio.Server | None = None
        self.port: int | None = None

    async def start(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()

        def protocol() -> SMTP:
            return SMTP(self.handler, hostname=HOSTNAME, loop=loop)

        self._server = await loop.create_server(protocol, host, port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
