"""Single steps against the sandbox: ownership, lab repositories, lost answers, acceptance."""

from __future__ import annotations

import aiohttp
import pytest

from clients.github.gateway import PyGithubGateway
from provisioning.courses.spec import parse_course
from provisioning.errors import PlatformError, StepFailedError
from provisioning.github.seeding import blob_sha, render_seed_files
from provisioning.step import StepResult
from sandbox.core.faults import FaultKind, FaultRule
from sandbox.server import SandboxServer
from tests.github.harness import MUTATING, github_steps, run_all, run_step
from tests.provisioning.examples import lab_course, lecture_course

ORG = "demo-university"


async def test_a_foreign_repo_with_our_name_is_not_adopted(gateway: PyGithubGateway) -> None:
    """A repository with the planned name but without our marker stops the step."""
    await gateway.create_repo(ORG, "cs101-2027-spring", description="someone's", private=True)
    spec = parse_course(lecture_course())
    step = next(s for s in github_steps(spec) if s.key == "github.repo:lecture")
    with pytest.raises(StepFailedError, match="exists and is not ours: rename it or delete it"):
        await run_step(gateway, spec, step, {})


async def test_lab_repositories_belong_to_their_group(gateway: PyGithubGateway) -> None:
    """Each lab group's repository is seeded for that group and pushable by its team only."""
    spec = parse_course(lab_course(groups=2))
    results: dict[str, StepResult] = {}
    for step in github_steps(spec):
        if step.kind != "github.invite":  # the example's students are not sandbox users
            await run_step(gateway, spec, step, results)
    for group in ("lab-01", "lab-02"):
        name = f"cs201-2027-fall-{group}"
        assert (
            await gateway.get_team_repo_permission(ORG, f"cs201-2027-fall-{group}", ORG, name)
            == "push"
        )
        other = "lab-02" if group == "lab-01" else "lab-01"
        assert (
            await gateway.get_team_repo_permission(ORG, f"cs201-2027-fall-{other}", ORG, name)
            is None
        )
        readme = render_seed_files(spec, repo=name, group=group)["README.md"]
        assert f"lab group `{group}`".encode() in readme
        assert results[f"github.seed:{group}"].facts["files"]["README.md"] == blob_sha(readme)
        branch = await gateway.get_branch(ORG, name, "main")
        assert branch is not None
        tree = {e.path: e.sha for e in await gateway.get_tree(ORG, name, branch.tree_sha)}
        assert tree["README.md"] == blob_sha(readme)


async def test_team_create_applied_then_failed_ends_in_one_team(
    sandbox: SandboxServer, gateway: PyGithubGateway
) -> None:
    """A team create whose answer is lost is found by slug and adopted."""
    sandbox.faults.add(
        FaultRule(
            kind=FaultKind.APPLY_THEN_FAIL,
            platform="github",
            method="POST",
            path=f"/orgs/{ORG}/teams",
            count=1,
            status=502,
        )
    )
    spec = parse_course(lecture_course())
    step = next(s for s in github_steps(spec) if s.key == "github.team:students")
    result = await run_step(gateway, spec, step, {})
    team = await gateway.get_team(ORG, "cs101-2027-spring-students")
    assert team is not None
    assert result.external_id == str(team.id)


async def test_seed_commit_lost_then_retried_lands_once(
    sandbox: SandboxServer, gateway: PyGithubGateway
) -> None:
    """A lost commit answer fails the attempt; the retry writes the same commit and moves main."""
    spec = parse_course(lecture_course())
    steps = {s.key: s for s in github_steps(spec)}
    results: dict[str, StepResult] = {}
    await run_step(gateway, spec, steps["github.repo:lecture"], results)
    sandbox.faults.add(
        FaultRule(
            kind=FaultKind.APPLY_THEN_FAIL,
            platform="github",
            method="POST",
            path="/repos/*/git/commits",
            count=1,
            status=502,
        )
    )
    with pytest.raises(PlatformError) as info:
        await run_step(gateway, spec, steps["github.seed:lecture"], results)
    assert info.value.retryable
    seeded = await run_step(gateway, spec, steps["github.seed:lecture"], results, attempt=2)
    commits = sandbox.journal.query(method="POST", path_contains="/git/commits", platform="github")
    assert len(commits) == 2
    branch = await gateway.get_branch(ORG, "cs101-2027-spring", "main")
    assert branch is not None
    assert branch.head_sha == seeded.external_id


async def test_accepted_invitation_turns_pending_into_active_without_writes(
    sandbox: SandboxServer, gateway: PyGithubGateway
) -> None:
    """After a student accepts, a re-run reads the membership as active and writes nothing."""
    spec = parse_course(lecture_course())
    results = await run_all(gateway, spec)
    key = "github.invite:students:bob-b"
    assert results[key].facts["state"] == "pending"
    async with aiohttp.ClientSession(headers=sandbox.control_headers) as http:
        url = f"{sandbox.base_url}/_sandbox/github/orgs/{ORG}/invitations/bob-b/accept"
        async with http.post(url) as answer:
            assert answer.status == 200
    cursor = sandbox.journal.cursor()
    step = next(s for s in github_steps(spec) if s.key == key)
    again = await run_step(gateway, spec, step, results)
    assert again.facts["state"] == "active"
    after = sandbox.journal.query(since=cursor, platform="github")
    assert [e.method for e in after if e.method in MUTATING] == []
