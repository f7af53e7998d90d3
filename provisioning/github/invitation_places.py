"""One organization's invitation window in memory (SQLite deployments: one process).

The places are kept sorted by time (two aligned lists, found with `bisect`) beside a dict by
login, so taking a place is a dict look-up, an index into the list and an insertion that almost
always lands at the end (places are handed out in order): no sorting per invitee, whatever the
queue's length. Past places are dropped from the front in batches, not at every take, because
dropping shifts the whole list.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from provisioning.github.invitation_window import DEFAULT_LIMIT

# Past places are dropped once this many have gathered at the front (or half the list).
_DROP_BATCH = 256


class MemoryWindow:
    """An `OpenWindow` kept in memory; `now` is set by the store each time it is opened."""

    def __init__(self) -> None:
        self.now = 0.0
        self.limit = DEFAULT_LIMIT
        self.limit_until = 0.0
        self.closed_until = 0.0
        self._ats: list[float] = []  # sorted
        self._logins: list[str] = []  # aligned with `_ats`
        self._by_login: dict[str, float] = {}

    async def held_and_latest(
        self, login: str, after: float, n: int
    ) -> tuple[float | None, float | None]:
        at = self._by_login.get(login)
        return (at if at is not None and at > after else None), await self.latest(n)

    async def latest(self, n: int, at_most: float | None = None) -> float | None:
        end = len(self._ats) if at_most is None else bisect_right(self._ats, at_most)
        return self._ats[end - n] if n >= 1 and end >= n else None

    async def count(self, after: float, at_most: float | None = None) -> int:
        end = len(self._ats) if at_most is None else bisect_right(self._ats, at_most)
        return max(0, end - bisect_right(self._ats, after))

    async def add(self, login: str, at: float) -> None:
        await self.remove(login)
        i = bisect_right(self._ats, at)
        self._ats.insert(i, at)
        self._logins.insert(i, login)
        self._by_login[login] = at

    async def remove(self, login: str) -> None:
        at = self._by_login.pop(login, None)
        if at is None:
            return
        # Places may share a time: the login's is among those equal to it.
        i = bisect_left(self._ats, at)
        while self._logins[i] != login:
            i += 1
        del self._ats[i]
        del self._logins[i]

    async def forget_until(self, at: float) -> None:
        end = bisect_right(self._ats, at)
        if end >= _DROP_BATCH or 2 * end >= len(self._ats) > 0:
            self._drop(0, end)

    async def forget_after(self, at: float) -> None:
        self._drop(bisect_right(self._ats, at), len(self._ats))

    def _drop(self, start: int, end: int) -> None:
        for login in self._logins[start:end]:
            del self._by_login[login]
        del self._ats[start:end]
        del self._logins[start:end]

    def places(self) -> dict[str, float]:
        """Every place kept, by login (lingering past ones too): for tests and benches."""
        return dict(self._by_login)
