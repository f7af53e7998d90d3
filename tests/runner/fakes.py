"""Test doubles for the runner's collaborators: scripted executors (clocks: `tests.fakes`).

The executors here stand in for the platform steps so the runner's own rules (order, leases,
retries, blocking) can be tested without a platform; the platform steps are tested against the
sandbox elsewhere.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any, cast

from provisioning.discord.gateway import DiscordGateway
from provisioning.github.gateway import GitHubGateway
from provisioning.metrics import Metrics
from provisioning.retry import RetryPolicy
from provisioning.runner import RunnerConfig, StepRunner
from provisioning.step import Executor, StepContext, StepResult
from tests.fakes.clocks import ManualClock


class Script:
    """Executors for every step kind that record calls and raise what a test scripted."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.runs: Counter[str] = Counter()
        self.runs_by_course: Counter[tuple[str, str]] = Counter()
        self.errors: dict[str, list[Exception]] = {}
        self.done = asyncio.Event()
        self._expected: int | None = None
        self._in_flight = 0
        self.max_in_flight = 0

    def when_done(self, successes: int) -> None:
        """Set `done` once this many steps have succeeded."""
        self._expected = successes

    def fail(self, key: str, *errors: Exception) -> None:
        self.errors.setdefault(key, []).extend(errors)

    async def execute(self, ctx: StepContext) -> StepResult:
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            # Yield once, as a real step does on I/O, so steps can overlap.
            await asyncio.sleep(0)
            return self._outcome(ctx)
        finally:
            self._in_flight -= 1

    def _outcome(self, ctx: StepContext) -> StepResult:
        self.calls.append(ctx.step.key)
        self.runs[ctx.step.key] += 1
        self.runs_by_course[(ctx.course_id, ctx.step.key)] += 1
        queued = self.errors.get(ctx.step.key)
        if queued:
            raise queued.pop(0)
        for dependency in ctx.step.depends_on:
            assert ctx.resolve(dependency) == f"id-{ctx.course_id}-{dependency}"
        if self._expected is not None and len(self.calls) >= self._expected:
            # The settle of this last step happens after we return; `done` means "all ran".
            self.done.set()
        # Unique per course: some ids (a course's server) may serve one course only.
        return StepResult(f"id-{ctx.course_id}-{ctx.step.key}", {"attempt": ctx.attempt})

    def executors(self, kinds: list[str]) -> dict[str, Executor]:
        return dict.fromkeys(kinds, self.execute)


class NoGitHub:
    """The GitHub of a runner whose steps never reach it (the script replaces them)."""

    def for_org(self, org: str) -> GitHubGateway:
        return cast(GitHubGateway, None)


def make_runner(
    sessions: Any,
    script: Script,
    clock: ManualClock,
    kinds: list[str],
    executors: dict[str, Executor] | None = None,
    **config: Any,
) -> StepRunner:
    """A runner with zero backoff whose gateways are never reached (the script replaces them)."""
    unused: Callable[[], None] = lambda: None  # noqa: E731 - a placeholder no step calls
    return StepRunner(
        sessions=sessions,
        executors=executors if executors is not None else script.executors(kinds),
        github=NoGitHub(),
        discord=cast(DiscordGateway, unused),
        policy=RetryPolicy(base_s=0, max_attempts=3),
        clock=clock,
        metrics=Metrics(),
        config=RunnerConfig(**config),
    )
