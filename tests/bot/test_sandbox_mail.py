"""In development the product learns where the sandbox takes mail, from the sandbox it starts
or from one another process runs, and mail sent there lands in the sandbox's mailbox."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import aiosmtplib
import pytest

from bot.endpoints import open_endpoints
from bot.settings import Settings
from sandbox.core.guard import SECRET_HEADER


async def test_the_product_finds_the_sandbox_mail_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the embedded sandbox keeps its world in ./data/
    async with AsyncExitStack() as stack:
        embedded = await open_endpoints(Settings(sandbox_port=0), stack)
        assert embedded.sandbox_smtp is not None
        host, port = embedded.sandbox_smtp
        assert host == "127.0.0.1"
        # A second process pointed at that sandbox gets the same address.
        assert embedded.sandbox_url is not None
        joined = await open_endpoints(
            Settings(sandbox_port=0, sandbox_url=embedded.sandbox_url), stack
        )
        assert joined.sandbox_smtp == (host, port)

        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "bot@example.edu", "ada@example.edu", "Hi"
        msg.set_content("Hello")
        await aiosmtplib.send(msg, hostname=host, port=port, timeout=10)
        secret = await asyncio.to_thread((Path("data") / "sandbox.secret").read_text)
        async with (
            aiohttp.ClientSession(headers={SECRET_HEADER: secret.strip()}) as http,
            http.get(f"{embedded.sandbox_url}/_sandbox/mail") as r,
        ):
            assert [m["subject"] for m in (await r.json())["messages"]] == ["Hi"]
