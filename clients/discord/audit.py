"""The audit hook on discord.py's transport: one audit row per HTTP attempt.

discord.py re-sends some requests by itself (5xx, resets) and answers interactions through its
webhook adapter; its `http_trace` sees every attempt, so recording here misses nothing. The same
hooks count a gateway call's attempts (`ATTEMPTS`), so the gateway knows when a create may have
landed twice, and hand the rate-limit headers to the governor.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import aiohttp
import yarl

from provisioning.audit_context import HttpAuditSink, HttpExchange, current_context
from provisioning.clock import Clock, SystemClock


@dataclass
class Attempts:
    """What the trace saw of one gateway call: discord.py may send it more than once."""

    count: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    # When the last answer arrived (`time.perf_counter`): its Reset-After counts from then,
    # not from when the gateway gets the answer back. discord.py hands a call back only after
    # its own pre-emptive wait when the answer spent the bucket (a whole window later), and
    # the answer's audit row is written first.
    received_perf: float | None = None

    def age_s(self) -> float:
        """Seconds since the last answer arrived (0 if none did)."""
        if self.received_perf is None:
            return 0.0
        return max(0.0, time.perf_counter() - self.received_perf)


# Set by `DiscordRestGateway._call` around one call; the trace hooks run in the same task.
ATTEMPTS: ContextVar[Attempts | None] = ContextVar("discord_attempts", default=None)
_API_PREFIX = re.compile(r"^/api/v\d+(?=/)")
# Path segments that are credentials: interaction and webhook tokens, invite codes.
_SECRET_SEGMENTS = (
    re.compile(r"^(/interactions/\d+/)[^/]+"),
    re.compile(r"^(/webhooks/\d+/)[^/]+"),
    re.compile(r"^(/invites/)[^/?]+"),
)
_SECRET_KEYS = frozenset({"code", "token", "access_token", "password", "secret"})
_BODY_MAX = 8192


def redact_path(path: str) -> str:
    """The API path without its version prefix and with tokens and invite codes masked."""
    path = _API_PREFIX.sub("", path)
    for pattern in _SECRET_SEGMENTS:
        path = pattern.sub(r"\1<redacted>", path)
    return path


def _summary_value(key: str, value: Any) -> Any:
    if key in _SECRET_KEYS:
        return "<redacted>"
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= 100 else f"<{len(value)} chars>"
    if isinstance(value, list) and len(value) <= 20:
        if all(isinstance(v, str | int) for v in value):
            return value
        return f"<list of {len(value)}>"
    return f"<{type(value).__name__}>"


_URL = re.compile(r"https?://[^\s'\"]+")


def describe_error(error: BaseException) -> str:
    """The error for the audit row, with any URL in its text reduced to its redacted path:
    aiohttp puts the full URL in some messages, interaction tokens and invite codes included."""
    text = _URL.sub(lambda m: redact_path(yarl.URL(m.group(0)).raw_path), str(error))
    return f"{type(error).__name__}: {text}"[:300]


def summarize_body(path: str, body: bytes) -> Any:
    """Keys and small values of a JSON body; messages sent to users only by their keys."""
    if not body:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return f"<{len(body)} bytes, not JSON>"
    keys_only = path.startswith(("/interactions/", "/webhooks/"))
    if isinstance(data, dict):
        if keys_only:
            return sorted(data)
        return {k: _summary_value(k, v) for k, v in sorted(data.items())}
    if isinstance(data, list):
        return f"<list of {len(data)}>"
    return "<scalar>"


def make_audit_trace(sink: HttpAuditSink, clock: Clock | None = None) -> aiohttp.TraceConfig:
    """A trace config that writes one `HttpExchange` per API request, answered or not.

    It sees every attempt (discord.py's own 5xx and 429 retries, interaction callbacks and
    follow-ups). Requests outside `/api/` (the gateway WebSocket, CDN downloads) are not API
    calls and are skipped. It also tells the gateway how many attempts a call took and the
    rate-limit headers of the last answer.
    """
    timer = clock or SystemClock()
    trace = aiohttp.TraceConfig()

    async def on_start(
        session: aiohttp.ClientSession,
        ctx: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        ctx.started = timer.monotonic()
        # Until the headers leave (a request that fails to connect never sends them).
        ctx.sent_perf = time.perf_counter()
        ctx.body = b""
        ctx.done = False

    async def on_headers(
        session: aiohttp.ClientSession,
        ctx: SimpleNamespace,
        params: aiohttp.TraceRequestHeadersSentParams,
    ) -> None:
        if getattr(ctx, "sent", False):
            # aiohttp re-sends an idempotent request (PUT, DELETE) once when a kept-alive
            # connection drops (RFC 9112 §9.3.1), inside the same trace span: the first attempt
            # reached the server, or may have, and got no answer. It is a request of its own.
            await record(ctx, params.method, params.url, None, {}, "connection dropped; resent")
            ctx.started = timer.monotonic()
            ctx.body = b""
        ctx.sent = True
        # The request left now: its audit row is timed here (`HttpExchange.sent_perf`).
        ctx.sent_perf = time.perf_counter()

    async def on_chunk(
        session: aiohttp.ClientSession,
        ctx: SimpleNamespace,
        params: aiohttp.TraceRequestChunkSentParams,
    ) -> None:
        if len(ctx.body) < _BODY_MAX:
            ctx.body += params.chunk

    async def finish(
        ctx: SimpleNamespace,
        method: str,
        url: yarl.URL,
        status: int | None,
        headers: Mapping[str, str],
        error: BaseException | None,
    ) -> None:
        if ctx.done:
            return
        ctx.done = True  # a failing sink must not make aiohttp report the request twice
        error_text = None if error is None else describe_error(error)
        await record(ctx, method, url, status, headers, error_text)

    async def record(
        ctx: SimpleNamespace,
        method: str,
        url: yarl.URL,
        status: int | None,
        headers: Mapping[str, str],
        error: str | None,
    ) -> None:
        if not _API_PREFIX.match(url.raw_path):
            return
        path = redact_path(url.raw_path)
        if url.raw_query_string:
            path += "?" + url.raw_query_string
        limits = {k.lower(): v for k, v in headers.items() if k.lower().startswith("x-ratelimit")}
        if "Retry-After" in headers:
            limits["retry-after"] = headers["Retry-After"]
        attempts = ATTEMPTS.get()
        if attempts is not None:
            attempts.count += 1
            attempts.headers = dict(headers)
            attempts.received_perf = time.perf_counter()
        exchange = HttpExchange(
            platform="discord",
            method=method,
            path=path,
            status=status,
            duration_ms=round((timer.monotonic() - ctx.started) * 1000),
            request_summary={
                "method": method,
                "path": path,
                "body": summarize_body(path, ctx.body),
            },
            request_id=None,
            rate_limit=limits or None,
            error=error,
            rate_limited=status == 429,
            sent_perf=ctx.sent_perf,
        )
        await sink.record_http(exchange, current_context())

    async def on_end(
        session: aiohttp.ClientSession, ctx: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        response = params.response
        await finish(ctx, params.method, params.url, response.status, response.headers, None)

    async def on_exception(
        session: aiohttp.ClientSession,
        ctx: SimpleNamespace,
        params: aiohttp.TraceRequestExceptionParams,
    ) -> None:
        await finish(ctx, params.method, params.url, None, {}, params.exception)

    trace.on_request_start.append(on_start)
    trace.on_request_headers_sent.append(on_headers)
    trace.on_request_chunk_sent.append(on_chunk)
    trace.on_request_end.append(on_end)
    trace.on_request_exception.append(on_exception)
    return trace
