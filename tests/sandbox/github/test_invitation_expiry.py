"""Org invitations lapse after 7 days on the injected clock, and a new membership PUT re-invites."""

from __future__ import annotations

from typing import Any

import aiohttp

from sandbox.console.github_view import organizations
from sandbox.core.clock import ManualClock
from sandbox.github import GitHubSandbox
from sandbox.server import SandboxServer
from tests.sandbox.github.contract import response_errors

API = "/api/v3"
ORG = "demo-university"
WEEK = 7 * 24 * 3600.0


async def call(
    http: aiohttp.ClientSession, method: str, path: str, **kwargs: Any
) -> tuple[int, Any]:
    async with http.request(method, path, **kwargs) as resp:
        text = await resp.text()
        return resp.status, (await resp.json()) if text else None


async def invite_ada(http: aiohttp.ClientSession) -> None:
    status, team = await call(http, "POST", f"{API}/orgs/{ORG}/teams", json={"name": "Lab"})
    assert status == 201, team
    status, membership = await call(
        http, "PUT", f"{API}/orgs/{ORG}/teams/lab/memberships/ada", json={"role": "member"}
    )
    assert (status, membership["state"]) == (200, "pending")


async def invitations(http: aiohttp.ClientSession) -> list[dict[str, Any]]:
    status, listed = await call(http, "GET", f"{API}/orgs/{ORG}/invitations")
    assert status == 200
    assert response_errors("GET", f"/orgs/{ORG}/invitations", 200, listed) == []
    return list(listed)


async def test_invitations_list_their_expiry(
    http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """Each listed org invitation carries `expires_at`, 7 days after `created_at`."""
    await invite_ada(http)
    [inv] = await invitations(http)
    assert inv["login"] == "ada"
    assert inv["created_at"] == "2027-01-15T08:00:00Z"
    assert clock.time() == 1_800_000_000.0  # 2027-01-15T08:00:00Z
    assert inv["expires_at"] == "2027-01-22T08:00:00Z"


async def test_expired_invitation_drops_from_the_list_and_membership(
    http: aiohttp.ClientSession, clock: ManualClock, github_sandbox: GitHubSandbox
) -> None:
    """Just before 7 days the invitation is listed; at 7 days it is gone, with the pending team
    membership and org membership it stood for, and can no longer be accepted."""
    await invite_ada(http)
    clock.advance(WEEK - 1)
    assert [i["login"] for i in await invitations(http)] == ["ada"]
    clock.advance(1)
    assert await invitations(http) == []
    assert (await call(http, "GET", f"{API}/orgs/{ORG}/teams/lab/memberships/ada"))[0] == 404
    assert (await call(http, "GET", f"{API}/orgs/{ORG}/memberships/ada"))[0] == 404
    [org] = [o for o in organizations(github_sandbox.ctx) if o.login == ORG]
    assert not [i for i in org.invitations if i.startswith("ada ")]
    async with http.post(f"/_sandbox/github/orgs/{ORG}/invitations/ada/accept") as resp:
        assert resp.status == 404


async def test_membership_put_after_expiry_sends_a_new_invitation(
    http: aiohttp.ClientSession, clock: ManualClock, server: SandboxServer
) -> None:
    """A team membership PUT for a user whose invitation lapsed invites again; accepting the new
    invitation activates the membership."""
    await invite_ada(http)
    [first] = await invitations(http)
    clock.advance(WEEK + 60)
    status, membership = await call(
        http, "PUT", f"{API}/orgs/{ORG}/teams/lab/memberships/ada", json={"role": "member"}
    )
    assert (status, membership["state"]) == (200, "pending")
    [second] = await invitations(http)
    assert second["id"] != first["id"]
    assert second["created_at"] == "2027-01-22T08:01:00Z"
    assert second["team_count"] == 1
    async with http.post(f"/_sandbox/github/orgs/{ORG}/invitations/ada/accept") as resp:
        assert resp.status == 200
    status, membership = await call(http, "GET", f"{API}/orgs/{ORG}/teams/lab/memberships/ada")
    assert (status, membership["state"]) == (200, "active")
