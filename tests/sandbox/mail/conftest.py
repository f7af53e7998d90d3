"""Fixtures: the whole sandbox (with its SMTP server) on 127.0.0.1, saving to a temporary file,
and a way to send mail to it the way the product will (aiosmtplib)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import aiosmtplib
import pytest

from sandbox.core.clock import ManualClock
from sandbox.server import SandboxServer
from tests.browser import artifacts, browser, chromium  # noqa: F401 - fixtures


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "sandbox.json"


@pytest.fixture
async def sandbox(state_file: Path) -> AsyncIterator[SandboxServer]:
    async with SandboxServer(
        clock=ManualClock(1_767_225_600.0), state_path=state_file, save_interval=0
    ) as server:
        yield server


@pytest.fixture
async def control(sandbox: SandboxServer) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {**sandbox.control_headers, "Content-Type": "application/json"}
    async with aiohttp.ClientSession(sandbox.base_url, headers=headers) as session:
        yield session


def message(
    to: str = "student@example.edu",
    subject: str = "Join CS 101",
    text: str | None = "Hello,\nyour link: http://127.0.0.1:8080/join/abc?x=1&y=2\n",
    html: str | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Course Bot <course-bot@example.edu>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = "Thu, 01 Jan 2026 00:00:00 +0000"
    if text is not None:
        msg.set_content(text)
    if html is not None:
        if text is None:
            msg.set_content(html, subtype="html")
        else:
            msg.add_alternative(html, subtype="html")
    return msg


async def send(sandbox: SandboxServer, msg: EmailMessage) -> None:
    await aiosmtplib.send(msg, hostname=sandbox.smtp_host, port=sandbox.smtp_port, timeout=10)
