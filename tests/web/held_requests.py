"""Requests held in flight on a real server: what saturates the load shedding deterministically.

A `HeldRequest` is a `POST /courses` whose headers and first half of the body are sent at once
and whose rest waits until `finish()`: its handler has started (authenticated, reading the body),
so it counts as in flight, and it writes nothing before the body is complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from yarl import URL

from tests.e2e.harness import until


class HeldRequest:
    """One `POST /courses` in flight until `finish()`."""

    def __init__(self, host: str, port: int, token: str, course: dict[str, Any]) -> None:
        self._address = (host, port)
        self._token = token
        self._body = json.dumps(course).encode()
        self._writer: asyncio.StreamWriter | None = None
        self._reader: asyncio.StreamReader | None = None

    async def start(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(*self._address)
        head = (
            "POST /courses HTTP/1.1\r\n"
            f"Host: {self._address[0]}:{self._address[1]}\r\n"
            f"Authorization: Bearer {self._token}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(self._body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        self._writer.write(head + self._body[: len(self._body) // 2])
        await self._writer.drain()

    async def finish(self) -> int:
        """Send the rest of the body; the answer's status."""
        assert self._reader is not None
        assert self._writer is not None
        self._writer.write(self._body[len(self._body) // 2 :])
        await self._writer.drain()
        status_line = await self._reader.readline()
        await self._reader.read()
        await self.close()
        return int(status_line.split()[1])

    async def close(self) -> None:
        """Hang up (a request never finished is abandoned, as a client that went away)."""
        if self._writer is not None and not self._writer.is_closing():
            self._writer.close()
            await self._writer.wait_closed()


@contextlib.asynccontextmanager
async def hold(
    base_url: str, token: str, courses: list[dict[str, Any]], probe: str
) -> AsyncIterator[list[HeldRequest]]:
    """One held request per course, started; enters once `probe` (a GET with the token) is
    shed, that is once the held requests fill the limit; hangs up on those left at the end."""
    url = URL(base_url)
    assert url.host is not None
    assert url.port is not None
    held = [HeldRequest(url.host, url.port, token, course) for course in courses]
    try:
        for request in held:
            await request.start()
        await _until_shed(base_url, token, probe)
        yield held
    finally:
        for request in held:
            await request.close()


async def _until_shed(base_url: str, token: str, probe: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http:

        async def shed() -> bool:
            async with http.get(f"{base_url}{probe}", headers=headers) as response:
                return response.status == 503

        await until(shed, timeout_s=10, what="the held requests to fill the limit")
