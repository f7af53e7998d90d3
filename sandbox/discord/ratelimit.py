"""Per-route buckets, the global per-bot limit and the invalid-request counter (PLATFORM.md §1.8).

Fixed windows on the injected monotonic clock; every window is divided by `rate_scale` so tests and
benchmarks can run the same limits many times faster.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from dataclasses import dataclass

from sandbox.core.emulator import Clock
from sandbox.discord.config import BucketRate, RateConfig

log = logging.getLogger(__name__)


@dataclass
class _Window:
    start: float
    count: int


@dataclass(frozen=True)
class Decision:
    """The outcome of taking one request from a bucket, with what the headers must say."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    bucket_hash: str


class RateLimiter:
    """Counts requests per (bucket, major parameter), globally, and invalid responses."""

    def __init__(self, clock: Clock, config: RateConfig, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("rate_scale must be positive")
        self._clock = clock
        self._config = config
        self._scale = scale
        self._windows: dict[tuple[str, str], _Window] = {}
        self._global: deque[float] = deque()
        self._invalid: deque[float] = deque()

    def rate(self, bucket: str) -> BucketRate:
        return self._config.buckets.get(bucket) or self._config.buckets["default"]

    def bucket_hash(self, bucket: str) -> str:
        # Opaque, stable per bucket name: clients only compare these strings.
        return hashlib.sha256(f"sandbox:{bucket}".encode()).hexdigest()[:32]

    def take(self, bucket: str, major: str, rate_name: str) -> Decision:
        """Count one request; `allowed` is False when the bucket is exhausted (a 429)."""
        rate = self.rate(rate_name)
        window = rate.window / self._scale
        now = self._clock.monotonic()
        state = self._windows.get((bucket, major))
        if state is None or now >= state.start + window:
            state = _Window(start=now, count=0)
            self._windows[(bucket, major)] = state
        # Never 0: clients sleep Reset-After before the next call on Remaining 0.
        reset_after = max(state.start + window - now, 0.001)
        if state.count >= rate.limit:
            return Decision(False, rate.limit, 0, reset_after, self.bucket_hash(bucket))
        state.count += 1
        return Decision(
            True, rate.limit, rate.limit - state.count, reset_after, self.bucket_hash(bucket)
        )

    def take_global(self) -> float | None:
        """Count one request against the global limit; the retry-after when it is exceeded."""
        window = 1.0 / self._scale
        now = self._clock.monotonic()
        while self._global and self._global[0] <= now - window:
            self._global.popleft()
        if len(self._global) >= self._config.global_per_second:
            return max(self._global[0] + window - now, 0.001)
        self._global.append(now)
        return None

    def record_invalid(self) -> None:
        self._invalid.append(self._clock.monotonic())

    def invalid_count(self) -> int:
        """401/403/429 responses within the (scaled) invalid-request window."""
        window = self._config.invalid_window / self._scale
        now = self._clock.monotonic()
        while self._invalid and self._invalid[0] <= now - window:
            self._invalid.popleft()
        return len(self._invalid)

    @property
    def invalid_window(self) -> float:
        return self._config.invalid_window / self._scale

    def reset(self) -> None:
        self._windows.clear()
        self._global.clear()
        self._invalid.clear()
