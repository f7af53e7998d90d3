"""Primary and secondary rate limits, per credential.

`rate_scale` speeds time up for the limiter only: windows, resets and retry-after are divided
by it while the counts stay as documented. With rate_scale=100 the hourly primary window lasts
36 s and the per-minute content window 0.6 s, so a long run's limit behaviour plays out quickly.
Tests that need to *hit* a limit lower the counts in `Limits` instead.

Each credential has its own hourly limit: a personal token `primary_per_hour`, a GitHub App
installation the published formula (`installation_limit`), recomputed per request as GitHub
does (its organization gains repositories and members while a course is provisioned).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from sandbox.core.emulator import Clock
from sandbox.github.config import Limits, Plan

PRIMARY_WINDOW = 3600.0
MINUTE = 60.0
HOUR = 3600.0
# "Installations that have more than 20 repositories receive another 50 requests per hour for
# each repository"; the same for more than 20 users of the organization (GitHub REST docs).
INSTALLATION_FREE_COUNT = 20
INSTALLATION_PER_EXTRA = 50


def installation_limit(limits: Limits, *, plan: Plan, repositories: int, members: int) -> int:
    """The hourly primary limit of an App installation on an organization: a flat one on
    Enterprise Cloud, else the minimum plus 50 per repository and per member beyond 20, capped."""
    if plan == "enterprise":
        return limits.installation_enterprise_per_hour
    extra = max(0, repositories - INSTALLATION_FREE_COUNT) + max(
        0, members - INSTALLATION_FREE_COUNT
    )
    return min(
        limits.installation_max_per_hour,
        limits.installation_min_per_hour + INSTALLATION_PER_EXTRA * extra,
    )


@dataclass
class _Primary:
    window_start: float
    used: int = 0


@dataclass
class _Credential:
    primary: _Primary
    content: deque[float] = field(default_factory=deque)
    in_flight: int = 0


@dataclass(frozen=True)
class PrimaryStatus:
    limit: int
    remaining: int
    used: int
    reset_epoch: int
    exceeded: bool


class RateLimiter:
    """Counts requests per credential; the caller turns verdicts into responses."""

    def __init__(self, clock: Clock, limits: Limits, rate_scale: float = 1.0) -> None:
        if rate_scale <= 0:
            raise ValueError("rate_scale must be positive")
        self._clock = clock
        self.limits = limits
        self._scale = rate_scale
        self._creds: dict[str, _Credential] = {}

    def reset(self) -> None:
        self._creds.clear()

    def _cred(self, key: str) -> _Credential:
        now = self._clock.monotonic()
        cred = self._creds.get(key)
        if cred is None:
            cred = _Credential(primary=_Primary(window_start=now))
            self._creds[key] = cred
        if now - cred.primary.window_start >= PRIMARY_WINDOW / self._scale:
            cred.primary = _Primary(window_start=now)
        return cred

    def _status(self, cred: _Credential, limit: int, exceeded: bool) -> PrimaryStatus:
        end = cred.primary.window_start + PRIMARY_WINDOW / self._scale
        reset = self._clock.time() + (end - self._clock.monotonic())
        return PrimaryStatus(
            limit=limit,
            remaining=max(0, limit - cred.primary.used),
            used=cred.primary.used,
            reset_epoch=math.ceil(reset),
            exceeded=exceeded,
        )

    def take_primary(self, key: str, limit: int | None = None) -> PrimaryStatus:
        """Count one request against the credential's hourly `limit` (default: a personal
        token's); `exceeded` when that quota was already spent."""
        limit = self.limits.primary_per_hour if limit is None else limit
        cred = self._cred(key)
        if cred.primary.used >= limit:
            return self._status(cred, limit, exceeded=True)
        cred.primary.used += 1
        return self._status(cred, limit, exceeded=False)

    def peek_primary(self, key: str, limit: int | None = None) -> PrimaryStatus:
        limit = self.limits.primary_per_hour if limit is None else limit
        return self._status(self._cred(key), limit, exceeded=False)

    def take_content(self, key: str) -> float | None:
        """Count one content-creating request; the seconds to wait if over a secondary limit."""
        cred = self._cred(key)
        now = self._clock.monotonic()
        minute, hour = MINUTE / self._scale, HOUR / self._scale
        log = cred.content
        while log and now - log[0] >= hour:
            log.popleft()
        in_minute = [t for t in log if now - t < minute]
        if len(in_minute) >= self.limits.content_per_minute:
            return max(1e-3, in_minute[0] + minute - now)
        if len(log) >= self.limits.content_per_hour:
            return max(1e-3, log[0] + hour - now)
        log.append(now)
        return None

    def enter(self, key: str) -> bool:
        """Start a request; False when the credential already has too many in flight."""
        cred = self._cred(key)
        if cred.in_flight >= self.limits.concurrent_requests:
            return False
        cred.in_flight += 1
        return True

    def leave(self, key: str) -> None:
        self._creds[key].in_flight -= 1
