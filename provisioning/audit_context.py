"""Who is calling, for the audit rows the transports write.

The runner sets `current` around each step attempt; the HTTP transports (discord.py's trace
hooks, PyGithub's connection class) read it, so no step has to pass it along by hand. PyGithub
runs on a worker thread: its gateway copies the context into that thread.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol


@dataclass(frozen=True)
class AuditContext:
    actor: str
    course_id: str | None = None
    step_key: str | None = None
    attempt: int | None = None


RUNNER = AuditContext(actor="runner")
current: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)


def current_context() -> AuditContext:
    """The caller of the HTTP request being made; the runner when nobody set one."""
    return current.get() or RUNNER


@dataclass(frozen=True)
class HttpExchange:
    """One HTTP request to a platform and what came back (or did not: status None)."""

    platform: str
    method: str
    path: str
    status: int | None
    duration_ms: int
    request_summary: dict[str, Any]
    request_id: str | None = None
    rate_limit: dict[str, str] | None = None
    external_id: str | None = None
    error: str | None = None
    # The platform said "slow down" (a 429, or GitHub's rate-limit 403): counted in metrics.
    rate_limited: bool = False
    # `time.perf_counter()` when the request left (the transport's send): the audit row is
    # timed then, not at the answer, so the rows show when the product sent each request.
    sent_perf: float | None = None


def sent_at(exchange: HttpExchange, now: datetime) -> datetime:
    """When `exchange` left, on the clock that says `now` (read after the answer): `now` less
    the time since the send, so an injected clock still stamps the row; `now` itself when the
    transport measured no send."""
    if exchange.sent_perf is None:
        return now
    return now - timedelta(seconds=max(0.0, time.perf_counter() - exchange.sent_perf))


class HttpAuditSink(Protocol):
    """Where transports send exchanges; writes one audit row per call before returning."""

    async def record_http(self, exchange: HttpExchange, context: AuditContext) -> None: ...
