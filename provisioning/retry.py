"""The retry policy, in one place: what a step's error means for the step.

- a person must act (`ActionRequiredError`) → `awaiting_action`, with the message;
- permanent (`StepFailedError`, a 4xx other than 408/409/429) → `failed`, not retried;
- retryable (no answer, 5xx, 408, 409, rate limits) → back to `pending` after a capped
  exponential backoff with full jitter, or the platform's own `Retry-After` when it is longer;
  `failed` once the attempts are used up;
- a known wait (`WaitForLimitError`: GitHub's daily invitations) → `pending`, due when the
  limit allows, the attempt given back.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from provisioning.errors import (
    ActionRequiredError,
    PlatformError,
    StepFailedError,
    WaitForLimitError,
)


@dataclass(frozen=True)
class Decision:
    """What happens to the step: its next state, the message to show and when to try again."""

    state: Literal["pending", "failed", "awaiting_action"]
    message: str
    code: str
    delay_s: float = 0.0
    hint: str | None = None
    # False: the attempt is given back (a wait the step was told of is not a failure).
    attempt_used: bool = True


@dataclass
class RetryPolicy:
    """Capped exponential backoff with full jitter; `base_s=0` gives immediate retries in tests."""

    base_s: float = 2.0
    cap_s: float = 300.0
    max_attempts: int = 8
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def scaled(cls, rate_scale: float) -> RetryPolicy:
        """The default backoffs divided by `rate_scale`, the factor by which the sandbox's limits
        and our governors are sped up (`RATE_SCALE`): a sped-up world also backs off faster."""
        return cls(base_s=cls.base_s / rate_scale, cap_s=cls.cap_s / rate_scale)

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base·2^(attempt-1))]."""
        ceiling = min(self.cap_s, self.base_s * 2 ** max(0, attempt - 1))
        return self.rng.uniform(0, ceiling)

    def decide(self, error: BaseException, attempt: int) -> Decision:
        """Classify `error`, raised by attempt number `attempt` (1-based)."""
        if isinstance(error, ActionRequiredError):
            return Decision("awaiting_action", error.message, error.reason, hint=error.message)
        if isinstance(error, WaitForLimitError):
            return Decision(
                "pending", error.message, error.code, delay_s=error.retry_after, attempt_used=False
            )
        if isinstance(error, StepFailedError):
            return Decision("failed", error.detail, "step.failed", hint=error.detail)
        if isinstance(error, PlatformError):
            code = f"{error.platform}.{error.code or error.status}"
            if not error.retryable:
                return Decision("failed", error.detail, code, hint=_hint_for(error))
            if error.rate_limited:
                # "Slow down" says nothing is wrong: wait as asked, without using up attempts.
                delay = max(error.retry_after or 0.0, self.backoff(1))
                return Decision("pending", error.detail, code, delay_s=delay)
            return self._retry(error.detail, code, attempt, error.retry_after)
        # An error nobody anticipated (a bug, a driver error): retry, it may be transient,
        # but never forever.
        return self._retry(f"unexpected error: {error!r}", "internal", attempt, None)

    def _retry(self, message: str, code: str, attempt: int, retry_after: float | None) -> Decision:
        if attempt >= self.max_attempts:
            return Decision(
                "failed",
                f"gave up after {attempt} attempts; last error: {message}",
                code,
                hint="Check the platform's status, then retry the course.",
            )
        delay = self.backoff(attempt)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return Decision("pending", message, code, delay_s=delay)


def _hint_for(error: PlatformError) -> str:
    if error.status == 401:
        return "The platform refused our credentials: check the token in the settings."
    if error.status in (403, 404):
        return (
            "The bot lacks access or the resource is gone: check the bot's permissions "
            "(or the GitHub token's scopes), then retry."
        )
    return "Fix the cause named in the error, then retry the course."
