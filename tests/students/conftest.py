"""Fixtures: a real SMTP server, and the product built to send through it (on the sandbox of
`tests.fakes.sandbox`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.build import build
from provisioning.clock import Clock
from provisioning.retry import RetryPolicy
from sandbox.server import SandboxServer
from tests.browser import artifacts, browser, chromium  # noqa: F401 - fixtures
from tests.e2e.harness import Product, e2e_settings
from tests.students.mailbox import Mailbox

SENDER = "course-bot@example.edu"
PUBLIC_URL = "https://course-bot.example.edu"


@pytest.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    box = Mailbox(refused={"nobody@example.edu"})
    await box.start()
    yield box
    await box.stop()


@contextlib.asynccontextmanager
async def open_mailing_product(
    database_url: str,
    sandbox: SandboxServer,
    mailbox: Mailbox,
    policy: RetryPolicy,
    clock: Clock | None = None,
    **more: Any,
) -> AsyncIterator[Product]:
    """The product as `bot.build` makes it, sending its e-mail to `mailbox`."""
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": mailbox.port,
        "smtp_security": "none",
        "mail_from": SENDER,
        "public_url": PUBLIC_URL,
        **more,
    }
    settings = e2e_settings(database_url, sandbox, **values)
    async with contextlib.AsyncExitStack() as stack:
        yield Product(await build(settings, stack, policy=policy, clock=clock))


@pytest.fixture
async def product(
    database_url: str, sandbox: SandboxServer, mailbox: Mailbox
) -> AsyncIterator[Product]:
    async with open_mailing_product(database_url, sandbox, mailbox, RetryPolicy(base_s=0)) as built:
        yield built
