"""GitHub's daily organization invitations, budgeted per organization for every process.

`github.invite` asks for a place (`take`) before a membership PUT that really sends an
invitation (the person is neither a member nor invited yet). A place due within a short wait is
waited for in the step; a later one sends the step back to `pending`, due at its place, with a
message saying when (`WaitForLimitError`): a step must not hold a runner slot for hours. GitHub
refusing the invitation anyway ("Over invitation rate limit": people or other tools invite too,
or the organization has the smaller limit) is a wait as well, never a failure.

The windows live in a store: in memory on SQLite (one process), in the database on PostgreSQL
(`db/invitation_windows.py`), where every runner process takes its places from the same row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from provisioning import pace
from provisioning.clock import Clock
from provisioning.errors import PlatformError, WaitForLimitError
from provisioning.github.invitation_window import DAY_S, REFUSED_PROBE_S, InvitationWindow

R = TypeVar("R")
WAIT_CODE = "github.invitation_limit"
# Waits up to this long (unscaled) are waited for in the step; longer ones give the slot back.
SHORT_WAIT_S = 60.0
# Added to the window: GitHub counts arrivals, which can come a little after their place.
WINDOW_MARGIN_S = 1.0


class InvitationStore(Protocol):
    """Where the organizations' windows are kept; `change` is atomic for one organization."""

    async def change(self, org: str, change: Callable[[InvitationWindow, float], R]) -> R:
        """Apply `change` to the organization's window at the store's `now` (seconds) and keep
        the result; return what `change` returned."""
        ...


class MemoryInvitationStore:
    """The windows of one process (SQLite deployments, tests of one part)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._windows: dict[str, InvitationWindow] = {}

    async def change(self, org: str, change: Callable[[InvitationWindow, float], R]) -> R:
        # No await between reading and writing: atomic on the one event loop.
        window = self._windows.setdefault(org.lower(), InvitationWindow())
        return change(window, self._clock.monotonic())


class JsonWindows(Protocol):
    """A store of windows as JSON documents (`db.invitation_windows`, PostgreSQL)."""

    async def change(
        self, org: str, change: Callable[[dict[str, Any], float], tuple[R, dict[str, Any]]]
    ) -> R: ...


class SharedInvitationStore:
    """The windows every process shares, kept as JSON documents by `windows`."""

    def __init__(self, windows: JsonWindows) -> None:
        self._windows = windows

    async def change(self, org: str, change: Callable[[InvitationWindow, float], R]) -> R:
        def on_document(document: dict[str, Any], now: float) -> tuple[R, dict[str, Any]]:
            window = InvitationWindow.from_json(document)
            result = change(window, now)
            return result, window.to_json()

        return await self._windows.change(org, on_document)


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

        def take(window: InvitationWindow, now: float) -> tuple[float, int]:
            return window.take(login, now, self._window_s) - now, window.current_limit(now)

        wait, limit = await self._store.change(org, take)
        if wait > self._short_s:
            raise self._wait_error(org, limit, wait)
        if wait > 0:
            marker = pace.current_wait.get()
            if marker is not None:
                marker.waiting = True  # nothing sent yet: a stopping runner may cancel it
            try:
                await self._clock.sleep(wait)
            finally:
                if marker is not None:
                    marker.waiting = False

    async def release(self, org: str, login: str) -> None:
        """`login`'s invitation was not sent: its place is free again."""

        def release(window: InvitationWindow, now: float) -> None:
            window.release(login)

        await self._store.change(org, release)

    async def refused(self, org: str, login: str) -> WaitForLimitError:
        """GitHub refused `login`'s invitation for the limit: the error to wait with."""

        def refused(window: InvitationWindow, now: float) -> tuple[float, int]:
            reopens = window.refused(login, now, self._window_s, self._probe_s)
            return reopens - now, window.current_limit(now)

        wait, limit = await self._store.change(org, refused)
        return self._wait_error(org, limit, max(wait, 0.0))

    async def outlook(self, org: str) -> Outlook:
        def look(window: InvitationWindow, now: float) -> Outlook:
            window.forget_past(now, self._window_s)
            return Outlook(
                limit=window.current_limit(now),
                sent=window.sent_in_window(now, self._window_s),
                queued=window.queued_after(now),
                next_free_s=window.next_free(now, self._window_s) - now,
            )

        return await self._store.change(org, look)

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
            f"GitHub allows {limit} organization invitations a day to {org}; "
            f"the next goes at {when}",
            retry_after=wait,
        )
