"""Benchmark: a department's start of term, 20 courses on two runner processes and PostgreSQL.

15 lectures of 30-120 students and 5 laboratories of 6-10 groups (about 2,000 students with the
default `--size 1`), all created and claimed at once while two `python -m bot runner` processes,
started and ready before the first course (`runner_start_s`: launch to ready, not in the wall),
provision them, sharing one PostgreSQL database and one Discord bot, the courses spread over
four GitHub organizations in turn, each with the GitHub App installed (four installations:
four credentials, each with its own pace and limits), against an in-process sandbox whose
rate limits run SCALE times faster (the runners' governors use the same factor). One runner
is stopped with SIGTERM in the middle; the other finishes.

    .venv/bin/python bench/department.py --scale 50

Meanwhile a third product process serves the REST API (as the bot process would) and a fourth
process polls `GET /courses/{id}/status` of a 1,000-step course with 200 clients, each once a
second (open loop), so the load generator does not share the server's CPU. That course is in an
organization where the App is not installed: it waits for a person, and costs the runners one
installation lookup each (left out of `calls`).

Lower bound: GitHub writes are serial, one per second, and at most 500 content-creating requests
in any hour (GitHub's secondary limit; the sandbox enforces it, and so does our governor): write
k goes no earlier than k seconds, nor than an hour after write k - 500. `lower_bound_s` is that
for each credential's minimum writes, / scale, the largest of the four, or the Discord calls
at 50 per second / scale, whichever is longer; `spacing_bound_s` the same without the hourly
budget (writes x 1 s / scale, the issue's definition), which a department of more than 500
writes per credential cannot meet. An organization's invitations (one per person of its courses
not in it yet) are at most its daily limit (500; 50 for a young free organization) in any
24 hours: one needing more waits 24 h / scale for each further day's worth, so its bound is
also no less than that (`invitations_by_org`: needed, limit, bound, sent and refused as the
sandbox's journal shows them).

Prints, and its last line is one JSON object with: `wall_s`, `lower_bound_s`, `spacing_bound_s`
and the ratio of wall to the lower bound; `calls` and `min_calls`; `http_429` and `github_403`;
the most GitHub writes of one credential (an installation) in any one second at real scale,
as the product sent them (`max_writes_per_real_s`, the target's figure: 1 is the pace; from the
audit rows, timed when each request left) and as the sandbox received them
(`max_writes_per_real_s_received`, from its journal's arrival stamps), each also by credential;
per course the seconds from its claim to its Discord steps done (and the Discord bound of that
course alone: its calls at the bot's global rate, or its server's own rate-limit windows when
they take longer (`discord_window_bound_s`: 16 channel creations of 10 per 10 s need a second
window); and `discord_queue_bound_s`: its calls and those of the courses the one Discord lane
serves before it, least Discord work first, at the global rate, or its windows when longer)
and from its creation to all done; `wall_s` runs from the
first course's creation; `fairness` (the five smallest courses done
before half of `wall_s`); `stop_s` (SIGTERM to exit of the stopped runner), the steps it handed
back and `handed_back_finished_by_other` (each of them later succeeded under the other runner;
null when the stop caught none);
`status_p50_ms`/`status_p99_ms` with the requests and errors of the pollers, and
`status_slow_by_s` (the answers over 50 ms by the second of the run they were asked in);
whether every step then succeeded (`all_succeeded`).

The writes-per-second target is judged on the send times: the product decides when a request
leaves, and its governor spaces the sends; between the send and the arrival stamp lie the
network and the receiving process (the sandbox's event loop stamps a request when it gets to
it: up to hundreds of milliseconds later on a loaded machine), which bunch arrivals that left
a spacing apart. The arrivals are printed beside, to show how much.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import signal
import sys
import tempfile
import time
import uuid
import warnings
from collections import Counter, defaultdict
from contextlib import AsyncExitStack, suppress
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
    from aiohttp import web

    from bot.build import build

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from dept_sandbox import APP_ID, ORGS, UNREACHABLE_ORG, department_sandbox, world  # noqa: E402
from provision import (  # noqa: E402
    DISCORD_LOGIN_CALLS,
    DISCORD_PER_SECOND,
    GITHUB_WRITE_INTERVAL_S,
    MUTATING,
    SECRET,
    claim_new_server,
    control,
    migrate,
    minimum,
)

from bench.cpu import CpuMeter  # noqa: E402
from bot.gil import hand_over_the_gil_often  # noqa: E402
from bot.heap import freeze_startup_heap  # noqa: E402
from bot.settings import Settings, load_settings  # noqa: E402
from db.models import AuditEvent, Step  # noqa: E402
from provisioning.courses.spec import CourseSpec, parse_course  # noqa: E402
from provisioning.plan import plan_course  # noqa: E402
from sandbox.core.journal import JournalEntry  # noqa: E402
from sandbox.discord.config import RateConfig  # noqa: E402
from sandbox.github.config import GitHubWorld  # noqa: E402

POLL_S = 0.25
# GitHub's day, for organization invitations (PLATFORM.md §2.5).
DAY_S = 24 * 3600.0
# GitHub's secondary limit on content-creating requests (PLATFORM.md §2.8).
CONTENT_PER_HOUR = 500
HOUR_S = 3600.0


def app_private_key() -> str:
    """Any RSA key: PyGithub signs the App's JWT with it, the sandbox reads its claims only."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


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
                "github_org": ORGS[i % len(ORGS)],
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
                "github_org": ORGS[(15 + i) % len(ORGS)],
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


def polled_course(ada: str, grace: str) -> dict[str, Any]:
    """A laboratory of 20 groups x 45 students (about 1,000 steps) in an unreachable org."""
    groups = [f"lab-{g:02d}" for g in range(1, 21)]
    return {
        "code": "BIG001",
        "title": "Polled Laboratory",
        "term": "2027-fall",
        "kind": "laboratory",
        "github_org": UNREACHABLE_ORG,
        "staff": staff(ada, grace),
        "groups": groups,
        "students": [
            {"name": f"P {g} {n}", "github": f"p-{g}-{n:02d}", "group": g}
            for g in groups
            for n in range(45)
        ],
    }


def invitation_bound_s(invitations: int, limit: int, scale: float) -> float:
    """When the last of `invitations` to one organization can go: no more than `limit` in any
    24 hours, so a day after the one `limit` back."""
    return (math.ceil(invitations / limit) - 1) * DAY_S / scale if invitations else 0.0


def org_invitation_limit(world: GitHubWorld, org: str) -> int:
    """The organization's daily invitations in the sandbox's world."""
    plan = next((o.plan for o in world.orgs if o.login == org), "team")
    limits = world.limits
    return (
        limits.org_invitations_per_day_free
        if plan == "free"
        else limits.org_invitations_per_day_paid
    )


def invitations_in_journal(journal: list[Any], org: str) -> tuple[int, int]:
    """(sent, refused) invitations to `org`: a team membership PUT answered 200 sends one the
    first time for a person (nobody starts in the organization); a 422 is GitHub's refusal."""
    prefix = f"/orgs/{org}/teams/"
    people: set[str] = set()
    refused = 0
    for e in journal:
        path = e.path.removeprefix("/api/v3")
        if e.method != "PUT" or not path.startswith(prefix) or "/memberships/" not in path:
            continue
        if e.status == 200:
            people.add(path.rsplit("/", 1)[-1].lower())
        elif e.status == 422:
            refused += 1
    return len(people), refused


def github_bound_s(writes: int, scale: float) -> float:
    """When the last of `writes` can go: one a second, and no more than 500 in any hour."""
    slots: list[float] = []
    for k in range(writes):
        slot = slots[-1] + GITHUB_WRITE_INTERVAL_S if slots else 0.0
        if k >= CONTENT_PER_HOUR:
            slot = max(slot, slots[k - CONTENT_PER_HOUR] + HOUR_S)
        slots.append(slot)
    return (slots[-1] if slots else 0.0) / scale


async def admin(server_url: str, statement: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def progress(sessions: Any, ids: list[str]) -> dict[tuple[str, str], int]:
    """Steps not succeeded yet, by (course id, platform), of the department's courses."""
    async with sessions() as session:
        rows = await session.execute(
            select(Step.course_id, Step.platform, func.count())
            .where(Step.state != "succeeded", Step.course_id.in_(ids))
            .group_by(Step.course_id, Step.platform)
        )
    return {(course_id, platform): n for course_id, platform, n in rows}


async def start_process(env: dict[str, str], cwd: Path, name: str, *argv: str) -> tuple[Any, Path]:
    log = cwd / f"{name}.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, *argv, env=env, cwd=cwd, stdout=out, stderr=out
        )
    return process, log


def stop_process(process: Any) -> None:
    """Never leave a helper process behind, whatever stopped the bench."""
    if process.returncode is None:
        process.kill()


def read(log: Path) -> str:
    return log.read_text(errors="replace")


async def wait_for_line(log: Path, pattern: str, timeout_s: float = 120.0) -> re.Match[str]:
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        found = re.search(pattern, read(log))
        if found:
            return found
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{log.name}: no line matching {pattern!r}")


async def handed_back_proof(sessions: Any, stopped_log: Path) -> dict[str, Any]:
    """The steps the stopped runner handed back, and whether another runner finished each."""
    found = re.search(r"(\d+) steps handed back", read(stopped_log))
    async with sessions() as session:
        back = (
            await session.execute(
                select(AuditEvent.actor, AuditEvent.course_id, AuditEvent.step_key, AuditEvent.id)
                .where(AuditEvent.event == "step.handed_back")
                .order_by(AuditEvent.id)
            )
        ).all()
        succeeded = (
            await session.execute(
                select(
                    AuditEvent.actor, AuditEvent.course_id, AuditEvent.step_key, AuditEvent.id
                ).where(AuditEvent.event == "step.succeeded")
            )
        ).all()
    done = {(c, k): (actor, i) for actor, c, k, i in succeeded}
    finished = [
        (c, k) in done and done[(c, k)][0] != actor and done[(c, k)][1] > i
        for actor, c, k, i in back
    ]
    return {
        "handed_back": int(found.group(1)) if found else None,
        "handed_back_steps": [k for _, _, k, _ in back],
        # None: the stop caught no step between claim and settle, so there was none to prove.
        "handed_back_finished_by_other": all(finished) if back else None,
    }


async def run(args: argparse.Namespace, database_url: str, workdir: Path) -> dict[str, Any]:
    key = app_private_key()
    async with (
        AsyncExitStack() as exits,
        department_sandbox(args.sandbox, args.scale, workdir) as server,
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
            database_url=database_url,
            sandbox_url=base,
            rate_scale=args.scale,
            secret_key=SECRET,
            github_app_id=APP_ID,
            github_app_private_key=key,
        )
        stack = await exits.enter_async_context(AsyncExitStack())
        product = await build(settings, stack)  # creates and claims; the runners are processes
        polled = await product.courses.create(
            parse_course(polled_course(people["ada"], people["grace"])), actor="bench"
        )
        token = await product.tokens.create("bench-status", read_only=True)
        env = {
            k: v
            for k, v in os.environ.items()
            if k.lower() not in Settings.model_fields  # none of this shell's settings
        }
        env.update(
            PYTHONPATH=str(REPO_ROOT),
            APP_ENV="development",
            DATABASE_URL=database_url,
            SANDBOX_URL=base,
            RATE_SCALE=str(args.scale),
            SECRET_KEY=SECRET,
            GITHUB_APP_ID=str(APP_ID),
            GITHUB_APP_PRIVATE_KEY=key,
        )
        env.update(args.runner_setting)
        script = str(REPO_ROOT / "bench" / "department.py")
        status_server, status_log = await start_process(
            env, workdir, "status-server", script, "--serve-status"
        )
        exits.callback(stop_process, status_server)
        port = (await wait_for_line(status_log, r"serving on port (\d+)")).group(1)

        poller, poller_log = await start_process(
            env,
            workdir,
            "status-poller",
            script,
            "--poll",
            f"http://127.0.0.1:{port}/courses/{polled.id}/status",
            "--token",
            token,
            "--clients",
            str(args.clients),
        )
        exits.callback(stop_process, poller)
        # The runners are up before the first course comes, as in a department where they
        # run all term: their start (imports, connections) is timed apart, not in the wall.
        launched = time.perf_counter()
        runners = [
            await start_process(env, workdir, f"runner-{i}", "-m", "bot", "runner") for i in (1, 2)
        ]
        for process, _ in runners:
            exits.callback(stop_process, process)
        for _, runner_log in runners:
            await wait_for_line(runner_log, r"Stop with Ctrl\+C")
        runner_start_s = time.perf_counter() - launched
        meter = CpuMeter()
        for name, process in [
            ("runner-1", runners[0][0]),
            ("runner-2", runners[1][0]),
            ("api", status_server),
            ("pollers", poller),
        ]:
            meter.watch(name, process.pid)
        # Inline, the sandbox's CPU is this process's (it also polls the database).
        meter.watch("bench" if server.pid else "bench+sandbox", os.getpid())
        if server.pid:
            meter.watch("sandbox", server.pid)
        meter.sample()
        created: dict[str, float] = {}
        claimed: dict[str, float] = {}
        created_at = started = time.perf_counter()
        started_epoch = time.time()
        ids: list[str] = []
        for spec in specs:
            ids.append((await product.courses.create(spec, actor="bench")).id)
            created[ids[-1]] = time.perf_counter()
        create_s = time.perf_counter() - created_at
        guild_of: dict[str, str] = {}
        for spec, course_id in zip(specs, ids, strict=True):
            guild_of[course_id] = await claim_new_server(
                http, base, product, spec, course_id, people["ada"]
            )
            claimed[course_id] = time.perf_counter()

        total = sum(len(plan_course(s)) for s in specs)
        discord_done: dict[str, float] = {}
        done: dict[str, float] = {}
        stop_s: float | None = None
        while len(done) < len(ids):
            await asyncio.sleep(POLL_S)
            meter.sample()
            left = await progress(product.sessions, ids)
            now = time.perf_counter()
            for course_id in ids:
                if course_id not in discord_done and not left.get((course_id, "discord")):
                    discord_done[course_id] = now
                if course_id not in done and not any(
                    n for (c, _), n in left.items() if c == course_id
                ):
                    done[course_id] = now
            if stop_s is None and sum(left.values()) <= total * 0.6:
                process, _ = runners[0]
                meter.sample()
                signalled = time.perf_counter()
                process.send_signal(signal.SIGTERM)
                await process.wait()
                stop_s = time.perf_counter() - signalled
            if now - started > args.timeout:
                print(f"timed out after {now - started:.0f} s", file=sys.stderr)
                break
        wall = time.perf_counter() - started
        meter.sample()
        poller.send_signal(signal.SIGTERM)
        await poller.wait()
        for process, _ in [*runners, (status_server, status_log)]:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await process.wait()
        lines = [line for line in read(poller_log).splitlines() if line.startswith("{")]
        if not lines:
            print(read(poller_log)[-3000:], file=sys.stderr)
        status = json.loads(lines[-1]) if lines else {}
        proof = await handed_back_proof(product.sessions, runners[0][1])
        # The stopped runner's last lines: what its stop spent the time on.
        print(*read(runners[0][1]).splitlines()[-12:], sep="\n", file=sys.stderr)
        async with product.sessions() as session:
            states = Counter(
                (await session.scalars(select(Step.state).where(Step.course_id.in_(ids)))).all()
            )
            sent_writes = await writes_as_sent(session)
            timeline = await step_timeline(session, ids) if args.step_timeline else None
        await stack.aclose()
        journal = [e for e in await server.journal(http) if UNREACHABLE_ORG not in e.path]

    need: dict[str, dict[str, int]] = {}
    discord_need: dict[str, int] = {}
    org_writes: Counter[str] = Counter()
    # Each person is invited to an organization once, whatever their courses there.
    invitees: defaultdict[str, set[str]] = defaultdict(set)
    for spec, course_id in zip(specs, ids, strict=True):
        invitees[spec.github_org].update(
            str(s.params["login"]).lower() for s in plan_course(spec) if s.kind == "github.invite"
        )
        for kind, row in minimum(plan_course(spec)).items():
            into = need.setdefault(kind, {"steps": 0, "reads": 0, "writes": 0})
            for key in into:
                into[key] += row[key]
            if kind.startswith("discord."):
                discord_need[course_id] = discord_need.get(course_id, 0) + row["reads"]
                discord_need[course_id] += row["writes"]
            else:
                org_writes[spec.github_org] += row["writes"]
    github_writes_min = sum(org_writes.values())
    # Four Discord logins: the two runners, the status server and this process.
    discord_min = 4 * DISCORD_LOGIN_CALLS + sum(
        r["reads"] + r["writes"] for k, r in need.items() if k.startswith("discord.")
    )
    # The App's own calls: each runner finds each organization's installation and mints its
    # token once.
    app_min = 2 * 2 * len(ORGS)
    min_calls = github_writes_min + discord_min + app_min
    min_calls += sum(r["reads"] for k, r in need.items() if k.startswith("github."))
    discord_bound = discord_min / (DISCORD_PER_SECOND * args.scale)
    github_world = world()
    invitations: dict[str, dict[str, float]] = {}
    for org, invited in invitees.items():
        limit = org_invitation_limit(github_world, org)
        sent, refused = invitations_in_journal(journal, org)
        invitations[org] = {
            "needed": len(invited),
            "limit": limit,
            "bound_s": round(invitation_bound_s(len(invited), limit, args.scale), 2),
            "sent": sent,
            "refused": refused,
        }
    by_org = {
        org: max(github_bound_s(n, args.scale), invitations[org]["bound_s"])
        for org, n in org_writes.items()
    }
    lower_bound = max(*by_org.values(), discord_bound)
    spacing_bound = max(
        max(org_writes.values()) * GITHUB_WRITE_INTERVAL_S / args.scale, discord_bound
    )
    writes: dict[str, list[float]] = defaultdict(list)
    for e in journal:
        if e.platform == "github" and e.method in MUTATING and e.credential != f"app:{APP_ID}":
            writes[str(e.credential)].append(e.time)
    received = {cred: busiest_second(times, 1 / args.scale) for cred, times in writes.items()}
    busiest = {cred: busiest_second(times, 1 / args.scale) for cred, times in sent_writes.items()}
    sizes = sorted(range(len(specs)), key=lambda i: len(specs[i].students))
    # One Discord bot, one lane for every course, served least Discord work first (then the
    # older): a course's Discord is done no sooner than its calls and those of every course
    # served before it, at the global rate.
    queue_bound: dict[str, float] = {}
    ahead = 0
    for course_id in sorted(ids, key=lambda c: (discord_need[c], created[c])):
        ahead += discord_need[course_id]
        queue_bound[course_id] = ahead / (DISCORD_PER_SECOND * args.scale)
    # A server's own windows (10 channel creations per 10 s...) bound its course too, however
    # free the bot's global rate: its busiest window's calls, the last no sooner than the
    # start of the window they fill last.
    window_bound = route_window_bounds(journal, args.scale)
    course_window_bound = {c: window_bound.get(guild_of[c], 0.0) for c in ids}
    smallest = [ids[i] for i in sizes[:5]]
    cpu_s = meter.spent()
    machine = meter.machine()
    cores = os.cpu_count() or 1
    return {
        **cpu_figures(cpu_s, machine, cores, wall),
        "runner_start_s": round(runner_start_s, 2),
        "courses": len(specs),
        "students": sum(len(s.students) for s in specs),
        "steps": total,
        "scale": args.scale,
        "create_s": round(create_s, 2),
        "wall_s": round(wall, 2),
        "lower_bound_s": round(lower_bound, 2),
        "spacing_bound_s": round(spacing_bound, 2),
        "wall_ratio": round(wall / lower_bound, 3),
        "github_writes_min": github_writes_min,
        "github_writes_min_by_org": dict(org_writes),
        "github_bound_s_by_org": {org: round(b, 2) for org, b in by_org.items()},
        "invitations_by_org": invitations,
        "app_calls": sum(1 for e in journal if e.credential == f"app:{APP_ID}"),
        "calls": len(journal),
        "min_calls": min_calls,
        "calls_ratio": round(len(journal) / min_calls, 4),
        "http_429": sum(1 for e in journal if e.status == 429),
        "github_403": sum(1 for e in journal if e.platform == "github" and e.status == 403),
        "max_writes_per_real_s": max(busiest.values(), default=0),
        "max_writes_per_real_s_by_credential": busiest,
        "max_writes_per_real_s_received": max(received.values(), default=0),
        "max_writes_per_real_s_received_by_credential": received,
        "per_course": {
            specs[i].code: {
                "students": len(specs[i].students),
                "discord_done_s": round(discord_done.get(ids[i], started) - claimed[ids[i]], 2),
                "discord_done_after_start_s": round(
                    discord_done.get(ids[i], started + wall) - started, 2
                ),
                "discord_bound_s": round(
                    max(
                        discord_need[ids[i]] / (DISCORD_PER_SECOND * args.scale),
                        course_window_bound[ids[i]],
                    ),
                    2,
                ),
                "discord_window_bound_s": round(course_window_bound[ids[i]], 2),
                "discord_queue_bound_s": round(
                    max(queue_bound[ids[i]], course_window_bound[ids[i]]), 2
                ),
                "done_s": round(done.get(ids[i], time.perf_counter()) - created[ids[i]], 2),
            }
            for i in sizes
        },
        "fairness": all(done.get(c, started + wall) - started < wall / 2 for c in smallest),
        "stop_s": None if stop_s is None else round(stop_s, 2),
        **proof,
        "status_p50_ms": status.get("p50_ms"),
        "status_p99_ms": status.get("p99_ms"),
        "status_requests": status.get("requests"),
        "status_errors": status.get("errors"),
        "status_error_kinds": status.get("error_kinds"),
        # When the answers over 50 ms were asked, in whole seconds after the first course's
        # creation (negative: while the runners started): [how many, the slowest ms].
        "status_slow_by_s": {
            str(int(epoch) - int(started_epoch)): counts
            for epoch, counts in status.get("slow_by_epoch_s", {}).items()
        },
        "all_succeeded": set(states) == {"succeeded"},
        "states": dict(states),
        **({"discord_step_timeline": timeline} if timeline is not None else {}),
    }


def route_window_bounds(journal: list[JournalEntry], scale: float) -> dict[str, float]:
    """Per Discord server, the least time its calls need by its own rate-limit windows alone:
    for each of its buckets (route and server), `n` calls of a window of `limit` fill
    ceil(n / limit) windows, and the last call goes no sooner than the start of the last one.
    The sandbox's journal says which window each call counted against."""
    rates = RateConfig().buckets
    counts: Counter[tuple[str, str]] = Counter()
    for entry in journal:
        if entry.platform == "discord" and entry.rate_bucket and entry.status != 429:
            bucket, major = entry.rate_bucket
            counts[(bucket, major)] += 1
    bounds: dict[str, float] = {}
    for (bucket, major), n in counts.items():
        guild = major.split(":", 1)[0]
        if not guild:
            continue  # a channel's window: a few calls each, never the bound
        rate = rates.get(bucket) or rates["default"]
        seconds = (math.ceil(n / rate.limit) - 1) * rate.window / scale
        bounds[guild] = max(bounds.get(guild, 0.0), seconds)
    return bounds


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


async def step_timeline(session: Any, course_ids: list[str]) -> dict[str, Any]:
    """Where a Discord step's time goes, from the audit rows (`--step-timeline`): p50 and p90
    in ms over the Discord steps run once (no retry, no hand-back) of claim to first call sent,
    each call (sent to answered), an answer to the step's next call sent (its audit row, the
    next call's pace), the last answer to the settle (the `step.succeeded` row's time, taken as
    the settle began), claim to settle; calls per step; and the Discord lane's use: its span,
    steps settled a second and the mean number running at once (both runners)."""
    rows = (
        await session.execute(
            select(
                AuditEvent.step_key,
                AuditEvent.course_id,
                AuditEvent.kind,
                AuditEvent.event,
                AuditEvent.at,
                AuditEvent.duration_ms,
            ).where(AuditEvent.course_id.in_(course_ids), AuditEvent.step_key.like("discord.%"))
        )
    ).all()
    by_step: defaultdict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in rows:
        by_step[(row.course_id, row.step_key)].append(row)
    ms: defaultdict[str, list[float]] = defaultdict(list)
    calls_per_step: list[float] = []
    spans: list[tuple[float, float]] = []
    for events in by_step.values():
        started = [e.at.timestamp() for e in events if e.event == "step.started"]
        done = [e.at.timestamp() for e in events if e.event == "step.succeeded"]
        if len(started) != 1 or len(done) != 1:
            continue
        begin, end = started[0], done[0]
        spans.append((begin, end))
        ms["claim_to_settle"].append(end - begin)
        calls = sorted(
            (e.at.timestamp(), (e.duration_ms or 0) / 1000) for e in events if e.kind == "http"
        )
        calls_per_step.append(len(calls))
        if not calls:
            continue
        ms["claim_to_first_call"].append(calls[0][0] - begin)
        answered = begin
        for i, (sent, took) in enumerate(calls):
            if i:
                ms["answer_to_next_call"].append(sent - answered)
            ms["call"].append(took)
            answered = sent + took
        ms["last_answer_to_settle"].append(end - answered)
    result: dict[str, Any] = {"steps": len(spans)}
    for name, values in ms.items():
        result[name] = {
            "p50_ms": round(_pct(values, 0.5) * 1000, 1),
            "p90_ms": round(_pct(values, 0.9) * 1000, 1),
        }
    if calls_per_step:
        result["calls_per_step_p50"] = _pct(calls_per_step, 0.5)
    if spans:
        first, last = min(b for b, _ in spans), max(e for _, e in spans)
        length = max(last - first, 1e-9)
        result["lane_span_s"] = round(length, 2)
        result["lane_steps_per_s"] = round(len(spans) / length, 1)
        result["lane_mean_running"] = round(sum(e - b for b, e in spans) / length, 2)
    return result


def cpu_figures(
    cpu_s: dict[str, float], machine: tuple[float, float] | None, cores: int, wall: float
) -> dict[str, Any]:
    """CPU seconds of each process over the run, the machine's busy share, and the CPU bound:
    the wall time our processes' CPU alone needs on this machine's cores (no process faster
    than its own CPU seconds: each is one event loop)."""
    ours = sum(cpu_s.values())
    busy, total = machine if machine else (None, None)
    return {
        "cpu_s": {name: round(v, 2) for name, v in sorted(cpu_s.items())},
        "cpu_s_ours": round(ours, 2),
        "cpu_bound_s": round(max(ours / cores, max(cpu_s.values(), default=0.0)), 2),
        "cores": cores,
        "machine_busy_share": None if not total else round(busy / total, 3),  # type: ignore[operator]
        "cpu_s_others": None if busy is None else round(busy - ours, 2),
    }


async def writes_as_sent(session: Any) -> dict[str, list[float]]:
    """The GitHub writes of each installation (`inst:<id>`, as the sandbox's journal names
    it), at the times the product sent them: their audit rows' `at` (seconds since the epoch).
    An installation writes only in its organization, which each write's path names."""
    installation = {
        org: f"inst:{number}" for app in world().apps for number, org in app.installations.items()
    }
    rows = await session.execute(
        select(AuditEvent.at, AuditEvent.path, AuditEvent.request_summary).where(
            AuditEvent.kind == "http", AuditEvent.method.in_(MUTATING)
        )
    )
    sent: dict[str, list[float]] = defaultdict(list)
    for at, path, summary in rows:
        found = re.match(r"/(?:orgs|repos)/([^/?]+)", path or "")
        org = found.group(1) if found else None
        if (summary or {}).get("platform") == "github" and org in installation:
            sent[installation[org]].append(at.timestamp())
    return dict(sent)


def busiest_second(times: list[float], second: float) -> int:
    """The most entries in any window of `second`."""
    ordered = sorted(times)
    j = busiest = 0
    for i, t in enumerate(ordered):
        while ordered[j] <= t - second:
            j += 1
        busiest = max(busiest, i - j + 1)
    return busiest


async def serve_status() -> None:
    """The product's REST API alone (as the bot process serves it), until SIGTERM."""
    # As the runners', without load shedding: the status figures are every poll answered.
    settings = load_settings({**os.environ, "WEB_PORT": "0", "WEB_MAX_IN_FLIGHT": "0"})
    hand_over_the_gil_often()  # as `python -m bot` does (bot/app.py)
    async with AsyncExitStack() as stack:
        product = await build(settings, stack)
        freeze_startup_heap()
        runner = web.AppRunner(product.web_app, access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(f"serving on port {port}", flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()


async def poll_status(url: str, token: str, clients: int) -> None:
    """`clients` pollers, each asking once a second (open loop: a slow answer does not delay
    the next request) until SIGTERM; prints one JSON line of latencies."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    latencies: list[float] = []
    slow: Counter[int] = Counter()  # answers over 50 ms by the epoch second they were asked
    slowest: dict[int, float] = {}
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

        async def one() -> None:
            asked = int(time.time())
            started = time.perf_counter()
            try:
                async with http.get(url, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        errors.append(str(response.status))
                        return
            except (aiohttp.ClientError, TimeoutError) as exc:
                errors.append(type(exc).__name__)
                return
            latencies.append((time.perf_counter() - started) * 1000)
            if latencies[-1] > 50:
                slow[asked] += 1
                slowest[asked] = max(slowest.get(asked, 0.0), latencies[-1])

        async def client(offset: float) -> None:
            tasks = []
            await asyncio.sleep(offset)
            while not stop.is_set():
                tasks.append(asyncio.create_task(one()))
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
            await asyncio.gather(*tasks)

        await asyncio.gather(*(client(i / clients) for i in range(clients)))
    ordered = sorted(latencies)

    def pct(q: float) -> float | None:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else None

    result = {
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "requests": len(ordered),
        "slow_by_epoch_s": {str(s): [n, round(slowest[s], 1)] for s, n in sorted(slow.items())},
    }
    # Which errors (a status, or the client's exception), so a failing run says why.
    kinds = dict(Counter(errors))
    print(json.dumps({**result, "errors": len(errors), "error_kinds": kinds}), flush=True)


def runner_setting(text: str) -> tuple[str, str]:
    """`--runner-setting NAME=VALUE`: a product setting, by its environment name."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected NAME=VALUE, e.g. RUNNER_CONCURRENCY=16"
        )
    return name.strip().upper(), value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=50.0, help="rate-limit speed-up factor")
    parser.add_argument("--size", type=float, default=1.0, help="students per course, x")
    parser.add_argument("--clients", type=int, default=200, help="status pollers")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument(
        "--sandbox",
        choices=("process", "inline"),
        default="process",
        help="the sandbox in a process of its own (default: its CPU apart) or in this one",
    )
    parser.add_argument(
        "--server",
        default=os.environ.get("BENCH_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432"),
        help="PostgreSQL server URL (a fresh database is created and dropped)",
    )
    parser.add_argument(
        "--keep-database", action="store_true", help="keep the database afterwards (to study)"
    )
    parser.add_argument(
        "--step-timeline",
        action="store_true",
        help="also print where a Discord step's time goes (medians per phase, from the audit)",
    )
    parser.add_argument(
        "--runner-setting",
        action="append",
        type=runner_setting,
        default=[],
        metavar="NAME=VALUE",
        help="a product setting for the runner processes, e.g. RUNNER_CONCURRENCY=16 (repeatable)",
    )
    # The bench's own helper processes.
    parser.add_argument("--serve-status", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--poll", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_status:
        asyncio.run(serve_status())
        return 0
    if args.poll:
        asyncio.run(poll_status(args.poll, args.token, args.clients))
        return 0
    name = f"department_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(f"{args.server}/postgres", f'CREATE DATABASE "{name}"'))
    url = f"{args.server}/{name}"
    try:
        migrate(url)
        with tempfile.TemporaryDirectory() as workdir:
            result = asyncio.run(run(args, url, Path(workdir)))
    finally:
        if args.keep_database:
            print(f"database kept: {url}", file=sys.stderr)
        else:
            asyncio.run(
                admin(f"{args.server}/postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            )
    for code, row in result["per_course"].items():
        print(
            f"{code}: {row['students']:4d} students, Discord done {row['discord_done_s']:7.2f} s"
            f" after its claim (its bound {row['discord_bound_s']:.2f} s alone, its server's"
            f" rate-limit windows {row['discord_window_bound_s']:.2f} s of it;"
            f" {row['discord_queue_bound_s']:.2f} s behind the courses served before it),"
            f" all done {row['done_s']:7.2f} s after its creation"
        )
    print(
        f"{result['courses']} courses, {result['students']} students, {result['steps']} steps;"
        f" wall {result['wall_s']} s, lower bound {result['lower_bound_s']} s:"
        f" {result['wall_ratio']} x (target <= 1.2); without GitHub's hourly budget the bound"
        f" would be {result['spacing_bound_s']} s"
    )
    for org, row in result["invitations_by_org"].items():
        print(
            f"{org}: {row['needed']} invitations, GitHub allows {row['limit']} a day: the last"
            f" no earlier than {row['bound_s']} s; sent {row['sent']}, refused {row['refused']}"
        )
    print(
        f"calls {result['calls']}, minimum {result['min_calls']}: {result['calls_ratio']} x;"
        f" 429s {result['http_429']}, GitHub 403s {result['github_403']};"
        f" most GitHub writes of one credential in one real second:"
        f" {result['max_writes_per_real_s']} as sent (the target's figure),"
        f" {result['max_writes_per_real_s_received']} as the sandbox received them"
    )
    print(
        f"fairness (five smallest done before half the wall time): {result['fairness']};"
        f" stop {result['stop_s']} s, {result['handed_back']} steps handed back, finished by the"
        f" other runner: {result['handed_back_finished_by_other']};"
        f" status p50 {result['status_p50_ms']} ms, p99 {result['status_p99_ms']} ms"
        f" ({result['status_requests']} requests, {result['status_errors']} errors;"
        f" over 50 ms by second of the run [how many, slowest]: {result['status_slow_by_s']});"
        f" all succeeded: {result['all_succeeded']}"
    )
    print(
        f"CPU seconds over the run: {result['cpu_s']} (ours {result['cpu_s_ours']} s, other"
        f" sessions' {result['cpu_s_others']} s); machine busy {result['machine_busy_share']}"
        f" of {result['cores']} cores; CPU bound {result['cpu_bound_s']} s"
        f" ({round(result['wall_s'] / max(result['cpu_bound_s'], 1e-9), 2)} x of the wall);"
        f" runners ready {result['runner_start_s']} s after their launch (before the first course)"
    )
    if "discord_step_timeline" in result:
        print(f"Discord step timeline: {json.dumps(result['discord_step_timeline'])}")
    print(json.dumps(result, sort_keys=True))
    return 0 if result["all_succeeded"] else 1


if __name__ == "__main__":
    sys.exit(main())
