"""A runner process on PostgreSQL is woken by the database when another process makes a step
ready: a course created through the product in this test is claimed by it at once, though it
polls only every two minutes; also after its listening connection was terminated; and it
still stops within the stop test's bounds with the listener running."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from db.models import AuditEvent
from db.ready_signal import APPLICATION_NAME
from provisioning.courses.spec import parse_course
from sandbox.server import SandboxServer
from tests.e2e.harness import (
    Control,
    Product,
    RunnerProcess,
    all_steps,
    lecture,
    logins,
    product_env,
    until,
)

# The runner process's tick and idle poll: a claim sooner than this was woken.
POLL_S = "120"
# What the issue asks of a wake through the database.
WOKEN_WITHIN_S = 1.0


async def _first_start(product: Product, course_id: str, actor: str) -> datetime | None:
    async with product.sessions() as session:
        found: datetime | None = await session.scalar(
            select(func.min(AuditEvent.at)).where(
                AuditEvent.course_id == course_id,
                AuditEvent.event == "step.started",
                AuditEvent.actor == actor,
            )
        )
    return found


async def _claimed_after_create(
    product: Product, control: Control, data: dict[str, object], runner: RunnerProcess, owner: str
) -> float:
    """Create a course here; seconds from its commit (when the create returned) to the runner
    process's first claim of one of its steps (both stamped by this machine's system clock;
    the create's own time, long on a loaded machine, is not the wake's)."""
    await control.github_users(logins(parse_course(data)))
    course_id = await product.create(data)
    committed = datetime.now(UTC)
    started: list[datetime] = []

    async def claimed() -> bool:
        found = await _first_start(product, course_id, owner)
        started.extend([found] if found else [])
        return bool(started)

    await until(claimed, timeout_s=10, what=f"a claim by the runner\n{runner.output()}")
    return (started[0] - committed).total_seconds()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_runner_process_is_woken_at_once_by_another_process(
    database_url: str,
    product: Product,
    sandbox: SandboxServer,
    control: Control,
    people: dict[str, str],
    tmp_path: Path,
) -> None:
    """An idle runner process polling every 120 s claims a course created by another process
    within 1 s; again after its listening connection is terminated (it reconnects and says
    so); SIGTERM then stops it in under 2 s, the listener closed within that."""
    ada, grace = people["ada"], people["grace"]
    env = product_env(
        database_url, sandbox_url=sandbox.base_url, rate_scale="1000000", runner_poll_s=POLL_S
    )
    # A first course, run by the process up to its server step (which waits for a person):
    # the process has then done its start-up round and nothing is ready anywhere.
    warm_up = lecture(ada, grace, code="CS100")
    await control.github_users(logins(parse_course(warm_up)))
    warm_up_id = await product.create(warm_up)
    runner = await RunnerProcess.start(env, tmp_path, "runner")
    stopped = False
    try:

        async def idle() -> bool:
            states = {s.key: s.state for s in await all_steps(product.sessions, warm_up_id)}
            github = {state for key, state in states.items() if key.startswith("github.")}
            return github == {"succeeded"} and states["discord.server"] == "awaiting_action"

        await until(idle, timeout_s=60, what=f"the first course\n{runner.output()}")
        assert "listening for ready steps: runners in other processes" in runner.output()
        async with product.sessions() as session:
            owner = await session.scalar(
                select(AuditEvent.actor).where(
                    AuditEvent.course_id == warm_up_id, AuditEvent.event == "step.started"
                )
            )
        assert owner is not None

        waited = await _claimed_after_create(
            product, control, lecture(ada, grace, code="CS101"), runner, owner
        )
        assert waited < WOKEN_WITHIN_S, f"claimed {waited:.3f} s after the create"

        async with product.sessions() as session:
            terminated = await session.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": APPLICATION_NAME},
            )
        assert terminated == 1
        await until(
            lambda: "listening for ready steps again" in runner.output(),
            timeout_s=10,
            what=f"the reconnect\n{runner.output()}",
        )
        waited = await _claimed_after_create(
            product, control, lecture(ada, grace, code="CS102"), runner, owner
        )
        assert waited < WOKEN_WITHIN_S, f"claimed {waited:.3f} s after the create (reconnected)"

        runner.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        assert await asyncio.wait_for(runner.process.wait(), 30) == 0, runner.output()
        took = time.monotonic() - signalled
        stopped = True
    finally:
        if not stopped:
            runner.kill()
    output = runner.output()
    closed = re.search(r"stopped ReadySignal\.close in (\d+) ms", output)
    assert closed is not None, output
    assert int(closed.group(1)) < 500, output
    own = re.search(r"everything stopped, \+([\d.]+) s after the signal", output)
    assert own is not None, output
    assert float(own.group(1)) < 1.5, output
    assert took < 2, f"{took:.2f} s from the signal to the exit\n{output}"
