"""The whole product, in process, against the sandbox: what the end-to-end tests drive.

`open_product` builds the product with `bot.build.build`, the builder of `python -m bot`, on one
database and one sandbox, and starts nothing: the tests run the runner's rounds themselves.
`Control` acts on the sandbox as a person would. The readers at the bottom
turn the sandbox's own snapshots back into its models, so assertions look at the platforms'
state, never at our database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from db.models import AuditEvent, Step
from provisioning.audit import AuditLog
from provisioning.claims.service import DatabaseClaimService
from provisioning.clock import SystemClock
from provisioning.courses.service import CourseService
from provisioning.courses.spec import CourseSpec, parse_course
from provisioning.discord.steps.server import needed_permissions
from provisioning.retry import RetryPolicy
from provisioning.runner import StepRunner
from sandbox.discord.models import World
from sandbox.github.models import GitHubState
from sandbox.server import SandboxServer
from tests.e2e.discordpy import Built, build, redact_path

Sessions = async_sessionmaker[AsyncSession]

SECRET = b"e2e-secret-key-" + b"x" * 32
ORG = "demo-university"
DISCORD_TOKEN = "sandbox-discord-token"
GITHUB_TOKEN = "sandbox-github-token"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The sandbox's limits, and our governors' spacing, shrink by these factors: no test waits.
SANDBOX_RATE_SCALE = 1000.0
GOVERNOR_SCALE = 1e9
TERMINAL = frozenset({"succeeded", "failed", "awaiting_action", "blocked"})


# --- courses ------------------------------------------------------------------------------------


def lecture(ada: str, grace: str, **changes: Any) -> dict[str, Any]:
    """CS101, a lecture: Ada instructs, Grace assists (both known on Discord), three students."""
    data: dict[str, Any] = {
        "code": "CS101",
        "title": "Introduction to Programming",
        "term": "2027-spring",
        "kind": "lecture",
        "github_org": ORG,
        "staff": [
            {"role": "instructor", "name": "Ada Lovelace", "github": "ada", "discord_id": ada},
            {"role": "ta", "name": "Grace Hopper", "github": "grace", "discord_id": grace},
        ],
        "groups": [],
        "students": [
            {"name": "Bob", "github": "bob-b"},
            {"name": "Carol", "github": "carol-c"},
            {"name": "Dave", "github": "dave-d"},
        ],
    }
    data.update(changes)
    return data


def laboratory(ada: str, grace: str, groups: int = 3, per_group: int = 2) -> dict[str, Any]:
    """CS201, a laboratory with `groups` lab groups of `per_group` students each."""
    names = [f"lab-{i:02d}" for i in range(1, groups + 1)]
    return {
        "code": "CS201",
        "title": "Systems Lab",
        "term": "2027-fall",
        "kind": "laboratory",
        "github_org": ORG,
        "staff": [
            {"role": "instructor", "name": "Ada Lovelace", "github": "ada", "discord_id": ada},
            {"role": "ta", "name": "Grace Hopper", "github": "grace", "discord_id": grace},
        ],
        "groups": names,
        "students": [
            {"name": f"Student {g}-{n}", "github": f"s-{g}-{n}", "group": group}
            for g, group in enumerate(names, start=1)
            for n in range(1, per_group + 1)
        ],
    }


def logins(spec: CourseSpec) -> list[str]:
    return [p.github for p in spec.staff] + [p.github for p in spec.students]


# --- acting on the sandbox as a person ------------------------------------------------------


@dataclass
class Control:
    """The sandbox's control API (`/_sandbox/...`), JSON in and out."""

    base_url: str
    http: aiohttp.ClientSession

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        async with self.http.request(method, f"{self.base_url}/_sandbox{path}", **kwargs) as r:
            body = await r.json(content_type=None) if r.status != 204 else None
            assert r.status < 300, (method, path, r.status, body)
            return body

    async def discord_users(self) -> dict[str, str]:
        return {u["username"]: u["id"] for u in await self.call("GET", "/discord/users")}

    async def github_users(self, names: Iterable[str]) -> None:
        for login in names:
            await self.call("POST", "/github/users", json={"login": login})

    async def server_with_bot(self, spec: CourseSpec, owner: str = "ada") -> str:
        """A person creates a server and adds the bot with the install link's permissions."""
        guild = await self.call("POST", "/discord/guilds", json={"name": "New", "owner": owner})
        body = {"permissions": needed_permissions(spec)}
        await self.call("POST", f"/discord/guilds/{guild['id']}/bot", json=body)
        return str(guild["id"])

    async def join(self, guild_id: str, user: str) -> None:
        await self.call("POST", f"/discord/guilds/{guild_id}/members", json={"user": user})

    async def accept_invite(self, code: str, user: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(
            "POST", f"/discord/invites/{code}/accept", json={"user": user}
        )
        return result

    async def fault(self, **rule: Any) -> None:
        await self.call("POST", "/faults", json=rule)

    async def clear_faults(self) -> None:
        await self.call("DELETE", "/faults")


@contextlib.asynccontextmanager
async def control_of(server: SandboxServer) -> AsyncIterator[Control]:
    async with aiohttp.ClientSession(headers=server.control_headers) as http:
        yield Control(server.base_url, http)


# --- the product ------------------------------------------------------------------------------


class HasBaseUrl(Protocol):
    """A sandbox in this process (`SandboxServer`) or in its own (`SandboxProcess`)."""

    @property
    def base_url(self) -> str: ...


def e2e_settings(database_url: str, server: HasBaseUrl, **changes: Any) -> Settings:
    """The product's settings for a test: `server` as its sandbox, governors (and backoffs)
    sped up so that no test waits, a fixed claim secret."""
    values: dict[str, Any] = {
        "app_env": "development",
        "database_url": database_url,
        "sandbox_url": server.base_url,
        "rate_scale": GOVERNOR_SCALE,
        "secret_key": SECRET.decode(),
        "github_timeout_s": 10,
    }
    values.update(changes)
    return Settings(**values)


@dataclass
class Product:
    """The product as `python -m bot` builds it (`bot.build`), driven by hand: the tests run
    the runner's rounds themselves instead of starting it."""

    built: Built

    @property
    def sessions(self) -> Sessions:
        return self.built.sessions

    @property
    def runner(self) -> StepRunner:
        return self.built.runner

    @property
    def courses(self) -> CourseService:
        return self.built.courses

    @property
    def claims(self) -> DatabaseClaimService:
        return self.built.claims

    @property
    def audit(self) -> AuditLog:
        return self.built.audit

    async def create(self, data: dict[str, Any]) -> str:
        return (await self.courses.create(parse_course(data), actor="e2e")).id

    async def claim(self, course_id: str, guild_id: str, user_id: str) -> None:
        await self.claims.claim(self.built.claim_code(course_id), guild_id, user_id)

    async def run(self) -> int:
        """Run until no step is due, then check nothing was left waiting for a backoff."""
        ran = await self.runner.run_until_idle()
        ready = await self.pending_ready()
        assert not ready, f"steps due but not run: {ready}"
        return ran

    async def pending_ready(self) -> list[str]:
        """Pending steps whose dependencies all succeeded (due work the runner left behind)."""
        steps = await all_steps(self.sessions)
        done = {(s.course_id, s.key) for s in steps if s.state == "succeeded"}
        return [
            s.key
            for s in steps
            if s.state in ("pending", "running")
            and all((s.course_id, d) in done for d in s.depends_on)
        ]

    async def states(self, course_id: str) -> dict[str, str]:
        return {s.key: s.state for s in await all_steps(self.sessions, course_id)}


@contextlib.asynccontextmanager
async def open_product(
    database_url: str,
    server: HasBaseUrl,
    *,
    policy: RetryPolicy | None = None,
    github_timeout_s: int = 10,
    lease_s: float = 60.0,
    rate_scale: float = GOVERNOR_SCALE,
) -> AsyncIterator[Product]:
    """The product built by `bot.build.build`, pointed at `server`; closed in reverse order."""
    settings = e2e_settings(
        database_url,
        server,
        github_timeout_s=github_timeout_s,
        runner_lease_s=lease_s,
        rate_scale=rate_scale,
    )
    async with contextlib.AsyncExitStack() as stack:
        built = await build(settings, stack, policy=policy or RetryPolicy(base_s=0))
        yield Product(built)


# --- our database (only for driving, and for the audit/step checks the issue asks for) -----


async def all_steps(sessions: Sessions, course_id: str | None = None) -> list[Step]:
    query = select(Step).order_by(Step.course_id, Step.position)
    if course_id is not None:
        query = query.where(Step.course_id == course_id)
    async with sessions() as session:
        return list((await session.scalars(query)).all())


async def back_to_pending(sessions: Sessions) -> int:
    """Every step pending again and due now, external ids and facts kept (a full re-run)."""
    now = SystemClock().now() - timedelta(seconds=1)
    async with sessions.begin() as session:
        result = await session.execute(
            update(Step).values(state="pending", attempts=0, next_attempt_at=now)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def audit_rows(sessions: Sessions, kind: str = "http") -> list[AuditEvent]:
    async with sessions() as session:
        return list(
            (
                await session.scalars(
                    select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)
                )
            ).all()
        )


def http_audit(rows: Iterable[AuditEvent]) -> Counter[tuple[str, str, str, int | None]]:
    """(platform, method, path, status) of every audited HTTP request, as a multiset."""
    return Counter(
        (
            str((r.request_summary or {}).get("platform")),
            str(r.method),
            str(r.path),
            r.status,
        )
        for r in rows
    )


def journal_requests(
    server: SandboxServer, since: int = 0
) -> Counter[tuple[str, str, str, int | None]]:
    """The same tuples from the sandbox's request journal, paths written as we audit them."""
    seen: Counter[tuple[str, str, str, int | None]] = Counter()
    for e in server.journal.query(since=since, limit=1_000_000):
        if e.platform == "github":
            path = e.path.removeprefix("/api/v3")
        else:
            path = redact_path(e.path) + (f"?{e.query}" if e.query else "")
        seen[(e.platform, e.method, path, e.status)] += 1
    return seen


def journal_cursor(server: SandboxServer) -> int:
    """The newest sequence number the journal handed out: entries after it came later.

    Not the last entry's: a request is numbered when it arrives and recorded when answered, so
    of two requests in flight together the earlier-numbered may be recorded last, and the later
    one then counted as sent after the cursor (a flaky "a re-run writes nothing")."""
    return server.journal.cursor()


# --- the sandbox's state ------------------------------------------------------------------------


def github_state(server: SandboxServer) -> GitHubState:
    return GitHubState.model_validate(server.emulator("github").snapshot()["state"])


def discord_world(server: SandboxServer) -> World:
    return World.model_validate(server.emulator("discord").snapshot())


async def until(predicate: Any, *, timeout_s: float, what: str, every_s: float = 0.05) -> None:
    """Poll `predicate` (sync or async) until true; for waiting on real subprocesses only."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(every_s)


# --- the scenario every end-to-end test starts from ---------------------------------------------


@dataclass(frozen=True)
class Provisioned:
    """Two courses provisioned end to end: their specs, ids and claimed servers."""

    lecture: CourseSpec
    lab: CourseSpec
    lecture_id: str
    lab_id: str
    lecture_guild: str
    lab_guild: str


async def provision_both(product: Product, control: Control, people: dict[str, str]) -> Provisioned:
    """Both courses: GitHub first while the server step waits, then a person's server, a claim
    by Ada, and the rest. Asserts the states on the way (our database: it drives the story)."""
    lecture_data = lecture(people["ada"], people["grace"])
    lab_data = laboratory(people["ada"], people["grace"])
    specs = parse_course(lecture_data), parse_course(lab_data)
    await control.github_users(login for spec in specs for login in logins(spec))
    ids = [await product.create(lecture_data), await product.create(lab_data)]
    await product.run()
    for course_id in ids:
        states = await product.states(course_id)
        assert states.pop("discord.server") == "awaiting_action"
        assert {s for k, s in states.items() if k.startswith("github.")} == {"succeeded"}
        assert {s for k, s in states.items() if k.startswith("discord.")} == {"pending"}
    guilds = []
    for spec, course_id in zip(specs, ids, strict=True):
        guild = await control.server_with_bot(spec, owner="ada")
        await control.join(guild, "grace")
        await product.claim(course_id, guild, people["ada"])
        guilds.append(guild)
    await product.run()
    for course_id in ids:
        assert set((await product.states(course_id)).values()) == {"succeeded"}
    return Provisioned(specs[0], specs[1], ids[0], ids[1], guilds[0], guilds[1])


async def provision_lab_on_discord(
    product: Product, control: Control, people: dict[str, str]
) -> tuple[str, str, dict[str, Any]]:
    """CS201 with 3 groups of 2; one student of each group is on Discord (bob, alan,
    barbara) and in the server before the Discord steps run."""
    data = laboratory(people["ada"], people["grace"])
    for student, who in zip(data["students"][::2], ("bob", "alan", "barbara"), strict=True):
        student["discord_id"] = people[who]
    await control.github_users(logins(parse_course(data)))
    course_id = await product.create(data)
    await product.run()
    guild = await control.server_with_bot(parse_course(data), owner="ada")
    for who in ("grace", "bob", "alan", "barbara"):
        await control.join(guild, who)
    await product.claim(course_id, guild, people["ada"])
    await product.run()
    assert set((await product.states(course_id)).values()) == {"succeeded"}
    return course_id, guild, data


# --- the product's own processes --------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[2]


def product_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a `python -m bot …` process: ours, with no setting inherited."""
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        APP_ENV="development",
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET.decode(),
    )
    env.update({k.upper(): v for k, v in settings.items()})
    return env


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


async def bot_cli(*args: str, env: dict[str, str], cwd: Path, timeout_s: float = 60) -> Finished:
    """Run `python -m bot ARGS` to the end."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout_s)
    assert process.returncode is not None
    return Finished(process.returncode, out.decode(), err.decode())


@dataclass
class RunnerProcess:
    """`python -m bot runner` in the background, its output in a log file."""

    process: asyncio.subprocess.Process
    log: Path

    @classmethod
    async def start(cls, env: dict[str, str], cwd: Path, name: str) -> RunnerProcess:
        log = cwd / f"{name}.log"
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "runner", env=env, cwd=cwd, stdout=out, stderr=out
            )
        return cls(process, log)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no lease released, nothing flushed."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    async def stop(self, timeout_s: float = 20) -> int:
        """SIGTERM, as an operator would; its exit status."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout_s)
        except TimeoutError:
            self.kill()
            await self.process.wait()
            raise AssertionError(f"runner did not stop on SIGTERM:\n{self.output()}") from None
