"""Benchmark: the runner's pace while the same process serves status polls (issue 13).

`python -m bot` runs the REST API and the step runner on one event loop. Here the product as
`bot.build` makes it provisions the laboratory course of `bench/provision.py` (10 groups x 30
students; the sandbox in a process of its own, its limits SCALE times faster) while it serves
its REST API on 127.0.0.1, and N pollers (`bench/pollers.py`, a process of their own) ask for
that course's `GET /courses/{id}/status` once a second each, open loop, from the runner's start
to its end. One round per rate of `--rates` (requests a second; 0: no pollers), each on a fresh
database and sandbox, once per `WEB_MAX_IN_FLIGHT` of `--limits` (0: no load shedding); the
limits alternate within each rate, so that they meet the same load of a shared machine.

    .venv/bin/python bench/shared_process.py --rates 0,200,1000 --limits 0,1,2

Per round: the wall time of the provisioning and its ratio to the lower bound of
`bench/provision.py` (the rate limits), the pollers' answers (p50/p99 of all, of the 200s, how
many got 503 and how fast), the event loop's lag as the runner met it (a 10 ms timer's
lateness, p50/p99/max), and the product's CPU (`cpu_s`) and, against the first round when it
has no pollers, what one poll cost it (`web_cpu_ms`, 200s and 503s together). The last line is
one JSON object: `{"rounds": [...]}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import tempfile
import time
import warnings
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import aiohttp
    from aiohttp import web

    from bot.build import build

import pollers  # noqa: E402
import provision  # noqa: E402

from bot.settings import Settings  # noqa: E402
from db.models import Step  # noqa: E402
from provisioning.courses.preview import DISCORD_LOGIN_CALLS  # noqa: E402
from provisioning.courses.spec import CourseSpec, parse_course  # noqa: E402
from provisioning.discord.steps.server import needed_permissions  # noqa: E402
from provisioning.plan import plan_course  # noqa: E402

LAG_TICK_S = 0.01


def lower_bound(spec: CourseSpec, scale: float) -> float:
    """The rate limits' bound on the wall time, as `bench/provision.py` computes it."""
    need = provision.minimum(plan_course(spec))
    github_writes = sum(r["writes"] for k, r in need.items() if k.startswith("github."))
    discord_calls = DISCORD_LOGIN_CALLS + sum(
        r["reads"] + r["writes"] for k, r in need.items() if k.startswith("discord.")
    )
    return max(
        github_writes * provision.GITHUB_WRITE_INTERVAL_S / scale,
        discord_calls / (provision.DISCORD_PER_SECOND * scale),
    )


async def lag_monitor(lags: list[float], stop: asyncio.Event) -> None:
    """How late a 10 ms timer fires: what every await of the runner waits on top."""
    while not stop.is_set():
        due = time.perf_counter() + LAG_TICK_S
        await asyncio.sleep(LAG_TICK_S)
        lags.append(max(0.0, time.perf_counter() - due) * 1000)


async def one_round(
    args: argparse.Namespace, rate: int, limit: int, data_dir: Path
) -> dict[str, Any]:
    """A fresh database and sandbox; provision the course while `rate` pollers poll it."""
    database_url = f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"
    await asyncio.to_thread(provision.migrate, database_url)
    async with (
        AsyncExitStack() as stack,
        provision.SandboxProcess(args.scale, data_dir) as server,
        aiohttp.ClientSession(headers=server.control_headers) as http,
    ):
        base = server.base_url
        users = await provision.control(http, base, "GET", "/discord/users")
        people = {u["username"]: u["id"] for u in users}
        spec = parse_course(
            provision.course(args.groups, args.per_group, people["ada"], people["grace"])
        )
        for login in [p.github for p in spec.staff] + [p.github for p in spec.students]:
            await provision.control(http, base, "POST", "/github/users", json={"login": login})
        settings = Settings(
            database_url=database_url,
            sandbox_url=base,
            rate_scale=args.scale,
            secret_key=provision.SECRET,
            web_port=0,
            web_max_in_flight=limit,
        )
        product = await build(settings, stack)
        course_id = (await product.courses.create(spec, actor="bench")).id
        guild = await provision.control(
            http, base, "POST", "/discord/guilds", json={"name": "New server", "owner": "ada"}
        )
        guild_path = f"/discord/guilds/{guild['id']}"
        bot = {"permissions": needed_permissions(spec)}
        await provision.control(http, base, "POST", f"{guild_path}/bot", json=bot)
        await provision.control(http, base, "POST", f"{guild_path}/members", json={"user": "grace"})
        await product.claims.claim(product.claim_code(course_id), guild["id"], people["ada"])
        token = await product.tokens.create("bench", read_only=True)
        site_runner = web.AppRunner(product.web_app, access_log=None)
        await site_runner.setup()
        stack.push_async_callback(site_runner.cleanup)
        site = web.TCPSite(site_runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        status_url = f"http://127.0.0.1:{port}/courses/{course_id}/status"

        done, stop = asyncio.Event(), asyncio.Event()
        polling = None
        if rate > 0:
            polling = asyncio.create_task(
                pollers.in_own_process(
                    status_url, token, clients=rate, seconds=3600, etag=False, until=done
                )
            )
            # The pollers' process imports aiohttp first: let their load arrive before the
            # runner starts, so the whole provisioning runs under it.
            await asyncio.sleep(args.warmup)
        lags: list[float] = []
        monitor = asyncio.create_task(lag_monitor(lags, done))
        started, cpu_before = time.perf_counter(), time.process_time()
        runner = asyncio.create_task(product.runner.serve(stop))
        unfinished = select(func.count()).where(Step.state.in_(("pending", "running")))
        while True:
            async with product.sessions() as session:
                if not await session.scalar(unfinished):
                    break
            await asyncio.sleep(0.02)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_before
        done.set()
        figures = await polling if polling is not None else {}
        await monitor
        stop.set()
        product.runner.wake()
        await runner
        async with product.sessions() as session:
            states = dict(
                (await session.execute(select(Step.state, func.count()).group_by(Step.state))).all()
            )
        shed = product.metrics.registry.get_sample_value("web_requests_shed_total", {"kind": "api"})
    bound = lower_bound(spec, args.scale)
    return {
        "rate": rate,
        "limit": limit,
        "wall_s": round(wall, 2),
        "lower_bound_s": round(bound, 2),
        "wall_ratio": round(wall / bound, 2),
        "states": states,
        # The product's CPU while provisioning: the runner's, and the web's for the polls.
        "cpu_s": round(cpu, 2),
        "lag_p50_ms": round(pollers.percentile(lags, 0.5), 1),
        "lag_p99_ms": round(pollers.percentile(lags, 0.99), 1),
        "lag_max_ms": round(max(lags, default=0.0), 1),
        "metrics_shed": shed,
        **{f"poll_{k}": v for k, v in figures.items()},
    }


def show(r: dict[str, Any]) -> None:
    line = (
        f"{r['rate']:5d}/s, limit {r['limit']:3d}: "
        f"wall {r['wall_s']:.2f} s = {r['wall_ratio']:.2f} x bound "
        f"{r['lower_bound_s']:.2f} s; loop lag p50 {r['lag_p50_ms']} ms, "
        f"p99 {r['lag_p99_ms']} ms, max {r['lag_max_ms']} ms"
    )
    if r.get("web_cpu_ms") is not None:
        line += f"; web CPU {r['web_cpu_ms']} ms a poll"
    if r["rate"]:
        line += (
            f"; polls {r['poll_requests']}: p50 {r['poll_p50_ms']} ms, p99 {r['poll_p99_ms']} ms"
            f" (200s p99 {r['poll_ok_p99_ms']} ms), 503 {r['poll_shed']}"
            f" (p99 {r['poll_shed_p99_ms']} ms), errors {r['poll_errors']}"
        )
    print(line, flush=True)


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    rounds = []
    for rate in args.rates:
        # Without pollers the limit changes nothing: one round.
        for limit in args.limits if rate else args.limits[:1]:
            with tempfile.TemporaryDirectory() as tmp:
                result = await one_round(args, rate, limit, Path(tmp))
            if rate and rounds and rounds[0]["rate"] == 0 and result["poll_requests"]:
                # What the polls cost the process: its CPU beyond the round without pollers.
                extra = result["cpu_s"] - rounds[0]["cpu_s"]
                result["web_cpu_ms"] = round(1000 * extra / result["poll_requests"], 2)
            show(result)
            rounds.append(result)
    return rounds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=50.0, help="rate-limit speed-up factor")
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--per-group", type=int, default=30)
    parser.add_argument(
        "--rates",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[0, 200, 1000],
        help="poll rates to run, requests a second, comma-separated (0: no pollers)",
    )
    parser.add_argument(
        "--limits",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[0, 2],
        help="WEB_MAX_IN_FLIGHT values to compare, comma-separated (0: no load shedding)",
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of polls first")
    args = parser.parse_args()
    # Stopped with SIGTERM, unwind as on Ctrl+C: the sandbox and the pollers are stopped too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"scale {args.scale:g}; limits in flight {args.limits}", flush=True)
    rounds = asyncio.run(run(args))
    print(json.dumps({"rounds": rounds}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
