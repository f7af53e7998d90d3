"""A GitHub App suspended on an organization, at the gateway: minting the installation's token
is refused 403, and the call waits for a person (`SUSPENDED`) instead of failing, keeping the
installation; `usable` says when it is unsuspended, and the same installation works again."""

from __future__ import annotations

import aiohttp
import pytest

from clients.github.installations import SUSPENDED, InstallationGateways
from provisioning.errors import ActionRequiredError
from sandbox.server import SandboxServer
from tests.github.harness import ListSink
from tests.github.test_uninstalled_app import (  # noqa: F401 - fixtures
    ORG,
    calls,
    control,
    gateways,
    sink,
)

SUSPEND = "/_sandbox/github/apps/1/installations/suspended"


async def test_a_suspended_installation_mints_no_token_and_waits_until_unsuspended(
    gateways: InstallationGateways,  # noqa: F811
    control: aiohttp.ClientSession,  # noqa: F811
    sink: ListSink,  # noqa: F811
    sandbox: SandboxServer,
) -> None:
    """Suspended before any call: the lookup finds the installation, the mint answers 403,
    the call raises ActionRequiredError naming the org and the installation's settings page
    (read once with the App's credential); a second call reuses it. `usable` is False while
    suspended and True once unsuspended, and the next call goes out with the same installation."""
    async with control.put(SUSPEND, json={"org": ORG, "by": "demo-admin"}) as resp:
        assert resp.status == 200
    gateway = gateways.for_org(ORG)
    with pytest.raises(ActionRequiredError) as waiting:
        await gateway.get_org(ORG)
    assert waiting.value.reason == SUSPENDED
    page = f"{sandbox.base_url}/organizations/{ORG}/settings/installations/100"
    assert f"suspended on {ORG} (suspended by demo-admin)" in waiting.value.message
    assert page in waiting.value.message
    assert calls(sink) == [
        ("GET", f"/orgs/{ORG}/installation", 200),
        ("POST", "/app/installations/100/access_tokens", 403),
        ("GET", "/app/installations/100", 200),
    ]
    before = len(sink.rows)
    with pytest.raises(ActionRequiredError) as again:
        await gateway.get_repo(ORG, "cs101-2027-spring")
    assert again.value.message == waiting.value.message
    assert calls(sink, before) == [("POST", "/app/installations/100/access_tokens", 403)]
    assert await gateways.usable(ORG) is False
    async with control.delete(SUSPEND, json={"org": ORG}) as resp:
        assert resp.status == 200
    assert await gateways.usable(ORG) is True
    assert (await gateway.get_org(ORG)).login == ORG
    assert [(i.id, i.org) for i in gateways.installations()] == [(100, ORG)]
