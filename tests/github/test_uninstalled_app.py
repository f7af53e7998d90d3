"""A GitHub App uninstalled from an organization after its installation was found: the calls
refused for it (a dead token's 401, a token refused with 404) make the gateway look the
installation up again; none, and the call waits for a person with the install link, as for an
organization that never had the App; a new one (installed again), and the call goes out with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from clients.github.gateway import AppKeyCredentials
from clients.github.installations import NOT_INSTALLED, InstallationGateways
from provisioning.clock import SystemClock
from provisioning.errors import ActionRequiredError
from provisioning.governor import GovernorLimits, RateGovernor
from sandbox.server import SandboxServer
from tests.github.harness import ListSink

ORG = "demo-university"  # the sandbox's App (id 1) is installed there, as installation 100
NEVER = "demo-free"  # and not there
INSTALLATIONS = "/_sandbox/github/apps/1/installations"


def pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
async def control(sandbox: SandboxServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(sandbox.base_url, headers=sandbox.control_headers) as http:
        yield http


@pytest.fixture
def sink() -> ListSink:
    return ListSink()


@pytest.fixture
async def gateways(sandbox: SandboxServer, sink: ListSink) -> AsyncIterator[InstallationGateways]:
    def governor(name: str) -> RateGovernor:
        # A huge scale: the spacing shrinks to nothing, so the tests never sleep.
        return RateGovernor("github", GovernorLimits.github(scale=1e9), SystemClock())

    built = InstallationGateways(
        base_url=sandbox.github_api_url,
        web_url=sandbox.base_url,
        app=AppKeyCredentials(app_id=1, private_key=pem()),
        governor_for=governor,
        sink=sink,
        timeout_s=5,
    )
    yield built
    await built.aclose()


async def uninstall(control: aiohttp.ClientSession, org: str) -> None:
    async with control.delete(INSTALLATIONS, json={"org": org}) as resp:
        assert resp.status == 200, await resp.text()


async def install(control: aiohttp.ClientSession, org: str) -> int:
    async with control.post(INSTALLATIONS, json={"org": org}) as resp:
        assert resp.status == 201, await resp.text()
        return int((await resp.json())["id"])


async def never_installed_message(gateways: InstallationGateways) -> str:
    """What an org that never had the App says, with its name made ORG's."""
    with pytest.raises(ActionRequiredError) as never:
        await gateways.for_org(NEVER).get_org(NEVER)
    return never.value.message.replace(NEVER, ORG)


def calls(sink: ListSink, since: int = 0) -> list[tuple[str, str, int | None]]:
    return [(x.method, x.path, x.status) for x, _ in sink.rows[since:]]


async def test_a_dead_token_waits_with_the_install_link(
    gateways: InstallationGateways,
    control: aiohttp.ClientSession,
    sink: ListSink,
    sandbox: SandboxServer,
) -> None:
    """The installation's token answers 401 once the App is uninstalled: the installation is
    looked up once, is gone, and the call raises the never-installed org's ActionRequiredError
    (org, install link); the installation is forgotten, so nothing labels it any more."""
    gateway = gateways.for_org(ORG)
    assert (await gateway.get_org(ORG)).login == ORG
    assert [(i.id, i.org) for i in gateways.installations()] == [(100, ORG)]
    expected = await never_installed_message(gateways)
    await uninstall(control, ORG)
    before = len(sink.rows)
    with pytest.raises(ActionRequiredError) as waiting:
        await gateway.get_org(ORG)
    assert waiting.value.reason == NOT_INSTALLED
    assert waiting.value.message == expected
    assert f"{sandbox.base_url}/apps/course-bot/installations/new" in expected
    assert calls(sink, before) == [
        ("GET", f"/orgs/{ORG}", 401),
        ("GET", f"/orgs/{ORG}/installation", 404),
    ]
    assert gateways.installations() == []
    assert gateways.hourly_limit(ORG) is None


async def test_a_refused_token_is_not_taken_for_an_absent_repository(
    gateways: InstallationGateways, control: aiohttp.ClientSession, sink: ListSink
) -> None:
    """A read whose 404 means "absent" (`get_repo`), on a lane that must mint its token after
    the uninstall: the mint's 404 is the installation's, so it waits for a person instead of
    answering None (which would have a step try to create the repository)."""
    gateway = gateways.for_org(ORG)
    # A write first: its lane has a token; the reads' lane has none yet.
    team = await gateway.create_team(
        ORG, "Uninstall probe", privacy="closed", description="", parent_team_id=None
    )
    assert team.slug == "uninstall-probe"
    await uninstall(control, ORG)
    before = len(sink.rows)
    with pytest.raises(ActionRequiredError) as waiting:
        await gateway.get_repo(ORG, "cs101-2027-spring")
    assert waiting.value.reason == NOT_INSTALLED
    assert calls(sink, before) == [
        ("POST", "/app/installations/100/access_tokens", 404),
        ("GET", f"/orgs/{ORG}/installation", 404),
        ("GET", "/app", 200),  # the App's slug, for the install link (asked once)
    ]


async def test_an_app_installed_again_is_used_without_a_restart(
    gateways: InstallationGateways, control: aiohttp.ClientSession, sink: ListSink
) -> None:
    """Uninstalled then installed again before the product noticed: the old token's 401 leads
    to the new installation, the call is sent again with it and succeeds; after a wait for a
    person, the next call after the install finds the new installation too."""
    gateway = gateways.for_org(ORG)
    await gateway.get_org(ORG)
    await uninstall(control, ORG)
    again = await install(control, ORG)
    before = len(sink.rows)
    assert (await gateway.get_org(ORG)).login == ORG
    assert calls(sink, before) == [
        ("GET", f"/orgs/{ORG}", 401),
        ("GET", f"/orgs/{ORG}/installation", 200),
        ("POST", f"/app/installations/{again}/access_tokens", 201),
        ("GET", f"/orgs/{ORG}", 200),
    ]
    assert [(i.id, i.org) for i in gateways.installations()] == [(again, ORG)]
    assert gateways.hourly_limit(ORG) == 5000

    await uninstall(control, ORG)
    with pytest.raises(ActionRequiredError):
        await gateway.get_org(ORG)
    third = await install(control, ORG)
    assert (await gateway.get_org(ORG)).login == ORG
    assert [(i.id, i.org) for i in gateways.installations()] == [(third, ORG)]


async def test_other_refusals_are_the_calls_own(
    gateways: InstallationGateways, sink: ListSink
) -> None:
    """A 404 of a call (an absent team) with the installation in place is that call's answer:
    no lookup of the installation follows, nothing is forgotten."""
    gateway = gateways.for_org(ORG)
    await gateway.get_org(ORG)
    before = len(sink.rows)
    assert await gateway.get_team(ORG, "no-such-team") is None
    assert calls(sink, before) == [("GET", f"/orgs/{ORG}/teams/no-such-team", 404)]
    assert [(i.id, i.org) for i in gateways.installations()] == [(100, ORG)]
