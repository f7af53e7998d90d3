"""Reads shared by the callers that ask at the same time (a "single flight").

When many callers want the same read at once (200 people polling one course's status, each
request checking the same API token), the first starts the read and the others wait for its
answer instead of each sending the same query: under load, the database sees one query per
burst, not one per caller. Nothing is kept once the read is done, so a caller that starts after
a change committed always reads that change; a caller that joins a read already under way gets
an answer at most that read's duration old, as if it had arrived a moment earlier.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

_T = TypeVar("_T")


class SharedReads(Generic[_T]):
    """The reads under way, by key; each is awaited by every caller that asked for its key."""

    def __init__(self) -> None:
        self._under_way: dict[Hashable, asyncio.Future[_T]] = {}

    async def read(self, key: Hashable, fetch: Callable[[], Awaitable[_T]]) -> _T:
        """`fetch()`'s answer, shared with the callers asking for `key` while it runs."""
        under_way = self._under_way.get(key)
        if under_way is None:
            under_way = asyncio.ensure_future(fetch())
            self._under_way[key] = under_way
            under_way.add_done_callback(lambda done: self._done(key, done))
        # Shielded: a caller that goes away (its client disconnected) does not cancel the
        # read the others wait for.
        return await asyncio.shield(under_way)

    def _done(self, key: Hashable, done: asyncio.Future[_T]) -> None:
        if self._under_way.get(key) is done:
            del self._under_way[key]
        if not done.cancelled():
            # Retrieved here too: if every caller went away, nobody else would.
            done.exception()
