"""Two runner processes on PostgreSQL take their invitations' places from one window per
organization: together they never send more invitations in GitHub's day than its limit, as
the sandbox's request journal shows, and every invitation goes in the end.

The sandbox runs in a process of its own (`python -m sandbox`), its day 20 s long; its free
organization allows 50 invitations a day, which the runners learn from its first refusal.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from db.models import AuditEvent, Step
from tests.e2e.harness import (
    RunnerProcess,
    lecture,
    open_product,
    product_env,
    until,
)
from tests.e2e.sandbox_process import sandbox_process

# GitHub's day: 20 s, long enough for the runners, however loaded the machine, to send a day's
# 50 within it and meet the limit.
SCALE = 4_320.0
WINDOW_S = 24 * 3600 / SCALE
ORG = "demo-free"
LIMIT = 50  # the sandbox's free organizations
STUDENTS = 90
RUNNER_CONCURRENCY = 8  # the runners' default, per platform


def invitations_sent(entries: list[Any]) -> list[float]:
    """Arrival times of the membership PUTs that sent an invitation: the first answered 200
    for each person (nobody in the course is in the organization)."""
    seen: set[str] = set()
    times = []
    for e in entries:
        path = str(e["path"]).removeprefix("/api/v3")
        if e["method"] != "PUT" or e["status"] != 200 or "/memberships/" not in path:
            continue
        login = path.rsplit("/", 1)[-1].lower()
        if path.startswith(f"/orgs/{ORG}/teams/") and login not in seen:
            seen.add(login)
            times.append(float(e["time"]))
    return sorted(times)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_runner_processes_keep_one_invitation_window(
    database_url: str, tmp_path: Path
) -> None:
    """92 invitations (90 students, Ada, Grace) on an organization allowing 50 a day, sent by
    two runner processes: all go, none fails, never more than 50 in any day, both took part."""
    async with (
        sandbox_process(SCALE, tmp_path / "sandbox") as sandbox,
        open_product(database_url, sandbox) as product,
    ):
        people = await sandbox.control.discord_users()
        students = [{"name": f"S {i}", "github": f"stu-{i:03d}"} for i in range(STUDENTS)]
        await sandbox.control.github_users(s["github"] for s in students)
        data = lecture(people["ada"], people["grace"], students=students, github_org=ORG)
        await product.create(data)

        async def invitations_done() -> bool:
            async with product.sessions() as session:
                left = await session.scalar(
                    select(func.count())
                    .select_from(Step)
                    .where(Step.kind == "github.invite", Step.state != "succeeded")
                )
            return left == 0

        env = product_env(database_url, sandbox_url=sandbox.base_url, rate_scale=str(SCALE))
        runners = [await RunnerProcess.start(env, tmp_path, f"runner-{i}") for i in (1, 2)]
        try:
            await until(invitations_done, timeout_s=180, what="the invitations", every_s=0.5)
        finally:
            for runner in runners:
                assert await runner.stop() == 0, runner.output()
        async with product.sessions() as session:
            failed = await session.scalar(
                select(func.count()).select_from(Step).where(Step.state == "failed")
            )
            actors = Counter(
                (
                    await session.execute(
                        select(AuditEvent.actor).where(
                            AuditEvent.event == "step.started",
                            AuditEvent.step_key.startswith("github.invite"),
                        )
                    )
                ).scalars()
            )
        assert failed == 0
        assert len(actors) == 2, actors
        entries = await sandbox.requests(platform="github")
        sent = invitations_sent(entries)
        assert len(sent) == STUDENTS + 2
        busiest = max(sum(1 for t in sent if s - WINDOW_S < t <= s) for s in sent)
        assert busiest <= LIMIT, busiest
        # The sandbox refuses what is over its limit whatever we do; what sharing the window
        # shows is how seldom it has to: once per process while learning the limit (each
        # with its steps in flight), never on the second day. Two windows of their own would
        # each send a day's 50 again and be refused for every one over.
        refused = [e for e in entries if e["method"] == "PUT" and e["status"] == 422]
        assert refused, "the runners never met the limit: the test proves nothing"
        assert len(refused) <= 2 * RUNNER_CONCURRENCY, len(refused)
        assert all(float(e["time"]) < sent[LIMIT] for e in refused)
