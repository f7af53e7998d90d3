"""A test middleware keeping every API request's method, path, query and full JSON body."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

# Where each emulator's API lives on the sandbox server; control routes are not recorded.
PREFIXES = {"/api/v3": "github", "/api/v10": "discord"}
NO_BODY = object()
"""A request or response without a body (distinct from a JSON `null`)."""


@dataclass(frozen=True)
class Captured:
    platform: str
    method: str
    path: str
    """The path inside the API (without the `/api/vN` prefix)."""
    query: dict[str, str]
    accept: str
    content_type: str
    body: Any
    status: int
    response: Any


def _json(raw: bytes | None) -> Any:
    if not raw:
        return NO_BODY
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class Capture:
    """Pass `capture.middleware` to `SandboxServer(middlewares=[...])`."""

    def __init__(self) -> None:
        self.requests: list[Captured] = []

    def of(self, platform: str) -> list[Captured]:
        return [c for c in self.requests if c.platform == platform]

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        platform = next((p for pre, p in PREFIXES.items() if request.path.startswith(pre)), None)
        if platform is None:
            return await handler(request)
        prefix = next(pre for pre, p in PREFIXES.items() if p == platform)
        # aiohttp caches the body, so the handler still reads it after us.
        raw = await request.read() if request.body_exists else b""
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # raised answers are answers too
            response = exc
            self._record(platform, prefix, request, raw, response)
            raise
        self._record(platform, prefix, request, raw, response)
        return response

    def _record(
        self,
        platform: str,
        prefix: str,
        request: web.Request,
        raw: bytes,
        response: web.StreamResponse,
    ) -> None:
        body = response.body if isinstance(response, web.Response) else None
        self.requests.append(
            Captured(
                platform=platform,
                method=request.method,
                path=request.path[len(prefix) :],
                query=dict(request.query),
                accept=request.headers.get("Accept", ""),
                content_type=request.content_type,
                body=_json(raw),
                status=response.status,
                response=_json(body if isinstance(body, bytes) else None),
            )
        )
