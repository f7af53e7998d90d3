"""One organization's window of GitHub invitations: who has a place in it, and when.

GitHub lets an organization send 500 invitations in any 24 hours, or 50 while it is on the free
plan and under a month old (PLATFORM.md §2.5); the limit is the organization's, whatever
credential sends them. Every invitation the product sends has a *place*: a time, kept under the
invitee's login, no earlier than the window allows. A place may lie in the future: the step
that took it waits for it (pending, due then) and uses it when it comes back, so a queue of
invitations longer than the window is spread over the following days in order, each step woken
once, instead of all of them asking again whenever one place frees.

The product does not know an organization's age, so it starts from 500 and *learns* 50: GitHub
refusing an invitation ("Over invitation rate limit") while the window holds fewer than 500 of
ours says the organization has the smaller limit (or that people or other tools sent the rest).
The learned limit is kept for one window: an organization turns a month old, and one refused
call a day re-teaches a young one. A refusal also closes the window for a while: nothing is
sent before it reopens, and places handed out for later are given up (taken again in order).

Times are seconds on one clock (the database server's on PostgreSQL, monotonic in memory).
This module only decides; an `OpenWindow` keeps the places ordered by time (a sorted list in
memory, `invitation_places.py`; an indexed table on PostgreSQL, `db/invitation_windows.py`), so
every decision is a few ordered look-ups (O(log n) or O(limit)) however long the queue is: a
course of 10,000 students queues 10,000 places in its one organization.
"""

from __future__ import annotations

from typing import Protocol

DEFAULT_LIMIT = 500
NEW_ORG_LIMIT = 50
DAY_S = 24 * 3600.0
# After a refusal the window holds none of ours to wait for (people or other tools sent the
# invitations): ask again after this long, unscaled. One refused call an hour costs nothing.
REFUSED_PROBE_S = 3600.0


class OpenWindow(Protocol):
    """One organization's window, held for one decision (the store keeps others out meanwhile).

    Places older than a window may linger (dropping them is the store's housekeeping): every
    read below says which times it counts, so a lingering place changes no answer.
    """

    now: float
    limit: int
    limit_until: float  # the learned limit holds until then, then DEFAULT_LIMIT again
    closed_until: float  # a refusal: no place before then

    async def held_and_latest(
        self, login: str, after: float, n: int
    ) -> tuple[float | None, float | None]:
        """`login`'s place (lowercase), if later than `after`; and the `n`-th latest place
        (`latest(n)`): what a take needs, in one look-up."""
        ...

    async def latest(self, n: int, at_most: float | None = None) -> float | None:
        """The `n`-th latest place (1: the latest), among those no later than `at_most`."""
        ...

    async def count(self, after: float, at_most: float | None = None) -> int:
        """How many places lie in (`after`, `at_most`]."""
        ...

    async def add(self, login: str, at: float) -> None:
        """Give `login` the place `at` (replacing a lingering past one)."""
        ...

    async def remove(self, login: str) -> None: ...

    async def forget_until(self, at: float) -> None:
        """Places no later than `at` no longer count: they may be dropped."""
        ...

    async def forget_after(self, at: float) -> None:
        """Drop every place later than `at`."""
        ...


def current_limit(window: OpenWindow) -> int:
    return window.limit if window.now < window.limit_until else DEFAULT_LIMIT


async def next_free(window: OpenWindow, window_s: float) -> float:
    """The earliest time a new place can have: at most `limit` places in any window, so no
    earlier than a window after the place `limit` back (places are handed out in order). A
    lingering past place there is a window old already: it delays nothing."""
    return _free_after(window, await window.latest(current_limit(window)), window_s)


def _free_after(window: OpenWindow, back: float | None, window_s: float) -> float:
    """`next_free`, given the place `limit` back."""
    at = max(window.now, window.closed_until)
    return at if back is None else max(at, back + window_s)


async def take(window: OpenWindow, login: str, window_s: float) -> float:
    """The place of `login`: the one it holds in the window, or the next free one, recorded."""
    key = login.lower()
    past = window.now - window_s
    held, back = await window.held_and_latest(key, after=past, n=current_limit(window))
    if held is not None:
        return held
    at = _free_after(window, back, window_s)
    await window.add(key, at)
    await window.forget_until(past)
    return at


async def release(window: OpenWindow, login: str) -> None:
    """`login`'s invitation was not sent (GitHub refused it, or has no such user)."""
    await window.remove(login.lower())


async def refused(window: OpenWindow, login: str, window_s: float, probe_s: float) -> float:
    """GitHub refused `login`'s invitation for the limit: learn from it, close the window until
    a place may be free again, and return when that is."""
    now = window.now
    await release(window, login)
    sent = await sent_in_window(window, window_s)
    if sent < DEFAULT_LIMIT:
        # Fewer of ours than the default: the organization has the smaller limit (or others
        # sent the rest, which waiting as if it had comes to the same), for a day.
        window.limit = NEW_ORG_LIMIT
        window.limit_until = now + window_s
    # Places handed out for later assumed the old limit or an open window: given up, and taken
    # again in order when their steps come back.
    await window.forget_after(now)
    limit = current_limit(window)
    reopens = now + probe_s
    if sent >= limit:
        oldest = await window.latest(limit, at_most=now)
        assert oldest is not None  # `sent` counted at least `limit` of them
        reopens = min(reopens, oldest + window_s)
    window.closed_until = max(window.closed_until, reopens)
    return window.closed_until


async def queued_after(window: OpenWindow) -> int:
    """Places handed out for later: invitations waiting for the window."""
    return await window.count(after=window.now)


async def sent_in_window(window: OpenWindow, window_s: float) -> int:
    return await window.count(after=window.now - window_s, at_most=window.now)
