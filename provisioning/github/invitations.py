"""GitHub's daily organization invitations, budgeted per organization for every process.

`github.invite` asks for a place (`take`) before a membership PUT that really sends an
invitation (the person is neither a member nor invited yet). A place due within a short wait is
waited for in the step; a later one sends the step back to `pending`, due at its place, with a
message saying when (`WaitForLimitError`): a step must not hold a runner slot for hours. GitHub
refusing the invitation anyway ("Over invitation rate limit": people or other tools invite too,
or the organization has the smaller limit) is a wait as well, never a failure.

The windows live in a store: in memory on SQLite (one process), in the database on PostgreSQL
(`db/invitation_windows.py`), where every runner process takes its places under the same row's
lock, from one table of places.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from provisioning import pace
from provisioning.clock import Clock
from provisioning.errors import PlatformError, WaitForLimitError
from provisioning.github import invitation_window as places
from provisioning.github.invitation_places import MemoryWindow
from provisioning.github.invitation_window import DAY_S, REFUSED_PROBE_S, OpenWindow

WAIT_CODE = "github.invitation_limit"
# Between a wait's reason and its time (UTC), where a page puts the time in the reader's zone.
NEXT_GOES = "; the next goes at "
# Waits up to this long (unscaled) are waited for in the step; longer ones give the slot back.
SHORT_WAIT_S = 60.0
# Added to the window: GitHub counts arrivals, which can come a little after their place.
WINDOW_MARGIN_S = 1.0


class InvitationStore(Protocol):
    """Where the organizations' windows are kept."""

    def open(self, org: str, *, lock: bool = True) -> AbstractAsyncContextManager[OpenWindow]:
        """The organization's window at the store's `now`, kept when the block ends; with
        `lock`, nobody else opens it meanwhile (without: a read that changes nothing)."""
        ...


class MemoryInvitationStore:
    """The windows of one process (SQLite deployments, tests of one part)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._windows: dict[str, MemoryWindow] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def open(self, org: str, *, lock: bool = True) -> AsyncIterator[MemoryWindow]:
        # Always locked: the window's `now` is shared, and an uncontended lock costs nothing.
        key = org.lower()
        async with self._locks.setdefault(key, asyncio.Lock()):
            window = self._windows.setdefault(key, MemoryWindow())
            window.now = self._clock.monotonic()
            yield window


@dataclass(frozen=True)
class Outlook:
    """An organization's window as a preview or a status summary shows it."""

    limit: int
    sent: int  # in the current window
    queued: int  # places handed out for later
    # Seconds from now until a new place could go (0: at once).
    next_free_s: float


def is_invitation_limit(error: PlatformError) -> bool:
    """GitHub's refusal of an invitation for the organization's daily limit (a 422)."""
    return error.status == 422 and "over invitation rate limit" in error.message.lower()


class InvitationBudget:
    """Places for organization invitations, `limit` per window of a day (divided by `scale`,
    the factor by which the sandbox's limits and the governors are sped up)."""

    def __init__(self, store: InvitationStore, clock: Clock, scale: float = 1.0) -> None:
        self._store = store
        self._clock = clock
        self._window_s = DAY_S / scale + WINDOW_MARGIN_S
        self._short_s = SHORT_WAIT_S / scale
        self._probe_s = REFUSED_PROBE_S / scale

    async def take(self, org: str, login: str) -> None:
        """Wait for `login`'s place if it comes soon; else raise `WaitForLimitError`."""
        async with self._store.open(org) as window:
            wait = await places.take(window, login, self._window_s) - window.now
            limit = places.current_limit(window)
        if wait > self._short_s:
            raise self._wait_error(org, limit, wait)
        if wait > 0:
            marker = pace.current_wait.get()
            if marker is None:
                await self._clock.sleep(wait)
                return
            with marker.marked():  # nothing sent yet: a stopping runner may cancel it
                await self._clock.sleep(wait)

    async def release(self, org: str, login: str) -> None:
        """`login`'s invitation was not sent: its place is free again."""

        async with self._store.open(org) as window:
            await places.release(window, login)

    async def refused(self, org: str, login: str) -> WaitForLimitError:
        """GitHub refused `login`'s invitation for the limit: the error to wait with."""
        async with self._store.open(org) as window:
            reopens = await places.refused(window, login, self._window_s, self._probe_s)
            wait, limit = reopens - window.now, places.current_limit(window)
        return self._wait_error(org, limit, max(wait, 0.0))

    async def outlook(self, org: str) -> Outlook:
        """The window as the preview and the status summary show it: a read (counts and one
        ordered look-up), not locked, so a status read never waits behind the takers."""
        async with self._store.open(org, lock=False) as window:
            return Outlook(
                limit=places.current_limit(window),
                sent=await places.sent_in_window(window, self._window_s),
                queued=await places.queued_after(window),
                next_free_s=await places.next_free(window, self._window_s) - window.now,
            )

    @property
    def window_s(self) -> float:
        return self._window_s

    def _wait_error(self, org: str, limit: int, wait: float) -> WaitForLimitError:
        at = self._clock.now() + timedelta(seconds=wait)
        when = at.strftime("%H:%M UTC")
        if at.date() != self._clock.now().date():
            when = at.strftime("%d %b %H:%M UTC").lstrip("0")
        return WaitForLimitError(
            WAIT_CODE,
            f"GitHub allows {limit} organization invitations a day to {org}{NEXT_GOES}{when}",
            retry_after=wait,
        )
