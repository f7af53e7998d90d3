from __future__ import annotations

import asyncio

import pytest

from provisioning.errors import PlatformError
from provisioning.governor import (
    BUDGET_MARGIN_S,
    RESET_MARGIN_S,
    SEND_HOLD_S,
    SEND_LEAD_S,
    GovernorLimits,
    RateGovernor,
)
from provisioning.pace import MemoryPaceLedger
from tests.fakes.clocks import FastForwardClock


async def call(
    governor: RateGovernor,
    clock: FastForwardClock,
    bucket: str,
    write: bool,
    headers: dict[str, str] | None = None,
) -> float:
    """Acquire, answer with `headers`, and say at what time the call went out (a write's
    send recorded at once, as the transport does when the request leaves)."""
    mark = await governor.acquire(bucket, write=write)
    if mark is not None:
        await clock.sleep(mark.wait_s)  # as the sending thread does
    sent = clock.mono
    if mark is not None:
        await governor.sent(mark, 0.0)
    governor.observe(bucket, headers or {})
    return sent


def window(limit: int, remaining: int, reset_after: float) -> dict[str, str]:
    """Discord-style rate-limit headers."""
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset-After": str(reset_after),
    }


async def test_github_writes_are_a_second_apart_and_queue_in_order() -> None:
    """Three writes asked at once go out at 0, 1 and 2 s; the governor counts two waits."""
    clock = FastForwardClock()
    governor = RateGovernor("github", GovernorLimits.github(), clock)
    times = [await call(governor, clock, "api", True) for _ in range(3)]
    assert times == [0.0, 1.0, 2.0]
    assert governor.waits == 2


async def test_github_reads_do_not_wait_behind_writes() -> None:
    """A read asked while a write waits for its slot goes out at once."""
    clock = FastForwardClock()
    governor = RateGovernor("github", GovernorLimits.github(), clock)
    await call(governor, clock, "api", True, window(5000, 4999, 3600))
    waiting_write = asyncio.create_task(governor.acquire("api", write=True))
    await asyncio.sleep(0)
    started = clock.mono
    await governor.acquire("api", write=False)
    assert clock.mono == started
    await waiting_write


async def test_scale_divides_the_spacing() -> None:
    """At scale 50 writes are 20 ms apart, as the sandbox's scaled limits expect."""
    clock = FastForwardClock()
    governor = RateGovernor("github", GovernorLimits.github(scale=50), clock)
    times = [await call(governor, clock, "api", True) for _ in range(3)]
    assert times == [0.0, 0.02, 0.04]


async def test_discord_spaces_every_call_under_the_global_limit() -> None:
    """Discord allows 50 requests a second per bot, reads included; we stay at 40."""
    clock = FastForwardClock()
    governor = RateGovernor("discord", GovernorLimits.discord(), clock)
    times = [await call(governor, clock, f"b{i}", False) for i in range(3)]
    assert [round(t, 3) for t in times] == [0.0, 0.025, 0.05]


async def test_exhausted_bucket_waits_for_its_reset_and_others_do_not() -> None:
    """`Remaining: 0` closes that bucket until `Reset-After`; `Retry-After` does the same."""
    clock = FastForwardClock()
    governor = RateGovernor("github", GovernorLimits.github(), clock)
    await call(governor, clock, "roles", False, window(5, 0, 5))
    assert await call(governor, clock, "channels", False) == 0.0
    assert await call(governor, clock, "roles", False, {"Retry-After": "3"}) == pytest.approx(
        5.0 + RESET_MARGIN_S
    )
    assert await call(governor, clock, "roles", False) == pytest.approx(8.0 + 2 * RESET_MARGIN_S)


async def test_reset_epoch_header_is_understood() -> None:
    """GitHub's `x-ratelimit-reset` is an epoch time; the wait is measured from now."""
    clock = FastForwardClock()
    governor = RateGovernor("github", GovernorLimits.github(), clock)
    reset = int(clock.now().timestamp()) + 7
    headers = {
        "x-ratelimit-limit": "60",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(reset),
    }
    await call(governor, clock, "api", False, headers)
    assert await call(governor, clock, "api", False) == pytest.approx(7.0 + RESET_MARGIN_S)


async def test_a_window_gives_no_more_calls_than_it_has_left() -> None:
    """With 2 calls left in a 1-second window, the third waits for the reset."""
    clock = FastForwardClock()
    governor = RateGovernor("github", GovernorLimits.github(), clock)
    await call(governor, clock, "b", False, window(3, 2, 1.0))
    for _ in range(2):
        await governor.acquire("b", write=False)
    assert clock.mono == 0.0
    third = asyncio.create_task(governor.acquire("b", write=False))
    await asyncio.sleep(0)
    for _ in range(2):
        governor.observe("b", window(3, 0, 1.0))
    await third
    assert clock.mono == pytest.approx(1.0 + RESET_MARGIN_S)


async def test_a_bucket_never_seen_lets_one_call_through_first() -> None:
    """The second call to an unknown bucket waits for the first answer to learn the limit."""
    clock = FastForwardClock()
    governor = RateGovernor("github", GovernorLimits.github(), clock)
    await governor.acquire("new", write=False)
    second = asyncio.create_task(governor.acquire("new", write=False))
    await asyncio.sleep(0)
    assert not second.done()
    governor.observe("new", window(10, 9, 1.0))
    await second


async def test_answers_out_of_order_do_not_reopen_a_window() -> None:
    """A late answer saying 1 left, after one saying 0 left, keeps the window closed."""
    clock = FastForwardClock()
    governor = RateGovernor("github", GovernorLimits.github(), clock)
    await call(governor, clock, "b", False, window(2, 0, 1.0))
    governor.observe("b", window(2, 1, 1.0))
    assert await call(governor, clock, "b", False) == pytest.approx(1.0 + RESET_MARGIN_S)


async def test_a_wait_longer_than_the_limit_fails_the_call_for_a_later_retry() -> None:
    """A bucket closed for hours (Discord's role bucket) raises a retryable 429, no sleep."""
    clock = FastForwardClock()
    governor = RateGovernor("discord", GovernorLimits.discord(), clock, max_wait_s=30)
    await call(governor, clock, "roles", True, window(250, 0, 100_000))
    with pytest.raises(PlatformError) as caught:
        await governor.acquire("roles", write=True)
    assert caught.value.rate_limited
    assert caught.value.retry_after == pytest.approx(100_000 + RESET_MARGIN_S, abs=1)
    assert clock.mono == 0.0


async def test_close_holds_every_call_back() -> None:
    """A limit met without headers (GitHub's secondary limit) closes the bucket for all."""
    clock = FastForwardClock()
    governor = RateGovernor("github", GovernorLimits.github(), clock)
    await call(governor, clock, "api", False, window(5000, 4999, 3600))
    await governor.close("api", 20)
    assert await call(governor, clock, "api", False) == pytest.approx(20 + RESET_MARGIN_S)


async def test_github_writes_keep_the_hourly_content_budget() -> None:
    """GitHub allows 500 content-creating requests an hour: the first 500 writes go a second
    apart, the 501st waits until an hour (and the arrival margin) after the first."""
    clock = FastForwardClock()
    governor = RateGovernor("github", GovernorLimits.github(), clock)
    times = [await call(governor, clock, "api", True) for _ in range(502)]
    assert times[499] == 499.0
    assert times[500] == pytest.approx(3600.0 + BUDGET_MARGIN_S)
    assert times[501] == pytest.approx(3601.0 + BUDGET_MARGIN_S)


def github_window(clock: FastForwardClock, limit: int, remaining: int) -> dict[str, str]:
    """GitHub's rate-limit headers: an epoch reset an hour from the clock's now."""
    reset = int(clock.now().timestamp()) + 3600
    return {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(reset),
    }


@pytest.mark.parametrize("limit", [12500, 5000])
async def test_the_hourly_budget_is_the_credentials_own(limit: int) -> None:
    """The primary budget is what `X-RateLimit-Limit` says: an App installation with 12,500/h
    makes 12,500 calls in its hour without a wait (not 5,000), a token 5,000, and the next
    call waits for the reset."""
    clock = FastForwardClock()
    governor = RateGovernor("github", GovernorLimits.github(), clock, max_wait_s=7200)
    await call(governor, clock, "core", False, github_window(clock, limit, limit - 1))
    assert governor.limit("core") == limit
    for _ in range(limit - 1):
        await call(governor, clock, "core", False)
    assert clock.mono == 0.0
    assert governor.waits == 0
    late = await call(governor, clock, "core", False)
    assert 3599 <= late <= 3601 + RESET_MARGIN_S


class LateWaker(FastForwardClock):
    """The first sleep ends `late_s` after it should: a sender off the CPU when its slot came."""

    def __init__(self, late_s: float) -> None:
        super().__init__()
        self._late = [late_s]

    async def sleep(self, seconds: float) -> None:
        late = self._late.pop() if self._late and seconds > 0 else 0.0
        await super().sleep(seconds + late)


async def test_a_late_writer_is_never_followed_sooner_than_the_spacing() -> None:
    """Slots at 0, 1 and 2 s; the writer of the 1 s slot wakes 0.9 s late (from its wait for
    the hand-off, `SEND_LEAD_S` before the slot) and leaves at once: the 2 s writer, on time,
    waits until a second after that rather than going 0.1 s after it (two governors, one
    ledger: two runner processes sharing a credential's pace)."""
    clock = LateWaker(late_s=0.9)
    ledger = MemoryPaceLedger(clock)
    first, second = (
        RateGovernor("github", GovernorLimits.github(), clock, ledger=ledger, credential="t")
        for _ in range(2)
    )
    assert await call(first, clock, "api", True) == 0.0
    late = asyncio.create_task(call(first, clock, "api", True))
    await asyncio.sleep(0)  # its slot (1 s) is reserved before the next one's
    on_time = asyncio.create_task(call(second, clock, "api", True))
    times = sorted(await asyncio.gather(late, on_time))
    left = 1.0 - SEND_LEAD_S + 0.9
    assert times == [pytest.approx(left), pytest.approx(left + 1.0)]
    assert await call(second, clock, "api", True) == pytest.approx(left + 2.0)


def sharing(clock: FastForwardClock) -> tuple[RateGovernor, RateGovernor]:
    """Two governors on one ledger and credential: two runner processes sharing a token."""
    ledger = MemoryPaceLedger(clock)
    first, second = (
        RateGovernor("github", GovernorLimits.github(), clock, ledger=ledger, credential="t")
        for _ in range(2)
    )
    return first, second


async def test_the_next_write_is_spaced_from_when_the_previous_one_left() -> None:
    """A write given its slot at 0 s leaves 0.3 s later (the hand-off to its thread): the
    next write, due at 1 s, goes at 1.3 s, a second after the real send."""
    clock = FastForwardClock()
    first, second = sharing(clock)
    mark = await first.acquire("api", write=True)
    assert mark is not None
    clock.advance(0.3)
    await first.sent(mark, 0.0)
    assert await call(second, clock, "api", True) == pytest.approx(1.3)


class Alarm(FastForwardClock):
    """Sets `rang` once the sleepers have moved time to `at`."""

    def __init__(self, at: float) -> None:
        super().__init__()
        self.at = at
        self.rang = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        if self.mono >= self.at:
            self.rang.set()


async def test_a_write_not_known_to_have_left_holds_the_next_one() -> None:
    """While the previous write has not said when it left, the next one waits for it (here
    it says so at 1.5 s, having left then) rather than going at its slot (1 s); a write that
    never says (its sender crashed) holds the next one `SEND_HOLD_S` at most."""
    clock = Alarm(at=1.5)
    first, second = sharing(clock)
    mark = await first.acquire("api", write=True)
    assert mark is not None
    waiting = asyncio.create_task(call(second, clock, "api", True))
    await clock.rang.wait()
    left_at = clock.mono
    await first.sent(mark, 0.0)
    assert await waiting == pytest.approx(left_at + 1.0)

    crashed = await first.acquire("api", write=True)
    assert crashed is not None
    mark_at = clock.mono + crashed.wait_s
    assert await call(second, clock, "api", True) == pytest.approx(mark_at + SEND_HOLD_S, abs=0.01)


async def test_a_write_that_never_left_frees_the_next_at_its_slot() -> None:
    """A write released unsent (its call failed before sending) holds nobody back: the next
    write goes at its own slot, a second after the released one's."""
    clock = FastForwardClock()
    first, second = sharing(clock)
    mark = await first.acquire("api", write=True)
    assert mark is not None
    await first.sent(mark, None)
    assert await call(second, clock, "api", True) == pytest.approx(1.0)


async def test_a_write_is_handed_to_its_sender_a_little_before_its_slot() -> None:
    """A write due at 1 s is let through `SEND_LEAD_S` before, with that much still to wait
    in its mark: the sending thread waits it, so neither the event loop waking late nor the
    hop to the thread delays the send (which the next write's spacing would add up)."""
    clock = FastForwardClock()
    governor = RateGovernor("github", GovernorLimits.github(), clock)
    await call(governor, clock, "api", True)
    mark = await governor.acquire("api", write=True)
    assert mark is not None
    assert clock.mono == pytest.approx(1.0 - SEND_LEAD_S)
    assert mark.wait_s == pytest.approx(SEND_LEAD_S)
