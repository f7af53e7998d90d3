"""The step runner: claims due steps, runs their executors, records the outcome.

Woken by APScheduler ticks and on every enqueue (`wake`). Several steps run at once, up to
`concurrency` per platform, shared fairly by its lanes, the credentials the steps' calls are
paced on (the Discord bot, each GitHub organization, the mail sender): a GitHub step waiting a
second for its organization's write slot holds a slot of GitHub's and of that organization's
share, never one a Discord step or another organization's share could use (each credential's
governor paces its calls); a step waiting for one route's window of one server (Discord's
channel creations) holds none while it waits (`_busy`). Within a lane the course with the
least work left there goes first (`db.step_queue`). Each running step keeps its lease alive;
if this process dies, the lease expires and any runner takes the step over, whose executor
then verifies or adopts what the dead one may have created.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import step_queue
from provisioning import audit_context, pace
from provisioning.clock import Clock
from provisioning.courses.known_specs import KnownSpecs
from provisioning.discord.gateway import DiscordGateway
from provisioning.github.gateway import GitHubGateways
from provisioning.metrics import Metrics
from provisioning.plan import PlannedStep
from provisioning.retry import RetryPolicy
from provisioning.step import Executor, StepContext, StepResult

log = logging.getLogger(__name__)
# While stopping, how often to look for steps that began waiting for a pace (cancelled then).
DRAIN_CHECK_S = 0.02
# How often a claim round also looks for expired leases (a runner that died; a lease lasts a
# minute, so a second later is no later to speak of) and pending steps with no due time (none
# is made so nowadays). Every round, it was one statement more per platform.
OVERDUE_EVERY = timedelta(seconds=1)


@dataclass(frozen=True)
class RunnerConfig:
    """How much a runner takes on at once and how long its leases last."""

    lease_s: float = 60.0
    concurrency: int = 8  # per platform, shared by its lanes (credentials)
    idle_poll_s: float = 5.0
    # On shutdown, how long steps in flight may take to finish before they are handed back
    # (an operator expects Ctrl+C to be quick; a handed-back step runs again, idempotently).
    drain_s: float = 1.0


def _lane(step: step_queue.ClaimedStep) -> tuple[str, str]:
    """(platform, lane): what a running step counts against."""
    return step.kind.split(".", 1)[0], step.lane


class StepRunner:
    """Runs steps of every course in this database until stopped."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        executors: Mapping[str, Executor],
        github: GitHubGateways,
        discord: DiscordGateway,
        policy: RetryPolicy,
        clock: Clock,
        metrics: Metrics,
        config: RunnerConfig | None = None,
        owner: str | None = None,
        known_specs: KnownSpecs | None = None,
    ) -> None:
        self._sessions = sessions
        # The course descriptions its claims read and its steps get, as stored and validated,
        # kept between claims (the builder owns them, shared with the course service).
        self._known_specs = known_specs or KnownSpecs()
        self._executors = executors
        self._github = github
        self._discord = discord
        self._policy = policy
        self._clock = clock
        self._metrics = metrics
        self._config = config or RunnerConfig()
        self.owner = owner or f"runner-{uuid.uuid4().hex[:12]}"
        self._wake = asyncio.Event()
        self.steps_run = 0
        self.wakes = 0
        # Steps are claimed per platform, the first part of their kind ("github.repo").
        self._platforms = sorted({kind.split(".", 1)[0] for kind in executors})
        # Platforms found with no step pending or running, by when to look again (loop time).
        self._none_left_until: defaultdict[str, float] = defaultdict(float)
        # When each platform's claims next look for overdue steps (the runner's clock).
        self._overdue_at: dict[str, datetime] = {}

    def wake(self, platforms: Collection[str] | None = None) -> None:
        """Ask for a claim round now (a course was created, retried or claimed): every
        platform may have work again, or only `platforms` (another process's steps made
        these ready: asking every platform after each of them, one with no work at all took
        three statements a round)."""
        self.wakes += 1
        if platforms is None:
            self._none_left_until.clear()
        else:
            for platform in platforms:
                self._none_left_until.pop(platform, None)
        self._wake.set()

    async def serve(self, stop: asyncio.Event) -> None:
        """Keep up to `concurrency` steps of each platform running until `stop` is set,
        each lane its fair share of them.

        A step is claimed only when a slot is free, so every claimed step is running and
        renewing its lease: a claimed step waiting for a slot could outlive its lease and be
        taken over while still due to run here. A finished step frees a slot and may make its
        dependants ready, so finishing wakes the loop as an enqueue does.
        """
        running: dict[asyncio.Task[None], int] = {}
        lane_of: dict[asyncio.Task[None], tuple[str, str]] = {}
        waits: dict[asyncio.Task[None], pace.PaceWait] = {}
        try:
            while not stop.is_set():
                self._wake.clear()
                busy = self._busy(lane_of, waits)
                try:
                    claimed = await self._claim_free(busy)
                except Exception:
                    # The database went away for a moment (restart, failover, a lock timeout):
                    # the runner must outlive it, so log, wait a poll interval, claim again.
                    log.exception(
                        "claiming steps failed; trying again", extra={"owner": self.owner}
                    )
                    claimed = []
                    await self._pause(stop)
                    continue
                for step in claimed:
                    lane = _lane(step)
                    wait = pace.PaceWait(route_wait_began=partial(self.wake, [lane[0]]))
                    task = asyncio.create_task(self._run(step, wait), name=step.key)
                    running[task] = step.id
                    lane_of[task] = lane
                    waits[task] = wait
                # No second claim round straight away: a lane given fewer steps than it
                # had slots for has no more ready now, and one given as many is full. (That
                # round found nothing most of the time, yet took the write lock: a third of
                # all statements at scale 50.) A step finishing, a wake or the idle poll
                # brings the next round.
                signals = {
                    asyncio.ensure_future(self._wake.wait()),
                    asyncio.ensure_future(stop.wait()),
                }
                await asyncio.wait(
                    running.keys() | signals,
                    timeout=self._config.idle_poll_s,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for signal in signals:
                    signal.cancel()
                running = {task: id_ for task, id_ in running.items() if not task.done()}
                lane_of = {task: lane_of[task] for task in running}
                waits = {task: waits[task] for task in running}
        finally:
            await self._drain(running, waits)

    def _busy(
        self,
        lane_of: Mapping[asyncio.Task[None], tuple[str, str]],
        waits: Mapping[asyncio.Task[None], pace.PaceWait],
    ) -> Counter[tuple[str, str]]:
        """The slots each lane's running steps take. A step waiting for one route's window
        (a server's channel creations, 10 per 10 s on Discord) takes none: a step of another
        server could call meanwhile, and at the start of term every laboratory's channels
        wait so, which held a fifth of the Discord slots idle. At most `concurrency` such
        steps a platform go uncounted, so a platform never has more than twice its
        concurrency in flight (all of them renewing leases)."""
        busy: Counter[tuple[str, str]] = Counter()
        uncounted: Counter[str] = Counter()
        for task, lane in lane_of.items():
            if waits[task].on_route and uncounted[lane[0]] < self._config.concurrency:
                uncounted[lane[0]] += 1
            else:
                busy[lane] += 1
        return busy

    async def _pause(self, stop: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), self._config.idle_poll_s)

    async def _drain(
        self,
        running: dict[asyncio.Task[None], int],
        waits: Mapping[asyncio.Task[None], pace.PaceWait],
    ) -> None:
        """On shutdown cancel the steps waiting for their platform's pace at once (they sent
        nothing), let those with a call in flight finish it for up to `drain_s` (cancelled as
        soon as they wait for a pace again), then cancel the rest; hand every cancelled step
        back: pending and due, for the next runner or the next start, not left leased until
        its lease expires."""
        # Real time, like the operator's patience (a test's clock may stand still).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._config.drain_s
        pending = set(running)
        stopped: set[asyncio.Task[None]] = set()
        while pending:
            for task in pending - stopped:
                if waits[task].waiting:
                    task.cancel()
                    stopped.add(task)
            left = deadline - loop.time()
            if left <= 0:
                break
            _, pending = await asyncio.wait(pending, timeout=min(left, DRAIN_CHECK_S))
        for task in pending - stopped:
            task.cancel()
            stopped.add(task)
        await asyncio.gather(*stopped, return_exceptions=True)
        keys: list[str] = []
        if stopped:
            try:
                async with self._sessions.begin() as session:
                    keys = await step_queue.hand_back(
                        session, [running[t] for t in stopped], self.owner, self._clock.now()
                    )
            except Exception:
                # The database is gone too: the leases expire and the steps are taken then.
                log.exception("could not hand steps back", extra={"owner": self.owner})
        log.info(
            "runner stopped: %d steps handed back",
            len(keys),
            extra={"owner": self.owner, "steps": keys},
        )

    async def run_until_idle(self, max_rounds: int = 10_000) -> int:
        """Run rounds until none claims anything (tests, the CLI); returns steps run."""
        total = 0
        for _ in range(max_rounds):
            ran = await self.run_once()
            if not ran:
                return total
            total += ran
        return total

    async def run_once(self) -> int:
        """One round: claim as many ready steps as may run at once, run them, return the count."""
        claimed = await self._claim(self._config.concurrency)
        await asyncio.gather(*(self._run(step) for step in claimed))
        return len(claimed)

    async def _claim_free(
        self, busy: Mapping[tuple[str, str], int]
    ) -> list[step_queue.ClaimedStep]:
        """Claim, in one transaction, up to `concurrency` steps of each platform less the
        `busy` ones (running here, by (platform, lane)), each lane its share.

        A platform with no step left to run anywhere (a course's Discord work done, no e-mail
        steps at all) is not asked again until a wake or `idle_poll_s` later: it was asked at
        every round, for nothing, two queries each time."""
        claimed: list[step_queue.ClaimedStep] = []
        now = asyncio.get_running_loop().time()  # real time, like the idle poll's
        wanted = [p for p in self._platforms if self._none_left_until[p] <= now]
        if not wanted:
            return claimed
        wakes = self.wakes
        at = self._clock.now()
        overdue = [p for p in wanted if p not in self._overdue_at or at >= self._overdue_at[p]]
        async with self._sessions.begin() as session:
            found = await step_queue.claim_platforms(
                session,
                owner=self.owner,
                now=at,
                lease=timedelta(seconds=self._config.lease_s),
                platforms=wanted,
                slots=self._config.concurrency,
                busy=busy,
                specs=self._known_specs.stored,
                overdue=overdue,
            )
        for platform in overdue:
            self._overdue_at[platform] = at + OVERDUE_EVERY
        claimed += found.steps
        emptied = found.none_left
        if self.wakes == wakes:  # a wake meanwhile may bring steps the check did not see
            for platform in emptied:
                self._none_left_until[platform] = now + self._config.idle_poll_s
        if claimed:
            log.debug("claimed", extra={"owner": self.owner, "steps": step_queue.keys_of(claimed)})
        return claimed

    async def _claim(self, limit: int) -> list[step_queue.ClaimedStep]:
        async with self._sessions.begin() as session:
            claimed = await step_queue.claim(
                session,
                owner=self.owner,
                now=self._clock.now(),
                lease=timedelta(seconds=self._config.lease_s),
                limit=limit,
                specs=self._known_specs.stored,
            )
        if claimed:
            log.debug("claimed", extra={"owner": self.owner, "steps": step_queue.keys_of(claimed)})
        return claimed

    async def _run(self, step: step_queue.ClaimedStep, wait: pace.PaceWait | None = None) -> None:
        """Run one claimed step and record its outcome; never raises (one step's trouble,
        or the database's, must not stop the others or the runner). The governor marks `wait`
        while the step waits for its platform's pace."""
        pace.current_wait.set(wait)  # this task's own context, copied into the step's work
        try:
            await self._run_leased(step)
        except Exception:
            log.exception(
                "step run failed; its lease will expire and it will be run again",
                extra={"step": step.key, "course_id": step.course_id},
            )
        self.steps_run += 1

    async def _run_leased(self, step: step_queue.ClaimedStep) -> None:
        started = self._clock.monotonic()
        token = audit_context.current.set(
            audit_context.AuditContext("runner", step.course_id, step.key, step.attempt)
        )
        try:
            work = asyncio.create_task(self._execute(step))
        finally:
            audit_context.current.reset(token)  # the task keeps its own copy of the context
        renewer = asyncio.create_task(self._keep_lease(step.id))
        try:
            await asyncio.wait({work, renewer}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            # Shutting down: the step's own tasks go with it (its lease will expire).
            work.cancel()
            renewer.cancel()
            raise
        if not work.done():
            # The lease is gone (another runner may own the step now): stop working on it
            # rather than racing the new owner, and leave the outcome to it.
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            log.warning("lease lost; step abandoned", extra={"step": step.key})
            return
        # Stop renewing before settling, so settling is never mistaken for a lost lease.
        renewer.cancel()
        await asyncio.gather(renewer, return_exceptions=True)
        error = work.exception()
        if error is None:
            await self._settle_success(step, work.result())
            outcome = "succeeded"
        elif isinstance(error, Exception):  # every error is classified by the retry policy
            outcome = await self._settle_error(step, error)
        else:
            raise error
        self._metrics.step_seconds.labels(step.kind, outcome).observe(
            self._clock.monotonic() - started
        )

    async def _execute(self, step: step_queue.ClaimedStep) -> StepResult:
        executor = self._executors.get(step.kind)
        if executor is None:
            raise LookupError(f"no executor for step kind {step.kind!r}")
        # The claim read the spec and the dependencies' results in its own transaction; turning
        # them into domain types here, inside the step's task, lets a spec that no longer
        # validates fail this step through the retry policy like any other error.
        spec = await self._known_specs.validated(step)
        context = StepContext(
            course_id=step.course_id,
            spec=spec,
            step=PlannedStep(step.key, step.kind, step.depends_on, step.params),
            attempt=step.attempt,
            external_id=step.external_id,
            facts=step.facts,
            dependencies={
                key: StepResult(produced.external_id or "", produced.facts)
                for key, produced in step.dependencies.items()
            },
            # The credential of the course's organization (with a GitHub App, its installation).
            github=self._github.for_org(spec.github_org),
            discord=self._discord,
        )
        return await executor(context)

    async def _settle_success(self, step: step_queue.ClaimedStep, result: StepResult) -> None:
        facts: dict[str, Any] = dict(result.facts)
        async with self._sessions.begin() as session:
            kept = await step_queue.succeed(
                session, step.id, self.owner, self._clock.now(), result.external_id, facts
            )
        log.info(
            "step succeeded", extra={"step": step.key, "course_id": step.course_id, "kept": kept}
        )

    async def _settle_error(self, step: step_queue.ClaimedStep, error: Exception) -> str:
        decision = self._policy.decide(error, step.attempt)
        now = self._clock.now()
        next_at = now + timedelta(seconds=decision.delay_s) if decision.state == "pending" else None
        async with self._sessions.begin() as session:
            await step_queue.settle_error(
                session,
                step.id,
                self.owner,
                now,
                state=decision.state,
                message=decision.message,
                code=decision.code,
                hint=decision.hint,
                next_attempt_at=next_at,
                attempt_used=decision.attempt_used,
            )
        level = logging.ERROR if decision.code == "internal" else logging.INFO
        log.log(
            level,
            "step %s: %s",
            decision.state,
            decision.message,
            exc_info=decision.code == "internal",
            extra={"step": step.key, "course_id": step.course_id},
        )
        if decision.state == "pending":
            self._metrics.retries.labels(step.kind).inc()
        return decision.state

    async def _keep_lease(self, step_id: int) -> None:
        """Renew the lease every third of its length; return when it is lost: refused (taken
        over) or not renewed in time (database unreachable until the lease ran out)."""
        period = self._config.lease_s / 3
        # Give up a little before the lease ends: another runner may claim it right at the end.
        margin = period / 2
        deadline = self._clock.monotonic() + self._config.lease_s - margin
        while True:
            await self._clock.sleep(period)
            if self._clock.monotonic() >= deadline:
                return
            until = self._clock.now() + timedelta(seconds=self._config.lease_s)
            try:
                async with self._sessions.begin() as session:
                    if not await step_queue.renew(session, step_id, self.owner, until):
                        return
            except Exception:
                log.warning("renewing a lease failed; trying again", exc_info=True)
                continue
            deadline = self._clock.monotonic() + self._config.lease_s - margin
