"""Pull requests between branches, and classic branch protection enforced on direct writes."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp

from sandbox.server import SandboxServer

API = "/api/v3"
REPO = f"{API}/repos/demo-university/lab"
CONTROL = "/_sandbox/github"
PROTECTION = {
    "required_status_checks": None,
    "enforce_admins": False,
    "restrictions": None,
    "required_pull_request_reviews": {"required_approving_review_count": 1},
}


async def _json(resp: aiohttp.ClientResponse) -> Any:
    return await resp.json()


async def _repo_with_branch(http: aiohttp.ClientSession) -> str:
    """A repository with `main` and a branch `topic` one commit ahead; returns topic's sha."""
    async with http.post(
        f"{API}/orgs/demo-university/repos", json={"name": "lab", "auto_init": True}
    ):
        pass
    async with http.get(f"{REPO}/git/ref/heads/main") as resp:
        main = (await _json(resp))["object"]["sha"]
    async with http.post(f"{REPO}/git/refs", json={"ref": "refs/heads/topic", "sha": main}):
        pass
    content = base64.b64encode(b"topic\n").decode()
    body = {"message": "topic", "content": content, "branch": "topic"}
    async with http.put(f"{REPO}/contents/topic.md", json=body) as resp:
        assert resp.status == 201
        return str((await _json(resp))["commit"]["sha"])


async def _stranger(server: SandboxServer) -> aiohttp.ClientSession:
    """A session for `mallory`, a user with a token who owns nothing in the organization."""
    async with aiohttp.ClientSession(server.base_url, headers=server.control_headers) as control:
        body = {"login": "mallory", "token": "mallory-token"}
        async with control.post(f"{CONTROL}/users", json=body) as resp:
            assert resp.status == 201
    headers = {"Authorization": "token mallory-token"}
    return aiohttp.ClientSession(server.base_url, headers=headers)


async def test_protected_branch_refuses_a_direct_ref_update_with_422(
    server: SandboxServer, http: aiohttp.ClientSession
) -> None:
    """With required reviews on main, a ref update and a contents write by an actor without
    bypass get 422 "Protected branch update failed"; main does not move."""
    topic = await _repo_with_branch(http)
    async with http.put(f"{REPO}/branches/main/protection", json=PROTECTION) as resp:
        assert resp.status == 200
    async with http.get(f"{REPO}/git/ref/heads/main") as resp:
        before = (await _json(resp))["object"]["sha"]
    async with await _stranger(server) as mallory:
        patch = {"sha": topic, "force": False}
        async with mallory.patch(f"{REPO}/git/refs/heads/main", json=patch) as resp:
            assert resp.status == 422
            assert (await _json(resp))["message"] == (
                "Protected branch update failed for refs/heads/main."
            )
        body = {"message": "x", "content": base64.b64encode(b"x").decode(), "branch": "main"}
        async with mallory.put(f"{REPO}/contents/x.md", json=body) as resp:
            assert resp.status == 422
            assert (await _json(resp))["message"].startswith("Protected branch update failed")
        # An unprotected branch takes the same writes.
        body["branch"] = "topic"
        async with mallory.put(f"{REPO}/contents/x.md", json=body) as resp:
            assert resp.status == 201
    async with http.get(f"{REPO}/git/ref/heads/main") as resp:
        assert (await _json(resp))["object"]["sha"] == before


async def test_org_owner_bypasses_unless_admins_are_enforced(
    http: aiohttp.ClientSession,
) -> None:
    """An org owner may update a branch with required reviews while `enforce_admins` is off;
    with it on, the owner is refused too."""
    topic = await _repo_with_branch(http)
    enforced = PROTECTION | {"enforce_admins": True}
    async with http.put(f"{REPO}/branches/main/protection", json=enforced):
        pass
    patch = {"sha": topic, "force": False}
    async with http.patch(f"{REPO}/git/refs/heads/main", json=patch) as resp:
        assert resp.status == 422
    async with http.put(f"{REPO}/branches/main/protection", json=PROTECTION):
        pass
    async with http.patch(f"{REPO}/git/refs/heads/main", json=patch) as resp:
        assert resp.status == 200


async def test_pull_request_create_list_update_and_duplicate(
    http: aiohttp.ClientSession,
) -> None:
    """A pull request from a branch is created (201), found by `head=owner:branch`, updated,
    and a second one for the same head gets 422 "A pull request already exists"."""
    await _repo_with_branch(http)
    body = {"title": "Topic", "head": "topic", "base": "main", "body": "Please review"}
    async with http.post(f"{REPO}/pulls", json=body) as resp:
        assert resp.status == 201
        created = await _json(resp)
    assert created["number"] == 1
    assert created["state"] == "open"
    assert created["head"]["label"] == "demo-university:topic"
    assert created["commits"] == 1
    assert created["changed_files"] == 1
    async with http.post(f"{REPO}/pulls", json=body) as resp:
        assert resp.status == 422
        errors = (await _json(resp))["errors"]
    assert errors[0]["message"] == "A pull request already exists for demo-university:topic."
    query = {"head": "demo-university:topic", "state": "open"}
    async with http.get(f"{REPO}/pulls", params=query) as resp:
        assert [p["number"] for p in await _json(resp)] == [1]
    async with http.get(f"{REPO}/pulls", params={"head": "demo-university:other"}) as resp:
        assert await _json(resp) == []
    async with http.patch(f"{REPO}/pulls/1", json={"title": "Topic, again"}) as resp:
        assert (await _json(resp))["title"] == "Topic, again"
    async with http.patch(f"{REPO}/pulls/1", json={"state": "closed"}) as resp:
        assert (await _json(resp))["state"] == "closed"
    async with http.get(f"{REPO}/pulls", params=query) as resp:
        assert await _json(resp) == []
    async with http.get(f"{REPO}/pulls/1") as resp:
        assert (await _json(resp))["merged"] is False


async def test_people_edit_and_merge_through_the_control_api(
    server: SandboxServer, http: aiohttp.ClientSession
) -> None:
    """The control API acts as a person: an org owner edits protected main (bypass), a
    stranger is refused, and a reviewer's merge three-way merges the pull request."""
    await _repo_with_branch(http)
    async with http.put(f"{REPO}/branches/main/protection", json=PROTECTION):
        pass
    body = {"title": "Topic", "head": "topic", "base": "main"}
    async with http.post(f"{REPO}/pulls", json=body) as resp:
        number = (await _json(resp))["number"]
    edit = f"{CONTROL}/repos/demo-university/lab/contents/notes.md"
    async with aiohttp.ClientSession(server.base_url, headers=server.control_headers) as control:
        async with control.post(f"{CONTROL}/users", json={"login": "mallory"}):
            pass
        async with control.post(edit, json={"login": "mallory", "content": "no\n"}) as resp:
            assert resp.status == 422
        async with control.post(edit, json={"login": "demo-admin", "content": "mine\n"}) as resp:
            assert resp.status == 201
        merge = f"{CONTROL}/repos/demo-university/lab/pulls/{number}/merge"
        async with control.post(merge, json={"login": "demo-admin"}) as resp:
            assert resp.status == 200
    for path, text in (("notes.md", "mine\n"), ("topic.md", "topic\n")):
        async with http.get(f"{REPO}/contents/{path}") as resp:
            assert base64.b64decode((await _json(resp))["content"]).decode() == text
    async with http.get(f"{REPO}/pulls/{number}") as resp:
        merged = await _json(resp)
    assert merged["merged"] is True
    assert merged["state"] == "closed"
