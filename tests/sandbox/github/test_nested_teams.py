"""Nested teams: `parent` in answers, PATCH, inherited access, and the team-repository check."""

from __future__ import annotations

from typing import Any

import aiohttp

from sandbox.console.github_view import find_repo, organizations
from sandbox.github import GitHubSandbox
from sandbox.server import SandboxServer
from tests.sandbox.github.contract import response_errors

API = "/api/v3"
ORG = "demo-university"
TEAMS = f"{API}/orgs/{ORG}/teams"
REPO_MEDIA = {"Accept": "application/vnd.github.v3.repository+json"}


async def call(
    http: aiohttp.ClientSession, method: str, path: str, **kwargs: Any
) -> tuple[int, Any]:
    async with http.request(method, path, **kwargs) as resp:
        text = await resp.text()
        return resp.status, (await resp.json()) if text else None


async def make_team(http: aiohttp.ClientSession, name: str, **fields: Any) -> dict[str, Any]:
    status, team = await call(http, "POST", TEAMS, json={"name": name, **fields})
    assert status == 201, team
    assert response_errors("POST", f"/orgs/{ORG}/teams", 201, team) == []
    return dict(team)


async def make_repo(http: aiohttp.ClientSession, name: str) -> None:
    status, _ = await call(
        http, "POST", f"{API}/orgs/{ORG}/repos", json={"name": name, "auto_init": True}
    )
    assert status == 201


async def test_child_team_has_parent_in_answers(http: aiohttp.ClientSession) -> None:
    """`parent_team_id` is stored; create, get and list answer the parent, as GitHub does."""
    students = await make_team(http, "Students", privacy="closed")
    assert students["parent"] is None
    lab = await make_team(http, "Lab 01", parent_team_id=students["id"])
    assert lab["parent"]["id"] == students["id"]
    assert lab["parent"]["slug"] == "students"
    assert lab["privacy"] == "closed"  # the default for a child team
    status, got = await call(http, "GET", f"{TEAMS}/lab-01")
    assert status == 200
    assert got["parent"]["id"] == students["id"]
    assert response_errors("GET", f"/orgs/{ORG}/teams/lab-01", 200, got) == []
    _, listed = await call(http, "GET", TEAMS)
    parents = {t["slug"]: (t["parent"] or {}).get("slug") for t in listed}
    assert parents == {"lab-01": "students", "students": None}
    assert response_errors("GET", f"/orgs/{ORG}/teams", 200, listed) == []


async def test_unknown_or_secret_parent_is_refused(http: aiohttp.ClientSession) -> None:
    """A parent that is no team of the org, a secret parent or a secret child answer 422."""
    status, body = await call(http, "POST", TEAMS, json={"name": "A", "parent_team_id": 1})
    assert (status, body["errors"][0]["field"]) == (422, "parent_team_id")
    secret = await make_team(http, "Hidden", privacy="secret")
    status, _ = await call(http, "POST", TEAMS, json={"name": "B", "parent_team_id": secret["id"]})
    assert status == 422
    closed = await make_team(http, "Open", privacy="closed")
    status, body = await call(
        http, "POST", TEAMS, json={"name": "C", "parent_team_id": closed["id"], "privacy": "secret"}
    )
    assert (status, body["errors"][0]["field"]) == (422, "privacy")


async def test_patch_changes_name_description_privacy_and_parent(
    http: aiohttp.ClientSession,
) -> None:
    """PATCH renames (new slug), edits, moves under a parent and back; no cycles."""
    top = await make_team(http, "Staff", privacy="closed")
    team = await make_team(http, "TAs", privacy="closed")
    change = {"name": "Teaching Assistants", "description": "d", "parent_team_id": top["id"]}
    status, got = await call(http, "PATCH", f"{TEAMS}/tas", json=change)
    assert status == 200, got
    assert response_errors("PATCH", f"/orgs/{ORG}/teams/tas", 200, got) == []
    assert (got["id"], got["slug"], got["description"]) == (
        team["id"],
        "teaching-assistants",
        "d",
    )
    assert got["parent"]["id"] == top["id"]
    assert (await call(http, "GET", f"{TEAMS}/tas"))[0] == 404
    status, body = await call(http, "PATCH", f"{TEAMS}/staff", json={"parent_team_id": team["id"]})
    assert (status, body["errors"][0]["field"]) == (422, "parent_team_id")
    status, _ = await call(http, "PATCH", f"{TEAMS}/staff", json={"privacy": "secret"})
    assert status == 422  # a parent cannot be secret
    status, got = await call(
        http, "PATCH", f"{TEAMS}/teaching-assistants", json={"parent_team_id": None}
    )
    assert (status, got["parent"]) == (200, None)
    status, got = await call(http, "PATCH", f"{TEAMS}/staff", json={"privacy": "secret"})
    assert (status, got["privacy"]) == (200, "secret")
    await make_team(http, "Other")
    status, _ = await call(http, "PATCH", f"{TEAMS}/other", json={"name": "STAFF"})
    assert status == 422  # names stay unique


async def test_team_repo_check_answers_204_200_or_404(http: aiohttp.ClientSession) -> None:
    """GET …/teams/{slug}/repos/{o}/{r}: 204, 200 with permissions for the repository media
    type, 404 without access; DELETE removes the team's grant."""
    await make_repo(http, "lecture")
    await make_team(http, "Students", privacy="closed")
    path = f"{TEAMS}/students/repos/{ORG}/lecture"
    spec_path = f"/orgs/{ORG}/teams/students/repos/{ORG}/lecture"
    assert (await call(http, "GET", path))[0] == 404
    assert (await call(http, "PUT", path, json={"permission": "push"}))[0] == 204
    assert await call(http, "GET", path) == (204, None)
    status, repo = await call(http, "GET", path, headers=REPO_MEDIA)
    assert status == 200
    assert response_errors("GET", spec_path, 200, repo) == []
    assert repo["full_name"] == f"{ORG}/lecture"
    assert repo["role_name"] == "push"
    assert repo["permissions"] == {
        "pull": True,
        "triage": True,
        "push": True,
        "maintain": False,
        "admin": False,
    }
    assert await call(http, "DELETE", path) == (204, None)
    assert (await call(http, "GET", path))[0] == 404
    assert (await call(http, "GET", f"{TEAMS}/students/repos/{ORG}/nope"))[0] == 404


async def test_child_team_inherits_parent_access(
    http: aiohttp.ClientSession, server: SandboxServer, github_sandbox: GitHubSandbox
) -> None:
    """A child team's check answers the parent's grant; its members show it in the overview."""
    await make_repo(http, "lecture")
    students = await make_team(http, "Students", privacy="closed")
    await make_team(http, "Lab 01", parent_team_id=students["id"])
    student_grant = f"{TEAMS}/students/repos/{ORG}/lecture"
    assert (await call(http, "PUT", student_grant, json={"permission": "pull"}))[0] == 204
    # demo-admin is an org member, so the membership is active at once.
    status, _ = await call(
        http, "PUT", f"{TEAMS}/lab-01/memberships/demo-admin", json={"role": "member"}
    )
    assert status == 200
    child_check = f"{TEAMS}/lab-01/repos/{ORG}/lecture"
    status, repo = await call(http, "GET", child_check, headers=REPO_MEDIA)
    assert (status, repo["role_name"]) == (200, "pull")
    # A stronger grant of the child's own wins over the inherited one.
    assert (await call(http, "PUT", child_check, json={"permission": "push"}))[0] == 204
    status, repo = await call(http, "GET", child_check, headers=REPO_MEDIA)
    assert repo["role_name"] == "push"
    # Removing the child's own grant leaves the inherited one in place.
    assert (await call(http, "DELETE", child_check))[0] == 204
    assert (await call(http, "GET", child_check))[0] == 204
    lecture = find_repo(github_sandbox.ctx, ORG, "lecture")
    assert lecture is not None
    assert "demo-admin (pull via students)" in lecture.people
    [org] = [o for o in organizations(github_sandbox.ctx) if o.login == ORG]
    [lab] = [t for t in org.teams if t.slug == "lab-01"]
    assert f"{ORG.lower()}/lecture (pull, from students)" in lab.repos
    # Without a parent, the child loses the access.
    await call(http, "PATCH", f"{TEAMS}/lab-01", json={"parent_team_id": None})
    assert (await call(http, "GET", child_check))[0] == 404
    lecture = find_repo(github_sandbox.ctx, ORG, "lecture")
    assert lecture is not None
    assert not [p for p in lecture.people if p.startswith("demo-admin (pull via")]
