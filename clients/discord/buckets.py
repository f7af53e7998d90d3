"""discord.py's own rate-limit buckets, for the calls our governor paces.

discord.py keeps a bucket per route and, when an answer says the bucket is spent, sleeps until
the window's end in the bucket's exit, before it hands that answer back: the call that spent
a window (the tenth channel creation in a server) returned a window later (10 s at Discord's
rates), and its step held a runner slot and kept its dependants waiting for nothing. The
governor (`provisioning.governor`) already holds every later call of the bucket back until the
window ends, and a call it lets through finds discord.py's bucket expired and goes at once. So
a governed call (one `DiscordRestGateway._call` makes, marked by `ATTEMPTS`) leaves the bucket
without that sleep, unless other calls already wait inside discord.py's bucket (the sleep is
what wakes them); discord.py's own calls (login, command sync) keep it.

Checked against discord.py 2.7 (`discord.http.Ratelimit`, `HTTPClient.get_ratelimit`); the
version is pinned below 2.8, and `tests/discord/test_route_windows.py` fails if this stops
working.
"""

from __future__ import annotations

from types import TracebackType

import discord
from discord.http import Ratelimit

from clients.discord.audit import ATTEMPTS


class _GovernedRatelimit(Ratelimit):
    """A discord.py bucket whose governed calls never sleep on their way out."""

    __slots__ = ()  # the same layout as `Ratelimit`: an instance's class can be switched

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if ATTEMPTS.get() is None or self._pending_requests:
            # discord.py's own calls; or calls already waiting inside discord.py, which its
            # sleep then wakes at the window's end (left alone, each would wait for the end,
            # then sleep the answer's Reset-After again in `Ratelimit._refresh`).
            # discord.py types its exit for an exception only; it is called without one too.
            await super().__aexit__(exc_type, exc, tb)  # type: ignore[type-var,arg-type]
            return
        # Nobody waits here: no sleep. The governor lets the next call through once the
        # window has ended, when discord.py's bucket has expired too (`Ratelimit.acquire`
        # resets it).
        self.outgoing -= 1


def hand_pacing_to_governor(http: discord.http.HTTPClient) -> None:
    """Make every bucket `http` hands out from now on a `_GovernedRatelimit`."""
    hand_out = http.get_ratelimit

    def governed(key: str) -> Ratelimit:
        bucket = hand_out(key)
        if type(bucket) is Ratelimit:
            bucket.__class__ = _GovernedRatelimit
        return bucket

    http.get_ratelimit = governed  # type: ignore[method-assign]
