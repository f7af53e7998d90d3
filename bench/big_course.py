"""Benchmark: the step queue with one course of 10,000 students, on SQLite and on PostgreSQL.

    .venv/bin/python bench/big_course.py [--students 10000] [--claims 400] [--idle-s 10]
                                         [--status-s 15] [--only sqlite|postgresql]

For each database (a fresh SQLite file; an empty PostgreSQL database it creates on
127.0.0.1:5432 as user postgres and drops after): the course is created through
`CourseService.create` from a generated roster (`create_s`); then a runner's loop claims up to 8
steps at a time and completes each in its own transaction (directly in the database: this
measures the queue, not the platforms; each step's description validated first, as the runner
does, through the product's `KnownSpecs`), while another task renews a lease and a third changes
the course (a `PUT /courses/{id}`: a student's login fixed, twice), each timing how long its
write waited (`claim_p50_ms`, `claim_p99_ms`, `max_lock_wait_s`, `update_s`), and it prints
what the claims over 20 ms waited for (`claim_waits`: the update's write transactions, the
event loop and who held it, PostgreSQL's lock waits sampled from another connection). Before that,
right after the create, every step with nothing to wait for is set to wait for a person, so all
the rest are pending but not ready, and the product's `StepRunner` serves for `--idle-s`
seconds: the CPU it uses (`idle_cpu_pct`, of one core); then those steps are pending again.
Last, the product's REST API serves `GET /courses/{id}/status` of the course to 200 pollers,
each once a second for `--status-s` seconds (open loop, in a process of their own:
`bench/pollers.py`): `status_p99_ms`, `status_p50_ms`, `status_errors`.

Targets: claim p99 < 20 ms at any size, no lock wait > 1 s, idle CPU < 5%, status p99 < 50 ms.
The last line is one JSON object: `{"sqlite": {...}, "postgresql": {...}}`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from alembic import command
from alembic.config import Config
from sqlalchemy import func, pool, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import claim_waits  # noqa: E402
import pollers  # noqa: E402

from bot.build import Product, build  # noqa: E402
from bot.gil import hand_over_the_gil_often  # noqa: E402
from bot.heap import freeze_startup_heap  # noqa: E402
from bot.settings import Settings  # noqa: E402
from db import step_queue  # noqa: E402
from db.models import Step  # noqa: E402
from provisioning.clock import SystemClock  # noqa: E402
from provisioning.courses.spec import parse_course  # noqa: E402
from provisioning.runner import StepRunner  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402

SECRET = "bench-secret-" + "k" * 32
PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
LEASE = timedelta(seconds=60)


def course(students: int, groups: int, edition: int = 0) -> dict[str, Any]:
    """A laboratory of `students` with generated logins, in `groups` lab groups; each `edition`
    fixes the last student's login (a new invite replaces one that waits)."""
    names = [f"lab-{i:02d}" for i in range(1, groups + 1)]
    return {
        "code": "CS101",
        "title": "Benchmark",
        "term": "2027-spring",
        "kind": "laboratory",
        "github_org": "demo-university",
        "groups": names,
        "staff": [{"role": "instructor", "name": "Ada", "github": "ada"}],
        "students": [
            {
                "name": f"Student {i}",
                "email": f"s{i}@example.edu",
                "github": f"fixed-{edition}" if edition and i == students - 1 else f"student-{i}",
                "discord_id": str(10**17 + i),
                "group": names[i % groups],
            }
            for i in range(students)
        ],
    }


def migrate(url: str) -> None:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.attributes["sqlalchemy.url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


async def admin(statement: str) -> None:
    engine = create_async_engine(PG_SERVER, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    await asyncio.to_thread(migrate, url)
    async with SandboxServer() as sandbox, AsyncExitStack() as stack:
        # The product as `python -m bot` builds it (its runner is not started: the claims
        # below stand for it, and it serves only in the idle phase).
        # No load shedding: the status figures are the latency of every poll answered.
        settings = Settings(
            database_url=url, sandbox_url=sandbox.base_url, secret_key=SECRET, web_max_in_flight=0
        )
        hand_over_the_gil_often()  # as `python -m bot` does (bot/app.py)
        product = await build(settings, stack)
        freeze_startup_heap()  # as `python -m bot` does once built (bot/app.py)
        sessions, service = product.sessions, product.courses
        spec = parse_course(course(args.students, args.groups))
        started = time.perf_counter()
        record = await service.create(spec, actor="bench")
        create_s = time.perf_counter() - started
        async with sessions() as session:
            steps = await session.scalar(select(func.count()).select_from(Step))
        print(f"  created {steps} steps in {create_s:.2f} s", flush=True)

        idle = await idle_phase(product.runner, sessions, record.id, args)
        figures = await claim_phase(product, url, record.id, args)
        status = await status_phase(product, record.id, stack, args)
        return {"steps": steps, "create_s": round(create_s, 3), **figures, **idle, **status}


async def status_phase(
    product: Product, course_id: str, stack: AsyncExitStack, args: argparse.Namespace
) -> dict[str, Any]:
    """The course's status polled by 200 clients once a second each, from another process."""
    token = await product.tokens.create("bench-status", read_only=True)
    runner = web.AppRunner(product.web_app, access_log=None)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}/courses/{course_id}/status"
    figures = await pollers.in_own_process(
        url, token, clients=args.status_clients, seconds=args.status_s, etag=False
    )
    print(
        f"  status: {figures['requests']} requests from {args.status_clients} pollers, "
        f"{figures['errors']} errors, p50 {figures['p50_ms']:.1f} ms, "
        f"p99 {figures['p99_ms']:.1f} ms",
        flush=True,
    )
    return {
        "status_p50_ms": figures["p50_ms"],
        "status_p99_ms": figures["p99_ms"],
        "status_errors": figures["errors"],
    }


async def claim_phase(
    product: Product, url: str, course_id: str, args: argparse.Namespace
) -> dict[str, Any]:
    sessions, service = product.sessions, product.courses
    clock = SystemClock()
    latencies: list[float] = []
    spans: list[tuple[float, float]] = []  # each claim's start and end, for `claim_waits`
    timeline, lag = claim_waits.Timeline(), claim_waits.LoopLag()
    timeline.attach(product.engine)
    waits: list[float] = []
    done = asyncio.Event()
    owner = "bench-runner"
    # The descriptions the runner keeps between its claims, as stored and validated, which
    # the course service fills when it stores one (`bot.build` gives both the same).
    known = product.known_specs

    async def runner() -> None:
        claim_waits.ROLE.set("claim")
        empty = 0
        for _ in range(args.claims):
            started = time.perf_counter()
            async with sessions.begin() as session:
                claimed = await step_queue.claim(
                    session, owner=owner, now=clock.now(), lease=LEASE, limit=8, specs=known.stored
                )
            ended = time.perf_counter()
            latencies.append(ended - started)
            spans.append((started, ended))
            if not claimed:
                # Nothing ready, or (PostgreSQL) all of it locked by a course update that
                # SKIP LOCKED passes over: try again shortly, as the runner would.
                empty += 1
                if empty > 200:
                    break
                await asyncio.sleep(0.01)
            claim_waits.ROLE.set("succeed")
            for step in claimed:
                # As the runner's step does before its executor runs.
                await known.validated(step)
                async with sessions.begin() as session:
                    await step_queue.succeed(
                        session, step.id, owner, clock.now(), f"ext-{step.id}", {}
                    )
            claim_waits.ROLE.set("claim")
            await asyncio.sleep(0)
        done.set()

    # A step another runner holds, renewed as the runner's lease keeper does.
    async with sessions.begin() as session:
        held = await step_queue.claim(
            session, owner="bench-other", now=clock.now(), lease=LEASE, limit=1
        )

    async def renewer() -> None:
        while not done.is_set() or not waits:
            started = time.perf_counter()
            try:
                async with sessions.begin() as session:
                    until = clock.now() + LEASE
                    await step_queue.renew(session, held[0].id, "bench-other", until)
            except OperationalError as error:  # "database is locked": the old code's answer
                failures.append(str(error.orig))
            waits.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)

    update_s: list[float] = []
    failures: list[str] = []

    async def changer() -> None:
        claim_waits.ROLE.set("update")
        for edition in (1, 2):
            if done.is_set():
                break
            # The description as the PUT handler hands it over, parsed off the event loop
            # (`web.body.read_json`), then validated with the plan off it too
            # (`CourseService.update_description`). Built here on a thread likewise: built on
            # the loop, it held the claims measured here for 26 ms.
            description = await asyncio.to_thread(course, args.students, args.groups, edition)
            started = time.perf_counter()
            try:
                await service.update_description(course_id, description, actor="bench")
            except OperationalError as error:
                failures.append(str(error.orig))
            update_s.append(time.perf_counter() - started)
            await asyncio.sleep(0.5)

    stop_lag = asyncio.Event()
    lagging = asyncio.create_task(lag.run(stop_lag))
    dsn = url.replace("+asyncpg", "") if url.startswith("postgresql") else None
    with claim_waits.PgLockSampler(dsn) if dsn else contextlib.nullcontext() as sampler:
        started = time.perf_counter()
        await asyncio.gather(runner(), renewer(), changer())
        wall = time.perf_counter() - started
    stop_lag.set()
    await lagging
    ms = [v * 1000 for v in latencies]
    print(
        f"  {len(ms)} claims in {wall:.1f} s: p50 {percentile(ms, 0.5):.1f} ms, "
        f"p99 {percentile(ms, 0.99):.1f} ms, max {max(ms):.1f} ms; "
        f"{len(waits)} lease renewals, longest {max(waits, default=0):.3f} s; "
        f"course updates {', '.join(f'{s:.2f} s' for s in update_s)}; "
        f"{len(failures)} writes failed {sorted(set(failures))}",
        flush=True,
    )
    print("\n".join(claim_waits.explain(spans, timeline, lag, sampler)), flush=True)
    return {
        "claims": len(ms),
        "claim_p50_ms": round(statistics.median(ms), 2),
        "claim_p99_ms": round(percentile(ms, 0.99), 2),
        "max_lock_wait_s": round(max(waits, default=0), 3),
        "update_s": round(max(update_s, default=0.0), 3),
        "writes_failed": len(failures),
    }


async def idle_phase(
    runner: StepRunner,
    sessions: async_sessionmaker[AsyncSession],
    course_id: str,
    args: argparse.Namespace,
) -> dict[str, Any]:
    async with sessions.begin() as session:
        # Everything that could run now waits for a person instead; the rest waits for it.
        # Readiness computed here from the keys, so the bench runs on the old code as well.
        rows = (
            await session.execute(
                select(Step.id, Step.key, Step.depends_on, Step.state).where(
                    Step.course_id == course_id
                )
            )
        ).all()
        succeeded = {row.key for row in rows if row.state == "succeeded"}
        keys = {row.key for row in rows}
        ready = [
            row.id
            for row in rows
            if row.state in ("pending", "running")
            and all(key in succeeded or key not in keys for key in row.depends_on)
        ]
        for start in range(0, len(ready), 1000):
            await session.execute(
                update(Step)
                .where(Step.id.in_(ready[start : start + 1000]))
                .values(state="awaiting_action", lease_owner=None, lease_expires_at=None)
            )
        waiting = await session.scalar(
            select(func.count()).where(Step.course_id == course_id, Step.state == "pending")
        )
    stop = asyncio.Event()
    serving = asyncio.create_task(runner.serve(stop))
    await asyncio.sleep(0.5)  # past start-up
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.sleep(args.idle_s)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    stop.set()
    await serving
    async with sessions.begin() as session:
        for start in range(0, len(ready), 1000):
            await session.execute(
                update(Step).where(Step.id.in_(ready[start : start + 1000])).values(state="pending")
            )
    pct = 100 * cpu / wall
    print(f"  idle with {waiting} steps not ready: {pct:.2f}% CPU over {wall:.1f} s", flush=True)
    return {"idle_cpu_pct": round(pct, 2), "idle_not_ready": waiting}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--claims", type=int, default=400)
    parser.add_argument("--idle-s", type=float, default=10.0)
    parser.add_argument("--status-s", type=float, default=15.0)
    parser.add_argument("--status-clients", type=int, default=200)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    results: dict[str, Any] = {}
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            print(f"sqlite, {args.students} students", flush=True)
            results["sqlite"] = await measure(f"sqlite+aiosqlite:///{tmp}/bench.db", args)
    if args.only in (None, "postgresql"):
        name = f"bench_big_course_{uuid.uuid4().hex[:8]}"
        await admin(f'CREATE DATABASE "{name}"')
        try:
            print(f"postgresql, {args.students} students", flush=True)
            url = PG_SERVER.rsplit("/", 1)[0] + f"/{name}"
            results["postgresql"] = await measure(url, args)
        finally:
            await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
