"""Rate governor: one per credential, spacing calls to stay under the published limits.

Bouncing off 429s costs time and, on Discord, counts towards a Cloudflare ban; so calls are
spaced before they are sent. The governor knows two things: a minimum spacing for all calls and
a (longer) one for writes (GitHub asks for serial mutations at least a second apart, and 80
content-creating requests a minute at most), and what the platform's rate-limit headers said
about each bucket (when `remaining` reaches 0, wait for the reset).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from provisioning.clock import Clock

log = logging.getLogger(__name__)
RESET_MARGIN_S = 0.05


@dataclass(frozen=True)
class GovernorLimits:
    """Spacing in seconds; `scale` divides them (the sandbox runs its limits faster, too)."""

    min_interval_s: float
    write_interval_s: float
    scale: float = 1.0

    @classmethod
    def github(cls, scale: float = 1.0) -> GovernorLimits:
        # 80 content-creating requests per minute and "at least one second between
        # mutations" (GitHub best practices): one write per second is under both.
        return cls(min_interval_s=0.0, write_interval_s=1.0, scale=scale)

    @classmethod
    def discord(cls, scale: float = 1.0) -> GovernorLimits:
        # 50 requests per second per bot, globally; per-route buckets come from the headers.
        # 40 leaves room for requests that leave in order but arrive bunched up.
        return cls(min_interval_s=1 / 40, write_interval_s=1 / 40, scale=scale)


class RateGovernor:
    """Awaited before each call (`acquire`), told about each answer (`observe`)."""

    def __init__(self, name: str, limits: GovernorLimits, clock: Clock) -> None:
        self.name = name
        self._limits = limits
        self._clock = clock
        self._next_any = 0.0
        self._next_write = 0.0
        self._bucket_free_at: dict[str, float] = {}
        self.waits = 0
        self.wait_seconds = 0.0

    async def acquire(self, bucket: str, *, write: bool) -> None:
        """Wait until a call to `bucket` may go out without exceeding a limit.

        The slot is reserved before sleeping, so callers queue in order without holding a lock
        while they wait, and reads are not held up behind a write waiting for its slot (a
        GitHub read has no spacing of its own: only writes are serial).
        """
        now = self._clock.monotonic()
        start = max(now, self._next_any, self._bucket_free_at.get(bucket, 0.0))
        if write:
            start = max(start, self._next_write)
            self._next_write = start + self._limits.write_interval_s / self._limits.scale
        if self._limits.min_interval_s > 0:
            self._next_any = start + self._limits.min_interval_s / self._limits.scale
        delay = start - now
        if delay > 0:
            self.waits += 1
            self.wait_seconds += delay
            await self._clock.sleep(delay)

    def observe(self, bucket: str, headers: Mapping[str, str]) -> None:
        """Learn from rate-limit headers: an exhausted bucket is closed until its reset."""
        lowered = {k.lower(): v for k, v in headers.items()}
        wait = _seconds(lowered.get("retry-after"))
        if wait is None and lowered.get("x-ratelimit-remaining") == "0":
            wait = _seconds(lowered.get("x-ratelimit-reset-after"))
            if wait is None:
                wait = _until_epoch(lowered.get("x-ratelimit-reset"), self._clock)
        if wait is not None and wait > 0:
            # A little past the reset: the platform's clock and rounding of `Reset-After` can
            # put a request sent exactly at the reset a hair before the window opens.
            until = self._clock.monotonic() + wait + RESET_MARGIN_S
            self._bucket_free_at[bucket] = max(self._bucket_free_at.get(bucket, 0.0), until)
            log.debug(
                "bucket closed", extra={"governor": self.name, "bucket": bucket, "seconds": wait}
            )


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _until_epoch(value: str | None, clock: Clock) -> float | None:
    epoch = _seconds(value)
    return None if epoch is None else epoch - clock.now().timestamp()
