"""The process's audit sealer: chains committed audit rows soon after they are written.

Appends leave rows unsealed (`db.audit_chain`), so that no writer waits for another; this task
seals them, woken when the audit writer commits HTTP rows (`wake`) and at least every
`every_s` for the rows other transactions append (step results, claims, course changes) and
those a crashed process left behind. Wakes that come while it seals are served by one more
round after it, not one each, and rounds are at least `gap_s` apart: under load the rows of
many commits are sealed in one transaction. With several processes, one seals at a time; the
others skip their round (`seal(wait=False)`). Closing seals once more, waiting for the lock, so
a process that stops leaves its own rows sealed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import audit_chain
from db.engine import reading
from db.models import AuditEvent

log = logging.getLogger(__name__)

# How stale the chain's tail may get with no wake at all (rows of step transactions).
SWEEP_EVERY_S = 0.5
# Rounds no closer than this: a busy process seals batches of rows, not one round per commit.
MIN_GAP_S = 0.1


class AuditSealer:
    """One per process, built by the composition root; `start`, `wake`, `close`."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        every_s: float = SWEEP_EVERY_S,
        gap_s: float = MIN_GAP_S,
        on_round: Callable[[int], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._every_s = every_s
        self._gap_s = gap_s
        # Told how many rows each round sealed (tests and benchmarks wait on it).
        self._on_round = on_round
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Seal at once (what an earlier run left), then on every wake and sweep."""
        if self._task is None:
            self._task = asyncio.create_task(self._serve(), name="audit-sealer")

    def wake(self) -> None:
        """Rows were committed: seal them soon."""
        self._wake.set()

    async def close(self) -> None:
        """Stop the rounds, then seal what this process (or any) left, waiting for the lock."""
        task, self._task = self._task, None
        if task is not None:
            # Not cancelled: a round cut short in a driver call can leave its connection, and
            # on SQLite the write lock, in a state nobody cleans up. It ends after its round.
            self._stopping.set()
            self._wake.set()
            await task
        try:
            await self._round(wait=True)
        except Exception:
            # The database may be gone at shutdown; the rows stay unsealed, not lost: the next
            # sealer of any process, or a verify, chains them.
            log.warning("audit rows left unsealed at shutdown", exc_info=True)

    async def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._round(wait=False, woken=self._wake.is_set())
            except Exception:
                # A failed round (the database restarting) is retried at the next one.
                log.warning("sealing audit rows failed; retrying", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._gap_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._every_s)

    async def _round(self, *, wait: bool, woken: bool = True) -> None:
        # Cleared before sealing: a commit during the round wakes the next one.
        self._wake.clear()
        if not woken and not await self._any_unsealed():
            return
        async with self._sessions() as session:
            sealed = await audit_chain.seal(session, wait=wait)
        if self._on_round is not None:
            self._on_round(sealed)

    async def _any_unsealed(self) -> bool:
        """One indexed read (no transaction on PostgreSQL): an idle sweep costs no more."""
        async with reading(self._sessions) as session:
            found = await session.scalar(
                select(AuditEvent.id).where(AuditEvent.seq.is_(None)).limit(1)
            )
        return found is not None
