"""The sandbox's mail server: a real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every
message it receives in the world, a mailbox page to read them, and a switch to refuse mail."""

from sandbox.mail.emulator import MailSandbox

__all__ = ["MailSandbox"]
