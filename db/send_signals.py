"""Wakes the writers of one process waiting for a write's send to be recorded.

Both pace ledgers (`db.pace_ledger` on PostgreSQL, `provisioning.pace.MemoryPaceLedger`) hold
the next write of an account back until the previous one's send is recorded; a writer of the
same process is woken by the record itself instead of asking the ledger again and again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable


class SendSignals:
    """Wakes the writers of this process waiting for a send on an account to be recorded."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def recorded(self, account: str) -> None:
        event = self._events.pop(account, None)
        if event is not None:
            event.set()

    async def wait(self, account: str, deadline: Awaitable[None]) -> None:
        """Until the next send on `account` is recorded, or `deadline` is over."""
        event = self._events.setdefault(account, asyncio.Event())
        waits = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(deadline)}
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
