"""PyGithub's exceptions become PlatformErrors with GitHub's rate-limit rules applied."""

from __future__ import annotations

from github.GithubException import GithubException, RateLimitExceededException

from clients.github.errors import from_github_exception, from_transport_error
from provisioning.github.errors import is_name_taken, is_plan_upgrade

NOW = 1_000_000.0
SECONDARY = (
    "You have exceeded a secondary rate limit and have been temporarily blocked from "
    "content creation. Please retry your request again later."
)


def _now() -> float:
    return NOW


def test_secondary_limit_honours_retry_after() -> None:
    """A 403 secondary limit with quota left is rate limited and waits `retry-after`."""
    exc = RateLimitExceededException(
        403, {"message": SECONDARY}, {"retry-after": "7", "x-ratelimit-remaining": "4000"}
    )
    error = from_github_exception(exc, _now)
    assert error.rate_limited
    assert error.retryable
    assert error.retry_after == 7.0
    assert error.status == 403


def test_primary_limit_waits_for_the_reset() -> None:
    """An exhausted primary limit waits until `x-ratelimit-reset`."""
    exc = RateLimitExceededException(
        403,
        {"message": "API rate limit exceeded for user ID 1."},
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW + 120))},
    )
    error = from_github_exception(exc, _now)
    assert error.rate_limited
    assert error.retry_after == 120.0


def test_secondary_limit_without_headers_waits_a_minute() -> None:
    """A 429 with neither header waits the documented minimum of 60 s."""
    error = from_github_exception(GithubException(429, {"message": SECONDARY}, {}), _now)
    assert error.rate_limited
    assert error.retry_after == 60.0


def test_validation_error_keeps_the_detail() -> None:
    """A duplicate create's 422 keeps the clashing field's message and is not retryable."""
    body = {
        "message": "Repository creation failed.",
        "errors": [
            {
                "resource": "Repository",
                "code": "custom",
                "field": "name",
                "message": "name already exists on this account",
            }
        ],
    }
    error = from_github_exception(GithubException(422, body, {}), _now)
    assert not error.retryable
    assert not error.rate_limited
    assert is_name_taken(error)
    assert "name already exists on this account" in error.message


def test_plan_upgrade_is_recognised() -> None:
    """The Free-plan 403 is recognised as such and is not a rate limit."""
    body = {
        "message": "Upgrade to GitHub Pro or make this repository public to enable this feature."
    }
    error = from_github_exception(GithubException(403, body, {}), _now)
    assert is_plan_upgrade(error)
    assert not error.rate_limited


def test_no_answer_is_status_zero_and_retryable() -> None:
    """A reset or timeout is status 0, which the runner retries."""
    error = from_transport_error(ConnectionResetError("reset by peer"))
    assert error.status == 0
    assert error.retryable
