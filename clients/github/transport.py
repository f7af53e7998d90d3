"""The audited transport under PyGithub: one audit row per HTTP request, written before it returns.

PyGithub lets a program replace its connection classes (`Requester.injectConnectionClasses`);
ours are its own requests-based classes with `getresponse` wrapped. That hook is process-wide,
so the gateway says which sink and loop a request belongs to through a context variable set on
its worker thread; a PyGithub call made outside a gateway passes through unrecorded.

Recording here, below every PyGithub method, means nothing a step does can escape the log:
hidden GETs of lazy objects and installation-token refreshes are rows too.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import Future
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from github.Requester import (
    HTTPRequestsConnectionClass,
    HTTPSRequestsConnectionClass,
    Requester,
    RequestsResponse,
)

from provisioning.audit_context import AuditContext, HttpExchange, current_context

PLATFORM = "github"
REDACTED = "[redacted]"
_SECRET_NAME = re.compile(
    r"(^|[_-])(token|secret|key|password|passphrase|authorization|credentials?|jwt|pem)s?($|[_-])",
    re.IGNORECASE,
)
_MAX_STRING = 80
_MAX_ITEMS = 10
_MAX_DEPTH = 3

ExchangeHandler = Callable[
    [HttpExchange, AuditContext, Mapping[str, str]], Coroutine[Any, Any, None]
]


@dataclass(frozen=True)
class TransportBinding:
    """Where the requests of one gateway call report to."""

    loop: asyncio.AbstractEventLoop
    loop_thread: int
    # Awaited on the loop for every exchange: the gateway observes headers, then the sink writes.
    on_exchange: ExchangeHandler
    # The API prefix of the base URL (`/api/v3` on the sandbox and GHES, empty on github.com).
    prefix: str
    # The audit writes of this call's requests, awaited on the loop before the call returns.
    delivered: list[Future[None]] = field(default_factory=list)
    # Told (on the worker thread) the `time.perf_counter()` at which a request is about to
    # leave: the gateway records a write's send for the governor as it happens.
    on_send: Callable[[float], None] | None = None


binding: ContextVar[TransportBinding | None] = ContextVar("github_transport", default=None)


def install() -> None:
    """Make PyGithub open our connections; idempotent. Call before constructing `Github`."""
    Requester.injectConnectionClasses(AuditedHTTPConnection, AuditedHTTPSConnection)
    # Injecting also turns PyGithub's connection reuse off (its tests want a fresh connection
    # per request): every request then paid a new TCP (and TLS) handshake and a new requests
    # Session. Reuse is safe here, each Requester runs on one thread (worker.py's lanes).
    Requester._Requester__persist = True  # type: ignore[attr-defined]  # no public switch


class AuditedHTTPConnection(HTTPRequestsConnectionClass):
    def getresponse(self) -> RequestsResponse:
        return _audited(self.verb, self.url, self.input, super().getresponse)


class AuditedHTTPSConnection(HTTPSRequestsConnectionClass):
    def getresponse(self) -> RequestsResponse:
        return _audited(self.verb, self.url, self.input, super().getresponse)


def _audited(
    verb: str, url: str, body: Any, send: Callable[[], RequestsResponse]
) -> RequestsResponse:
    bound = binding.get()
    if bound is None:
        return send()
    if threading.get_ident() == bound.loop_thread:
        # Waiting for the loop from the loop's own thread would hang forever.
        raise RuntimeError("PyGithub must run on the gateway's worker thread, not the loop")
    path, query = _split(url, bound.prefix)
    summary = request_summary(verb, path, query, body)
    started = time.perf_counter()
    if bound.on_send is not None:
        bound.on_send(started)
    try:
        response = send()
    except Exception as exc:
        exchange = HttpExchange(
            platform=PLATFORM,
            method=verb,
            path=path,
            status=None,
            duration_ms=_ms(started),
            request_summary=summary,
            error=f"{type(exc).__name__}: {exc}"[:500],
            sent_perf=started,
        )
        _deliver(bound, exchange, {})
        raise
    headers = {str(k).lower(): str(v) for k, v in response.headers.items()}
    # Only a creation's id and an error's message are read from the answer: decoding every
    # answer (PyGithub decodes it again) cost CPU on each of the hundreds of reads.
    payload = _json(response) if verb == "POST" or response.status >= 400 else None
    exchange = HttpExchange(
        platform=PLATFORM,
        method=verb,
        path=path,
        status=response.status,
        duration_ms=_ms(started),
        request_summary=summary,
        request_id=headers.get("x-github-request-id"),
        rate_limit={k: v for k, v in headers.items() if k.startswith("x-ratelimit-")} or None,
        external_id=_created_id(verb, response.status, payload),
        error=_error(response.status, payload),
        sent_perf=started,
    )
    _deliver(bound, exchange, headers)
    return response


def _deliver(bound: TransportBinding, exchange: HttpExchange, headers: Mapping[str, str]) -> None:
    # `current_context()` is read here, on the worker thread, which runs in a copy of the
    # caller's contextvars. Not waited for here: the thread is free for the next request (a
    # write must leave on its slot, not after the previous one's audit commit); the gateway
    # awaits `delivered` before the call returns to the step, so every row is still written
    # before its call returns.
    coroutine = bound.on_exchange(exchange, current_context(), headers)
    bound.delivered.append(asyncio.run_coroutine_threadsafe(coroutine, bound.loop))


def _split(url: str, prefix: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    path = parts.path
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        path = path[len(prefix) :] or "/"
    return path, parts.query


def request_summary(verb: str, path: str, query: str, body: Any) -> dict[str, Any]:
    """Method, path, query and body, small and with anything secret-looking redacted."""
    summary: dict[str, Any] = {"method": verb, "path": path}
    if query:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        summary["query"] = {k: REDACTED if _SECRET_NAME.search(k) else v for k, v in pairs}
    if body is not None:
        decoded: Any = body
        if isinstance(body, bytes | str):
            try:
                decoded = json.loads(body)
            except ValueError:
                decoded = f"<{len(body)} bytes>"
        summary["body"] = summarize(decoded)
    return summary


def summarize(value: Any, depth: int = 0) -> Any:
    """Keys and small scalars; long strings become their length, deep structures a count."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= _MAX_STRING else f"<{len(value)} chars>"
    if depth >= _MAX_DEPTH:
        return f"<{type(value).__name__}>"
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if _SECRET_NAME.search(str(k)) else summarize(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        items = [summarize(v, depth + 1) for v in value[:_MAX_ITEMS]]
        if len(value) > _MAX_ITEMS:
            items.append(f"<{len(value) - _MAX_ITEMS} more>")
        return items
    return f"<{type(value).__name__}>"


def _json(response: RequestsResponse) -> Any:
    if "json" not in str(response.headers.get("content-type", "")):
        return None
    try:
        return json.loads(response.read())
    except ValueError:
        return None


def _created_id(verb: str, status: int, payload: Any) -> str | None:
    # Only creations: an id in a GET answer is not something this call produced. Git objects
    # have a sha instead of an id.
    if verb != "POST" or status not in (200, 201) or not isinstance(payload, Mapping):
        return None
    for key in ("id", "sha"):
        if isinstance(payload.get(key), int | str) and not isinstance(payload.get(key), bool):
            return str(payload[key])
    return None


def _error(status: int, payload: Any) -> str | None:
    if status < 400:
        return None
    if isinstance(payload, Mapping) and payload.get("message"):
        return str(payload["message"])[:500]
    return f"HTTP {status}"


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
