"""The product's gateways provision a 3-group laboratory course on one sandbox, twice.

The product is built by `bot.build.build` (the builder of `python -m bot`) on a fresh SQLite
file, pointed at the sandbox. GitHub: every GitHub step of the plan through its GitHub gateway,
then all of them again with the stored results (the verify path). Discord: a person creates a
server and adds the bot through the control API, then every Discord step through its Discord
gateway (discord.py), then again. The sandbox runs on 127.0.0.1 with an injected clock;
`Capture` records every API request.
"""

from __future__ import annotations

import copy
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.build import Product as Built
from bot.build import build
from bot.settings import Settings
from db.models import Step
from provisioning.courses.retire import retirement
from provisioning.courses.spec import CourseSpec, parse_course
from provisioning.discord.steps import executors as discord_executors
from provisioning.discord.steps.server import needed_permissions
from provisioning.plan import PlannedStep, plan_course
from provisioning.step import StepResult
from sandbox.core.clock import ManualClock
from sandbox.discord import BucketRate, DiscordConfig, DiscordSandbox, RateConfig
from sandbox.github import GitHubSandbox
from sandbox.github.config import GitHubWorld, Limits
from sandbox.server import SandboxServer
from tests.contract.capture import Capture
from tests.discord import steps as discord_harness
from tests.fakes.clocks import FastForwardClock
from tests.github import harness as github_harness
from tests.provisioning.examples import lab_course

GROUPS = 3
# Not what is under test here: limits high enough that no 429 interrupts the run (the clock
# does not move, so no window would ever reset).
_ROOMY = BucketRate(100_000, 10.0)


@dataclass(frozen=True)
class Outcome:
    spec: CourseSpec
    github: dict[str, StepResult]
    discord: dict[str, StepResult]


@dataclass(frozen=True)
class Run:
    """A finished provisioning run and what the sandbox saw of it."""

    outcome: Outcome
    capture: Capture


def lab_spec(discord_users: dict[str, str]) -> CourseSpec:
    """The example 3-group lab course, its staff known on the sandbox's Discord."""
    data: dict[str, Any] = copy.deepcopy(lab_course(GROUPS))
    for member in data["staff"]:
        member["discord_id"] = discord_users[member["github"]]
    return parse_course(data)


def emulators(clock: ManualClock, spec_logins: list[str]) -> list[Any]:
    limits = Limits(content_per_minute=100_000, content_per_hour=100_000)
    world = GitHubWorld(users=[*GitHubWorld().users, *spec_logins], limits=limits)
    rates = RateConfig(
        buckets=dict.fromkeys(RateConfig().buckets, _ROOMY), global_per_second=100_000
    )
    return [
        GitHubSandbox(clock, world=world),
        DiscordSandbox(clock, config=DiscordConfig(rates=rates)),
    ]


async def _control(http: aiohttp.ClientSession, method: str, path: str, **kw: Any) -> Any:
    async with http.request(method, f"/_sandbox/discord{path}", **kw) as response:
        body = await response.json()
        assert response.status < 300, (method, path, response.status, body)
        return body


async def run_github(product: Built, spec: CourseSpec) -> dict[str, StepResult]:
    gateway = product.github
    results = await github_harness.run_all(gateway, spec)
    results = await github_harness.run_all(gateway, spec, results)
    # Two title changes: the first opens the seed-update pull requests (a new branch and PR),
    # the second updates them (a commit on our branch, the PR's text); the repositories'
    # descriptions follow. Then the original title again, so the outcome is the course as
    # specified (the proposals stay open: the default branches are people's).
    for title in (f"{spec.title} (revised)", f"{spec.title} (revised again)"):
        changed = spec.model_copy(update={"title": title})
        results = await github_harness.run_all(gateway, changed, results)
    results = await github_harness.run_all(gateway, spec, results)
    # The invite step looks a user up only when GitHub says 404 for the membership (an
    # unknown login); every login here exists, so that request is made here directly.
    assert await gateway.get_user("no-such-login-here") is None
    return results


async def run_discord(product: Built, spec: CourseSpec, guild_id: str) -> dict[str, StepResult]:
    gateway = product.discord
    results = await discord_harness.run_all(spec, gateway, guild_id)
    return await discord_harness.run_all(spec, gateway, guild_id, done=results)


def _retired(key: str, spec: CourseSpec, results: dict[str, StepResult]) -> PlannedStep:
    """The removal step the planned step `key` becomes when a description drops it, made by
    the product's own rule (`provisioning.courses.retire`) from its stored result."""
    rows = {
        s.key: Step(
            key=s.key,
            kind=s.kind,
            params=s.params,
            depends_on=list(s.depends_on),
            state="succeeded",
            attempts=1,
            external_id=results[s.key].external_id if s.key in results else None,
            facts=dict(results[s.key].facts) if s.key in results else None,
        )
        for s in plan_course(spec)
    }
    # The dropped person is in no other course: they leave the organization too.
    removal = retirement(rows[key], rows, lambda _: True)
    assert removal is not None, key
    return PlannedStep(key, removal.kind, removal.depends_on, removal.params)


async def run_removals(
    product: Built,
    spec: CourseSpec,
    github: dict[str, StepResult],
    discord: dict[str, StepResult],
) -> None:
    """Lab group lab-03 and a student of lab-01 leave the course, the TA leaves the staff:
    every kind of removal step runs twice (the second time reads only)."""
    student = next(s for s in spec.students if s.group == "lab-01")
    ta = spec.staff[1]
    github_keys = [f"github.invite:lab-01:{student.github.lower()}", "github.repo:lab-03"]
    discord_keys = [
        "discord.channel:lab-03",
        "discord.invite:lab-03",
        f"discord.member-role:{ta.discord_id}",
    ]
    for _ in range(2):
        for key in github_keys:
            step = _retired(key, spec, github)
            await github_harness.run_step(product.github, spec, step, dict(github))
        for key in discord_keys:
            step = _retired(key, spec, discord)
            context = discord_harness.context(spec, step, product.discord, discord, discord[key])
            await discord_executors()[step.kind](context)


async def provision(capture: Capture, database_url: str) -> Outcome:
    """Run the whole course on a fresh sandbox; `capture` sees every API request."""
    clock = ManualClock()
    logins = [s["github"] for s in lab_course(GROUPS)["students"]]
    async with (
        SandboxServer(
            emulators(clock, logins), clock=clock, middlewares=[capture.middleware]
        ) as server,
        aiohttp.ClientSession(server.base_url, headers=server.control_headers) as http,
        AsyncExitStack() as stack,
    ):
        users = {u["username"]: u["id"] for u in await _control(http, "GET", "/users")}
        spec = lab_spec(users)
        settings = Settings(
            database_url=database_url,
            sandbox_url=server.base_url,
            rate_scale=1e9,
            secret_key="contract-secret-" + "s" * 32,
            github_timeout_s=5,
        )
        # The governors wait on this clock: waits are counted, never slept.
        product = await build(settings, stack, clock=FastForwardClock())
        github = await run_github(product, spec)
        # A person creates the course's server, adds the bot with the install link's
        # permissions, and the TA joins.
        guild = await _control(http, "POST", "/guilds", json={"name": "CS201", "owner": "ada"})
        bot = {"permissions": needed_permissions(spec)}
        await _control(http, "POST", f"/guilds/{guild['id']}/bot", json=bot)
        await _control(http, "POST", f"/guilds/{guild['id']}/members", json={"user": "grace"})
        discord_results = await run_discord(product, spec, guild["id"])
        await run_removals(product, spec, github, discord_results)
    return Outcome(spec, github, discord_results)
