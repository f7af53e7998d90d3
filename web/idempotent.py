"""The ``Idempotency-Key`` contract of the mutating routes: replay the first answer, never redo
the work.

One decorator, ``idempotent``, carries it for every route that takes a key: handlers only hand
their service a ``within`` hook built by ``Remember``, and never see a key, a store or a session.
The answer commits in the transaction that does the work it reports: a crash after the commit
leaves the answer to replay, a crash before it leaves neither, so a retried request never sees
its own course as a 409 conflict.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy.ext.asyncio import AsyncSession

from db.idempotency import IdempotencyKeyRacedError, IdempotencyStore, StoredResponse
from provisioning.errors import ProvisioningError
from web.body import JsonBody, read_json
from web.problems import domain_problem, problem_response
from web.responses import json_response
from web.services import API_TOKEN, SERVICES

IDEMPOTENCY_HEADER = "Idempotency-Key"

T = TypeVar("T")

# Printable ASCII, no spaces: what clients generate (UUIDs, hashes), and all a header can carry
# safely (aiohttp hands other bytes over as lone surrogates, which no database can store).
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def idempotency_key(request: web.Request) -> str | None:
    """The request's key, if it sent one; 400 for an empty, overlong or non-ASCII key."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not _KEY.fullmatch(key):
        raise web.HTTPBadRequest(
            text=f"{IDEMPOTENCY_HEADER} must be 1 to 255 printable ASCII characters, e.g. a UUID"
        )
    return key


class Remember(Protocol):
    """Given how a handler renders a service's result, the hook that stores that answer inside
    the service's transaction; None for a request without a key (nothing to store)."""

    def __call__(
        self, render: Callable[[T], web.Response], course_id: Callable[[T], str], /
    ) -> Callable[[AsyncSession, T], Awaitable[None]] | None: ...


def _remember_nothing(
    render: Callable[[T], web.Response], course_id: Callable[[T], str], /
) -> Callable[[AsyncSession, T], Awaitable[None]] | None:
    return None


@dataclass(frozen=True)
class IdempotentRequest:
    """One keyed request: its scope (token, key), and what identifies its body and target."""

    store: IdempotencyStore
    token_id: int
    key: str
    method: str
    path: str
    request_hash: str

    @classmethod
    def of(
        cls, request: web.Request, store: IdempotencyStore, token_id: int, key: str, raw: bytes
    ) -> IdempotentRequest:
        return cls(
            store=store,
            token_id=token_id,
            key=key,
            method=request.method,
            path=request.path,
            request_hash=hashlib.sha256(raw).hexdigest(),
        )

    def _answer(self, status: int, body: str, course_id: str | None) -> StoredResponse:
        return StoredResponse(
            request_hash=self.request_hash,
            method=self.method,
            path=self.path,
            status=status,
            body=body,
            course_id=course_id,
        )

    async def lookup(self) -> StoredResponse | None:
        """The answer stored by an earlier request with this key, if any."""
        return await self.store.lookup(self.token_id, self.key)

    async def remember_within(
        self, session: AsyncSession, status: int, body: str, course_id: str | None
    ) -> None:
        """Store the answer in the transaction that does the work it reports."""
        await self.store.add(
            session, self.token_id, self.key, self._answer(status, body, course_id)
        )

    def within(
        self, render: Callable[[T], web.Response], course_id: Callable[[T], str], /
    ) -> Callable[[AsyncSession, T], Awaitable[None]]:
        """The ``Remember`` of a keyed request: store ``render(result)`` with the work."""

        async def remember(session: AsyncSession, result: T) -> None:
            answer = render(result)
            assert answer.text is not None
            await self.remember_within(session, answer.status, answer.text, course_id(result))

        return remember

    async def remember(self, status: int, body: str, course_id: str | None) -> StoredResponse:
        """Store an answer that changed nothing (e.g. a 409); the first stored answer wins."""
        return await self.store.save(self.token_id, self.key, self._answer(status, body, course_id))

    async def settle(
        self, request: web.Request, answer: web.Response, course_id: str | None
    ) -> web.Response:
        """Store an answer that changed nothing; if a concurrent twin of this request stored
        its own first (e.g. the 201 that made ours a 409), replay that one instead."""
        assert answer.text is not None
        first = await self.remember(answer.status, answer.text, course_id)
        if first.request_hash != self.request_hash or first.status != answer.status:
            return self.replay(request, first)
        return answer

    def replay(self, request: web.Request, stored: StoredResponse) -> web.Response:
        """The stored answer again, or 422 if the key was first used for another request."""
        if stored.request_hash != self.request_hash or stored.path != self.path:
            return problem_response(
                request,
                422,
                "Idempotency key reused",
                f"the {IDEMPOTENCY_HEADER} was first used with a different request; use a new key",
            )
        headers = {"Idempotent-Replayed": "true"}
        if stored.status == 201 and stored.course_id is not None:
            headers["Location"] = f"/courses/{stored.course_id}"
        return json_response(stored.status, stored.body, headers)


# A mutating handler under ``idempotent``: the request, its JSON body, and the ``Remember`` whose
# hook it passes to its service as ``within``.
KeyedHandler = Callable[[web.Request, JsonBody, Remember], Awaitable[web.Response]]


def _check_nothing(request: web.Request) -> None:
    """No check before the key."""


def idempotent(
    *,
    final: tuple[type[ProvisioningError], ...] = (),
    checked_first: Callable[[web.Request], object] = _check_nothing,
) -> Callable[[KeyedHandler], Handler]:
    """Give a mutating JSON handler the ``Idempotency-Key`` contract.

    In order: ``checked_first`` (e.g. a path parameter, so a malformed one is reported before
    the key or body), the key (400 if malformed), the body; then a stored answer is replayed (422
    if the key was first used with another body or path), else the handler runs and its service
    stores the answer through the hook. Domain errors of a ``final`` type changed nothing but are
    answers all the same: they are stored on their own, unless a concurrent twin stored first.
    """

    def decorate(handler: KeyedHandler) -> Handler:
        @functools.wraps(handler)
        async def keyed_handler(request: web.Request) -> web.StreamResponse:
            checked_first(request)
            key = idempotency_key(request)
            body = await read_json(request)
            if key is None:
                return await handler(request, body, _remember_nothing)
            store = request.app[SERVICES].idempotency
            keyed = IdempotentRequest.of(request, store, request[API_TOKEN].id, key, body.raw)
            stored = await keyed.lookup()
            if stored is not None:
                return keyed.replay(request, stored)
            try:
                return await handler(request, body, keyed.within)
            except final as exc:
                course_id = getattr(exc, "course_id", None)
                return await keyed.settle(
                    request,
                    domain_problem(request, exc),
                    course_id if isinstance(course_id, str) else None,
                )
            except IdempotencyKeyRacedError:
                # A concurrent request with the same key committed first; our work was rolled back.
                stored = await keyed.lookup()
                if stored is None:
                    raise
                return keyed.replay(request, stored)

        return keyed_handler

    return decorate
