"""Fixtures: a real SMTP server, and the product built to send through it (on the sandbox of
`tests.fakes.sandbox`)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.build import build
from provisioning.clock import Clock
from provisioning.retry import RetryPolicy
from sandbox.server import SandboxServer
from tests.browser import artifacts, browser, chromium  # noqa: F401 - fixtures
from tests.e2e.harness import Product, e2e_settings
from tests.students.mailbox import Mailbox
from web.access_log import RedactingAccessLogger

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Site:
    product: Product
    url: str


@pytest.fixture
async def site(database_url: str, sandbox: SandboxServer, mailbox: Mailbox) -> AsyncIterator[Site]:
    """The product serving its pages on 127.0.0.1, its join links pointing there."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    async with open_mailing_product(
        database_url, sandbox, mailbox, RetryPolicy(base_s=0), public_url=url
    ) as product:
        # As `bot.app` runs it: with the access log that masks join links and OAuth callbacks.
        server = TestServer(product.built.web_app, host="127.0.0.1", port=port)
        await server.start_server(access_log_class=RedactingAccessLogger)
        try:
            yield Site(product, url)
        finally:
            await server.close()
