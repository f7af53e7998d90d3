"""Benchmark: a department's start of term, 20 courses on two runner processes and PostgreSQL.

15 lectures of 30-120 students and 5 laboratories of 6-10 groups (about 2,000 students with the
default `--size 1`), all created and claimed at once, then provisioned by two `python -m bot
runner` processes sharing one PostgreSQL database, one GitHub credential and one Discord bot,
against an in-process sandbox whose rate limits run SCALE times faster (the runners' governors
use the same factor). One runner is stopped with SIGTERM in the middle; the other finishes.

    .venv/bin/python bench/department.py --scale 50

The issue asks for 4 organizations with 4 credentials: the product takes one GitHub credential
per deployment, so here all courses share one (the pace that matters: one credential's writes,
whichever process sends them).

Prints, and its last line is one JSON object with: `wall_s`, `lower_bound_s` (the credential's
minimum GitHub writes x 1 s / scale, or the Discord calls at 50 per second / scale, whichever is
longer) and their ratio; `calls` and `min_calls`; `http_429` and `github_403`; the most GitHub
writes in any one second at real scale (`max_writes_per_real_s`, 1 is the pace); per course the
seconds from the runners' start to its Discord steps done and to all done; `fairness` (the five
smallest courses done before half of `wall_s`); `stop_s` (SIGTERM to exit of the stopped
runner), the steps it handed back, and whether every step then succeeded (`all_succeeded`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import sys
import tempfile
import time
import uuid
import warnings
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import aiohttp

    from bot.build import build

from provision import (  # noqa: E402
    DISCORD_LOGIN_CALLS,
    DISCORD_PER_SECOND,
    GITHUB_WRITE_INTERVAL_S,
    MUTATING,
    ORG,
    SECRET,
    control,
    migrate,
    minimum,
)

from bot.settings import Settings  # noqa: E402
from db.models import AuditEvent, Step  # noqa: E402
from provisioning.courses.spec import CourseSpec, parse_course  # noqa: E402
from provisioning.discord.steps.server import needed_permissions  # noqa: E402
from provisioning.plan import plan_course  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402

POLL_S = 0.25


def staff(ada: str, grace: str) -> list[dict[str, Any]]:
    return [
        {"role": "instructor", "name": "Ada Lovelace", "github": "ada", "discord_id": ada},
        {"role": "ta", "name": "Grace Hopper", "github": "grace", "discord_id": grace},
    ]


def department(size: float, ada: str, grace: str, seed: int = 2027) -> list[dict[str, Any]]:
    """15 lectures of 30-120 students, 5 laboratories of 6-10 groups of 20, times `size`."""
    rng = random.Random(seed)
    courses = []
    for i in range(15):
        students = max(1, round(rng.randint(30, 120) * size))
        courses.append(
            {
                "code": f"LEC{i + 1:03d}",
                "title": f"Lecture {i + 1}",
                "term": "2027-fall",
                "kind": "lecture",
                "github_org": ORG,
                "staff": staff(ada, grace),
                "groups": [],
                "students": [
                    {"name": f"L{i} S{n}", "github": f"l{i:02d}-s{n:03d}"} for n in range(students)
                ],
            }
        )
    for i in range(5):
        groups = [f"lab-{g:02d}" for g in range(1, rng.randint(6, 10) + 1)]
        per_group = max(1, round(20 * size))
        courses.append(
            {
                "code": f"LAB{i + 1:03d}",
                "title": f"Laboratory {i + 1}",
                "term": "2027-fall",
                "kind": "laboratory",
                "github_org": ORG,
                "staff": staff(ada, grace),
                "groups": groups,
                "students": [
                    {"name": f"B{i} {g} {n}", "github": f"b{i}-{g}-{n:02d}", "group": g}
                    for g in groups
                    for n in range(per_group)
                ],
            }
        )
    return courses


async def admin(server_url: str, statement: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def progress(sessions: Any) -> dict[tuple[str, str], int]:
    """Steps not succeeded yet, by (course id, platform)."""
    async with sessions() as session:
        rows = await session.execute(
            select(Step.course_id, Step.platform, func.count())
            .where(Step.state != "succeeded")
            .group_by(Step.course_id, Step.platform)
        )
    return {(course_id, platform): n for course_id, platform, n in rows}


async def start_runner(env: dict[str, str], cwd: Path, name: str) -> tuple[Any, Path]:
    log = cwd / f"{name}.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "runner", env=env, cwd=cwd, stdout=out, stderr=out
        )
    return process, log


async def run(args: argparse.Namespace, database_url: str, workdir: Path) -> dict[str, Any]:
    async with (
        AsyncExitStack() as exits,
        SandboxServer(rate_scale=args.scale) as server,
        aiohttp.ClientSession(headers=server.control_headers) as http,
    ):
        base = server.base_url
        people = {
            u["username"]: u["id"] for u in await control(http, base, "GET", "/discord/users")
        }
        datas = department(args.size, people["ada"], people["grace"])
        specs: list[CourseSpec] = [parse_course(d) for d in datas]
        logins = {p.github for s in specs for p in s.staff}
        logins |= {p.github for s in specs for p in s.students}
        for login in sorted(logins):
            await control(http, base, "POST", "/github/users", json={"login": login})
        settings = Settings(
            database_url=database_url, sandbox_url=base, rate_scale=args.scale, secret_key=SECRET
        )
        stack = await exits.enter_async_context(AsyncExitStack())
        product = await build(settings, stack)  # creates and claims; the runners are processes
        created_at = time.perf_counter()
        ids: list[str] = []
        for spec in specs:
            ids.append((await product.courses.create(spec, actor="bench")).id)
        create_s = time.perf_counter() - created_at
        for spec, course_id in zip(specs, ids, strict=True):
            guild = await control(
                http, base, "POST", "/discord/guilds", json={"name": "New", "owner": "ada"}
            )
            bot = {"permissions": needed_permissions(spec)}
            await control(http, base, "POST", f"/discord/guilds/{guild['id']}/bot", json=bot)
            await control(
                http, base, "POST", f"/discord/guilds/{guild['id']}/members", json={"user": "grace"}
            )
            await product.claims.claim(product.claim_code(course_id), guild["id"], people["ada"])

        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SANDBOX_URL")}
        env.update(
            PYTHONPATH=str(REPO_ROOT),
            APP_ENV="development",
            DATABASE_URL=database_url,
            SANDBOX_URL=base,
            RATE_SCALE=str(args.scale),
            SECRET_KEY=SECRET,
        )
        started = time.perf_counter()
        runners = [await start_runner(env, workdir, f"runner-{i}") for i in (1, 2)]
        total = sum(len(plan_course(s)) for s in specs)
        discord_done: dict[str, float] = {}
        done: dict[str, float] = {}
        stop_s: float | None = None
        handed_back: int | None = None
        while len(done) < len(ids):
            await asyncio.sleep(POLL_S)
            left = await progress(product.sessions)
            now = time.perf_counter() - started
            for course_id in ids:
                if course_id not in discord_done and not left.get((course_id, "discord")):
                    discord_done[course_id] = now
                if course_id not in done and not any(
                    n for (c, _), n in left.items() if c == course_id
                ):
                    done[course_id] = now
            if stop_s is None and sum(left.values()) <= total * 0.6:
                process, log = runners[0]
                signalled = time.perf_counter()
                process.send_signal(signal.SIGTERM)
                await process.wait()
                stop_s = time.perf_counter() - signalled
                found = re.search(r"(\d+) steps handed back", log.read_text(errors="replace"))
                handed_back = int(found.group(1)) if found else None
            if now > args.timeout:
                print(f"timed out after {now:.0f} s", file=sys.stderr)
                break
        wall = time.perf_counter() - started
        for process, _ in runners:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await process.wait()
        async with product.sessions() as session:
            states = Counter((await session.scalars(select(Step.state))).all())
        journal = server.journal.query(limit=10_000_000)
        refused = [e for e in journal if e.platform == "github" and e.status == 403]
        async with product.sessions() as session:
            audit = {
                row.request_id: row
                for row in (
                    await session.scalars(
                        select(AuditEvent).where(
                            AuditEvent.request_id.in_([e.request_id for e in refused])
                        )
                    )
                ).all()
            }
        for e in refused:
            row = audit.get(e.request_id)
            print(
                f"403 {e.time - journal[0].time:8.3f} {e.method} {e.path} outcome={e.outcome}"
                f" actor={row.actor if row else None} step={row.step_key if row else None}"
                f" rl={row.rate_limit if row else None}",
                file=sys.stderr,
            )
        await stack.aclose()
        journal = server.journal.query(limit=10_000_000)

    need: dict[str, dict[str, int]] = {}
    for spec in specs:
        for kind, row in minimum(plan_course(spec)).items():
            into = need.setdefault(kind, {"steps": 0, "reads": 0, "writes": 0})
            for key in into:
                into[key] += row[key]
    github_writes_min = sum(r["writes"] for k, r in need.items() if k.startswith("github."))
    # Three Discord logins: the two runners and this process (which creates and claims).
    discord_min = 3 * DISCORD_LOGIN_CALLS + sum(
        r["reads"] + r["writes"] for k, r in need.items() if k.startswith("discord.")
    )
    min_calls = github_writes_min + discord_min
    min_calls += sum(r["reads"] for k, r in need.items() if k.startswith("github."))
    lower_bound = max(
        github_writes_min * GITHUB_WRITE_INTERVAL_S / args.scale,
        discord_min / (DISCORD_PER_SECOND * args.scale),
    )
    writes = sorted(e.time for e in journal if e.platform == "github" and e.method in MUTATING)
    real_second = 1 / args.scale
    j = 0
    busiest = 0
    for i, t in enumerate(writes):
        while writes[j] <= t - real_second:
            j += 1
        busiest = max(busiest, i - j + 1)
    sizes = sorted(range(len(specs)), key=lambda i: len(specs[i].students))
    smallest = [ids[i] for i in sizes[:5]]
    return {
        "courses": len(specs),
        "students": sum(len(s.students) for s in specs),
        "steps": total,
        "scale": args.scale,
        "create_s": round(create_s, 2),
        "wall_s": round(wall, 2),
        "lower_bound_s": round(lower_bound, 2),
        "wall_ratio": round(wall / lower_bound, 3),
        "calls": len(journal),
        "min_calls": min_calls,
        "calls_ratio": round(len(journal) / min_calls, 4),
        "http_429": sum(1 for e in journal if e.status == 429),
        "github_403": sum(
            1
            for e in journal
            if e.platform == "github" and e.status == 403 and e.method in MUTATING
        ),
        "max_writes_per_real_s": busiest,
        "per_course": {
            specs[i].code: {
                "students": len(specs[i].students),
                "discord_done_s": round(discord_done.get(ids[i], -1), 2),
                "done_s": round(done.get(ids[i], -1), 2),
            }
            for i in sizes
        },
        "fairness": all(done.get(c, wall) < wall / 2 for c in smallest),
        "stop_s": None if stop_s is None else round(stop_s, 2),
        "handed_back": handed_back,
        "all_succeeded": set(states) == {"succeeded"},
        "states": dict(states),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=50.0, help="rate-limit speed-up factor")
    parser.add_argument("--size", type=float, default=1.0, help="students per course, x")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument(
        "--server",
        default=os.environ.get("BENCH_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432"),
        help="PostgreSQL server URL (a fresh database is created and dropped)",
    )
    args = parser.parse_args()
    name = f"department_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(f"{args.server}/postgres", f'CREATE DATABASE "{name}"'))
    url = f"{args.server}/{name}"
    try:
        migrate(url)
        with tempfile.TemporaryDirectory() as workdir:
            result = asyncio.run(run(args, url, Path(workdir)))
    finally:
        asyncio.run(admin(f"{args.server}/postgres", f'DROP DATABASE IF EXISTS "{name}"'))
    for code, row in result["per_course"].items():
        print(
            f"{code}: {row['students']:4d} students, Discord done {row['discord_done_s']:7.2f} s,"
            f" all done {row['done_s']:7.2f} s"
        )
    print(
        f"{result['courses']} courses, {result['students']} students, {result['steps']} steps;"
        f" wall {result['wall_s']} s, lower bound {result['lower_bound_s']} s:"
        f" {result['wall_ratio']} x (target <= 1.2)"
    )
    print(
        f"calls {result['calls']}, minimum {result['min_calls']}: {result['calls_ratio']} x;"
        f" 429s {result['http_429']}, GitHub 403 on writes {result['github_403']};"
        f" most GitHub writes in one real second {result['max_writes_per_real_s']}"
    )
    print(
        f"fairness (five smallest done before half the wall time): {result['fairness']};"
        f" stop {result['stop_s']} s, {result['handed_back']} steps handed back;"
        f" all succeeded: {result['all_succeeded']}"
    )
    print(json.dumps(result, sort_keys=True))
    return 0 if result["all_succeeded"] else 1


if __name__ == "__main__":
    sys.exit(main())
