"""Benchmark: one laboratory course (10 groups x 30 students) provisioned end to end.

Against the sandbox (`python -m sandbox`, in a process of its own) whose documented rate limits
run SCALE times faster; our rate governors are scaled by the same factor (as `RATE_SCALE` does
in the product). A fresh SQLite file and the product as `python -m bot` builds it
(`bot.build`): the real gateways (PyGithub, discord.py) and the real runner. The person's part
(create the server, add the bot, claim it) is done before the runner starts, so GitHub and
Discord work can overlap.

    .venv/bin/python bench/provision.py --scale 50
    .venv/bin/python bench/provision.py --scale 50 --github-app   # as the sandbox's GitHub App

With `--github-app` the GitHub calls go out as the App's installation on the organization (its
lookup and token mints are calls too), and the governor waits are reported per installation.

The sandbox runs apart so that the CPU and the wall time measured are the product's, as against
the real platforms: in the product's process and event loop (`--sandbox inline`, as the tests
run it) its request handling, about 1 ms per call, shares the product's one core (Python's
global interpreter lock) and its scheduling. CPU seconds are read from Linux's `/proc`: the
product's process while provisioning (its event loop, its PyGithub threads, the rest), and the
sandbox's process, apart. On a machine others share, the load average says how much of a core
the process could get: compare runs made at a similar load.

Prints API calls by kind (method + templated path), calls per step kind against the minimum a
fresh world needs, 429s met, wall time against the lower bound the rate limits imply, and peak
RSS, CPU seconds (and per call). The last line is one JSON object.

Minimum calls (`provisioning.courses.preview.MIN_CALLS`, the figures a person sees before
Confirm): per step kind, the calls a correct "ensure, not create" needs in a fresh world: the one
lookup that makes a re-run write nothing, plus the writes that create the resource and its marker;
plus the two login calls of the Discord client. Anything the product sends beyond that is
reported as extra, by step kind.

Lower bound: GitHub mutations are serial, one per second (GitHub's best practice; our governor's
spacing), so `github_writes_min / scale`; Discord allows 50 requests per second per bot, so
`discord_calls_min / (50 * scale)`. Both platforms can work at once: the bound is the larger.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import signal
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import aiohttp

    from bot.build import build

from bench import cpu  # noqa: E402
from bot.settings import Settings  # noqa: E402
from db.models import AuditEvent, Step  # noqa: E402
from provisioning.audit_context import AuditContext, HttpExchange  # noqa: E402
from provisioning.courses.preview import DISCORD_LOGIN_CALLS, MIN_CALLS  # noqa: E402
from provisioning.courses.spec import CourseSpec, parse_course  # noqa: E402
from provisioning.discord.steps.server import needed_permissions  # noqa: E402
from provisioning.metrics import GovernorSeries  # noqa: E402
from provisioning.plan import PlannedStep, plan_course  # noqa: E402
from sandbox.core.guard import SECRET_HEADER  # noqa: E402
from sandbox.core.journal import JournalEntry  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402

SECRET = "bench-secret-" + "k" * 32
ORG = "demo-university"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Step kind → (reads, writes) a fresh world needs (see the module docstring).
DISCORD_PER_SECOND = 50.0
GITHUB_WRITE_INTERVAL_S = 1.0


class AuditTimer:
    """Times the product's audit row writes (each GitHub and Discord call awaits its own)."""

    def __init__(self, record_http: Callable[[HttpExchange, AuditContext], Awaitable[None]]):
        self._record_http = record_http
        self.seconds: dict[str, float] = {}

    async def __call__(self, exchange: HttpExchange, context: AuditContext) -> None:
        started = time.perf_counter()
        await self._record_http(exchange, context)
        spent = time.perf_counter() - started
        self.seconds[exchange.platform] = self.seconds.get(exchange.platform, 0.0) + spent


def course(groups: int, per_group: int, ada: str, grace: str) -> dict[str, Any]:
    names = [f"lab-{i:02d}" for i in range(1, groups + 1)]
    return {
        "code": "CS301",
        "title": "Operating Systems Lab",
        "term": "2027-fall",
        "kind": "laboratory",
        "github_org": ORG,
        "staff": [
            {"role": "instructor", "name": "Ada Lovelace", "github": "ada", "discord_id": ada},
            {"role": "ta", "name": "Grace Hopper", "github": "grace", "discord_id": grace},
        ],
        "groups": names,
        "students": [
            {"name": f"Student {g}-{n}", "github": f"st-{g:02d}-{n:02d}", "group": group}
            for g, group in enumerate(names, start=1)
            for n in range(1, per_group + 1)
        ],
    }


def minimum(plan: Iterable[PlannedStep]) -> dict[str, dict[str, int]]:
    """Per step kind: steps, minimum reads and writes."""
    out: dict[str, dict[str, int]] = {}
    for step in plan:
        reads, writes = MIN_CALLS[step.kind]
        row = out.setdefault(step.kind, {"steps": 0, "reads": 0, "writes": 0})
        row["steps"] += 1
        row["reads"] += reads
        row["writes"] += writes
    return out


_GITHUB_TEMPLATES = [
    (r"^/orgs/[^/]+/teams/[^/]+/memberships/[^/]+$", "/orgs/{org}/teams/{team}/memberships/{user}"),
    (
        r"^/orgs/[^/]+/teams/[^/]+/repos/[^/]+/[^/]+$",
        "/orgs/{org}/teams/{team}/repos/{owner}/{repo}",
    ),
    (r"^/orgs/[^/]+/teams/[^/]+/repos$", "/orgs/{org}/teams/{team}/repos"),
    (r"^/orgs/[^/]+/teams/[^/]+$", "/orgs/{org}/teams/{team}"),
    (r"^/orgs/[^/]+/(\w+)$", r"/orgs/{org}/\1"),
    (r"^/users/[^/]+$", "/users/{user}"),
    (r"^/repositories/\d+$", "/repositories/{id}"),
    (r"^/repos/[^/]+/[^/]+/branches/[^/]+/protection$", "/repos/{o}/{r}/branches/{b}/protection"),
    (r"^/repos/[^/]+/[^/]+/branches/[^/]+$", "/repos/{o}/{r}/branches/{b}"),
    (r"^/repos/[^/]+/[^/]+/git/trees/[0-9a-f]{40}$", "/repos/{o}/{r}/git/trees/{sha}"),
    (r"^/repos/[^/]+/[^/]+/git/(refs?)/heads/[^/]+$", r"/repos/{o}/{r}/git/\1/heads/{b}"),
    (r"^/repos/[^/]+/[^/]+/(.+)$", r"/repos/{o}/{r}/\1"),
    (r"^/repos/[^/]+/[^/]+$", "/repos/{o}/{r}"),
]


def templated(platform: str, path: str) -> str:
    """`POST /orgs/demo-university/teams` → `/orgs/{org}/teams`: calls counted by kind."""
    if platform == "github":
        path = path.removeprefix("/api/v3")
        for pattern, template in _GITHUB_TEMPLATES:
            if re.match(pattern, path):
                return re.sub(pattern, template, path)
        return path
    path = re.sub(r"^/api/v\d+", "", path)
    path = re.sub(r"/invites/[^/]+", "/invites/{code}", path)
    return re.sub(r"/\d{6,}", "/{id}", path)


def app_settings() -> dict[str, Any]:
    """The sandbox's GitHub App (id 1, installed on ORG; any RSA key is its key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {"github_app_id": 1, "github_app_private_key": pem.decode()}


def governor_name(series: GovernorSeries) -> str:
    """`github`, `discord`, or `github installation 100 demo-university` (an App's)."""
    if not series.installation:
        return series.governor.name
    return f"{series.governor.name} installation {series.installation} {series.org}"


def migrate(url: str) -> None:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.attributes["sqlalchemy.url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


async def control(http: aiohttp.ClientSession, base: str, method: str, path: str, **kw: Any) -> Any:
    async with http.request(method, f"{base}/_sandbox{path}", **kw) as response:
        body = await response.json(content_type=None)
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {body}")
        return body


async def claim_new_server(
    http: aiohttp.ClientSession, base: str, product: Any, spec: CourseSpec, course_id: str, ada: str
) -> str:
    """As an instructor would: a new server owned by ada with the bot (given the permissions
    the course needs) and grace in it, claimed for the course with its code; its id."""
    guild = await control(
        http, base, "POST", "/discord/guilds", json={"name": "New server", "owner": "ada"}
    )
    bot = {"permissions": needed_permissions(spec)}
    await control(http, base, "POST", f"/discord/guilds/{guild['id']}/bot", json=bot)
    await control(
        http, base, "POST", f"/discord/guilds/{guild['id']}/members", json={"user": "grace"}
    )
    await product.claims.claim(product.claim_code(course_id), guild["id"], ada)
    return str(guild["id"])


class SandboxProcess:
    """`python -m sandbox` in a process of its own, for as long as the `async with` lasts."""

    def __init__(self, scale: float, data: Path) -> None:
        self._scale = scale
        self._data = data
        self._process: asyncio.subprocess.Process | None = None
        self.base_url = ""
        self.control_headers: dict[str, str] = {}

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def __aenter__(self) -> SandboxProcess:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "sandbox", "--port", "0", "--rate-scale", f"{self._scale:g}"),
            *("--data", str(self._data)),
            cwd=REPO_ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert self._process.stdout is not None
        lines: list[str] = []
        # It prints its URLs, then the control secret alone on the last line.
        while not (lines and lines[-1].startswith("Control secret")):
            line = await asyncio.wait_for(self._process.stdout.readline(), 60)
            if not line:
                raise RuntimeError(f"the sandbox process exited: {lines}")
            lines.append(line.decode().strip())
        secret = (await self._process.stdout.readline()).decode().strip()
        control = next(x for x in lines if x.startswith("Control/HTML:")).split()[1]
        self.base_url = control.removesuffix("/_sandbox/")
        self.control_headers = {SECRET_HEADER: secret}
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.send_signal(signal.SIGTERM)
            await self._process.wait()


@dataclass
class InlineSandbox:
    """The sandbox in this process's event loop (`--sandbox inline`)."""

    server: SandboxServer
    pid: int | None = None

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def control_headers(self) -> dict[str, str]:
        return self.server.control_headers


@asynccontextmanager
async def sandbox(
    args: argparse.Namespace, data: Path
) -> AsyncIterator[SandboxProcess | InlineSandbox]:
    """The sandbox `--sandbox` asks for, listening until the `async with` ends."""
    if args.sandbox == "process":
        async with SandboxProcess(args.scale, data) as process:
            yield process
    else:
        async with SandboxServer(rate_scale=args.scale) as server:
            yield InlineSandbox(server)


async def journal_of(http: aiohttp.ClientSession, base: str) -> list[JournalEntry]:
    """Every request the sandbox saw, read through its control API."""
    body = await control(http, base, "GET", "/requests?limit=100000000")
    return [JournalEntry(**entry) for entry in body["requests"]]


async def provision(args: argparse.Namespace, database_url: str, data: Path) -> dict[str, Any]:
    async with (
        AsyncExitStack() as exits,
        sandbox(args, data) as server,
        aiohttp.ClientSession(headers=server.control_headers) as http,
    ):
        base = server.base_url
        people = {
            u["username"]: u["id"] for u in await control(http, base, "GET", "/discord/users")
        }
        data = course(args.groups, args.per_group, people["ada"], people["grace"])
        spec: CourseSpec = parse_course(data)
        for login in [p.github for p in spec.staff] + [p.github for p in spec.students]:
            await control(http, base, "POST", "/github/users", json={"login": login})

        settings = Settings(
            database_url=database_url,
            sandbox_url=base,
            rate_scale=args.scale,
            secret_key=SECRET,
            **(app_settings() if args.github_app else {}),
        )
        stack = await exits.enter_async_context(AsyncExitStack())
        # The product as `python -m bot` builds it; the runner is started below, by hand.
        product = await build(settings, stack)
        runner, sessions, metrics = product.runner, product.sessions, product.metrics
        # The gateways call the audit log as their sink: time what each row write costs them.
        audit = AuditTimer(product.audit.record_http)
        product.audit.record_http = audit  # type: ignore[method-assign]
        course_id = (await product.courses.create(spec, actor="bench")).id
        await claim_new_server(http, base, product, spec, course_id, people["ada"])

        stop = asyncio.Event()
        cpu_before = time.process_time(), cpu.threads_cpu()
        sandbox_before = cpu.process_cpu(server.pid) if server.pid else None
        started = time.perf_counter()
        task = asyncio.create_task(runner.serve(stop))
        # Polled with one indexed count, so the watching costs the product's process little
        # (reading every step's state at each poll took about a second of its CPU at scale 50).
        unfinished = select(func.count()).where(Step.state.in_(("pending", "running")))
        while True:
            async with sessions() as session:
                if not await session.scalar(unfinished):
                    break
            await asyncio.sleep(0.02)
        wall = time.perf_counter() - started
        product_cpu = time.process_time() - cpu_before[0]
        threads = cpu.threads_cpu()
        threads.subtract(cpu_before[1])
        sandbox_after = cpu.process_cpu(server.pid) if server.pid else None
        sandbox_cpu = (
            sandbox_after - sandbox_before
            if sandbox_after is not None and sandbox_before is not None
            else None
        )
        stop.set()
        runner.wake()
        await task
        async with sessions() as session:
            rows = (
                await session.execute(
                    select(AuditEvent.step_key, AuditEvent.method).where(AuditEvent.kind == "http")
                )
            ).all()
            states = Counter((await session.scalars(select(Step.state))).all())
        await stack.aclose()
        journal = await journal_of(http, base)

    plan = plan_course(spec)
    kinds = {s.key: s.kind for s in plan}
    by_kind = Counter((e.platform, e.method, templated(e.platform, e.path)) for e in journal)
    by_step_kind: Counter[str] = Counter()
    writes_by_step_kind: Counter[str] = Counter()
    for step_key, method in rows:
        kind = kinds.get(step_key or "", "(no step: login)")
        by_step_kind[kind] += 1
        writes_by_step_kind[kind] += method in MUTATING
    need = minimum(plan)
    min_calls = sum(r["reads"] + r["writes"] for r in need.values()) + DISCORD_LOGIN_CALLS
    github_writes_min = sum(r["writes"] for k, r in need.items() if k.startswith("github."))
    discord_min = DISCORD_LOGIN_CALLS + sum(
        r["reads"] + r["writes"] for k, r in need.items() if k.startswith("discord.")
    )
    lower_bound = max(
        github_writes_min * GITHUB_WRITE_INTERVAL_S / args.scale,
        discord_min / (DISCORD_PER_SECOND * args.scale),
    )
    http_429 = sum(1 for e in journal if e.status == 429)
    for entry in journal:
        if entry.status == 429:
            print(f"429 on {entry.platform} {entry.method} {entry.path}", file=sys.stderr)
    github_403_limits = sum(
        1 for e in journal if e.status == 403 and e.platform == "github" and e.method in MUTATING
    )
    return {
        "spec": spec,
        "states": dict(states),
        "wall": wall,
        "product_cpu_s": product_cpu,
        "threads_cpu_s": {k: round(v, 2) for k, v in threads.items()},
        "sandbox_cpu_s": sandbox_cpu,
        "sandbox_mode": args.sandbox,
        "journal_calls": len(journal),
        "audited_calls": len(rows),
        "by_kind": by_kind,
        "by_step_kind": by_step_kind,
        "writes_by_step_kind": writes_by_step_kind,
        "need": need,
        "min_calls": min_calls,
        "github_writes_min": github_writes_min,
        "github_writes": sum(1 for e in journal if e.platform == "github" and e.method in MUTATING),
        "discord_calls": sum(1 for e in journal if e.platform == "discord"),
        "discord_min": discord_min,
        "lower_bound": lower_bound,
        "http_429": http_429,
        "github_403": github_403_limits,
        "metrics_429": {
            p: metrics.registry.get_sample_value("provisioning_http_429_total", {"platform": p})
            or 0.0
            for p in ("github", "discord")
        },
        "audit_write_s": {k: round(v, 2) for k, v in audit.seconds.items()},
        "sandbox_handler_s": {
            p: round(sum(e.duration_ms for e in journal if e.platform == p) / 1000, 2)
            for p in ("github", "discord")
        },
        "governor_wait_s": {
            governor_name(series): round(series.governor.wait_seconds, 3)
            for series in product.governors()
        },
    }


def report(args: argparse.Namespace, r: dict[str, Any]) -> dict[str, Any]:
    spec: CourseSpec = r["spec"]
    print(
        f"course: {spec.code}, {len(spec.groups)} groups x {args.per_group} students "
        f"({len(spec.students)} students), {sum(v['steps'] for v in r['need'].values())} steps; "
        f"scale {args.scale:g} (sandbox limits and governors)"
    )
    print(f"step states: {r['states']}")
    print("\nAPI calls by kind (sandbox journal):")
    for (platform, method, path), n in sorted(r["by_kind"].items()):
        print(f"  {n:6d}  {platform:7s} {method:6s} {path}")
    print("\ncalls per step kind (audit log) against the minimum of a fresh world:")
    print(f"  {'kind':22s} {'steps':>5s} {'calls':>6s} {'min':>6s} {'extra':>6s}  writes/min")
    for kind in sorted(set(r["by_step_kind"]) | set(r["need"])):
        need = r["need"].get(kind, {"steps": 0, "reads": 0, "writes": 0})
        least = need["reads"] + need["writes"]
        if kind.startswith("(no step"):
            least = DISCORD_LOGIN_CALLS
        calls = r["by_step_kind"][kind]
        writes = r["writes_by_step_kind"][kind]
        print(
            f"  {kind:22s} {need['steps']:5d} {calls:6d} {least:6d} {calls - least:6d}"
            f"  {writes}/{need['writes']}"
        )
    calls = r["journal_calls"]
    print(
        f"\ncalls {calls} (audited {r['audited_calls']}), minimum {r['min_calls']}: "
        f"{calls / r['min_calls']:.3f} x minimum (target <= 1.05)"
    )
    print(
        f"429s met: {r['http_429']} (GitHub 403 on writes: {r['github_403']}; "
        f"product metrics: {r['metrics_429']})"
    )
    print(
        f"GitHub writes {r['github_writes']} (minimum {r['github_writes_min']}); "
        f"Discord calls {r['discord_calls']} (minimum {r['discord_min']})"
    )
    print(f"governor waits (s): {r['governor_wait_s']}")
    print(f"audit row writes (s, awaited by each call): {r['audit_write_s']}")
    print(f"sandbox handler time (s): {r['sandbox_handler_s']}")
    per_call_ms = 1000 * r["product_cpu_s"] / max(1, r["journal_calls"])
    where = "its own process" if r["sandbox_mode"] == "process" else "this process (included)"
    sandbox_cpu = "n/a" if r["sandbox_cpu_s"] is None else f"{r['sandbox_cpu_s']:.2f} s"
    print(
        f"CPU while provisioning: product {r['product_cpu_s']:.2f} s "
        f"({per_call_ms:.1f} ms per call; by thread {r['threads_cpu_s']}); "
        f"sandbox in {where}: {sandbox_cpu}"
    )
    ratio = r["wall"] / r["lower_bound"]
    print(
        f"wall {r['wall']:.2f} s; lower bound {r['lower_bound']:.2f} s "
        f"(GitHub {r['github_writes_min']} writes x {GITHUB_WRITE_INTERVAL_S:g} s"
        f" / {args.scale:g}); "
        f"{ratio:.2f} x lower bound (target <= 1.2)"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.1f} MB")
    return {
        "calls": calls,
        "min_calls": r["min_calls"],
        "calls_ratio": round(calls / r["min_calls"], 4),
        "http_429": r["http_429"],
        "wall_s": round(r["wall"], 3),
        "lower_bound_s": round(r["lower_bound"], 3),
        "wall_ratio": round(ratio, 3),
        "product_cpu_s": round(r["product_cpu_s"], 3),
        "cpu_ms_per_call": round(1000 * r["product_cpu_s"] / max(1, calls), 2),
        "sandbox_cpu_s": None if r["sandbox_cpu_s"] is None else round(r["sandbox_cpu_s"], 3),
        "sandbox": r["sandbox_mode"],
        "peak_rss_mb": round(peak, 1),
        "scale": args.scale,
        "groups": args.groups,
        "students": len(spec.students),
        "steps": sum(v["steps"] for v in r["need"].values()),
        "states": r["states"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=50.0, help="rate-limit speed-up factor")
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--per-group", type=int, default=30)
    parser.add_argument("--database", type=Path, help="SQLite file (default: a fresh temp file)")
    parser.add_argument(
        "--database-url", help="instead, an EMPTY database to migrate and use (for comparison)"
    )
    parser.add_argument(
        "--github-app",
        action="store_true",
        help="GitHub calls as the sandbox's App installation (governor waits per installation)",
    )
    parser.add_argument(
        "--sandbox",
        choices=("process", "inline"),
        default="process",
        help="run the sandbox in its own process (default: the figures are the product's), "
        "or in the product's event loop, as the tests do",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.database or Path(tmp) / "bench.db"
        if path.exists() and not args.database_url:
            parser.error(f"{path} exists: the benchmark needs a fresh database")
        url = args.database_url or f"sqlite+aiosqlite:///{path}"
        migrate(url)
        result = asyncio.run(provision(args, url, Path(tmp)))
        summary = report(args, result)
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
