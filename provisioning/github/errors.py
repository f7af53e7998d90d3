"""GitHub's error answers read as GitHub means them: rate limits, plan limits, name clashes.

GitHub signals both rate limits with 403 or 429 and its own wording; a secondary limit may come
with quota left (PLATFORM.md §2.8), so the text decides, not `remaining`. The wait is
`retry-after` when sent, else the primary reset when `remaining` is 0, else at least 60 s.
The PyGithub adapter (`clients/github/errors.py`) builds its `PlatformError`s with these.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from provisioning.errors import PlatformError

PLATFORM = "github"
SECONDARY_DEFAULT_WAIT_S = 60.0


def is_rate_limit_message(message: str) -> bool:
    lowered = message.lower()
    return "api rate limit exceeded" in lowered or "secondary rate limit" in lowered


def message_of(data: Any) -> str:
    """GitHub's `message`, plus the first validation error's text, which says what clashed."""
    if not isinstance(data, Mapping):
        return str(data) if data else ""
    message = str(data.get("message") or "")
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        detail = first.get("message") or first.get("code") if isinstance(first, Mapping) else first
        if detail:
            message = f"{message} ({detail})" if message else str(detail)
    return message


def retry_after_seconds(
    headers: Mapping[str, Any], now: Callable[[], float] = time.time
) -> float | None:
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    raw = lowered.get("retry-after")
    if raw is not None:
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass
    if lowered.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in lowered:
        try:
            return max(0.0, float(lowered["x-ratelimit-reset"]) - now())
        except ValueError:
            pass
    return None


def is_not_found(error: PlatformError) -> bool:
    return error.status == 404


def is_plan_upgrade(error: PlatformError) -> bool:
    """The 403 a Free org's private repository gets for protection and rulesets (§2.4)."""
    return error.status == 403 and "upgrade to github pro" in error.message.lower()


def is_name_taken(error: PlatformError) -> bool:
    """The 422 a duplicate create gets (§2.6)."""
    lowered = error.message.lower()
    return error.status == 422 and ("already exists" in lowered or "validation failed" in lowered)
