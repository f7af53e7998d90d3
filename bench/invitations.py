"""Benchmark: 10,000 invitees taking their invitation places in one GitHub organization.

    .venv/bin/python bench/invitations.py [--invitees 10000] [--takers 8] [--reads 50]
                                          [--only memory|postgresql]

The documented maximum course (10,000 students, `provisioning.limits.STUDENTS_MAX`) has all
its students in its one organization, so all of them take a place in one window. For each store
(`memory`: the one SQLite deployments use; `postgresql`: an empty database it creates on
127.0.0.1:5432 as user postgres, migrated, dropped after) the product's `InvitationBudget` (as
`bot.build` makes it, GitHub's real day) hands out places: once one taker after the other
(`sequential`), once with `--takers` at the same time (`concurrent`, each its share in turn,
as the runner's 8 slots would), each in an organization of its own. The first 500 go at once,
the rest are queued for the following days (the take answers with the wait). Figures: `total_s`
and the per-take `p50_ms` / `p99_ms` / `max_ms`, and the p50 of the first and last 1,000 takes
(`first_p50_ms`, `last_p50_ms`: equal when a take costs the same at any queue length). Then
the status summary's invitation read (`InvitationBudget.outlook`) with the whole queue waiting:
`outlook_p50_ms`, `outlook_p99_ms` over `--reads` reads.

It uses only the budget's public methods and `bot.build.invitation_budget`, so the same file run
from a checkout of an older tree (copied into its `bench/`) measures the older code.
The last line is one JSON object: `{"memory": {...}, "postgresql": {...}}`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

# The scratch-database helpers of the big-course bench (this folder is the script's path).
from big_course import PG_SERVER, admin, migrate, percentile  # noqa: E402

from bot.build import invitation_budget  # noqa: E402
from db.engine import create_engine  # noqa: E402
from provisioning.clock import SystemClock  # noqa: E402
from provisioning.errors import WaitForLimitError  # noqa: E402
from provisioning.github.invitations import InvitationBudget  # noqa: E402

SQLITE_URL = "sqlite+aiosqlite:///:memory:"  # only picks the memory store: nothing is stored


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


async def take_one(budget: InvitationBudget, org: str, login: str) -> float:
    """One take as the invite step makes it: at once, or queued with the wait."""
    started = time.perf_counter()
    with contextlib.suppress(WaitForLimitError):
        await budget.take(org, login)
    return time.perf_counter() - started


async def takes(budget: InvitationBudget, org: str, invitees: int, takers: int) -> dict[str, Any]:
    durations: list[float] = [0.0] * invitees

    async def taker(first: int) -> None:
        for i in range(first, invitees, takers):
            durations[i] = await take_one(budget, org, f"student-{i}")

    started = time.perf_counter()
    await asyncio.gather(*(taker(t) for t in range(takers)))
    total = time.perf_counter() - started
    edge = min(1000, invitees)
    return {
        "takers": takers,
        "total_s": round(total, 2),
        "p50_ms": ms(percentile(durations, 0.5)),
        "p99_ms": ms(percentile(durations, 0.99)),
        "max_ms": ms(max(durations)),
        "first_p50_ms": ms(statistics.median(durations[:edge])),
        "last_p50_ms": ms(statistics.median(durations[-edge:])),
    }


async def outlook(budget: InvitationBudget, org: str, reads: int, invitees: int) -> dict[str, Any]:
    durations = []
    for _ in range(reads):
        started = time.perf_counter()
        seen = await budget.outlook(org)
        durations.append(time.perf_counter() - started)
    if seen.sent + seen.queued != invitees:
        raise SystemExit(f"the outlook counts {seen.sent} + {seen.queued}, not {invitees}")
    return {
        "outlook_p50_ms": ms(percentile(durations, 0.5)),
        "outlook_p99_ms": ms(percentile(durations, 0.99)),
        "outlook_queued": seen.queued,
    }


async def measure(engine: AsyncEngine, args: argparse.Namespace) -> dict[str, Any]:
    budget = invitation_budget(engine, SystemClock(), 1.0)
    figures: dict[str, Any] = {}
    for name, takers in (("sequential", 1), ("concurrent", args.takers)):
        org = f"bench-{name}"
        figures[name] = await takes(budget, org, args.invitees, takers)
        print(name, figures[name], flush=True)
    figures.update(await outlook(budget, "bench-sequential", args.reads, args.invitees))
    return figures


async def on_memory(args: argparse.Namespace) -> dict[str, Any]:
    engine = create_engine(SQLITE_URL)
    try:
        return await measure(engine, args)
    finally:
        await engine.dispose()


async def on_postgresql(args: argparse.Namespace) -> dict[str, Any]:
    name = f"bench_invitations_{uuid.uuid4().hex[:8]}"
    url = PG_SERVER.rsplit("/", 1)[0] + f"/{name}"
    await admin(f'CREATE DATABASE "{name}"')
    try:
        await asyncio.to_thread(migrate, url)
        engine = create_engine(url)
        try:
            return await measure(engine, args)
        finally:
            await engine.dispose()
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invitees", type=int, default=10_000)
    parser.add_argument("--takers", type=int, default=8)
    parser.add_argument("--reads", type=int, default=50)
    parser.add_argument("--only", choices=["memory", "postgresql"])
    args = parser.parse_args()
    result: dict[str, Any] = {"invitees": args.invitees}
    if args.only in (None, "memory"):
        result["memory"] = await on_memory(args)
        print("memory", result["memory"], flush=True)
    if args.only in (None, "postgresql"):
        result["postgresql"] = await on_postgresql(args)
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
