"""Pace accounts: where the spacing of one credential's calls is kept, for every process.

A platform limits a credential, not a process: two runners sharing a GitHub token must write a
second apart together, and every process sharing a Discord bot token stays under its global
rate together. So the spacing the governor enforces lives in a ledger of accounts, one per
credential and kind of call, each a "next free slot" time: reserving moves the account's slot
on by the spacing and says how long the caller waits for the slot it got. On SQLite (one
process) the ledger is this module's memory; on PostgreSQL it is a table every process
reserves from with one atomic statement (`db/pace_ledger.py`).
"""

from __future__ import annotations

import hashlib
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from provisioning.clock import Clock


class PaceLedger(Protocol):
    """Reserves call slots on named accounts; the waits it returns are in seconds from now."""

    async def reserve(self, account: str, interval_s: float) -> float:
        """Take the account's next slot (no earlier than now) and move it on by `interval_s`;
        how long to wait for the slot taken."""
        ...

    async def hold(self, account: str, seconds: float) -> None:
        """No slot of the account before `seconds` from now (a limit met: hold everyone)."""
        ...


class MemoryPaceLedger:
    """The ledger of a single process (SQLite deployments, tests of one part)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._next: dict[str, float] = {}

    async def reserve(self, account: str, interval_s: float) -> float:
        now = self._clock.monotonic()
        start = max(now, self._next.get(account, now))
        self._next[account] = start + interval_s
        return start - now

    async def hold(self, account: str, seconds: float) -> None:
        until = self._clock.monotonic() + seconds
        self._next[account] = max(self._next.get(account, until), until)


def credential_key(platform: str, secret: str) -> str:
    """The name of a credential in the ledger: the platform and a hash, never the secret (the
    ledger is a table anyone with database access reads)."""
    return f"{platform}:{hashlib.sha256(secret.encode()).hexdigest()[:24]}"


@dataclass
class PaceWait:
    """Whether a step is waiting for its pace right now (set by the governor while it sleeps).

    A stopping runner cancels such a step at once (nothing was sent; it is handed back), while
    a step with a call in flight gets a moment to finish it.
    """

    waiting: bool = False


# Set by the runner around each step's task; the governor marks it while the step waits.
current_wait: ContextVar[PaceWait | None] = ContextVar("pace_wait", default=None)
