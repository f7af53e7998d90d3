"""Pace accounts: where the spacing of one credential's calls is kept, for every process.

A platform limits a credential, not a process: two runners sharing a GitHub token must write a
second apart together, and every process sharing a Discord bot token stays under its global
rate together. So the spacing the governor enforces lives in a ledger of accounts, one per
credential and kind of call, each a "next free slot" time: reserving moves the account's slot
on by the spacing and says how long the caller waits for the slot it got. On SQLite (one
process) the ledger is this module's memory; on PostgreSQL it is a table every process
reserves from with one atomic statement (`db/pace_ledger.py`).

A write's send is recorded on an account of its own (`mark`, then `sent`): the next write's
send slot is no earlier than the spacing after the moment the previous write actually left
(measured by the transport), and while a marked write has not said when it left, the next
waits for it (`SEND_HOLD_S` at most: a sender that crashed holds nobody for long).

An account can also carry a budget, "no more than N slots in any window of W seconds" (GitHub's
500 content-creating requests an hour): a slot is then also no earlier than W after the slot N
reservations back, so the spacing holds for a short run and the budget for a long one.

The buckets a platform announces in its rate-limit headers (Discord's per-route buckets,
GitHub's hourly primary limit) count every process's calls too. On PostgreSQL they are shared
rows as well (`BucketLedger`: each call is counted against its bucket before it is sent);
on SQLite the governor keeps them in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import deque
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from db.send_signals import SendSignals
from provisioning.clock import Clock

# How many seconds ago something happened, asked at the moment it is needed.
Since = Callable[[], float]


@dataclass(frozen=True)
class Budget:
    """At most `count` slots in any `window_s` seconds."""

    count: int
    window_s: float


@dataclass(frozen=True)
class BucketAnswer:
    """What one answer's rate-limit headers said about its bucket (all None: no answer)."""

    limit: int | None = None
    remaining: int | None = None
    reset_after_s: float | None = None
    retry_after_s: float | None = None


@dataclass(frozen=True)
class Slot:
    """A slot to reserve on a pace account once a bucket let the call through."""

    account: str
    interval_s: float
    budget: Budget | None = None


class BucketLedger(Protocol):
    """Buckets shared by every process sending with one credential."""

    async def take(
        self, account: str, bucket: str, slot: Slot | None = None, *, want: int = 1
    ) -> tuple[float, float, int, float]:
        """Count calls against the bucket (up to `want`, at least one) and, with them, reserve
        `slot` (one transaction): (0, the wait for the slot, how many were counted, for how
        many seconds the ones beyond the caller's may still be sent); or count nothing and
        return how long to wait before asking again (the bucket is spent, closed, or its first
        call is still learning the limit), then 0, 0, 0."""
        ...

    async def learn(self, account: str, bucket: str, answer: BucketAnswer) -> None:
        """Correct the bucket with what an answer said."""
        ...


class PaceLedger(Protocol):
    """Reserves call slots on named accounts; the waits it returns are in seconds from now."""

    @property
    def buckets(self) -> BucketLedger | None:
        """Shared buckets, or None when the governor keeps them in memory (one process)."""
        ...

    async def reserve(self, account: str, interval_s: float, budget: Budget | None = None) -> float:
        """Take the account's next slot (no earlier than now, nor than the budget allows) and
        move it on by `interval_s`; how long to wait for the slot taken."""
        ...

    async def hold(self, account: str, seconds: float) -> None:
        """No slot of the account before `seconds` from now (a limit met: hold everyone)."""
        ...

    async def mark(
        self, account: str, interval_s: float, token: str, hold_s: float
    ) -> float | None:
        """Take the account's next send slot for `token` and move it on by `interval_s`: the
        wait for the slot; or None, taking nothing, while another marked send has not said
        when it left (`sent`) and its `hold_s` has not passed: ask again shortly."""
        ...

    async def sent(self, account: str, interval_s: float, token: str, ago: Since | None) -> None:
        """The send marked `token` left `ago()` seconds ago (asked right before the ledger
        compares it with its clock, so the time on the way to the ledger is not counted): no
        send slot before then plus `interval_s`, and the account is free to mark again.
        `ago` None: it never left."""
        ...

    async def wait_sent(self, account: str, poll_s: float) -> None:
        """After `mark` returned None: wait until the send that held it back may be recorded,
        to ask again then. A send of this process wakes its waiters the moment it is recorded;
        another process's is asked after again from its slot on, every `poll_s` (asking
        every `poll_s` from the start cost eight statements a write: a third of a runner's)."""
        ...

    async def close(self) -> None:
        """On shutdown: release what this process still holds (marks whose send it never
        recorded), so other processes need not wait for them to expire."""
        ...


@dataclass
class _Pending:
    token: str
    until: float


class MemoryPaceLedger:
    """The ledger of a single process (SQLite deployments, tests of one part)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._next: dict[str, float] = {}
        self._recent: dict[str, deque[float]] = {}
        self._pending: dict[str, _Pending] = {}
        self._sends = SendSignals()

    @property
    def buckets(self) -> BucketLedger | None:
        return None

    async def reserve(self, account: str, interval_s: float, budget: Budget | None = None) -> float:
        now = self._clock.monotonic()
        start = max(now, self._next.get(account, now))
        if budget is not None:
            recent = self._recent.setdefault(account, deque())
            if len(recent) >= budget.count:
                start = max(start, recent[-budget.count] + budget.window_s)
            recent.append(start)
            while len(recent) > budget.count:
                recent.popleft()
        self._next[account] = start + interval_s
        return start - now

    async def hold(self, account: str, seconds: float) -> None:
        until = self._clock.monotonic() + seconds
        self._next[account] = max(self._next.get(account, until), until)

    async def mark(
        self, account: str, interval_s: float, token: str, hold_s: float
    ) -> float | None:
        now = self._clock.monotonic()
        pending = self._pending.get(account)
        if pending is not None and pending.token != token and pending.until > now:
            return None
        start = max(now, self._next.get(account, now))
        self._next[account] = start + interval_s
        self._pending[account] = _Pending(token, start + hold_s)
        return start - now

    async def sent(self, account: str, interval_s: float, token: str, ago: Since | None) -> None:
        if ago is not None:
            after = self._clock.monotonic() - ago() + interval_s
            self._next[account] = max(self._next.get(account, after), after)
        pending = self._pending.get(account)
        if pending is not None and pending.token == token:
            del self._pending[account]
        self._sends.recorded(account)

    async def wait_sent(self, account: str, poll_s: float) -> None:
        # Every mark is this process's: its send record wakes the waiter, or its hold ends.
        pending = self._pending.get(account)
        if pending is None:
            return
        await self._sends.wait(account, self._clock.sleep(pending.until - self._clock.monotonic()))

    async def close(self) -> None:
        """Nothing to release: this ledger, and every mark in it, ends with its process."""


def credential_key(platform: str, secret: str) -> str:
    """The name of a credential in the ledger: the platform and a hash, never the secret (the
    ledger is a table anyone with database access reads)."""
    return f"{platform}:{hashlib.sha256(secret.encode()).hexdigest()[:24]}"


@dataclass
class PaceWait:
    """Whether a step is waiting for its pace right now (set by the governor while it sleeps).

    A stopping runner cancels such a step at once (nothing was sent; it is handed back), while
    a step with a call in flight gets a moment to finish it.

    `on_route`: the wait is for one route's window (Discord's channel creations in one
    server, 10 per 10 s), not for the credential's pace: a call of another route or server
    could go meanwhile, so the runner lets the step's slot serve another step
    (`route_wait_began` tells it to claim one).
    """

    waiting: bool = False
    on_route: bool = False
    route_wait_began: Callable[[], None] | None = None

    @contextlib.contextmanager
    def marked(self, *, on_route: bool = False) -> Iterator[None]:
        """Mark the step waiting (for a route's window when `on_route`) while the block runs."""
        self.waiting = True
        if on_route:
            self.on_route = True
            if self.route_wait_began is not None:
                self.route_wait_began()
        try:
            yield
        finally:
            self.waiting = False
            self.on_route = False


# Set by the runner around each step's task; the governor marks it while the step waits.
current_wait: ContextVar[PaceWait | None] = ContextVar("pace_wait", default=None)
