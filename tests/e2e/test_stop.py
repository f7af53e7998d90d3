"""Ctrl+C in the middle of provisioning: the runner stops at once, hands its steps back, and
the next start finishes the course with one of each resource."""

from __future__ import annotations

import asyncio
import functools
import re
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from db.models import Step
from provisioning.courses.spec import parse_course
from sandbox.server import SandboxServer
from tests.e2e.expect import check_github
from tests.e2e.harness import (
    SANDBOX_RATE_SCALE,
    RunnerProcess,
    all_steps,
    control_of,
    github_state,
    lecture,
    open_product,
    product_env,
    until,
)

# GitHub writes 0.25 s apart: the course takes seconds, so SIGINT lands with steps in flight
# (waiting for the pace or in a call).
PACE_SCALE = "4"


async def test_sigint_hands_steps_back_and_a_restart_finishes_without_duplicates(
    database_url: str, tmp_path: Path
) -> None:
    """SIGINT while GitHub steps run: the runner exits 0, logs how many steps it handed back,
    leaves none running or leased, and a second start completes every GitHub step with one
    repository and one team of each."""
    sandbox = SandboxServer(rate_scale=SANDBOX_RATE_SCALE)
    async with sandbox, control_of(sandbox) as control, open_product(database_url, sandbox) as app:
        people = await control.discord_users()
        data = lecture(people["ada"], people["grace"])
        spec = parse_course(data)
        await control.github_users(login for login in (p.github for p in spec.students))
        course_id = await app.create(data)
        env = product_env(database_url, sandbox_url=sandbox.base_url, rate_scale=PACE_SCALE)

        async def some_done_some_left() -> bool:
            states = [s.state for s in await all_steps(app.sessions, course_id)]
            return "succeeded" in states and "running" in states

        first = await RunnerProcess.start(env, tmp_path, "first")
        try:
            await until(some_done_some_left, timeout_s=60, what=f"progress\n{first.output()}")
            first.process.send_signal(signal.SIGINT)
            signalled = time.monotonic()
            assert await asyncio.wait_for(first.process.wait(), 30) == 0, first.output()
            took = time.monotonic() - signalled
        finally:
            first.kill()
        steps = await all_steps(app.sessions, course_id)
        assert not [s.key for s in steps if s.state == "running" or s.lease_owner], steps
        handed_back = re.search(r"runner stopped: (\d+) steps handed back", first.output())
        assert handed_back is not None, first.output()
        assert int(handed_back.group(1)) >= 1, first.output()
        # The product's own stopping, as it logs it from its signal handler to its last line:
        # pace waits cancelled at once, a call in flight given at most `drain_s` (1 s), every
        # other phase milliseconds. This holds whatever the machine's load, so a slow product
        # fails here even where the 2 s below could not be met.
        own = re.search(r"everything stopped, \+([\d.]+) s after the signal", first.output())
        assert own is not None, first.output()
        phases = "\n".join(re.findall(r"stopped .* after the signal.*", first.output()))
        assert float(own.group(1)) < 1.5, f"the product's own stop was slow:\n{phases}"
        # From the signal to the process's exit, as the operator sees it (the 2 s).
        # Measured ten times with the runner tests running beside it: 0.03-0.14 s, all but
        # 10-30 ms of it the product's phases (0.5 s idle, before the exit skipped the
        # interpreter's teardown).
        assert took < 2, f"{took:.2f} s from the signal to the exit, phases:\n{phases}"

        second = await RunnerProcess.start(env, tmp_path, "second")
        try:

            async def github_done() -> bool:
                return all(
                    s.state == "succeeded"
                    for s in await all_steps(app.sessions, course_id)
                    if s.key.startswith("github.")
                )

            await until(github_done, timeout_s=120, what=f"the course\n{second.output()}")
        finally:
            assert await second.stop() == 0, second.output()
        steps = await all_steps(app.sessions, course_id)

    check_github(github_state(sandbox), spec)
    # A handed-back step's interrupted attempt does not count against it.
    assert max(s.attempts for s in steps if s.key.startswith("github.")) == 1


@asynccontextmanager
async def a_hanging_write(database_url: str, tmp_path: Path) -> AsyncIterator[HangingRunner]:
    """A runner process whose GitHub write hangs: the sandbox holds every POST for 30 s, past
    the request timeout. Yields once a write is held."""
    sandbox = SandboxServer(rate_scale=SANDBOX_RATE_SCALE)
    async with sandbox, control_of(sandbox) as control, open_product(database_url, sandbox) as app:
        people = await control.discord_users()
        data = lecture(people["ada"], people["grace"])
        await control.github_users(student.github for student in parse_course(data).students)
        course_id = await app.create(data)
        await control.fault(kind="latency", platform="github", method="POST", delay=30)
        env = product_env(
            database_url, sandbox_url=sandbox.base_url, rate_scale=PACE_SCALE, github_timeout_s="20"
        )

        async def a_write_hangs() -> bool:
            faults = await control.call("GET", "/faults")
            return any(rule["fired"] for rule in faults)

        runner = await RunnerProcess.start(env, tmp_path, "runner")
        try:
            await until(a_write_hangs, timeout_s=60, what=f"a GitHub write\n{runner.output()}")
            yield HangingRunner(runner, functools.partial(all_steps, app.sessions, course_id))
        finally:
            runner.kill()
            await control.clear_faults()


@dataclass(frozen=True)
class HangingRunner:
    runner: RunnerProcess
    steps: Callable[[], Awaitable[list[Step]]]


async def test_sigint_with_a_github_call_hanging_exits_after_the_drain_period(
    database_url: str, tmp_path: Path
) -> None:
    """SIGINT while a GitHub write hangs: the call gets the one-second drain period, its step
    is handed back, and the process exits within 2 s; the thread still in that call does not
    hold the exit (closing the GitHub client waited for it, up to the request timeout)."""
    async with a_hanging_write(database_url, tmp_path) as hanging:
        first = hanging.runner
        first.process.send_signal(signal.SIGINT)
        signalled = time.monotonic()
        assert await asyncio.wait_for(first.process.wait(), 30) == 0, first.output()
        took = time.monotonic() - signalled
        steps = await hanging.steps()

    assert not [s.key for s in steps if s.state == "running" or s.lease_owner], steps
    handed_back = re.search(r"runner stopped: (\d+) steps handed back", first.output())
    assert handed_back is not None, first.output()
    assert int(handed_back.group(1)) >= 1, first.output()
    own = re.search(r"everything stopped, \+([\d.]+) s after the signal", first.output())
    assert own is not None, first.output()
    phases = "\n".join(re.findall(r"stopped .* after the signal.*", first.output()))
    # The drain period (1 s), then milliseconds: the busy lane is not waited for (its close
    # waited up to the request timeout before).
    assert float(own.group(1)) < 1.5, f"the product's own stop was slow:\n{phases}"
    assert took < 2, f"{took:.2f} s from the signal to the exit, phases:\n{phases}"


async def test_a_second_sigint_exits_at_once(database_url: str, tmp_path: Path) -> None:
    """A second SIGINT while the first still lets a hanging call finish: the process exits at
    once with status 130, saying so; the steps it held are taken when their leases expire."""
    async with a_hanging_write(database_url, tmp_path) as hanging:
        runner = hanging.runner
        runner.process.send_signal(signal.SIGINT)
        await until(lambda: "stopping: no new" in runner.output(), timeout_s=5, what="the stop")
        runner.process.send_signal(signal.SIGINT)
        again = time.monotonic()
        assert await asyncio.wait_for(runner.process.wait(), 30) == 130, runner.output()
        took = time.monotonic() - again
    assert "second signal: exiting now" in runner.output()
    assert "runner stopped" not in runner.output(), runner.output()
    # Well inside the drain period the first signal started.
    assert took < 0.5, f"{took:.2f} s from the second signal to the exit"
