"""PyGithub's exceptions as `PlatformError`s, with GitHub's rate-limit rules applied."""

from __future__ import annotations

import time
from collections.abc import Callable

from github.GithubException import GithubException

from provisioning.errors import PlatformError
from provisioning.github.errors import (
    PLATFORM,
    SECONDARY_DEFAULT_WAIT_S,
    is_rate_limit_message,
    message_of,
    retry_after_seconds,
)


def from_github_exception(
    exc: GithubException, now: Callable[[], float] = time.time
) -> PlatformError:
    """Map GitHub's answer (status, JSON body, headers) onto our error."""
    message = message_of(exc.data) or exc.message or f"HTTP {exc.status}"
    headers = exc.headers or {}
    rate_limited = exc.status == 429 or (exc.status == 403 and is_rate_limit_message(message))
    retry_after = retry_after_seconds(headers, now) if rate_limited else None
    if rate_limited and retry_after is None:
        retry_after = SECONDARY_DEFAULT_WAIT_S
    return PlatformError(
        PLATFORM,
        exc.status,
        message,
        retry_after=retry_after,
        rate_limited=rate_limited,
    )


class InstallationTokenError(PlatformError):
    """GitHub refused an App installation its token (`POST /app/installations/{id}/
    access_tokens`): 404 when the installation was deleted (the App uninstalled from the
    organization), 403 while it is suspended. No call was sent with it. Not an absence, so a
    read that takes a 404 for "absent" must not take this one for it."""

    def __init__(self, installation_id: int, exc: GithubException) -> None:
        error = from_github_exception(exc)
        super().__init__(
            PLATFORM,
            error.status,
            f"no token for the GitHub App's installation {installation_id}: {error.message}",
        )
        self.installation_id = installation_id


def is_suspension(exc: PlatformError) -> bool:
    """Whether GitHub refused the App's installation for a suspension: minting its token
    answers 403 "This installation has been suspended", and a token minted before is refused
    403 with a text naming the account and when it "suspended your access"."""
    return exc.status == 403 and "suspended" in exc.message.lower()


def from_transport_error(exc: BaseException) -> PlatformError:
    """No answer came (reset, refused, timeout): status 0, which the runner retries."""
    return PlatformError(PLATFORM, 0, f"no answer: {type(exc).__name__}: {exc}")
