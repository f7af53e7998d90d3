"""The ``Idempotency-Key`` contract of POST /courses: replay the first answer, never redo the work.

A created course and its stored answer commit in one transaction: a crash after the commit
leaves the answer to replay, a crash before it leaves neither, so a retried request never sees
its own course as a 409 conflict.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from db.idempotency import IdempotencyStore, StoredResponse
from web.problems import problem_response
from web.responses import json_response

IDEMPOTENCY_HEADER = "Idempotency-Key"


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

    async def remember(self, status: int, body: str, course_id: str | None) -> StoredResponse:
        """Store an answer that changed nothing (e.g. a 409); the first stored answer wins."""
        return await self.store.save(self.token_id, self.key, self._answer(status, body, course_id))

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
