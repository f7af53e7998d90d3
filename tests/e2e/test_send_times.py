"""GitHub writes leave a spacing apart, as the product sent them: two runner processes sharing
one token on PostgreSQL, their send times read from the audit rows (timed when each request
left), never closer than the (scaled) second, and no row later than the sandbox's arrival
stamp of its request. The arrivals themselves may bunch (the network, the receiving process):
`tests/e2e/test_shared_pace.py` checks those within a jitter; here nothing is allowed but the
clocks' reading.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.models import AuditEvent, Step
from provisioning.courses.spec import parse_course
from tests.e2e.harness import (
    MUTATING,
    RunnerProcess,
    laboratory,
    lecture,
    logins,
    open_product,
    product_env,
    until,
)
from tests.e2e.sandbox_process import sandbox_process

# GitHub writes 1 s apart at real scale: 0.25 s here, so ~70 writes take ~18 s.
GITHUB_SCALE = 4
SPACING_S = 1.0 / GITHUB_SCALE
# The sandbox's own limits out of the way (the test checks the times itself).
SANDBOX_FREE_SCALE = 1000.0
# A row's time is two clock readings, the wall clock after the answer less the perf_counter
# time since the send, taken one after the other; the database keeps microseconds. Nothing
# else is allowed: not the machine's load, not the hand-off to the sending thread.
CLOCK_READING_S = 0.001


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_runner_processes_send_github_writes_a_spacing_apart(
    database_url: str, tmp_path: Path
) -> None:
    """Two lectures and a laboratory of 6 groups (some 70 GitHub writes) provisioned by two
    runner processes sharing one token: the audit rows' send times of the writes, sorted, are
    never closer than the scaled second; each row is no later than the sandbox's arrival
    stamp of the same request (by the request id the sandbox returned); both processes ran
    GitHub steps."""
    async with (
        sandbox_process(SANDBOX_FREE_SCALE, tmp_path / "sandbox") as sandbox,
        open_product(database_url, sandbox) as product,
    ):
        users = await sandbox.control.call("GET", "/discord/users")
        people = {u["username"]: str(u["id"]) for u in users}
        ada, grace = people["ada"], people["grace"]
        courses = [lecture(ada, grace, code=f"CS10{i}") for i in range(1, 3)]
        courses.append(laboratory(ada, grace, groups=6))
        await sandbox.control.github_users(
            login for data in courses for login in logins(parse_course(data))
        )
        for data in courses:
            await product.create(data)

        async def github_done() -> bool:
            async with product.sessions() as session:
                left = await session.scalar(
                    select(func.count())
                    .select_from(Step)
                    .where(Step.state != "succeeded", Step.key.startswith("github."))
                )
            return left == 0

        env = product_env(database_url, sandbox_url=sandbox.base_url, rate_scale=str(GITHUB_SCALE))
        runners = [await RunnerProcess.start(env, tmp_path, f"runner-{i}") for i in (1, 2)]
        try:
            await until(github_done, timeout_s=180, what="GitHub steps", every_s=0.5)
        finally:
            for runner in runners:
                assert await runner.stop() == 0, runner.output()

        async with product.sessions() as session:
            rows = (
                await session.execute(
                    select(AuditEvent.at, AuditEvent.request_id).where(
                        AuditEvent.kind == "http", AuditEvent.method.in_(MUTATING)
                    )
                )
            ).all()
            starters = set(
                await session.scalars(
                    select(AuditEvent.actor).where(
                        AuditEvent.event == "step.started",
                        AuditEvent.step_key.startswith("github."),
                    )
                )
            )
        arrivals = {
            e["request_id"]: e["time"]
            for e in await sandbox.requests(platform="github")
            if e["method"] in MUTATING
        }
        writes = [(at.timestamp(), rid) for at, rid in rows if rid in arrivals]
        assert len(writes) == len(arrivals) > 40, (len(writes), len(arrivals))

        sent = sorted(t for t, _ in writes)
        gaps = [b - a for a, b in itertools.pairwise(sent)]
        assert min(gaps) >= SPACING_S - CLOCK_READING_S, sorted(gaps)[:5]
        late = [(rid, t - arrivals[rid]) for t, rid in writes if t > arrivals[rid]]
        assert all(by <= CLOCK_READING_S for _, by in late), late
        assert len(starters) == 2, starters
