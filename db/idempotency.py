"""Stored first answers of mutating requests that carried an ``Idempotency-Key``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import IdempotencyKey

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredResponse:
    """The first answer given for one (token, key)."""

    request_hash: str
    method: str
    path: str
    status: int
    body: str
    course_id: str | None


class IdempotencyKeyRacedError(Exception):
    """Another request stored an answer under the same token and key first; replay that one."""

    def __init__(self, token_id: int, key: str) -> None:
        super().__init__(f"idempotency key already stored for token {token_id}")
        self.token_id = token_id
        self.key = key


def _stored(row: IdempotencyKey) -> StoredResponse:
    return StoredResponse(
        request_hash=row.request_hash,
        method=row.method,
        path=row.path,
        status=row.response_status,
        body=row.response_body,
        course_id=row.course_id,
    )


class IdempotencyStore:
    """Keys are scoped per API token, so two clients can never see each other's answers."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], now: Callable[[], datetime]
    ) -> None:
        self._sessions = session_factory
        # The product clock's `now` (pass `clock.now`): a bare callable, because db/ never
        # imports provisioning/, where the Clock protocol lives.
        self._now = now

    async def lookup(self, token_id: int, key: str) -> StoredResponse | None:
        """The stored answer for this token and key, if any."""
        async with self._sessions() as session:
            row = await session.get(IdempotencyKey, (token_id, key))
        return None if row is None else _stored(row)

    def _row(self, token_id: int, key: str, response: StoredResponse) -> IdempotencyKey:
        return IdempotencyKey(
            token_id=token_id,
            key=key,
            method=response.method,
            path=response.path,
            request_hash=response.request_hash,
            response_status=response.status,
            response_body=response.body,
            course_id=response.course_id,
            created_at=self._now(),
        )

    async def add(
        self, session: AsyncSession, token_id: int, key: str, response: StoredResponse
    ) -> None:
        """Store ``response`` in the caller's transaction, so it commits with the work it describes.

        Raises IdempotencyKeyRacedError if the key is taken; the caller's transaction is then
        unusable and must be rolled back (leaving the arrival order to the database).
        """
        session.add(self._row(token_id, key, response))
        try:
            await session.flush()
        except IntegrityError as exc:
            raise IdempotencyKeyRacedError(token_id, key) from exc

    async def save(self, token_id: int, key: str, response: StoredResponse) -> StoredResponse:
        """Store ``response`` unless a concurrent request stored one first; return the winner."""
        try:
            async with self._sessions.begin() as session:
                session.add(self._row(token_id, key, response))
        except IntegrityError:
            existing = await self.lookup(token_id, key)
            if existing is None:
                raise
            log.info("idempotency key raced; replaying the first answer")
            return existing
        return response
