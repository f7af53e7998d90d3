"""A test-only middleware keeping full request and response bodies for contract checks."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    request: Any
    response: Any


class Recorder:
    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not request.path.startswith("/api/v3"):
            return await handler(request)
        raw = await request.read() if request.body_exists else b""
        response = await handler(request)
        body = response.body if isinstance(response, web.Response) else None
        self.exchanges.append(
            Exchange(
                method=request.method,
                path=request.path[len("/api/v3") :],
                status=response.status,
                request=json.loads(raw) if raw else None,
                response=json.loads(body) if isinstance(body, bytes) and body else None,
            )
        )
        return response
