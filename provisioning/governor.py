"""Rate governor: one per credential, spacing calls to stay under the published limits.

Bouncing off 429s costs time and, on Discord, counts towards a Cloudflare ban; so calls are
spaced before they are sent. The governor knows two things: a minimum spacing for all calls and
a (longer) one for writes (GitHub asks for serial mutations at least a second apart, and 80
content-creating requests a minute at most), and what the platform's rate-limit headers said
about each bucket: how many calls its window has left, when it resets, and any Retry-After.

The spacing belongs to the credential, not to the process: it is reserved from a `PaceLedger`
account named after the credential (shared through the database on PostgreSQL, so every runner
process sharing a token keeps one pace together), and so is GitHub's budget of content-creating
requests an hour. The buckets are learned from the answers' headers; on PostgreSQL they are
kept in the ledger too (`PaceLedger.buckets`), so that every process counts its calls against
the same window before sending them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace

from provisioning.clock import Clock
from provisioning.errors import PlatformError
from provisioning.pace import (
    BucketAnswer,
    Budget,
    MemoryPaceLedger,
    PaceLedger,
    Since,
    Slot,
    current_wait,
)

log = logging.getLogger(__name__)
RESET_MARGIN_S = 0.05
# Two answers whose windows end this close together speak of the same window.
SAME_WINDOW_S = 0.01
# How long a second call to a bucket never seen waits for the first answer before going anyway.
LEARN_TIMEOUT_S = 5.0
# How often a process asks the shared ledger again while another's first call to a bucket is
# still learning its limit.
LEARN_POLL_S = 0.02
# Added to a budget's window: the platform counts arrivals, and a request can arrive later
# than its slot by more than the one a budget's length back did (a busy CPU: 0.3 s seen on a
# loaded machine). Nothing at real scale (an hour), and 1.4 % of a window sped up 50 times.
BUDGET_MARGIN_S = 1.0
# How long a write's send mark holds the next writer back at most while the write has not
# said when it left (`RateGovernor.sent`): a sender that crashed between its mark and its
# send. Machine time, not the platform's: not scaled. The hand-off from the mark to the send
# takes milliseconds (0.3 s on a machine loaded 15 deep), but a write also waits there for
# its process's previous write to be answered (one sending thread): seconds, for a slow
# GitHub create. A write later than this may leave closer than the spacing to the next.
SEND_HOLD_S = 10.0
# How often a writer asks again while the previous write's send is not recorded yet (it is
# written as the request leaves, milliseconds after its slot, so rarely more than once).
SEND_POLL_S = 0.005
# How long before its send slot a write is handed to its sending thread, which waits the rest
# itself (`SendMark.wait_s`): each write is spaced from the previous one's real send, so
# whatever lies between its slot and its send (the event loop waking late, the hop to the
# thread: 2 ms typically, 10-15 ms at the 90th percentile on a loaded machine) would add to
# every spacing; a thread's own sleep ends on time. At most half the spacing.
SEND_LEAD_S = 0.05
# A credential's own bucket (GitHub's "core": every call of the token counts) is counted in the
# shared ledger a block at a time: as many calls as this process made in the last
# `BLOCK_S` (at most `BLOCK_MAX`), spent here without asking again, for `BLOCK_S` at most
# (nor past the window's end). Each count was one UPDATE of the credential's one row, which
# every call of every process took in turn (3 to 40 ms at the median under a department's
# load). A block left when the calls stop is a few calls less in that window, never more.
BLOCK_MAX = 10
BLOCK_S = 1.0


@dataclass(frozen=True)
class GovernorLimits:
    """Spacing in seconds; `scale` divides them (the sandbox runs its limits faster, too)."""

    min_interval_s: float
    write_interval_s: float
    scale: float = 1.0
    # At most so many writes in any window (unscaled), besides their spacing.
    write_budget: Budget | None = None
    # Whether each bucket is one route's of one server or channel (Discord's), so that a call
    # waiting for its bucket holds back no call of another (GitHub's "core" is the
    # credential's: a wait for it holds back every call).
    route_buckets: bool = False

    @classmethod
    def github(cls, scale: float = 1.0) -> GovernorLimits:
        # 80 content-creating requests per minute and "at least one second between
        # mutations" (GitHub best practices): one write per second is under both. The
        # secondary limit of 500 content-creating requests an hour is not: after 500 writes
        # at that pace a write waits for the one 500 back to be an hour old.
        return cls(
            min_interval_s=0.0,
            write_interval_s=1.0,
            scale=scale,
            write_budget=Budget(count=500, window_s=3600.0),
        )

    @classmethod
    def discord(cls, scale: float = 1.0) -> GovernorLimits:
        # 50 requests per second per bot, globally; per-route buckets come from the headers.
        # 40 leaves room for requests that leave in order but arrive bunched up.
        return cls(min_interval_s=1 / 40, write_interval_s=1 / 40, scale=scale, route_buckets=True)


@dataclass(frozen=True)
class SendMark:
    """A write's send slot, taken on the credential's send account: tell the governor when the
    write left (`RateGovernor.sent`), or that it never did, so the next write can be spaced
    from the real send."""

    account: str
    interval_s: float
    token: str
    # Still to wait, from when `acquire` returned, before the write may leave: the sender
    # waits this itself, on its sending thread (`SEND_LEAD_S`).
    wait_s: float = 0.0


@dataclass
class _Bucket:
    """What the platform's headers said about one bucket, and our calls still unanswered."""

    limit: int | None = None
    remaining: int | None = None  # calls left in the current window; None: not known yet
    reset_at: float = 0.0  # monotonic time the current window ends
    closed_until: float = 0.0  # Retry-After: nothing goes out before this
    in_flight: int = 0
    learned: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class _Block:
    """Calls of a shared credential-wide bucket this process counted ahead (`BLOCK_S`)."""

    left: int = 0
    until: float = 0.0  # monotonic: the block's calls may be sent until then
    calls: deque[float] = field(default_factory=deque)  # this process's, in the last BLOCK_S
    refill: asyncio.Lock = field(default_factory=asyncio.Lock)

    def note(self, now: float) -> None:
        self.calls.append(now)
        while self.calls[0] <= now - BLOCK_S:
            self.calls.popleft()

    def spend(self, now: float) -> bool:
        if self.left <= 0 or now >= self.until:
            return False
        self.left -= 1
        return True

    def want(self) -> int:
        return min(BLOCK_MAX, len(self.calls))

    def fill(self, granted: int, now: float, good_for_s: float) -> None:
        # The first of the calls counted is the caller's.
        self.left = granted - 1
        self.until = now + min(BLOCK_S, good_for_s)

    def drop(self) -> None:
        self.left = 0


class RateGovernor:
    """Awaited before each call (`acquire`), told about each answer (`observe`, once per call,
    with the answer's headers or none when no answer came)."""

    def __init__(
        self,
        name: str,
        limits: GovernorLimits,
        clock: Clock,
        max_wait_s: float = 30.0,
        *,
        ledger: PaceLedger | None = None,
        credential: str | None = None,
    ) -> None:
        self.name = name
        # Without a ledger the pace is this governor's own (one process, tests of one part).
        self._ledger = ledger or MemoryPaceLedger(clock)
        self._account = credential or f"{name}:local"
        # Longer waits for a bucket fail the call instead (retryable, with the wait as
        # Retry-After): a step must not hold a runner slot for hours (a role bucket resets
        # after ~28 h, GitHub's primary limit hourly); the runner reschedules it.
        self._max_wait_s = max_wait_s
        self._limits = limits
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._shared = self._ledger.buckets
        self._learned: dict[str, int] = {}  # shared buckets: the limit this process last saw
        self._blocks: dict[str, _Block] = {}  # shared credential-wide buckets (`BLOCK_S`)
        self.waits = 0
        self.wait_seconds = 0.0
        # Held by the writer asking the ledger for its send mark (`_mark_send`).
        self._marking = asyncio.Lock()

    def limit(self, bucket: str) -> int | None:
        """The calls per window the platform's headers gave `bucket` (`X-RateLimit-Limit`: a
        GitHub App installation's grows with its organization, up to 12,500 an hour, a token's
        is 5,000); None until an answer said."""
        if self._shared is not None:
            return self._learned.get(bucket)
        state = self._buckets.get(bucket)
        return None if state is None else state.limit

    async def acquire(self, bucket: str, *, write: bool) -> SendMark | None:
        """Wait until a call to `bucket` may go out without exceeding a limit; a write spaced
        on its own (GitHub's) returns its send mark, to be settled with `sent`.

        Bucket accounting first: no more calls than the window has left (counting the ones
        still in flight), and a bucket never seen lets one call through to learn its limit.
        Then spacing: the slot is reserved from the credential's ledger account before
        sleeping, so callers (of every process) queue in order without holding a lock, and
        reads are not held up behind a write waiting for its slot (a GitHub read has no
        spacing of its own: only writes are serial).
        """
        if self._shared is not None:
            return await self._take_shared(bucket, write)
        state = self._buckets.setdefault(bucket, _Bucket())
        await self._wait_for_bucket(state)
        if state.remaining is not None:
            state.remaining -= 1
        state.in_flight += 1
        try:
            return await self._space(write)
        except BaseException:
            state.in_flight = max(0, state.in_flight - 1)  # cancelled (stopping): never sent
            raise

    async def _space(self, write: bool) -> SendMark | None:
        slot = self._slot(write)
        if slot is None:
            return None
        wait = await self._ledger.reserve(slot.account, slot.interval_s, slot.budget)
        return await self._after_slot(slot, wait)

    async def _after_slot(self, slot: Slot, wait: float) -> SendMark | None:
        """Wait for the slot, `wait` from now; a write spaced on its own returns `SEND_LEAD_S`
        before it with its send mark, the rest of the wait in it."""
        if not slot.account.endswith(":write"):
            await self._sleep(wait)
            return None
        due = self._clock.monotonic() + wait
        await self._sleep(wait - self._lead(slot))
        return await self._mark_send(slot, due)

    @staticmethod
    def _lead(slot: Slot) -> float:
        return min(SEND_LEAD_S, slot.interval_s / 2)

    async def _mark_send(self, slot: Slot, due: float) -> SendMark:
        """Writes with a spacing of their own (GitHub's, a second apart) also take a send mark
        when their slot comes. Slots are reserved a spacing apart, but what happens between a
        slot and the request leaving (waking, the hand-off to the sending thread, a process
        off the CPU) takes each write a different time: a write that left late was followed
        by the next one, on time, sooner than the spacing (5 ms apart seen where the spacing
        was 100 ms). So the next send slot is counted from when the previous write really
        left (`sent`, measured by the transport) and is not handed out before that is known.
        On time, the mark costs no wait but what the previous write was late. The mark is
        returned `SEND_LEAD_S` before it is due (nor before the slot, `due`), with the rest of
        the wait for the sender to wait on its thread."""
        mark = SendMark(f"{slot.account}:sent", slot.interval_s, secrets.token_hex(8))
        # One writer of this process asks at a time, in the order they came: each record of a
        # send woke every writer waiting on the account, and all of them asked the ledger
        # again, one UPDATE each of the same row, for one mark (12 % of the updates of
        # `pace_accounts` in a department run at scale 10; more, the more writers wait).
        with _marked_waiting():  # queued behind another writer: nothing sent yet
            await self._marking.acquire()
        try:
            while True:
                wait = await self._ledger.mark(
                    mark.account, mark.interval_s, mark.token, SEND_HOLD_S
                )
                if wait is not None:
                    break
                with _marked_waiting():
                    await self._ledger.wait_sent(mark.account, SEND_POLL_S)
        finally:
            self._marking.release()
        due = max(due, self._clock.monotonic() + wait)
        try:
            await self._sleep(due - self._clock.monotonic() - self._lead(slot))
        except BaseException:
            # Cancelled (stopping) before the send: the next writer need not wait for it.
            await asyncio.shield(self.sent(mark, None))
            raise
        return replace(mark, wait_s=max(0.0, due - self._clock.monotonic()))

    async def sent(self, mark: SendMark, ago_s: float | Since | None) -> None:
        """The write of `mark` left `ago_s` seconds ago (None: it never left); a function
        is asked as late as possible (the transport's `perf_counter` at the send, less now)."""
        if ago_s is None or callable(ago_s):
            ago = ago_s
        else:
            seconds = ago_s
            ago = lambda: seconds  # noqa: E731
        await self._ledger.sent(mark.account, mark.interval_s, mark.token, ago)

    def _slot(self, write: bool) -> Slot | None:
        account, interval = self._spacing(write)
        budget = self._budget(write)
        if interval > 0 or budget is not None:
            return Slot(account, interval, budget)
        return None

    async def _take_shared(self, bucket: str, write: bool) -> SendMark | None:
        """Count the call against the bucket every process shares, waiting while it is spent
        (a call counted and then cancelled is not given back: one call less, never more),
        then wait for the slot reserved with the count."""
        assert self._shared is not None
        block = None
        if not self._limits.route_buckets:
            block = self._blocks.setdefault(bucket, _Block())
            block.note(self._clock.monotonic())
        while True:
            slot = self._slot(write)
            if block is None:
                wait, slot_wait, _, _ = await self._shared.take(self._account, bucket, slot)
            else:
                wait, slot_wait = await self._take_from_block(block, bucket, slot)
            if wait <= 0:
                if slot is None:
                    return None
                return await self._after_slot(slot, slot_wait)
            if wait > self._max_wait_s:
                raise PlatformError(
                    self.name,
                    429,
                    f"rate limited for another {wait:.0f} s; the step waits its turn",
                    retry_after=wait,
                    rate_limited=True,
                )
            await self._sleep(wait, for_bucket=True)

    async def _take_from_block(
        self, block: _Block, bucket: str, slot: Slot | None
    ) -> tuple[float, float]:
        """`BucketLedger.take` through the process's block: a call the block still holds costs
        only its slot; otherwise one writer at a time refills the block for all of them."""
        assert self._shared is not None
        if not block.spend(self._clock.monotonic()):
            async with block.refill:
                if not block.spend(self._clock.monotonic()):  # nobody refilled it meanwhile
                    wait, slot_wait, granted, good_for = await self._shared.take(
                        self._account, bucket, slot, want=block.want()
                    )
                    if wait <= 0:
                        block.fill(granted, self._clock.monotonic(), good_for)
                    return wait, slot_wait
        if slot is None:
            return 0.0, 0.0
        return 0.0, await self._ledger.reserve(slot.account, slot.interval_s, slot.budget)

    def _spacing(self, write: bool) -> tuple[str, float]:
        """The ledger account a call is spaced on, and its spacing. One account per call:
        writes have their own when their spacing is the longer (GitHub: writes a second
        apart, reads free), otherwise every call shares one (Discord: 40 per second)."""
        limits = self._limits
        if write and limits.write_interval_s > limits.min_interval_s:
            return f"{self._account}:write", limits.write_interval_s / limits.scale
        return f"{self._account}:any", limits.min_interval_s / limits.scale

    def _budget(self, write: bool) -> Budget | None:
        budget = self._limits.write_budget
        if not write or budget is None:
            return None
        window = budget.window_s / self._limits.scale + BUDGET_MARGIN_S
        return Budget(count=budget.count, window_s=window)

    async def _wait_for_bucket(self, state: _Bucket) -> None:
        while True:
            now = self._clock.monotonic()
            if state.remaining is not None and now >= state.reset_at + RESET_MARGIN_S:
                state.remaining = state.limit  # a new window: the whole limit again
            until = state.closed_until
            if state.remaining is not None and state.remaining <= 0:
                # A little past the reset: the platform's clock and the rounding of
                # `Reset-After` can put a call sent exactly at the reset before the window.
                until = max(until, state.reset_at + RESET_MARGIN_S)
            if until - now > self._max_wait_s:
                raise PlatformError(
                    self.name,
                    429,
                    f"rate limited for another {until - now:.0f} s; the step waits its turn",
                    retry_after=until - now,
                    rate_limited=True,
                )
            if until > now:
                await self._sleep(until - now, for_bucket=True)
                continue
            if state.remaining is None and state.limit is None and state.in_flight > 0:
                # Never seen: wait for the first answer to say what the limit is.
                state.learned.clear()
                try:
                    with _marked_waiting(on_route=self._limits.route_buckets):
                        await asyncio.wait_for(state.learned.wait(), LEARN_TIMEOUT_S)
                except TimeoutError:
                    return
                continue
            return

    async def _sleep(self, delay: float, *, for_bucket: bool = False) -> None:
        # Under a microsecond is no wait: what is left of subtracting the lead from a slot.
        if delay > 1e-6:
            self.waits += 1
            self.wait_seconds += delay
            with _marked_waiting(on_route=for_bucket and self._limits.route_buckets):
                await self._clock.sleep(delay)

    async def close(self, bucket: str, seconds: float) -> None:
        """Hold every call to `bucket` back for `seconds` (a limit met without headers), and
        the credential's writes in every process: a secondary limit blocks the credential."""
        if self._shared is not None:
            self._drop_block(bucket)
            await self._shared.learn(self._account, bucket, BucketAnswer(retry_after_s=seconds))
        else:
            state = self._buckets.setdefault(bucket, _Bucket())
            until = self._clock.monotonic() + seconds + RESET_MARGIN_S
            state.closed_until = max(state.closed_until, until)
        await self._ledger.hold(self._spacing(True)[0], seconds + RESET_MARGIN_S)

    async def answered(
        self, bucket: str, headers: Mapping[str, str], *, age_s: float = 0.0
    ) -> None:
        """Learn from an answer (or no answer: `headers` empty), in the shared ledger when the
        buckets are shared, else in this process (`observe`). `age_s`: how long ago the
        answer arrived; its relative times (Reset-After, Retry-After) are counted from then."""
        if self._shared is None:
            self.observe(bucket, headers, age_s=age_s)
            return
        lowered = {k.lower(): v for k, v in headers.items()}
        answer = BucketAnswer(
            limit=_int(lowered.get("x-ratelimit-limit")),
            remaining=_int(lowered.get("x-ratelimit-remaining")),
            reset_after_s=self._reset_after(lowered, age_s),
            retry_after_s=_since(_seconds(lowered.get("retry-after")), age_s),
        )
        if answer.retry_after_s:
            self._drop_block(bucket)  # closed: the calls counted ahead wait like the others
        if self._worth_learning(bucket, answer):
            await self._shared.learn(self._account, bucket, answer)

    def _drop_block(self, bucket: str) -> None:
        block = self._blocks.get(bucket)
        if block is not None:
            block.drop()

    def _worth_learning(self, bucket: str, answer: BucketAnswer) -> bool:
        """Whether an answer tells the shared bucket anything its own count does not: a
        Retry-After; a limit not known yet (or the end of a probe, answered or not); the first
        answer of a window (the platform's window began at that call's arrival: its end
        corrects the row's estimate); a window nearly spent (calls of anyone else show there).
        Answers in between only confirm the count, and are not written (a transaction less)."""
        if answer.retry_after_s:
            return True
        known = self._learned.get(bucket)
        if answer.remaining is None or answer.reset_after_s is None:
            return known is None
        limit = answer.limit or known or answer.remaining + 1
        self._learned[bucket] = limit
        if known is None or known != limit:
            return True
        return answer.remaining >= limit - 1 or answer.remaining <= max(1, limit // 10)

    def observe(self, bucket: str, headers: Mapping[str, str], *, age_s: float = 0.0) -> None:
        """Learn from an answer's rate-limit headers (or from no answer: `headers` empty) that
        arrived `age_s` ago."""
        state = self._buckets.setdefault(bucket, _Bucket())
        state.in_flight = max(0, state.in_flight - 1)
        lowered = {k.lower(): v for k, v in headers.items()}
        now = self._clock.monotonic()
        retry_after = _since(_seconds(lowered.get("retry-after")), age_s)
        if retry_after is not None and retry_after > 0:
            state.closed_until = max(state.closed_until, now + retry_after + RESET_MARGIN_S)
            log.debug("bucket closed", extra={"governor": self.name, "bucket": bucket})
        remaining = _int(lowered.get("x-ratelimit-remaining"))
        reset_after = self._reset_after(lowered, age_s)
        if remaining is not None and reset_after is not None:
            state.limit = _int(lowered.get("x-ratelimit-limit")) or state.limit or remaining + 1
            reset_at = now + reset_after
            # Answers can arrive out of order: within one window believe the smaller count;
            # a later window starts afresh, less the calls already on their way.
            later_window = state.remaining is None or reset_at > state.reset_at + SAME_WINDOW_S
            left = remaining - state.in_flight
            state.remaining = left if later_window else min(state.remaining or 0, left)
            state.reset_at = max(state.reset_at, reset_at) if not later_window else reset_at
        state.learned.set()

    def _reset_after(self, lowered: Mapping[str, str], age_s: float) -> float | None:
        """Seconds from now to the end of the answer's window: `Reset-After` counts from the
        answer's arrival, `age_s` ago (the absolute `Reset` only where it is missing: it needs
        our clock to agree with the platform's)."""
        reset_after = _since(_seconds(lowered.get("x-ratelimit-reset-after")), age_s)
        if reset_after is None:
            reset_after = _until_epoch(lowered.get("x-ratelimit-reset"), self._clock)
        return reset_after


@contextlib.contextmanager
def _marked_waiting(*, on_route: bool = False) -> Iterator[None]:
    """Tell the step's runner it waits for a pace now (stopping cancels it then, unsent), and
    whether for one route's window alone (its slot may serve another step meanwhile)."""
    marker = current_wait.get()
    if marker is None:
        yield
        return
    with marker.marked(on_route=on_route):
        yield


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _since(seconds: float | None, age_s: float) -> float | None:
    """A relative time of an answer `age_s` old, counted from now (never below zero)."""
    return None if seconds is None else max(0.0, seconds - max(0.0, age_s))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _until_epoch(value: str | None, clock: Clock) -> float | None:
    epoch = _seconds(value)
    return None if epoch is None else epoch - clock.now().timestamp()
