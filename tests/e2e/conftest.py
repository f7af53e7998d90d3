"""Fixtures: the product, built on the sandbox of `tests.fakes.sandbox` (GitHub and Discord on
127.0.0.1, its control API, its people)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sandbox.server import SandboxServer
from tests.e2e.harness import Product, open_product


@pytest.fixture
async def product(database_url: str, sandbox: SandboxServer) -> AsyncIterator[Product]:
    async with open_product(database_url, sandbox) as built:
        yield built
