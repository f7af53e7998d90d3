"""Contract: every emulator answer (and what PyGithub sends) validates against GitHub's schemas."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
from github import Github, InputGitAuthor, InputGitTreeElement

from tests.sandbox.github.conftest import app_jwt
from tests.sandbox.github.contract import operation, request_errors, response_errors
from tests.sandbox.github.recorder import Recorder

# An App JWT's expiry the scenario's manual clock never reaches.
FAR_FUTURE = 4_000_000_000
AUTHOR = InputGitAuthor("Bot", "bot@example.edu", "2026-09-01T00:00:00Z")
RULESET = {
    "name": "course-default-branch",
    "target": "branch",
    "enforcement": "active",
    "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
    "rules": [
        {"type": "deletion"},
        {"type": "non_fast_forward"},
        {
            "type": "pull_request",
            "parameters": {
                "required_approving_review_count": 1,
                "dismiss_stale_reviews_on_push": True,
                "require_code_owner_review": False,
                "require_last_push_approval": False,
                "required_review_thread_resolution": False,
            },
        },
    ],
}


def pygithub_scenario(gh: Github) -> None:
    """Touch every emulated endpoint the way the provisioning code does."""
    gh.get_user().login  # noqa: B018 - forces the lazy GET /user
    gh.get_user("ada")
    org = gh.get_organization("demo-university")
    repo = org.create_repo("lab", private=True, auto_init=True, description="Lab")
    repo = gh.get_repo("demo-university/lab")
    repo.edit(description="Lab 1")
    repo.replace_topics(["course-bot"])
    repo.get_topics()
    ref = repo.get_git_ref("heads/main")
    head = repo.get_git_commit(ref.object.sha)
    tree = repo.get_git_tree(head.tree.sha, recursive=True)
    blob = repo.create_git_blob("hello", "utf-8")
    repo.get_git_blob(blob.sha)
    elements = [
        InputGitTreeElement("a/b.md", "100644", "blob", content="b"),
        InputGitTreeElement("c.md", "100644", "blob", sha=blob.sha),
        InputGitTreeElement("README.md", "100644", "blob", sha=None),
    ]
    new_tree = repo.create_git_tree(elements, base_tree=tree)
    commit = repo.create_git_commit("seed", new_tree, [head], author=AUTHOR, committer=AUTHOR)
    ref.edit(commit.sha, force=False)
    repo.create_git_ref("refs/heads/dev", commit.sha)
    repo.create_file("docs/x.md", "add", "x", branch="main")
    repo.get_contents("docs/x.md")
    repo.create_file("docs/y.md", "add", "y", branch="dev")
    pull = repo.create_pull(base="main", head="dev", title="Dev", body="Proposed")
    list(repo.get_pulls(state="open", head="demo-university:dev"))
    repo.get_pull(pull.number)
    pull.edit(title="Dev, updated", body="Proposed again")
    branch = repo.get_branch("main")
    branch.edit_protection(
        enforce_admins=True, required_approving_review_count=1, allow_force_pushes=False
    )
    branch.get_protection()
    team = org.create_team("Lab Team", privacy="closed")
    org.get_team_by_slug("lab-team")
    list(org.get_teams())
    team.add_membership(gh.get_user("ada"), "member")
    team.get_team_membership("ada")
    team.update_team_repository(repo, "push")
    list(team.get_repos())
    list(org.invitations())
    list(org.get_members())
    repo.add_to_collaborators("grace", "push")
    list(repo.get_pending_invitations())
    team.remove_membership(gh.get_user("ada"))
    branch.remove_protection()


async def raw_scenario(http: aiohttp.ClientSession) -> None:
    """Endpoints PyGithub has no method for (rulesets, rate limit)."""
    base = "/api/v3/repos/demo-university/lab/rulesets"
    async with http.post(base, json=RULESET) as resp:
        ruleset_id = (await resp.json())["id"]
    async with http.get(base):
        pass
    async with http.get(f"{base}/{ruleset_id}"):
        pass
    async with http.put(f"{base}/{ruleset_id}", json={"enforcement": "disabled"}):
        pass
    async with http.get("/api/v3/rate_limit"):
        pass
    async with http.get("/api/v3/users/demo-admin"):
        pass
    async with http.put(
        "/api/v3/orgs/demo-university/memberships/carol-c", json={"role": "member"}
    ):
        pass
    async with http.get("/api/v3/orgs/demo-university/memberships/demo-admin"):
        pass
    # Carol's pending invitation is cancelled (she was never a member).
    async with http.delete("/api/v3/orgs/demo-university/memberships/carol-c") as resp:
        assert resp.status == 204
    # Invited again, and this time cancelled by the invitation's id.
    async with http.put(
        "/api/v3/orgs/demo-university/memberships/carol-c", json={"role": "member"}
    ):
        pass
    async with http.get("/api/v3/orgs/demo-university/invitations") as resp:
        [invitation] = [i for i in await resp.json() if i["login"] == "carol-c"]
    path = f"/api/v3/orgs/demo-university/invitations/{invitation['id']}"
    async with http.delete(path) as resp:
        assert resp.status == 204
    await nested_team_scenario(http)
    await app_scenario(http)
    async with http.delete("/api/v3/repos/demo-university/lab"):
        pass


async def app_scenario(http: aiohttp.ClientSession) -> None:
    """The App's own routes, with its JWT: itself, its installation on an org (found, read by
    id suspended and not, suspended, unsuspended), and last its uninstall."""
    jwt = {"Authorization": f"Bearer {app_jwt(1, FAR_FUTURE)}"}
    async with http.get("/api/v3/app", headers=jwt) as resp:
        assert resp.status == 200
    async with http.get("/api/v3/orgs/demo-university/installation", headers=jwt) as resp:
        assert resp.status == 200
    installation = "/api/v3/app/installations/100"
    async with http.put(f"{installation}/suspended", headers=jwt) as resp:
        assert resp.status == 204
    async with http.get(installation, headers=jwt) as resp:
        assert (await resp.json())["suspended_at"] is not None
    async with http.delete(f"{installation}/suspended", headers=jwt) as resp:
        assert resp.status == 204
    async with http.get(installation, headers=jwt) as resp:
        assert (await resp.json())["suspended_by"] is None
    async with http.delete(installation, headers=jwt) as resp:
        assert resp.status == 204


async def nested_team_scenario(http: aiohttp.ClientSession) -> None:
    """A child team, its PATCH, and the team-repository check and removal."""
    teams = "/api/v3/orgs/demo-university/teams"
    async with http.get(f"{teams}/lab-team") as resp:
        parent_id = (await resp.json())["id"]
    child = {"name": "Lab 01", "parent_team_id": parent_id, "description": "group"}
    async with http.post(teams, json=child):
        pass
    async with http.patch(f"{teams}/lab-01", json={"name": "Lab One", "privacy": "closed"}):
        pass
    check = f"{teams}/lab-one/repos/demo-university/lab"
    async with http.get(check):
        pass
    async with http.get(check, headers={"Accept": "application/vnd.github.v3.repository+json"}):
        pass
    async with http.delete(f"{teams}/lab-team/repos/demo-university/lab"):
        pass


async def test_every_answer_matches_the_official_schemas(
    gh: Github, run: Callable[..., Any], http: aiohttp.ClientSession, recorder: Recorder
) -> None:
    """All success answers and request bodies of the scenario validate against the spec."""
    await run(pygithub_scenario, gh)
    await raw_scenario(http)
    problems = []
    covered = set()
    for ex in recorder.exchanges:
        assert ex.status < 400, (ex.method, ex.path, ex.status, ex.response)
        found = operation(ex.method, ex.path)
        if found:
            covered.add((ex.method.lower(), found[0]))
        for error in request_errors(ex.method, ex.path, ex.request):
            problems.append(f"request {ex.method} {ex.path}: {error}")
        for error in response_errors(ex.method, ex.path, ex.status, ex.response):
            problems.append(f"response {ex.method} {ex.path} {ex.status}: {error}")
    assert not problems, "\n".join(problems)
    from tests.sandbox.github.contract import spec

    documented = {(m, p) for p, ops in spec()["paths"].items() for m in ops}
    missing = (
        documented - covered - {("post", "/app/installations/{installation_id}/access_tokens")}
    )
    assert missing == set()
