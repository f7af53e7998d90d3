"""Two runner processes sharing one GitHub token and one Discord bot token on PostgreSQL keep
one pace together: the platforms see what one process would send, never twice as much, and
never more calls in a Discord bucket's window than its headers allow.

The sandbox runs in a process of its own (`python -m sandbox`): the arrival times in its
request log are then stamped by a process that does nothing else, not by this test's event
loop (which polls the database and, in the second test, would delay the stamping).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.models import AuditEvent, Step
from provisioning.courses.spec import parse_course
from sandbox.discord.config import RateConfig
from tests.e2e.harness import (
    Product,
    RunnerProcess,
    laboratory,
    lecture,
    logins,
    open_product,
    product_env,
    until,
)
from tests.e2e.sandbox_process import SandboxProcess, sandbox_process

# GitHub writes 1 s apart at real scale: 0.5 s here, so ~70 writes take ~35 s.
GITHUB_SCALE = 2
# Discord four times slower than real (our pace 10 per second, its global limit 50 per 4 s):
# slow enough for each process alone to keep up with the pace on a shared CPU, so two pacing
# on their own would send 20 per second together.
DISCORD_SCALE = 0.25
DISCORD_GLOBAL_PER_S = 50
# The sandbox's own limits out of the way for the first test (it checks the log itself).
SANDBOX_FREE_SCALE = 1000.0
# Requests leave one pace apart but arrive a little later, not all equally late. With the
# sandbox in its own process the stamping is no longer the cause; the sending is: a runner
# process that is off the CPU when its slot comes sends that write late, and the next one on
# time. On this 2-core machine shared by several sessions (load average 14) a gap of 0.20 s
# was seen where the pace is 0.50 s. So the bound is the pace less 0.35 s, with no exception;
# two processes pacing on their own put writes at any distance, down to none (7 ms seen),
# a third of the gaps under this mark, and the ten-write check below does not depend on it.
JITTER_S = 0.35
# The second test: the sandbox's buckets at real speed (channel creates: 10 per 10 s per
# server), so that the channels of a laboratory become ready faster than the bucket allows.
BUCKET_SCALE = 1.0


async def _run_two(env: dict[str, str], tmp_path: Path, name: str, done: object) -> None:
    runners = [await RunnerProcess.start(env, tmp_path, f"{name}-{i}") for i in (1, 2)]
    try:
        await until(done, timeout_s=180, what=name, every_s=0.5)
    finally:
        for runner in runners:
            assert await runner.stop() == 0, runner.output()


async def _left(product: Product, prefix: str) -> int:
    """Steps not succeeded yet (a count: polling costs next to nothing)."""
    async with product.sessions() as session:
        return (
            await session.execute(
                select(func.count())
                .select_from(Step)
                .where(Step.state != "succeeded", Step.key.startswith(prefix))
            )
        ).scalar_one()


async def _actors(product: Product, prefix: str, after: int = 0) -> Counter[str]:
    """Steps started by each runner (after audit row `after`)."""
    async with product.sessions() as session:
        rows = await session.execute(
            select(AuditEvent.actor).where(
                AuditEvent.event == "step.started",
                AuditEvent.step_key.startswith(prefix),
                AuditEvent.id > after,
            )
        )
    return Counter(rows.scalars())


async def _last_audit_id(product: Product) -> int:
    async with product.sessions() as session:
        return (await session.execute(select(func.max(AuditEvent.id)))).scalar_one() or 0


async def _people(sandbox: SandboxProcess) -> dict[str, str]:
    users = await sandbox.control.call("GET", "/discord/users")
    return {u["username"]: str(u["id"]) for u in users}


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_runner_processes_share_one_pace_per_credential(
    database_url: str, tmp_path: Path
) -> None:
    """GitHub: the sandbox's log shows no two writes closer than the (scaled) second, less
    the jitter of sending. Discord: never more than 50 requests in any (scaled) second. Both
    processes took part in both, so each would have paced alone at the full rate."""
    async with (
        sandbox_process(SANDBOX_FREE_SCALE, tmp_path / "sandbox") as sandbox,
        open_product(database_url, sandbox) as product,
    ):
        control = sandbox.control
        people = await _people(sandbox)
        ada, grace = people["ada"], people["grace"]
        courses = [lecture(ada, grace, code=f"CS10{i}") for i in range(1, 3)]
        courses.append(laboratory(ada, grace, groups=6))
        specs = [parse_course(data) for data in courses]
        await control.github_users(login for spec in specs for login in logins(spec))
        ids = [await product.create(data) for data in courses]

        async def github_done() -> bool:
            return await _left(product, "github.") == 0

        github_env = product_env(
            database_url, sandbox_url=sandbox.base_url, rate_scale=str(GITHUB_SCALE)
        )
        await _run_two(github_env, tmp_path, "github", github_done)
        entries = await sandbox.requests(platform="github")
        writes = sorted(e["time"] for e in entries if e["method"] != "GET")
        gaps = [b - a for a, b in itertools.pairwise(writes)]
        assert len(writes) > 40, len(writes)
        assert min(gaps) >= 1 / GITHUB_SCALE - JITTER_S, sorted(gaps)[:5]
        # And over any ten writes the pace held: at least nine spacings, where two processes
        # each at the pace would fit twenty writes.
        tenths = [b - a for a, b in zip(writes, writes[10:], strict=False)]
        assert min(tenths) >= 9 / GITHUB_SCALE, sorted(tenths)[:5]
        assert len(await _actors(product, "github.")) == 2

        for course_id, spec in zip(ids, specs, strict=True):
            guild = await control.server_with_bot(spec)
            await control.join(guild, "grace")
            await product.claim(course_id, guild, ada)
        start, audited = await sandbox.cursor(), await _last_audit_id(product)

        async def discord_done() -> bool:
            return await _left(product, "") == 0

        # Few steps at once each, so both processes share the work (and the pace) evenly.
        discord_env = product_env(
            database_url,
            sandbox_url=sandbox.base_url,
            rate_scale=str(DISCORD_SCALE),
            runner_concurrency="3",
        )
        await _run_two(discord_env, tmp_path, "discord", discord_done)
        sent = [e["time"] for e in await sandbox.requests(since=start, platform="discord")]
        second = 1 / DISCORD_SCALE
        busiest = max(sum(1 for t in sent if s <= t < s + second) for s in sent)
        assert len(sent) > 2 * DISCORD_GLOBAL_PER_S, len(sent)
        assert busiest <= DISCORD_GLOBAL_PER_S, busiest
        shares = await _actors(product, "discord.", after=audited)
        assert len(shares) == 2, shares
        assert min(shares.values()) >= 10, shares


def _windows(arrivals: list[float], limit: int, window_s: float) -> list[int]:
    """Calls per window as the platform counts them: a window opens at the first call after
    the last one closed (Discord's buckets, and the sandbox's)."""
    counts: list[int] = []
    opened = None
    for t in sorted(arrivals):
        if opened is None or t >= opened + window_s:
            opened = t
            counts.append(0)
        counts[-1] += 1
    return counts


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_runner_processes_share_each_discord_bucket(
    database_url: str, tmp_path: Path
) -> None:
    """A laboratory of 12 groups creates 18 channels in its server; two runner processes
    share the work, so each, learning the bucket (10 per window) from its own answers only,
    would send up to twice the window's calls. Shared through the database: no 429 at all,
    and the request log, counted window by window as the platform counts, never holds more
    than 10 channel creates in one, while the bucket was filled (its calls waited)."""
    async with (
        sandbox_process(BUCKET_SCALE, tmp_path / "sandbox") as sandbox,
        open_product(database_url, sandbox) as product,
    ):
        control = sandbox.control
        people = await _people(sandbox)
        data = laboratory(people["ada"], people["grace"], groups=12, per_group=1)
        spec = parse_course(data)
        await control.github_users(logins(spec))
        course_id = await product.create(data)
        guild = await control.server_with_bot(spec)
        await control.join(guild, "grace")
        await product.claim(course_id, guild, people["ada"])
        start, audited = await sandbox.cursor(), await _last_audit_id(product)

        async def discord_done() -> bool:
            return await _left(product, "discord.") == 0

        env = product_env(
            database_url,
            sandbox_url=sandbox.base_url,
            rate_scale=str(BUCKET_SCALE),
            runner_concurrency="4",
        )
        await _run_two(env, tmp_path, "buckets", discord_done)
        sent = await sandbox.requests(since=start, platform="discord")
        assert [e for e in sent if e["status"] == 429] == []
        by_route: dict[str, list[float]] = defaultdict(list)
        for e in sent:
            if e["method"] == "POST" and e["path"].endswith(f"/guilds/{guild}/channels"):
                by_route["channel_create"].append(e["time"])
        rate = RateConfig().buckets["channel_create"]
        counts = _windows(by_route["channel_create"], rate.limit, rate.window / BUCKET_SCALE)
        assert len(by_route["channel_create"]) > rate.limit, counts
        assert max(counts) <= rate.limit, counts
        assert max(counts) == rate.limit, counts  # a full window: the next calls waited
        shares = await _actors(product, "discord.channel", after=audited)
        assert len(shares) == 2, shares
