"""Benchmark: `GET /courses/{id}/status` of a 1,000-step course, polled by many clients at once.

The product as `python -m bot` builds it (`bot.build`) serves its REST API on 127.0.0.1 (its
sandbox in this process); one laboratory course with about 1,000 steps is stored. CLIENTS
pollers each ask once a second (open loop: a slow answer does not slow the next request) for
DURATION seconds, the way a status page watched by that many people would. The pollers run in
a process of their own (`bench/pollers.py`), so the latencies are the server's, not those of a
load generator sharing its event loop. Two rounds: plain polls (every answer is a page of 100
steps and the summary), and pollers that send back the ETag they got (304 while nothing
changed). Run on SQLite, and on PostgreSQL when `--postgres-dsn` names a server (an empty
database is created and dropped).

    .venv/bin/python bench/status.py --clients 200 --seconds 20

Prints latency percentiles per round; the last line is one JSON object
`{"sqlite": {...}, "postgresql": {...}}` with `plain_p50_ms`, `plain_p99_ms`, `etag_p99_ms`,
`requests`, `errors`, `steps` and `plain_cpu_ms` / `etag_cpu_ms` (the server process's CPU per
answered request) for each database. Target: p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
import uuid
import warnings
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command
from alembic.config import Config

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import aiohttp
    from aiohttp import web

    from bot.build import build

import pollers  # noqa: E402

from bot.settings import Settings  # noqa: E402
from provisioning.courses.spec import parse_course  # noqa: E402


def course() -> dict[str, Any]:
    """A laboratory of 20 groups x 45 students: about 1,000 steps."""
    groups = [f"lab-{i:02d}" for i in range(1, 21)]
    return {
        "code": "CS400",
        "title": "Status Lab",
        "term": "2027-fall",
        "kind": "laboratory",
        "github_org": "demo-university",
        "staff": [{"role": "instructor", "name": "Ada Lovelace", "github": "ada"}],
        "groups": groups,
        "students": [
            {"name": f"Student {g}-{n}", "github": f"st-{g:02d}-{n:02d}", "group": group}
            for g, group in enumerate(groups, start=1)
            for n in range(1, 46)
        ],
    }


def migrate(url: str) -> None:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.attributes["sqlalchemy.url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=url,
            secret_key="bench-status-" + "s" * 32,
            sandbox_port=0,
            web_port=0,
            # The latency of every poll answered, as before load shedding: none is shed.
            web_max_in_flight=0,
        )
        async with AsyncExitStack() as stack:
            # The embedded sandbox keeps its world under ./data: here, a temporary folder.
            stack.enter_context(contextlib.chdir(tmp))
            product = await build(settings, stack)
            record = await product.courses.create(parse_course(course()), actor="bench")
            token = await product.tokens.create("bench", read_only=True)
            runner = web.AppRunner(product.web_app, access_log=None)
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            status_url = f"http://127.0.0.1:{port}/courses/{record.id}/status"
            headers = {"Authorization": f"Bearer {token}"}
            connector = aiohttp.TCPConnector(limit=0)
            http = await stack.enter_async_context(aiohttp.ClientSession(connector=connector))
            async with http.get(status_url, headers=headers) as first:
                steps = sum((await first.json())["counts"].values())
            result: dict[str, Any] = {"steps": steps}
            for name, extra in (("serial_plain", {}), ("serial_etag", {"If-None-Match": ""})):
                # One client, one request at a time: what each answer costs the server alone.
                took: list[float] = []
                for _ in range(100):
                    started = time.perf_counter()
                    async with http.get(status_url, headers={**headers, **extra}) as response:
                        await response.read()
                        if extra:
                            extra = {"If-None-Match": response.headers["ETag"]}
                    took.append((time.perf_counter() - started) * 1000)
                result[f"{name}_p50_ms"] = round(percentile(took, 0.5), 2)
                print(f"  {name}: p50 {percentile(took, 0.5):.2f} ms")
            for name, use_etag in (("plain", False), ("etag", True)):
                # This process's CPU (the server; its sandbox idles) per answered request.
                cpu_before = time.process_time()
                figures = await pollers.in_own_process(
                    status_url, token, clients=args.clients, seconds=args.seconds, etag=use_etag
                )
                cpu_ms = (time.process_time() - cpu_before) * 1000 / max(1, figures["requests"])
                print(
                    f"  {name:5s}: {figures['requests']} requests, {figures['errors']} errors, "
                    f"p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms, "
                    f"max {figures['max_ms']:.1f} ms, server CPU {cpu_ms:.2f} ms a request"
                )
                result[f"{name}_cpu_ms"] = round(cpu_ms, 2)
                result[f"{name}_p50_ms"] = figures["p50_ms"]
                result[f"{name}_p99_ms"] = figures["p99_ms"]
                result[f"{name}_requests"] = figures["requests"]
                result[f"{name}_errors"] = figures["errors"]
            return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite+aiosqlite:///{Path(tmp) / 'status.db'}"
        await asyncio.to_thread(migrate, sqlite_url)
        print(f"sqlite: {args.clients} clients, once a second each, {args.seconds:g} s")
        results["sqlite"] = await measure(sqlite_url, args)
    if args.postgres_dsn:
        name = f"bench_status_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(args.postgres_dsn)
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = args.postgres_dsn.rsplit("/", 1)[0].replace("postgresql://", "")
            url = f"postgresql+asyncpg://{base}/{name}"
            await asyncio.to_thread(migrate, url)
            print(f"postgresql: {args.clients} clients, once a second each, {args.seconds:g} s")
            results["postgresql"] = await measure(url, args)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--postgres-dsn",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a server to create a scratch database on; empty to skip PostgreSQL",
    )
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args)), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
