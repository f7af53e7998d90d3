from __future__ import annotations

import random

from provisioning.errors import (
    ActionRequiredError,
    PlatformError,
    StepFailedError,
    WaitForLimitError,
)
from provisioning.retry import RetryPolicy


def policy() -> RetryPolicy:
    return RetryPolicy(base_s=2, cap_s=60, max_attempts=5, rng=random.Random(7))


def test_a_person_must_act() -> None:
    """An action-required error waits for a person, with its message as the hint."""
    decision = policy().decide(ActionRequiredError("github.plan", "upgrade the org"), 1)
    assert (decision.state, decision.code, decision.hint) == (
        "awaiting_action",
        "github.plan",
        "upgrade the org",
    )


def test_permanent_errors_are_not_retried() -> None:
    """Validation and other 4xx answers fail at once and say what to check."""
    assert policy().decide(StepFailedError("not ours"), 1).state == "failed"
    decision = policy().decide(PlatformError("github", 422, "Validation Failed"), 1)
    assert decision.state == "failed"
    assert decision.code == "github.422"
    forbidden = policy().decide(PlatformError("discord", 403, "Missing Access", code=50001), 1)
    assert forbidden.code == "discord.50001"
    assert "permissions" in (forbidden.hint or "")


def test_transient_errors_back_off_with_full_jitter_under_the_cap() -> None:
    """5xx, 408, 409 and no answer are retried after a random wait below the capped ceiling."""
    retry = policy()
    for attempt, status in enumerate((500, 502, 408, 0), start=1):
        decision = retry.decide(PlatformError("github", status, "x"), attempt)
        assert decision.state == "pending"
        assert 0 <= decision.delay_s <= min(60, 2 * 2 ** (attempt - 1))


def test_the_platforms_retry_after_wins() -> None:
    """A Retry-After longer than the backoff is waited out in full."""
    decision = policy().decide(PlatformError("github", 503, "x", retry_after=45), 1)
    assert decision.delay_s >= 45


def test_attempts_run_out() -> None:
    """The last allowed attempt fails for good, naming the last error."""
    decision = policy().decide(PlatformError("github", 502, "Bad Gateway"), 5)
    assert decision.state == "failed"
    assert "gave up after 5 attempts" in decision.message


def test_rate_limits_never_use_up_attempts() -> None:
    """Being told to slow down is waited out however often it happens."""
    limited = PlatformError("discord", 429, "slow down", retry_after=3, rate_limited=True)
    decision = policy().decide(limited, 50)
    assert decision.state == "pending"
    assert decision.delay_s >= 3


def test_a_known_wait_is_pending_until_then_and_gives_its_attempt_back() -> None:
    """GitHub's daily invitations: pending exactly until the window allows, with the message
    saying when, the attempt given back, however many came before."""
    wait = WaitForLimitError("github.invitation_limit", "the next goes at 14:05 UTC", 4000.0)
    decision = policy().decide(wait, 50)
    assert (decision.state, decision.code, decision.delay_s) == (
        "pending",
        "github.invitation_limit",
        4000.0,
    )
    assert decision.message == "the next goes at 14:05 UTC"
    assert decision.attempt_used is False
    assert policy().decide(PlatformError("github", 502, "Bad Gateway"), 1).attempt_used


def test_unexpected_errors_are_retried_a_bounded_number_of_times() -> None:
    """A bug is not retried forever: pending first, failed at the last attempt."""
    assert policy().decide(KeyError("x"), 1).state == "pending"
    assert policy().decide(KeyError("x"), 5).state == "failed"
