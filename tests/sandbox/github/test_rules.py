"""Today's GitHub rules, reproduced: duplicates, empty repos, plans, consistency, invitations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from github import Github, GithubException, UnknownObjectException

from sandbox.core.clock import ManualClock
from sandbox.github.config import GitHubWorld


async def test_duplicate_repo_is_422_name_already_exists(
    gh: Github, run: Callable[..., Any]
) -> None:
    """A second POST /orgs/{org}/repos with the same name answers GitHub's exact 422."""
    org = await run(gh.get_organization, "demo-university")
    await run(org.create_repo, "dup", private=True, auto_init=True)
    with pytest.raises(GithubException) as err:
        await run(org.create_repo, "DUP", private=True)
    assert err.value.status == 422
    assert err.value.data["message"] == "Repository creation failed."
    assert err.value.data["errors"] == [
        {
            "resource": "Repository",
            "code": "custom",
            "field": "name",
            "message": "name already exists on this account",
        }
    ]


async def test_duplicate_team_is_422_validation_failed(gh: Github, run: Callable[..., Any]) -> None:
    """Creating a team whose name exists answers 422 Validation Failed."""
    org = await run(gh.get_organization, "demo-university")
    await run(org.create_team, "Lab 01")
    with pytest.raises(GithubException) as err:
        await run(org.create_team, "lab 01")
    assert err.value.status == 422
    assert err.value.data["message"] == "Validation Failed"


async def test_duplicate_ref_is_422(gh: Github, run: Callable[..., Any]) -> None:
    """POST git/refs for an existing ref answers 422 "Reference already exists"."""
    repo = await run(
        (await run(gh.get_organization, "demo-university")).create_repo, "r", auto_init=True
    )
    head = (await run(repo.get_git_ref, "heads/main")).object.sha
    with pytest.raises(GithubException) as err:
        await run(repo.create_git_ref, "refs/heads/main", head)
    assert (err.value.status, err.value.data["message"]) == (422, "Reference already exists")


async def test_non_fast_forward_ref_update_is_refused(gh: Github, run: Callable[..., Any]) -> None:
    """PATCH git/refs with force=false to a non-descendant commit answers 422."""
    repo = await run(
        (await run(gh.get_organization, "demo-university")).create_repo, "ff", auto_init=True
    )
    ref = await run(repo.get_git_ref, "heads/main")
    head = await run(repo.get_git_commit, ref.object.sha)
    orphan = await run(repo.create_git_commit, "orphan", head.tree, [])
    with pytest.raises(GithubException) as err:
        await run(ref.edit, orphan.sha, False)
    assert err.value.data["message"] == "Update is not a fast forward"
    await run(ref.edit, orphan.sha, True)


async def test_git_data_on_empty_repo_is_409(gh: Github, run: Callable[..., Any]) -> None:
    """A repo created without auto_init answers 409 "Git Repository is empty." to git data."""
    org = await run(gh.get_organization, "demo-university")
    repo = await run(org.create_repo, "empty", private=True)
    with pytest.raises(GithubException) as err:
        await run(repo.get_git_ref, "heads/main")
    assert (err.value.status, err.value.data["message"]) == (409, "Git Repository is empty.")
    await run(repo.create_file, "README.md", "init", "hello")
    assert (await run(repo.get_git_ref, "heads/main")).object.sha


async def test_free_plan_private_repo_protection_is_403(
    gh: Github, run: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    """Protection and rulesets on a Free org's private repo answer the upgrade 403."""
    org = await run(gh.get_organization, "demo-free")
    repo = await run(org.create_repo, "lab", private=True, auto_init=True)
    branch = await run(repo.get_branch, "main")
    with pytest.raises(GithubException) as err:
        await run(branch.edit_protection, required_approving_review_count=1)
    assert err.value.status == 403
    assert err.value.data["message"] == (
        "Upgrade to GitHub Pro or make this repository public to enable this feature."
    )
    async with http.get("/api/v3/repos/demo-free/lab/rulesets") as resp:
        assert resp.status == 403
    async with http.put("/_sandbox/github/orgs/demo-free/plan", json={"plan": "team"}) as resp:
        assert resp.status == 200
    await run(branch.edit_protection, required_approving_review_count=1)


async def test_eventual_consistency_by_request_count(
    gh: Github, run: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    """With consistency delay on, a new repo answers 404 to the next N reads."""
    async with http.put("/_sandbox/github/consistency", json={"hidden_requests": 2}) as resp:
        assert resp.status == 200
    org = await run(gh.get_organization, "demo-university")
    await run(org.create_repo, "slow", auto_init=True)
    for _ in range(2):
        with pytest.raises(UnknownObjectException):
            await run(gh.get_repo, "demo-university/slow")
    assert (await run(gh.get_repo, "demo-university/slow")).name == "slow"


async def test_eventual_consistency_by_time(
    gh: Github, run: Callable[..., Any], http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """With a time delay, the repo appears once the clock has moved past it."""
    async with http.put("/_sandbox/github/consistency", json={"hidden_seconds": 2.0}) as resp:
        assert resp.status == 200
    org = await run(gh.get_organization, "demo-university")
    await run(org.create_repo, "slow", auto_init=True)
    with pytest.raises(UnknownObjectException):
        await run(gh.get_repo, "demo-university/slow")
    clock.advance(2.5)
    assert (await run(gh.get_repo, "demo-university/slow")).name == "slow"


async def test_team_membership_of_non_member_is_pending_until_accepted(
    gh: Github, run: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    """A non-member added to a team gets an org invitation; accepting it activates the team."""
    org = await run(gh.get_organization, "demo-university")
    team = await run(org.create_team, "Students")
    ada = await run(gh.get_user, "ada")
    await run(team.add_membership, ada, "member")
    assert (await run(team.get_team_membership, "ada")).state == "pending"
    assert [i.login for i in await run(lambda: list(org.invitations()))] == ["ada"]
    url = "/_sandbox/github/orgs/demo-university/invitations/ada/accept"
    async with http.post(url) as resp:
        assert resp.status == 200
    assert (await run(team.get_team_membership, "ada")).state == "active"
    assert await run(lambda: list(org.invitations())) == []
    assert "ada" in [m.login for m in await run(lambda: list(org.get_members()))]


async def test_unknown_user_is_404(gh: Github, run: Callable[..., Any]) -> None:
    """GET /users/{login} for an unknown login answers 404."""
    with pytest.raises(UnknownObjectException):
        await run(gh.get_user, "nobody-here")


@pytest.fixture
def world() -> GitHubWorld:
    w = GitHubWorld()
    w.limits.repo_invitations_per_day = 2
    w.limits.org_invitations_per_day_free = 1
    return w


async def test_repo_invitation_limit_per_24h(
    gh: Github, run: Callable[..., Any], clock: ManualClock
) -> None:
    """Repo invitations stop at the daily limit and resume 24 hours later."""
    repo = await run(
        (await run(gh.get_organization, "demo-university")).create_repo, "inv", auto_init=True
    )
    await run(repo.add_to_collaborators, "ada", "push")
    await run(repo.add_to_collaborators, "grace", "push")
    with pytest.raises(GithubException) as err:
        await run(repo.add_to_collaborators, "bob-b", "push")
    assert err.value.status == 422
    assert [i.invitee.login for i in await run(lambda: list(repo.get_pending_invitations()))] == [
        "ada",
        "grace",
    ]
    clock.advance(24 * 3600 + 1)
    await run(repo.add_to_collaborators, "bob-b", "push")


async def test_org_invitation_limit_on_free_plan(gh: Github, run: Callable[..., Any]) -> None:
    """A Free org's daily org-invitation limit also caps pending team memberships."""
    org = await run(gh.get_organization, "demo-free")
    team = await run(org.create_team, "T")
    await run(team.add_membership, await run(gh.get_user, "ada"), "member")
    with pytest.raises(GithubException) as err:
        await run(team.add_membership, await run(gh.get_user, "grace"), "member")
    assert err.value.status == 422


async def test_repo_by_id_survives_a_rename(gh: Github, run: Callable[..., Any]) -> None:
    """GET /repositories/{id} finds a repo after it was renamed."""
    org = await run(gh.get_organization, "demo-university")
    repo = await run(org.create_repo, "old", auto_init=True)
    await run(repo.edit, name="new")
    assert (await run(gh.get_repo, repo.id)).full_name == "demo-university/new"


async def test_org_membership_put_invites_non_members(
    http: aiohttp.ClientSession,
) -> None:
    """PUT org membership for a non-member is pending; for a member it changes the role."""
    path = "/api/v3/orgs/demo-university/memberships/"
    async with http.put(path + "carol-c", json={"role": "member"}) as resp:
        assert (await resp.json())["state"] == "pending"
    async with http.get(path + "demo-admin") as resp:
        assert (await resp.json())["role"] == "admin"
    async with http.get(path + "dave-d") as resp:
        assert resp.status == 404


async def test_unknown_api_path_is_github_404(http: aiohttp.ClientSession) -> None:
    """A path the emulator does not serve answers GitHub's JSON 404 with rate headers."""
    async with http.get("/api/v3/no/such/endpoint") as resp:
        assert resp.status == 404
        assert (await resp.json())["message"] == "Not Found"
        assert "x-ratelimit-remaining" in resp.headers


async def test_accepting_a_repo_invitation_makes_a_collaborator(
    gh: Github, run: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    """After the invitee accepts, a repeated collaborator PUT is a 204 with nothing pending."""
    org = await run(gh.get_organization, "demo-university")
    repo = await run(org.create_repo, "collab", auto_init=True)
    assert (await run(repo.add_to_collaborators, "ada", "push")) is not None
    url = "/_sandbox/github/repos/demo-university/collab/invitations/ada/accept"
    async with http.post(url) as resp:
        assert resp.status == 200
    assert (await run(repo.add_to_collaborators, "ada", "push")) is None
    assert await run(lambda: list(repo.get_pending_invitations())) == []
