"""What the join e-mail step needs from an e-mail server: one Protocol, like the platforms'.

The real implementation (`clients/smtp/`) sends with aiosmtplib and writes one audit row per
message: recipient and the server's answer, never the body (it holds the personal link).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from provisioning.audit_context import AuditContext

# Errors of the e-mail server are `PlatformError`s of this platform, with the SMTP reply code
# mapped onto HTTP's meaning: no answer 0, "try later" (4yz) 503, "refused" (5yz) 400 (not
# retried: a bounced address stays bounced until the roster changes).
PLATFORM = "email"


@dataclass(frozen=True)
class OutgoingMail:
    """One message to one person, both as plain text and as HTML."""

    to: str
    to_name: str
    subject: str
    text: str
    html: str
    # Deterministic per course, person and edition: a message sent twice after a crash
    # between the send and the commit carries one id, which mail clients deduplicate.
    message_id: str


class MailGateway(Protocol):
    """Sends one message; returns the server's final answer (e.g. `250 OK`).

    Raises `PlatformError(PLATFORM, ...)` when the server is unreachable or refuses it.
    """

    async def send(self, mail: OutgoingMail) -> str: ...


class MailAuditSink(Protocol):
    """Where a mail transport records each message it tried to send: to whom, and the answer."""

    async def record_mail(self, recipient: str, status: str, context: AuditContext) -> None: ...
