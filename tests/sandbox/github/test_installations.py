"""A GitHub App installed on several organizations: finding an org's installation with the App's
JWT (as PyGithub's `GithubIntegration` does), and each installation's own primary limit."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth, GithubIntegration, UnknownObjectException

from sandbox.core.clock import ManualClock
from sandbox.github.config import AppSpec, GitHubWorld, Limits, OrgSpec
from sandbox.github.ratelimit import installation_limit
from sandbox.server import SandboxServer
from tests.sandbox.github.conftest import app_jwt

FAR_FUTURE = 4_000_000_000


@pytest.fixture
def clock() -> ManualClock:
    # PyGithub signs its JWTs with the real time; the sandbox checks their expiry on this clock.
    return ManualClock(start=time.time())


@pytest.fixture
def world() -> GitHubWorld:
    many = [f"member-{n:03d}" for n in range(40)]
    return GitHubWorld(
        orgs=[
            OrgSpec(login="demo-university", owners=["demo-admin"]),
            OrgSpec(login="physics-dept", owners=["demo-admin"], members=many),
            OrgSpec(login="big-enterprise", plan="enterprise", owners=["demo-admin"]),
            OrgSpec(login="not-installed", owners=["demo-admin"]),
        ],
        apps=[
            AppSpec(
                app_id=7,
                slug="course-bot",
                installations={
                    701: "demo-university",
                    702: "physics-dept",
                    703: "big-enterprise",
                },
            )
        ],
    )


def pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


async def test_pygithub_finds_each_orgs_installation(
    server: SandboxServer, run: Callable[..., Any]
) -> None:
    """`GithubIntegration.get_org_installation` gets each org's own installation; an org the
    App is not installed on is 404 (UnknownObjectException), as on GitHub."""
    integration = GithubIntegration(
        auth=Auth.AppAuth(7, pem(), jwt_expiry=600),
        base_url=server.github_api_url,
    )
    try:
        found = {
            org: (await run(integration.get_org_installation, org)).id
            for org in ("demo-university", "physics-dept", "big-enterprise")
        }
        with pytest.raises(UnknownObjectException):
            await run(integration.get_org_installation, "not-installed")
    finally:
        integration.close()
    assert found == {"demo-university": 701, "physics-dept": 702, "big-enterprise": 703}


async def test_installation_routes_need_the_apps_jwt(http: aiohttp.ClientSession) -> None:
    """A personal token on the App's routes is 401, as GitHub answers anything but a JWT."""
    async with http.get("/api/v3/orgs/demo-university/installation") as resp:
        assert resp.status == 401
        assert (await resp.json())["message"] == "A JSON web token could not be decoded"


async def _token(http: aiohttp.ClientSession, installation_id: int) -> str:
    jwt = {"Authorization": f"Bearer {app_jwt(7, FAR_FUTURE)}"}
    url = f"/api/v3/app/installations/{installation_id}/access_tokens"
    async with http.post(url, headers=jwt) as resp:
        assert resp.status == 201
        return str((await resp.json())["token"])


async def _limit_of(http: aiohttp.ClientSession, token: str, org: str) -> tuple[int, int]:
    async with http.get(f"/api/v3/orgs/{org}", headers={"Authorization": f"token {token}"}) as r:
        assert r.status == 200
        return int(r.headers["x-ratelimit-limit"]), int(r.headers["x-ratelimit-remaining"])


async def test_each_installation_has_its_published_limit(http: aiohttp.ClientSession) -> None:
    """An installation's X-RateLimit-Limit follows its org (5,000, +50 per member beyond 20,
    15,000 on Enterprise Cloud), a personal token's is 5,000, and each counts on its own."""
    small = await _token(http, 701)
    members = await _token(http, 702)
    enterprise = await _token(http, 703)
    assert await _limit_of(http, small, "demo-university") == (5000, 4999)
    # physics-dept: the owner and 40 members, 21 beyond the first 20.
    assert await _limit_of(http, members, "physics-dept") == (5000 + 21 * 50, 5000 + 21 * 50 - 1)
    assert await _limit_of(http, enterprise, "big-enterprise") == (15000, 14999)
    assert await _limit_of(http, small, "demo-university") == (5000, 4998)
    async with http.get("/api/v3/orgs/demo-university") as resp:  # the personal token
        assert resp.headers["x-ratelimit-limit"] == "5000"
        assert resp.headers["x-ratelimit-remaining"] == "4999"


def test_installation_formula_is_capped() -> None:
    """Repositories and members beyond 20 add 50 each, up to 12,500; Enterprise Cloud is 15,000."""
    limits = Limits()
    assert installation_limit(limits, plan="team", repositories=20, members=20) == 5000
    assert installation_limit(limits, plan="free", repositories=21, members=22) == 5150
    assert installation_limit(limits, plan="team", repositories=120, members=70) == 12500
    assert installation_limit(limits, plan="team", repositories=500, members=500) == 12500
    assert installation_limit(limits, plan="enterprise", repositories=0, members=1) == 15000


async def test_an_uninstalled_apps_tokens_are_refused_and_a_reinstall_is_a_new_installation(
    http: aiohttp.ClientSession,
) -> None:
    """An owner uninstalls the App: the installation's live token answers 401 "Bad
    credentials", minting one and finding the org's installation answer 404, as on GitHub;
    installing it again gives a new installation whose tokens work."""
    token = await _token(http, 701)
    assert (await _limit_of(http, token, "demo-university"))[0] == 5000
    control = "/_sandbox/github/apps/7/installations"
    async with http.delete(control, json={"org": "Demo-University"}) as resp:
        assert resp.status == 200
        assert await resp.json() == {"id": 701, "org": "demo-university"}
    bearer = {"Authorization": f"token {token}"}
    async with http.get("/api/v3/orgs/demo-university", headers=bearer) as resp:
        assert resp.status == 401
        assert (await resp.json())["message"] == "Bad credentials"
    jwt = {"Authorization": f"Bearer {app_jwt(7, FAR_FUTURE)}"}
    async with http.post("/api/v3/app/installations/701/access_tokens", headers=jwt) as resp:
        assert resp.status == 404
    async with http.get("/api/v3/orgs/demo-university/installation", headers=jwt) as resp:
        assert resp.status == 404
    # Uninstalling twice: nothing to uninstall, and the answer names the field.
    async with http.delete(control, json={"org": "demo-university"}) as resp:
        assert resp.status == 404
        assert "(field org)" in (await resp.json())["message"]
    async with http.post(control, json={"org": "demo-university"}) as resp:
        assert resp.status == 201
        again = int((await resp.json())["id"])
    assert again not in (701, 702, 703)
    async with http.get("/api/v3/orgs/demo-university/installation", headers=jwt) as resp:
        assert (await resp.json())["id"] == again
    assert (await _limit_of(http, await _token(http, again), "demo-university"))[0] == 5000
    # The other installations were left alone.
    assert (await _limit_of(http, await _token(http, 702), "physics-dept"))[0] > 5000


async def test_a_suspended_installation_mints_no_token_and_its_tokens_are_refused(
    http: aiohttp.ClientSession,
) -> None:
    """The App's owner suspends an installation (`PUT …/suspended`, 204): the installation
    shows when and by whom, minting a token answers 403 "This installation has been
    suspended" and a token minted before answers 403 naming the org; the other
    installations go on. Unsuspended (`DELETE …/suspended`, 204), both work again."""
    token = await _token(http, 701)
    jwt = {"Authorization": f"Bearer {app_jwt(7, FAR_FUTURE)}"}
    installation = "/api/v3/app/installations/701"
    async with http.put(f"{installation}/suspended", headers=jwt) as resp:
        assert resp.status == 204
    async with http.get(installation, headers=jwt) as resp:
        shown = await resp.json()
    assert shown["suspended_at"] is not None
    assert shown["suspended_by"]["login"] == "demo-admin"
    async with http.get("/api/v3/orgs/demo-university/installation", headers=jwt) as resp:
        assert (await resp.json())["suspended_at"] == shown["suspended_at"]
    async with http.post(f"{installation}/access_tokens", headers=jwt) as resp:
        assert resp.status == 403
        assert (await resp.json())["message"] == "This installation has been suspended"
    bearer = {"Authorization": f"token {token}"}
    async with http.get("/api/v3/orgs/demo-university", headers=bearer) as resp:
        assert resp.status == 403
        message = (await resp.json())["message"]
    assert message.startswith("You suspended this installation owned by demo-university at ")
    assert (await _limit_of(http, await _token(http, 702), "physics-dept"))[0] > 5000
    # An org owner cannot lift what the App's owner suspended (GitHub's rule).
    control = "/_sandbox/github/apps/7/installations/suspended"
    async with http.delete(control, json={"org": "demo-university"}) as resp:
        assert resp.status == 409
    async with http.delete(f"{installation}/suspended", headers=jwt) as resp:
        assert resp.status == 204
    async with http.get(installation, headers=jwt) as resp:
        assert (await resp.json())["suspended_at"] is None
    assert (await _limit_of(http, token, "demo-university"))[0] == 5000
    assert (await _limit_of(http, await _token(http, 701), "demo-university"))[0] == 5000


async def test_an_org_owner_suspends_in_the_org_settings_and_unsuspends(
    http: aiohttp.ClientSession,
) -> None:
    """An org owner suspends the App (the sandbox's control, as the org's settings page):
    tokens answer 403 "… suspended your access …"; the owner unsuspends it and they work.
    Suspending without saying who is refused naming the field."""
    token = await _token(http, 702)
    control = "/_sandbox/github/apps/7/installations/suspended"
    async with http.put(control, json={"org": "physics-dept"}) as resp:
        assert resp.status == 400
        assert "by is required" in (await resp.json())["message"]
    async with http.put(control, json={"org": "physics-dept", "by": "demo-admin"}) as resp:
        assert resp.status == 200
        assert await resp.json() == {"id": 702, "org": "physics-dept", "suspended": True}
    bearer = {"Authorization": f"token {token}"}
    async with http.get("/api/v3/orgs/physics-dept", headers=bearer) as resp:
        assert resp.status == 403
        assert (
            "This installation owned by physics-dept suspended your access at"
            in ((await resp.json())["message"])
        )
    async with http.delete(control, json={"org": "physics-dept"}) as resp:
        assert await resp.json() == {"id": 702, "org": "physics-dept", "suspended": False}
    assert (await _limit_of(http, token, "physics-dept"))[0] > 5000


async def test_the_app_deletes_its_installation_and_only_its_own(
    http: aiohttp.ClientSession,
) -> None:
    """`DELETE /app/installations/{id}` with the App's JWT uninstalls it (204): its token is
    refused 401 and the org has no installation; an id the App does not have is 404, and a
    personal token is refused 401."""
    token = await _token(http, 703)
    async with http.delete("/api/v3/app/installations/703") as resp:  # the personal token
        assert resp.status == 401
    jwt = {"Authorization": f"Bearer {app_jwt(7, FAR_FUTURE)}"}
    async with http.delete("/api/v3/app/installations/703", headers=jwt) as resp:
        assert resp.status == 204
    async with http.delete("/api/v3/app/installations/703", headers=jwt) as resp:
        assert resp.status == 404
    async with http.put("/api/v3/app/installations/999/suspended", headers=jwt) as resp:
        assert resp.status == 404
    bearer = {"Authorization": f"token {token}"}
    async with http.get("/api/v3/orgs/big-enterprise", headers=bearer) as resp:
        assert resp.status == 401
    async with http.get("/api/v3/orgs/big-enterprise/installation", headers=jwt) as resp:
        assert resp.status == 404
