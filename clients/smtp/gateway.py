"""The real `MailGateway`: aiosmtplib, one connection per message, audited per message.

Each message is one audit row (`email.sent` or `email.failed`): the recipient and the server's
answer, never the subject or body, which carry the person's join link.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Literal

import aiosmtplib

from provisioning.audit_context import current_context
from provisioning.errors import PlatformError
from provisioning.students.mail import PLATFORM, MailAuditSink, OutgoingMail

log = logging.getLogger(__name__)

SmtpSecurity = Literal["none", "starttls", "tls"]


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send: the server, its security, the login and the sender."""

    host: str
    port: int
    security: SmtpSecurity
    sender: str
    sender_name: str = "Course provisioning bot"
    username: str | None = None
    password: str | None = None
    timeout_s: float = 30.0


class SmtpMailGateway:
    """Sends join e-mails over SMTP; errors become `PlatformError("email", ...)`."""

    def __init__(self, config: SmtpConfig, sink: MailAuditSink) -> None:
        self._config = config
        self._sink = sink

    async def send(self, mail: OutgoingMail) -> str:
        message = self._message(mail)
        config = self._config
        started = time.monotonic()
        try:
            _, answer = await aiosmtplib.send(
                message,
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                use_tls=config.security == "tls",
                start_tls=config.security == "starttls",
                timeout=config.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0] if exc.recipients else None
            code = refused.code if refused is not None else 550
            text = refused.message if refused is not None else str(exc)
            raise await self._failed(mail, code, text) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise await self._failed(mail, exc.code, exc.message) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise await self._failed(mail, None, str(exc) or type(exc).__name__) from exc
        await self._sink.record_mail(mail.to, f"sent: {answer}"[:300], current_context())
        log.info(
            "join e-mail sent",
            extra={"ms": int((time.monotonic() - started) * 1000), "to_domain": _domain(mail)},
        )
        return answer

    async def _failed(self, mail: OutgoingMail, code: int | None, text: str) -> PlatformError:
        answer = f"{code} {text}" if code is not None else f"no answer: {text}"
        await self._sink.record_mail(mail.to, f"failed: {answer}"[:300], current_context())
        if code is None:
            status = 0
        elif 400 <= code < 500:
            status = 503  # "try again later"
        else:
            status = 400  # refused: the address (or our message) will not do
        return PlatformError(PLATFORM, status, answer, code=code)

    def _message(self, mail: OutgoingMail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = formataddr((self._config.sender_name, self._config.sender))
        message["To"] = formataddr((mail.to_name, mail.to))
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = mail.message_id
        # Tell auto-responders and list software this is not a conversation.
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(mail.text)
        message.add_alternative(mail.html, subtype="html")
        return message


def _domain(mail: OutgoingMail) -> str:
    return mail.to.rpartition("@")[2]
