"""A GitHub App installed on several organizations: each course's GitHub calls go out with its
organization's installation token, each installation keeps a pace (and a primary limit) of its
own, an organization without the App waits for a person with the install link, and a token
deployment is one credential for every organization, as before."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from db.models import AuditEvent, Step
from provisioning.retry import RetryPolicy
from sandbox.core.emulator import SystemClock
from sandbox.core.journal import JournalEntry
from sandbox.discord import DiscordSandbox
from sandbox.github import GitHubSandbox
from sandbox.github.config import AppSpec, GitHubWorld, OrgSpec
from sandbox.mail import MailSandbox
from sandbox.server import SandboxServer
from tests.e2e.discordpy import build
from tests.e2e.harness import (
    SANDBOX_RATE_SCALE,
    TERMINAL,
    Control,
    Product,
    control_of,
    e2e_settings,
    lecture,
)

APP_ID = 1
INSTALLED = {101: "demo-university", 102: "physics-dept"}
NOT_INSTALLED = "history-dept"
# physics-dept has 30 members besides its owner: 11 beyond 20, so its installation's hourly
# limit is 5,000 + 11 × 50 (GitHub's formula); demo-university's is the minimum, 5,000.
PHYSICS_MEMBERS = [f"physicist-{n:02d}" for n in range(30)]
PHYSICS_LIMIT = 5000 + 11 * 50
# GitHub writes 1 s apart at real scale: 0.5 s here. A write never leaves before its slot, but
# may arrive later, by up to a stall of the event loop the sandbox shares with the product
# (0.46 s seen under the whole suite, tests/e2e/test_shared_pace.py; 0.4 s here on a loaded
# machine; 0.458 s once in CI, two writes then arriving 0.04 s apart): so k writes later is at
# least k spacings later, less that delay. A delay just under one spacing still catches two
# paces where there should be one: unshared, two runners send about two writes per spacing,
# so 4 writes span about 1 s where 1.51 s is required (k = 4), and the whole run half its due.
GITHUB_SCALE = 2.0
SPACING_S = 1 / GITHUB_SCALE
MAX_DELAY_S = 0.49


def world() -> GitHubWorld:
    return GitHubWorld(
        orgs=[
            OrgSpec(login="demo-university", owners=["demo-admin"]),
            OrgSpec(login="physics-dept", owners=["demo-admin"], members=PHYSICS_MEMBERS),
            OrgSpec(login=NOT_INSTALLED, owners=["demo-admin"]),
        ],
        apps=[AppSpec(app_id=APP_ID, slug="course-bot", installations=INSTALLED)],
    )


def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    clock = SystemClock()
    emulators = [
        GitHubSandbox(clock, rate_scale=SANDBOX_RATE_SCALE, world=world()),
        DiscordSandbox(clock, rate_scale=SANDBOX_RATE_SCALE),
        MailSandbox(clock),
    ]
    async with SandboxServer(emulators, clock=clock, fault_seed=20270110) as server:
        yield server


@contextlib.asynccontextmanager
async def product_with(
    database_url: str, sandbox: SandboxServer, **settings: Any
) -> AsyncIterator[Product]:
    values = e2e_settings(database_url, sandbox, rate_scale=GITHUB_SCALE, **settings)
    async with contextlib.AsyncExitStack() as stack:
        yield Product(await build(values, stack, policy=RetryPolicy(base_s=0)))


def courses(people: dict[str, str]) -> list[dict[str, Any]]:
    """One small lecture in each organization (one student each keeps the test short)."""
    ada, grace = people["ada"], people["grace"]
    return [
        lecture(
            ada,
            grace,
            code=f"CS10{n}",
            github_org=org,
            students=[{"name": "Bob", "github": "bob-b"}],
        )
        for n, org in enumerate(("demo-university", "physics-dept", NOT_INSTALLED), start=1)
    ]


def settled(steps: list[Step]) -> bool:
    """Nothing of these steps runs or could: each finished, waits for a person, or waits for a
    dependency that did not succeed."""
    done = {(s.course_id, s.key) for s in steps if s.state == "succeeded"}
    return all(
        s.state in TERMINAL
        or (s.state == "pending" and not all((s.course_id, d) in done for d in s.depends_on))
        for s in steps
    )


async def provision_github(product: Product) -> None:
    """The runner as `python -m bot` runs it, until every GitHub step has settled."""
    stop = asyncio.Event()
    serving = asyncio.create_task(product.runner.serve(stop))
    try:
        async with asyncio.timeout(120):
            while True:
                async with product.sessions() as session:
                    query = select(Step).where(Step.kind.like("github.%"))
                    steps = list((await session.scalars(query)).all())
                if steps and settled(steps):
                    return
                await asyncio.sleep(0.1)
    finally:
        stop.set()
        await serving


async def github_steps(product: Product, course_id: str) -> list[Step]:
    async with product.sessions() as session:
        query = select(Step).where(Step.course_id == course_id, Step.kind.like("github.%"))
        return list((await session.scalars(query)).all())


def org_of(entry: JournalEntry) -> str | None:
    """The organization a request is about, from its path (`/orgs/X/…`, `/repos/X/…`)."""
    parts = entry.path.removeprefix("/api/v3/").split("/")
    return parts[1].lower() if len(parts) > 1 and parts[0] in ("orgs", "repos") else None


def assert_paced(writes: list[float]) -> None:
    """Any two writes k apart are at least k spacings apart, less the largest arrival delay."""
    for k in range(1, len(writes)):
        spans = [b - a for a, b in zip(writes, writes[k:], strict=False)]
        assert min(spans) >= k * SPACING_S - MAX_DELAY_S, (k, sorted(spans)[:3])


def writes_of(entries: list[JournalEntry]) -> list[float]:
    return sorted(e.time for e in entries if e.method != "GET")


async def test_each_org_is_provisioned_with_its_own_installation(
    database_url: str, sandbox: SandboxServer
) -> None:
    """Two courses in two orgs of one App: every call about an org carries that org's
    installation token (the journal's credential), only the App's JWT finds installations and
    mints tokens, each installation's writes keep the spacing while the two orgs' writes
    interleave, and each installation's governor learns its own hourly limit."""
    async with control_of(sandbox) as control:
        people = await control.discord_users()
        start = sandbox.journal.cursor()
        async with product_with(
            database_url, sandbox, github_app_id=APP_ID, github_app_private_key=private_key()
        ) as product:
            ids = [await product.create(data) for data in courses(people)]
            await provision_github(product)
            for course_id in ids[:2]:
                assert {s.state for s in await github_steps(product, course_id)} == {"succeeded"}
            governors = product.built.github.governors  # type: ignore[union-attr]
            assert {i: g.limit("core") for i, g in governors.items()} == {
                101: 5000,
                102: PHYSICS_LIMIT,
            }
            # What the previews of new courses there reckon with.
            hourly = product.built.services.github_hourly
            assert (hourly("Demo-University"), hourly("physics-dept")) == (5000, PHYSICS_LIMIT)
            assert hourly(NOT_INSTALLED) is None
    entries = sandbox.journal.query(since=start, platform="github", limit=1_000_000)
    by_org: dict[str | None, set[str | None]] = defaultdict(set)
    per_credential: dict[str | None, list[JournalEntry]] = defaultdict(list)
    for entry in entries:
        per_credential[entry.credential].append(entry)
        if not entry.path.endswith("/installation"):
            by_org[org_of(entry)].add(entry.credential)
    assert by_org["demo-university"] == {"inst:101"}
    assert by_org["physics-dept"] == {"inst:102"}
    assert NOT_INSTALLED not in by_org
    # The App's JWT found each installation once (remembered after), asked for its slug once
    # (for the install link), minted a token per installation and lane (reads and writes run on
    # two threads, each with a PyGithub of its own, clients/github/worker.py); the org without
    # the App is
    # looked up by each of its steps that ran (none is remembered: a person may install it).
    app_calls = Counter((e.method, e.path) for e in per_credential[f"app:{APP_ID}"])
    lookups_of_missing = app_calls.pop(("GET", f"/api/v3/orgs/{NOT_INSTALLED}/installation"))
    assert lookups_of_missing >= 1
    assert app_calls == Counter(
        [
            ("GET", "/api/v3/orgs/demo-university/installation"),
            ("GET", "/api/v3/orgs/physics-dept/installation"),
            ("GET", "/api/v3/app"),
        ]
        + [("POST", "/api/v3/app/installations/101/access_tokens")] * 2
        + [("POST", "/api/v3/app/installations/102/access_tokens")] * 2
    )
    # Each installation's writes a spacing apart (less the arrival jitter), never closer.
    first, second = writes_of(per_credential["inst:101"]), writes_of(per_credential["inst:102"])
    assert len(first) >= 10, len(first)
    assert len(second) >= 10, len(second)
    for writes in (first, second):
        assert_paced(writes)
    # Together they took about as long as the busier one alone: one pace for both would have
    # needed a spacing between every two of all their writes.
    together = sorted(first + second)
    assert together[-1] - together[0] < (len(together) - 1) * SPACING_S - 2, (
        together[-1] - together[0],
        len(together),
    )


async def test_an_org_without_the_app_waits_with_the_install_link(
    database_url: str, sandbox: SandboxServer, control: Control
) -> None:
    """A course in an org the App is not installed on: its GitHub steps wait for a person,
    saying which org and where to install the App; once installed, a retry provisions it."""
    people = await control.discord_users()
    data = courses(people)[2]
    async with product_with(
        database_url, sandbox, github_app_id=APP_ID, github_app_private_key=private_key()
    ) as product:
        course_id = await product.create(data)
        await provision_github(product)
        steps = await github_steps(product, course_id)
        waiting = [s for s in steps if s.state == "awaiting_action"]
        assert waiting, {s.key: s.state for s in steps}
        assert {s.state for s in steps} <= {"awaiting_action", "pending"}
        install = f"{sandbox.base_url}/apps/course-bot/installations/new"
        for step in waiting:
            assert step.action_hint is not None or step.last_error is not None
            said = f"{step.action_hint} {step.last_error}"
            assert NOT_INSTALLED in said, said
            assert install in said, said
        writes = [
            e
            for e in sandbox.journal.query(platform="github", limit=1_000_000)
            if e.method != "GET" and NOT_INSTALLED in e.path
        ]
        assert writes == []
        # An owner installs the App; the course's retry finds the installation and goes on.
        installed = await control.call(
            "POST", f"/github/apps/{APP_ID}/installations", json={"org": NOT_INSTALLED}
        )
        await product.courses.retry(course_id, actor="e2e")
        await provision_github(product)
        assert {s.state for s in await github_steps(product, course_id)} == {"succeeded"}
    credentials = {
        e.credential
        for e in sandbox.journal.query(platform="github", limit=1_000_000)
        if e.method != "GET" and NOT_INSTALLED in e.path
    }
    assert credentials == {f"inst:{installed['id']}"}


async def test_a_token_deployment_is_one_credential_for_every_org(
    database_url: str, sandbox: SandboxServer, control: Control
) -> None:
    """With a token (the sandbox's), every org's calls carry it, its governor learns a
    personal token's 5,000 an hour, and all writes share its one pace."""
    people = await control.discord_users()
    start = sandbox.journal.cursor()
    async with product_with(database_url, sandbox) as product:
        ids = [await product.create(data) for data in courses(people)[:2]]
        await provision_github(product)
        for course_id in ids:
            assert {s.state for s in await github_steps(product, course_id)} == {"succeeded"}
        assert product.built.github_governor.limit("core") == 5000
        assert product.built.services.github_hourly("physics-dept") == 5000
    entries = sandbox.journal.query(since=start, platform="github", limit=1_000_000)
    assert {e.credential for e in entries} == {"user:demo-admin"}
    assert_paced(writes_of(entries))


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_runners_keep_one_pace_per_installation(
    database_url: str, sandbox: SandboxServer, control: Control
) -> None:
    """Two products on one PostgreSQL (two runner processes, as far as the pace is concerned:
    nothing but the database is shared) provision two courses in each of two orgs: both
    runners take steps, and each installation's writes keep one pace across them."""
    people = await control.discord_users()
    ada, grace = people["ada"], people["grace"]
    student = [{"name": "Bob", "github": "bob-b"}]
    data = [
        lecture(ada, grace, code=f"CS{n}{m}", github_org=org, students=student)
        for n, org in ((1, "demo-university"), (2, "physics-dept"))
        for m in (10, 20)
    ]
    start = sandbox.journal.cursor()
    app = {"github_app_id": APP_ID, "github_app_private_key": private_key()}
    async with (
        product_with(database_url, sandbox, runner_concurrency=2, **app) as first,
        product_with(database_url, sandbox, runner_concurrency=2, **app) as second,
    ):
        for course in data:
            await first.create(course)
        await asyncio.gather(provision_github(first), provision_github(second))
        async with first.sessions() as session:
            states = await session.scalars(select(Step.state).where(Step.kind.like("github.%")))
            assert set(states.all()) == {"succeeded"}
            started = Counter(
                (
                    await session.scalars(
                        select(AuditEvent.actor).where(
                            AuditEvent.event == "step.started", AuditEvent.step_key.like("github.%")
                        )
                    )
                ).all()
            )
        assert set(started) == {first.runner.owner, second.runner.owner}, started
    entries = sandbox.journal.query(since=start, platform="github", limit=1_000_000)
    for credential in ("inst:101", "inst:102"):
        writes = writes_of([e for e in entries if e.credential == credential])
        assert len(writes) >= 20, (credential, len(writes))
        assert_paced(writes)
