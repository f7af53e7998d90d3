"""The course page's live stream: the first event carries the page's live part, and an open
stream never holds up the server's shutdown."""

from __future__ import annotations

import asyncio
import time

from tests.web.conftest import Client, create_course
from tests.web.pages.helpers import lab_course, sign_in


async def test_a_live_stream_sends_the_page_and_ends_with_the_server(
    client: Client, token: str, auth: dict[str, str]
) -> None:
    """The stream's first event is the rendered state; closing the server while a browser
    holds the stream open takes well under aiohttp's 60-second grace period."""
    course_id = await create_course(client, auth, lab_course())
    await sign_in(client, token)
    stream = await client.get(f"/app/courses/{course_id}/events")
    assert stream.status == 200
    assert stream.content_type == "text/event-stream"
    first = b""
    while b"\r\n\r\n" not in first:  # aiohttp-sse ends lines with CRLF, as SSE allows
        first += await asyncio.wait_for(stream.content.readany(), 10)
    assert first.startswith(b"event: status\r\n")
    assert b'data-state="pending"' in first

    started = time.monotonic()
    await asyncio.wait_for(client.server.close(), 20)
    assert time.monotonic() - started < 5
