"""Plumbing shared by every `/api/v10` route: auth, rate limits, errors, headers, bodies."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from aiohttp import BodyPartReader, web

from sandbox.core.journal import RATE_BUCKET
from sandbox.discord.errors import DiscordError, discord_json, unauthorized
from sandbox.discord.ratelimit import Decision, RateLimiter
from sandbox.discord.state import DiscordState

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_MAJOR_PARAMS = ("guild_id", "channel_id", "webhook_id")
_INVALID_STATUSES = frozenset({401, 403, 429})
# The body stream can be read once; handlers that need files after payload_json share this.
_MULTIPART = web.RequestKey("discord_multipart", dict[str, str | bytes])


def audit_reason(request: web.Request) -> str | None:
    """`X-Audit-Log-Reason`, URL-decoded as Discord stores it."""
    raw = request.headers.get("X-Audit-Log-Reason")
    return unquote(raw) if raw else None


async def read_json(request: web.Request, *, required: bool = True) -> Any:
    """The JSON body (or `payload_json` of a multipart body); 50109 when it is not JSON."""
    if request.content_type.startswith("multipart/"):
        fields = await read_multipart(request)
        raw = fields.get("payload_json")
        return json.loads(raw) if isinstance(raw, str | bytes) and raw else {}
    text = await request.text()
    if not text:
        if required:
            raise DiscordError(400, 50109, "The request body contains invalid JSON.")
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DiscordError(400, 50109, "The request body contains invalid JSON.") from exc


async def read_multipart(request: web.Request) -> dict[str, str | bytes]:
    """Multipart fields by name; `payload_json` as text, files as bytes. Cached on the request."""
    cached: dict[str, str | bytes] | None = request.get(_MULTIPART)
    if cached is not None:
        return cached
    fields: dict[str, str | bytes] = {}
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        data = await part.read()
        fields[part.name] = data.decode() if part.filename is None else bytes(data)
    request[_MULTIPART] = fields
    return fields


def _limit_headers(decision: Decision, now: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": f"{now + decision.reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{decision.reset_after:.3f}",
        "X-RateLimit-Bucket": decision.bucket_hash,
    }


def rate_limited(
    retry_after: float, scope: str, extra: dict[str, str] | None = None
) -> web.Response:
    """A 429 discord.py honours: JSON `retry_after` and `Via` (else it assumes a Cloudflare ban)."""
    is_global = scope == "global"
    headers = {
        **(extra or {}),
        "Via": "1.1 sandbox",
        "Retry-After": str(max(1, math.ceil(retry_after))),
        "X-RateLimit-Scope": scope,
    }
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    # `code` 0 because the official RatelimitedResponse schema requires a code.
    body = {
        "code": 0,
        "message": "You are being rate limited.",
        "retry_after": round(retry_after, 3),
        "global": is_global,
    }
    return discord_json(body, 429, headers)


class Api:
    """Registers API handlers wrapped with Discord's cross-cutting behaviour."""

    def __init__(self, state: DiscordState, limiter: RateLimiter) -> None:
        self.state = state
        self.limiter = limiter

    def add(
        self,
        app: web.Application,
        method: str,
        path: str,
        handler: Handler,
        *,
        bucket: str | None = None,
        auth: bool = True,
        global_exempt: bool = False,
        bearer: bool = False,
    ) -> None:
        """Serve `method API_PREFIX+path`; `bucket` names a configured rate (else "default").

        `bearer`: a person's OAuth2 token (`Authorization: Bearer`) may call it too; the
        handler checks that token and its scopes (`sandbox/discord/oauth.py`).
        """
        bucket_id = bucket or f"{method} {path}"
        rate_name = bucket or "default"

        async def wrapped(request: web.Request) -> web.StreamResponse:
            needs_bot = auth and not (
                bearer and request.headers.get("Authorization", "").startswith("Bearer ")
            )
            response = await self._run(
                request, handler, bucket_id, rate_name, needs_bot, global_exempt
            )
            response.headers.setdefault("Via", "1.1 sandbox")
            if (
                response.status in _INVALID_STATUSES
                and response.headers.get("X-RateLimit-Scope") != "shared"
            ):
                self.limiter.record_invalid()
            return response

        app.router.add_route(method, API_PREFIX + path, wrapped)

    async def _run(
        self,
        request: web.Request,
        handler: Handler,
        bucket_id: str,
        rate_name: str,
        auth: bool,
        global_exempt: bool,
    ) -> web.StreamResponse:
        if auth and request.headers.get("Authorization") != f"Bot {self.state.config.bot_token}":
            return unauthorized().response()
        if not global_exempt:
            retry = self.limiter.take_global()
            if retry is not None:
                return rate_limited(retry, "global")
        major = ":".join(request.match_info.get(p, "") for p in _MAJOR_PARAMS)
        if "webhook_token" in request.match_info:
            major += ":" + request.match_info["webhook_token"]
        decision = self.limiter.take(bucket_id, major, rate_name)
        request[RATE_BUCKET] = [bucket_id, major]
        headers = _limit_headers(decision, self.state.clock.time())
        if not decision.allowed:
            return rate_limited(decision.reset_after, "user", headers)
        try:
            response = await handler(request)
        except DiscordError as exc:
            response = exc.response()
        for key, value in headers.items():
            response.headers[key] = value
        return response
