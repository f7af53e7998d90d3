"""A GitHub App's installations as an operator and a course see them: `/metrics` has each
installation's governor by id and org, and an App uninstalled from an org after its
installation was found makes that org's new steps wait with the install link (the series of
that installation leaves `/metrics`); installed again, a retry provisions with the new one."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from sandbox.core.emulator import SystemClock
from sandbox.discord import DiscordSandbox
from sandbox.github import GitHubSandbox
from sandbox.mail import MailSandbox
from sandbox.server import SandboxServer
from tests.e2e.harness import SANDBOX_RATE_SCALE, Control, Product, lecture
from tests.e2e.test_installations import (
    APP_ID,
    INSTALLED,
    github_steps,
    private_key,
    product_with,
    provision_github,
    world,
)

ORG = "demo-university"
OTHER = "physics-dept"
Labels = tuple[str, str, str]  # governor, installation, org


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    clock = SystemClock()
    emulators = [
        GitHubSandbox(clock, rate_scale=SANDBOX_RATE_SCALE, world=world()),
        DiscordSandbox(clock, rate_scale=SANDBOX_RATE_SCALE),
        MailSandbox(clock),
    ]
    async with SandboxServer(emulators, clock=clock, fault_seed=20270111) as server:
        yield server


@contextlib.asynccontextmanager
async def web(product: Product) -> AsyncIterator[aiohttp.ClientSession]:
    """The product's web application listening on 127.0.0.1, as a scraper reaches it."""
    server = TestServer(product.built.web_app, host="127.0.0.1")
    async with TestClient(server) as client, aiohttp.ClientSession(client.make_url("/")) as http:
        yield http


async def governor_samples(http: aiohttp.ClientSession) -> dict[str, dict[Labels, float]]:
    """`/metrics`' governor families: samples by (governor, installation, org)."""
    async with http.get("/metrics") as response:
        assert response.status == 200
        text = await response.text()
    return {
        family.name: {
            (s.labels["governor"], s.labels["installation"], s.labels["org"]): s.value
            for s in family.samples
        }
        for family in text_string_to_metric_families(text)
        if family.name.startswith("provisioning_governor_wait")
    }


async def test_metrics_label_installations_and_an_uninstalled_app_waits_for_a_person(
    database_url: str, sandbox: SandboxServer, control: Control
) -> None:
    """Courses in two orgs: `/metrics` has a series per installation (id and org) with its
    governor's figures, beside the App's own and Discord's. The App is uninstalled from one
    org: a new course there waits for a person with the org and the install link, as for an
    org that never had the App, writes nothing, and the installation leaves `/metrics`. The
    owner installs it again: a retry provisions the course with the new installation."""
    people = await control.discord_users()
    ada, grace = people["ada"], people["grace"]
    student = [{"name": "Bob", "github": "bob-b"}]
    first, second = (
        lecture(ada, grace, code=f"CS10{n}", github_org=org, students=student)
        for n, org in ((1, ORG), (2, OTHER))
    )
    app = {"github_app_id": APP_ID, "github_app_private_key": private_key()}
    async with product_with(database_url, sandbox, **app) as product, web(product) as http:
        for course in (first, second):
            await product.create(course)
        await provision_github(product)
        governors = product.built.github.governors  # type: ignore[union-attr]
        found = await governor_samples(http)
        waits = found["provisioning_governor_waits"]
        seconds = found["provisioning_governor_wait_seconds"]
        ids = {org: str(i) for i, org in INSTALLED.items()}
        assert set(waits) == {
            ("github", "", ""),  # the App's own calls (finding installations, minting tokens)
            ("discord", "", ""),
            ("github", ids[ORG], ORG),
            ("github", ids[OTHER], OTHER),
        }
        for org in (ORG, OTHER):
            governor = governors[int(ids[org])]
            # Writes a spacing apart: each installation's governor made some of them wait.
            assert waits["github", ids[org], org] == governor.waits > 0
            assert seconds["github", ids[org], org] == pytest.approx(governor.wait_seconds)
        assert waits["github", "", ""] == product.built.github_governor.waits

        await control.call("DELETE", f"/github/apps/{APP_ID}/installations", json={"org": ORG})
        start = sandbox.journal.cursor()
        third = await product.create(
            lecture(ada, grace, code="CS103", github_org=ORG, students=student)
        )
        await provision_github(product)
        steps = await github_steps(product, third)
        waiting = [s for s in steps if s.state == "awaiting_action"]
        assert waiting, {s.key: s.state for s in steps}
        assert {s.state for s in steps} <= {"awaiting_action", "pending"}
        install = f"{sandbox.base_url}/apps/course-bot/installations/new"
        for step in waiting:
            said = f"{step.action_hint} {step.last_error}"
            assert f"GitHub App course-bot is not installed on the organization {ORG}" in said
            assert install in said, said
        entries = sandbox.journal.query(since=start, platform="github", limit=1_000_000)
        assert [
            e for e in entries if e.method != "GET" and e.status is not None and e.status < 300
        ] == []
        # The dead token's 401s, then the lookups' 404s.
        assert [e for e in entries if e.status == 401 and f"/{ORG}" in e.path]
        lookups = [e.status for e in entries if e.path.endswith(f"/orgs/{ORG}/installation")]
        assert lookups
        assert set(lookups) == {404}
        assert set((await governor_samples(http))["provisioning_governor_waits"]) == {
            ("github", "", ""),
            ("discord", "", ""),
            ("github", ids[OTHER], OTHER),
        }

        again = await control.call(
            "POST", f"/github/apps/{APP_ID}/installations", json={"org": ORG}
        )
        start = sandbox.journal.cursor()
        await product.courses.retry(third, actor="e2e")
        await provision_github(product)
        assert {s.state for s in await github_steps(product, third)} == {"succeeded"}
        writes = [
            e
            for e in sandbox.journal.query(since=start, platform="github", limit=1_000_000)
            if e.method != "GET" and "/app/" not in e.path
        ]
        assert writes
        assert {e.credential for e in writes} == {f"inst:{again['id']}"}
        labels = set((await governor_samples(http))["provisioning_governor_waits"])
        assert ("github", str(again["id"]), ORG) in labels
        assert ("github", ids[ORG], ORG) not in labels
