"""After the first seeding, course changes reach a repository only as a pull request.

An instructor edits `syllabus.md` on the protected default branch (through the sandbox's
control API, as an org owner with bypass); a title change then proposes the regenerated files
from our branch `course-bot/seed-update`, and the default branch keeps their syllabus.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import aiohttp
import pytest

from clients.github.gateway import PyGithubGateway, TokenCredentials
from provisioning.clock import SystemClock
from provisioning.courses.spec import CourseSpec, parse_course
from provisioning.errors import PlatformError
from provisioning.github.gateway import GitHubGateway
from provisioning.github.seeding import SEED_UPDATE_BRANCH, blob_sha, render_seed_files
from provisioning.governor import GovernorLimits, RateGovernor
from provisioning.step import StepResult
from sandbox.server import SandboxServer
from tests.github.harness import MUTATING, ListSink, github_steps, run_all, run_step
from tests.provisioning.examples import lecture_course

ORG = "demo-university"
REPO = "cs101-2027-spring"
KEY = "github.seed:lecture"
# The instructor edits as an owner of the organization, who bypasses the review rule.
OWNER = "demo-admin"
EDITED = "# Syllabus\n\nWeek 1 moved to Thursday. -- Ada\n"


def _spec(**changes: Any) -> CourseSpec:
    return parse_course(lecture_course() | changes)


def _cursor(sandbox: SandboxServer) -> int:
    return sandbox.journal.cursor()  # not the last entry's: see `Journal.settled`


def _writes(sandbox: SandboxServer, since: int) -> list[tuple[str, str]]:
    return [
        (e.method, e.path.removeprefix("/api/v3"))
        for e in sandbox.journal.query(since=since, platform="github", limit=100_000)
        if e.method in MUTATING
    ]


async def _control(sandbox: SandboxServer, path: str, body: dict[str, Any]) -> Any:
    async with (
        aiohttp.ClientSession(sandbox.base_url, headers=sandbox.control_headers) as http,
        http.post(f"/_sandbox/github/repos/{ORG}/{REPO}/{path}", json=body) as resp,
    ):
        assert resp.status < 300, await resp.text()
        return await resp.json()


async def _file(sandbox: SandboxServer, path: str, ref: str) -> str:
    headers = {"Authorization": "token sandbox-github-token"}
    url = f"/api/v3/repos/{ORG}/{REPO}/contents/{path}"
    async with (
        aiohttp.ClientSession(sandbox.base_url, headers=headers) as http,
        http.get(url, params={"ref": ref}) as resp,
    ):
        assert resp.status == 200
        return base64.b64decode((await resp.json())["content"]).decode()


async def _open_pulls(gateway: PyGithubGateway) -> list[int]:
    pulls = await gateway.list_pulls(ORG, REPO, head=SEED_UPDATE_BRANCH, state="open")
    return [p.number for p in pulls]


async def _seeded_and_edited(
    sandbox: SandboxServer, gateway: PyGithubGateway
) -> dict[str, StepResult]:
    """A provisioned lecture course whose instructor then edited syllabus.md on main."""
    results = await run_all(gateway, _spec())
    await _control(sandbox, "contents/syllabus.md", {"login": OWNER, "content": EDITED})
    return results


async def test_title_change_opens_a_pull_request_and_keeps_the_edited_syllabus(
    sandbox: SandboxServer, gateway: PyGithubGateway
) -> None:
    """After an instructor edits syllabus.md, a title change writes nothing to main: a pull
    request from our branch carries the regenerated files, syllabus.md flagged as edited."""
    results = await _seeded_and_edited(sandbox, gateway)
    main_before = await gateway.get_branch(ORG, REPO, "main")
    assert main_before is not None
    cursor = _cursor(sandbox)

    spec = _spec(title="Programming in Practice")
    results = await run_all(gateway, spec, results)

    main = await gateway.get_branch(ORG, REPO, "main")
    assert main is not None
    assert main.head_sha == main_before.head_sha
    assert await _file(sandbox, "syllabus.md", "main") == EDITED
    writes = _writes(sandbox, cursor)
    assert not [w for w in writes if w[1].endswith("/git/refs/heads/main")]
    assert ("POST", f"/repos/{ORG}/{REPO}/pulls") in writes
    pulls = await gateway.list_pulls(ORG, REPO, head=SEED_UPDATE_BRANCH, state="open")
    assert len(pulls) == 1
    assert pulls[0].base_ref == "main"
    assert "`syllabus.md` (changed on `main`" in (pulls[0].body or "")
    for path, data in render_seed_files(spec, repo=REPO, group=None).items():
        assert await _file(sandbox, path, SEED_UPDATE_BRANCH) == data.decode(), path
    facts = results[KEY].facts
    assert facts["pull"] == pulls[0].number
    assert set(facts["proposed"]) == set(render_seed_files(spec, repo=REPO, group=None))


async def test_rerun_after_the_pull_request_makes_zero_writes(
    sandbox: SandboxServer, gateway: PyGithubGateway
) -> None:
    """With the proposal open and up to date, running every GitHub step again writes nothing,
    and so does a run after the facts are lost (the branch and pull request are re-read)."""
    results = await _seeded_and_edited(sandbox, gateway)
    spec = _spec(title="Programming in Practice")
    results = await run_all(gateway, spec, results)
    cursor = _cursor(sandbox)
    results = await run_all(gateway, spec, results)
    assert _writes(sandbox, cursor) == []
    # Facts of an older product version: no `proposed`, so the proposal is verified anew.
    old = results[KEY]
    results[KEY] = StepResult(old.external_id, {**old.facts, "proposed": {}, "pull": None})
    await run_all(gateway, spec, results)
    assert _writes(sandbox, cursor) == []
    assert results[KEY].facts["pull"] == old.facts["pull"]


async def test_second_change_updates_the_same_pull_request(
    sandbox: SandboxServer, gateway: PyGithubGateway
) -> None:
    """A further change of the description adds one commit on our branch (a fast-forward) and
    updates the same pull request; no second pull request is opened."""
    results = await _seeded_and_edited(sandbox, gateway)
    results = await run_all(gateway, _spec(title="Programming in Practice"), results)
    first = await gateway.get_branch(ORG, REPO, SEED_UPDATE_BRANCH)
    assert first is not None
    number = results[KEY].facts["pull"]
    cursor = _cursor(sandbox)

    spec = _spec(title="Programming, Really")
    results = await run_all(gateway, spec, results)

    assert await _open_pulls(gateway) == [number]
    writes = _writes(sandbox, cursor)
    assert ("PATCH", f"/repos/{ORG}/{REPO}/git/refs/heads/{SEED_UPDATE_BRANCH}") in writes
    assert ("POST", f"/repos/{ORG}/{REPO}/pulls") not in writes
    readme = render_seed_files(spec, repo=REPO, group=None)["README.md"].decode()
    assert await _file(sandbox, "README.md", SEED_UPDATE_BRANCH) == readme
    assert await _file(sandbox, "syllabus.md", "main") == EDITED
    async with (
        aiohttp.ClientSession(sandbox.base_url) as http,
        http.get(
            f"/api/v3/repos/{ORG}/{REPO}/pulls/{number}",
            headers={"Authorization": "token sandbox-github-token"},
        ) as resp,
    ):
        pull = await resp.json()
    assert pull["commits"] == 2


async def test_files_whose_rendering_did_not_change_are_not_proposed(
    sandbox: SandboxServer, gateway: PyGithubGateway
) -> None:
    """A staff name change re-renders README.md and syllabus.md only: the pull request carries
    those two, and CONTRIBUTING.md, which a person edited, is left as they made it."""
    results = await run_all(gateway, _spec())
    contributing = "# Contributing\n\nOur own rules.\n"
    await _control(sandbox, "contents/CONTRIBUTING.md", {"login": OWNER, "content": contributing})
    data = lecture_course()
    data["staff"][1]["name"] = "Grace B. Hopper"
    spec = parse_course(data)
    results = await run_all(gateway, spec, results)
    assert set(results[KEY].facts["proposed"]) == {"README.md", "syllabus.md"}
    assert await _file(sandbox, "CONTRIBUTING.md", "main") == contributing
    assert await _file(sandbox, "CONTRIBUTING.md", SEED_UPDATE_BRANCH) == contributing


async def test_merged_proposal_counts_as_seeded_and_a_new_change_starts_afresh(
    sandbox: SandboxServer, gateway: PyGithubGateway
) -> None:
    """A reviewer merges the pull request: a re-run writes nothing and records the files as
    seeded; the next change opens a new pull request from main as it is now."""
    results = await _seeded_and_edited(sandbox, gateway)
    spec = _spec(title="Programming in Practice")
    results = await run_all(gateway, spec, results)
    number = results[KEY].facts["pull"]
    await _control(sandbox, f"pulls/{number}/merge", {"login": OWNER})
    cursor = _cursor(sandbox)
    results = await run_all(gateway, spec, results)
    assert _writes(sandbox, cursor) == []
    rendered = render_seed_files(spec, repo=REPO, group=None)
    assert results[KEY].facts["files"] == {p: blob_sha(d) for p, d in rendered.items()}
    assert results[KEY].facts["pull"] is None

    results = await run_all(gateway, _spec(title="Programming, Again"), results)
    assert await _open_pulls(gateway) == [results[KEY].facts["pull"]]
    assert results[KEY].facts["pull"] != number
    assert await _file(sandbox, "syllabus.md", "main") == rendered["syllabus.md"].decode()


def test_no_gateway_method_deletes_a_repository() -> None:
    """The GitHub gateway, the only way the product reaches GitHub, offers no repository
    delete, nor the real client one: repositories are never deleted by the product."""
    for cls in (GitHubGateway, PyGithubGateway):
        names = [n for n in dir(cls) if not n.startswith("_")]
        # Removing a team's access or a membership is fine; removing the repository is not.
        assert not [n for n in names if re.fullmatch(r"(delete|remove)_repo(sitory)?\w*", n)]


async def test_the_proposal_needs_no_bypass_of_the_protection(
    sandbox: SandboxServer, gateway: PyGithubGateway
) -> None:
    """Run as an actor the protected main refuses (as GitHub refuses an App installation), a
    title change still succeeds: the seed step writes only to our branch and the pull request.
    The same actor's direct update of main gets 422, so an overwrite could not go unnoticed."""
    results = await _seeded_and_edited(sandbox, gateway)
    async with aiohttp.ClientSession(sandbox.base_url, headers=sandbox.control_headers) as http:
        body = {"login": "course-app", "token": "no-bypass-token"}
        async with http.post("/_sandbox/github/users", json=body) as resp:
            assert resp.status == 201
    governor = RateGovernor("github", GovernorLimits.github(scale=1e9), SystemClock())
    app = PyGithubGateway(
        base_url=sandbox.github_api_url,
        credentials=TokenCredentials("no-bypass-token"),
        governor=governor,
        sink=ListSink(),
        timeout_s=5,
    )
    try:
        spec = _spec(title="Programming in Practice")
        step = next(s for s in github_steps(spec) if s.key == KEY)
        result = await run_step(app, spec, step, results)
        assert result.facts["pull"] in await _open_pulls(app)
        ours = await app.get_branch(ORG, REPO, SEED_UPDATE_BRANCH)
        assert ours is not None
        with pytest.raises(PlatformError) as refused:
            await app.update_ref(ORG, REPO, "heads/main", ours.head_sha)
        assert refused.value.status == 422
        assert "Protected branch update failed" in refused.value.message
    finally:
        await app.aclose()
    assert await _file(sandbox, "syllabus.md", "main") == EDITED
