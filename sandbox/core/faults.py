"""Fault injection by rule: errors, rate limits, resets, hangs, latency, apply-then-fail."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import random
import re
import socket
import struct
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any, Literal

from aiohttp import web
from aiohttp.typedefs import Middleware
from pydantic import BaseModel, Field, ValidationError, model_validator

from sandbox.core.fault_responses import rate_limited, server_error
from sandbox.core.journal import FAULT_NOTE, REQUEST_ID
from sandbox.core.platforms import split_api_path

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FaultKind(StrEnum):
    STATUS = "status"
    RATE_LIMIT = "rate_limit"
    RESET = "reset"
    TIMEOUT = "timeout"
    LATENCY = "latency"
    APPLY_THEN_FAIL = "apply_then_fail"


class FaultRule(BaseModel):
    """One rule; `path` is a glob and `path_regex` a regex, both on the path inside the API."""

    id: int = 0
    kind: FaultKind
    platform: Literal["github", "discord"] | None = None
    method: str = "*"
    path: str | None = None
    path_regex: str | None = None
    count: int | None = Field(default=None, ge=1)
    probability: float = Field(default=1.0, ge=0.0, le=1.0)
    status: int | None = None
    delay: float = Field(default=0.0, ge=0.0)
    retry_after: float = Field(default=1.0, ge=0.0)
    fired: int = 0

    @model_validator(mode="after")
    def _check(self) -> FaultRule:
        if self.path_regex is not None:
            re.compile(self.path_regex)
        if self.kind is FaultKind.STATUS and self.status not in (None, 500, 502, 503, 504):
            raise ValueError("status faults answer 500, 502, 503 or 504")
        if self.kind is FaultKind.APPLY_THEN_FAIL and self.status not in (None, 0, 500, 502, 503):
            raise ValueError("apply_then_fail answers 500/502/503, or 0 to drop the connection")
        return self

    def matches(self, platform: str, method: str, path: str) -> bool:
        if self.platform and self.platform != platform:
            return False
        if self.method not in ("*", method.upper()):
            return False
        if self.path is not None and not fnmatch.fnmatchcase(path, self.path):
            return False
        return self.path_regex is None or re.search(self.path_regex, path) is not None


def drop_connection(request: web.Request) -> None:
    """Abort the TCP connection with a RST, as a crashed proxy would."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class FaultInjector:
    """Holds the rules and applies the first matching one to each `/api/*` request."""

    def __init__(self, seed: int | None = None, hang_limit: float = 300.0) -> None:
        self._rules: list[FaultRule] = []
        self._next_id = 1
        self._random = random.Random(seed)
        self._hang_limit = hang_limit
        self._closing = asyncio.Event()

    @property
    def rules(self) -> list[FaultRule]:
        return list(self._rules)

    def add(self, rule: FaultRule) -> FaultRule:
        rule = rule.model_copy(update={"id": self._next_id, "fired": 0})
        self._next_id += 1
        self._rules.append(rule)
        return rule

    def remove(self, rule_id: int) -> bool:
        before = len(self._rules)
        self._rules = [r for r in self._rules if r.id != rule_id]
        return len(self._rules) != before

    def clear(self) -> None:
        self._rules.clear()

    def release_hangs(self) -> None:
        """Let every hanging request finish (called on shutdown)."""
        self._closing.set()

    def _pick(self, platform: str, method: str, path: str) -> FaultRule | None:
        for rule in self._rules:
            if not rule.matches(platform, method, path):
                continue
            if rule.probability < 1.0 and self._random.random() >= rule.probability:
                continue
            rule.fired += 1
            if rule.count is not None and rule.fired >= rule.count:
                self._rules.remove(rule)
            return rule
        return None

    def middleware(self) -> Middleware:
        @web.middleware
        async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            split = split_api_path(request.path)
            if split is None:
                return await handler(request)
            rule = self._pick(split[0], request.method, split[1])
            if rule is None:
                return await handler(request)
            request[FAULT_NOTE] = f"fault:{rule.kind.value}#{rule.id}"
            log.info("injecting fault", extra={"rule": rule.id, "kind": rule.kind.value})
            response = await self._apply(rule, split[0], request, handler)
            if split[0] == "github" and "x-github-request-id" not in response.headers:
                # Clients log this id for audit; a proxy-made answer still carries one.
                response.headers["x-github-request-id"] = request.get(REQUEST_ID, "SANDBOX")
            return response

        return fault_middleware

    async def _apply(
        self, rule: FaultRule, platform: str, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        kind = rule.kind
        if kind is FaultKind.LATENCY:
            await self._wait(rule.delay)
            return await handler(request)
        if kind is FaultKind.STATUS:
            return server_error(platform, rule.status or 500)
        if kind is FaultKind.RATE_LIMIT:
            return rate_limited(platform, rule.retry_after, rule.status)
        if kind is FaultKind.APPLY_THEN_FAIL:
            # The real handler's answer (even a refusal) is replaced by the fault, as a proxy
            # failing after the backend finished would.
            with contextlib.suppress(web.HTTPException):
                await handler(request)
            if rule.status == 0:
                drop_connection(request)
                raise ConnectionResetError("sandbox dropped the connection after applying")
            return server_error(platform, rule.status or 502)
        if kind is FaultKind.TIMEOUT:
            await self._wait(rule.delay or self._hang_limit)
        drop_connection(request)
        raise ConnectionResetError("sandbox dropped the connection")

    async def _wait(self, seconds: float) -> None:
        # Hanging requests end early on shutdown so the server can stop promptly.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), timeout=seconds)


async def _add_fault(request: web.Request, injector: FaultInjector) -> web.Response:
    try:
        rule = FaultRule.model_validate(await request.json())
    except (ValidationError, ValueError) as exc:
        return web.json_response({"message": "invalid fault rule", "detail": str(exc)}, status=400)
    return web.json_response(injector.add(rule).model_dump(mode="json"), status=201)


def add_fault_routes(app: web.Application, injector: FaultInjector) -> None:
    """`/_sandbox/faults`: POST a rule, GET the list, DELETE all or one by id."""

    async def post(request: web.Request) -> web.Response:
        return await _add_fault(request, injector)

    async def get(request: web.Request) -> web.Response:
        return web.json_response([r.model_dump(mode="json") for r in injector.rules])

    async def delete_all(request: web.Request) -> web.Response:
        injector.clear()
        return web.Response(status=204)

    async def delete_one(request: web.Request) -> web.Response:
        found = injector.remove(int(request.match_info["rule_id"]))
        return web.Response(status=204 if found else 404)

    app.router.add_post("/_sandbox/faults", post)
    app.router.add_get("/_sandbox/faults", get)
    app.router.add_delete("/_sandbox/faults", delete_all)
    app.router.add_delete(r"/_sandbox/faults/{rule_id:\d+}", delete_one)


def rules_json(injector: FaultInjector) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json") for r in injector.rules]
