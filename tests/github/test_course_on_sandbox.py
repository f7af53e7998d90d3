"""A course's GitHub steps against the sandbox: what they make, and that a re-run writes nothing."""

from __future__ import annotations

import pytest

from clients.github.gateway import PyGithubGateway
from provisioning.courses.spec import parse_course
from provisioning.errors import ActionRequiredError
from provisioning.github.seeding import blob_sha, render_seed_files
from provisioning.github.steps.protection import desired
from provisioning.step import MARKER_TOPIC, StepResult
from sandbox.server import SandboxServer
from tests.github.harness import MUTATING, ListSink, github_steps, run_all, run_step
from tests.provisioning.examples import lecture_course

ORG = "demo-university"
REPO = "cs101-2027-spring"
PREFIX = "/api/v3"


def _journal(sandbox: SandboxServer, since: int = 0) -> list[tuple[str, str, int | None]]:
    return [
        (e.method, e.path.removeprefix(PREFIX), e.status)
        for e in sandbox.journal.query(since=since, platform="github", limit=100_000)
    ]


def _cursor(sandbox: SandboxServer) -> int:
    return sandbox.journal.cursor()  # not the last entry's: see `Journal.settled`


async def test_lecture_course_is_provisioned_as_specified(
    sandbox: SandboxServer, gateway: PyGithubGateway
) -> None:
    """One private marked repo, one seed commit with five files, protection, teams, invites."""
    spec = parse_course(lecture_course())
    results = await run_all(gateway, spec)

    repo = await gateway.get_repo(ORG, REPO)
    assert repo is not None
    assert repo.private
    assert str(repo.id) == results["github.repo:lecture"].external_id
    assert MARKER_TOPIC in await gateway.get_topics(ORG, REPO)

    branch = await gateway.get_branch(ORG, REPO, repo.default_branch)
    assert branch is not None
    assert branch.head_sha == results["github.seed:lecture"].external_id
    tree = {e.path: e.sha for e in await gateway.get_tree(ORG, REPO, branch.tree_sha)}
    for path, data in render_seed_files(spec, repo=REPO, group=None).items():
        assert tree[path] == blob_sha(data), path
    commits = [e for e in _journal(sandbox) if e[0] == "POST" and e[1].endswith("/git/commits")]
    assert len(commits) == 1

    protection = await gateway.get_branch_protection(ORG, REPO, repo.default_branch)
    assert protection == desired(1)

    slug = "cs101-2027-spring"
    for team, permission in [("instructors", "admin"), ("tas", "maintain"), ("students", "push")]:
        got = await gateway.get_team_repo_permission(ORG, f"{slug}-{team}", ORG, REPO)
        assert got == permission, team

    invites = {k: r for k, r in results.items() if k.startswith("github.invite:")}
    assert set(invites) == {
        "github.invite:instructors:ada",
        "github.invite:tas:grace",
        "github.invite:students:bob-b",
        "github.invite:students:carol-c",
        "github.invite:students:dave-d",
    }
    # Nobody but the sandbox's admin is an org member yet: every membership waits.
    assert {r.facts["state"] for r in invites.values()} == {"pending"}


async def test_rerun_of_a_finished_course_makes_no_writes(
    sandbox: SandboxServer, gateway: PyGithubGateway
) -> None:
    """Running every step again with the stored results sends only GETs."""
    spec = parse_course(lecture_course())
    results = await run_all(gateway, spec)
    first = dict(results)
    cursor = _cursor(sandbox)
    again = await run_all(gateway, spec, dict(results))
    rerun = _journal(sandbox, since=cursor)
    assert rerun
    assert [e for e in rerun if e[0] in MUTATING] == []
    assert {k: r.external_id for k, r in again.items()} == {
        k: r.external_id for k, r in first.items()
    }


async def test_audit_rows_match_the_sandbox_log(
    sandbox: SandboxServer, gateway: PyGithubGateway, sink: ListSink
) -> None:
    """Every HTTP request is one audit row, in order, with the step that made it."""
    spec = parse_course(lecture_course())
    await run_all(gateway, spec)
    rows = [(x.method, x.path, x.status) for x, _ in sink.rows]
    assert rows == _journal(sandbox)
    journal_ids = [e.request_id for e in sandbox.journal.query(platform="github", limit=100_000)]
    assert [x.request_id for x, _ in sink.rows] == journal_ids
    assert all(ctx.step_key and ctx.step_key.startswith("github.") for _, ctx in sink.rows)
    assert all("sandbox-github-token" not in repr(x) for x, _ in sink.rows)
    creates = [x for x, _ in sink.rows if x.method == "POST" and x.path == f"/orgs/{ORG}/repos"]
    assert len(creates) == 1
    assert creates[0].external_id is not None
    assert creates[0].request_summary["body"]["name"] == REPO


async def test_free_plan_org_needs_an_upgrade(gateway: PyGithubGateway) -> None:
    """Protection on a Free org's private repo waits for a person: github.plan."""
    data = lecture_course()
    data["github_org"] = "demo-free"
    spec = parse_course(data)
    results: dict[str, StepResult] = {}
    steps = github_steps(spec)
    protection = steps.index(next(s for s in steps if s.kind == "github.protection"))
    for step in steps[:protection]:
        await run_step(gateway, spec, step, results)
    with pytest.raises(ActionRequiredError) as info:
        await run_step(gateway, spec, steps[protection], results)
    assert info.value.reason == "github.plan"
    assert "GitHub Team" in info.value.message
    assert "GitHub Education" in info.value.message


async def test_unknown_login_asks_to_fix_the_roster(gateway: PyGithubGateway) -> None:
    """A login GitHub does not know waits for a person: github.unknown_login, naming both."""
    data = lecture_course()
    data["students"].append({"name": "Erin Example", "github": "no-such-user-42"})
    spec = parse_course(data)
    results: dict[str, StepResult] = {}
    for step in github_steps(spec):
        if step.kind == "github.team":
            await run_step(gateway, spec, step, results)
    unknown = next(s for s in github_steps(spec) if s.key.endswith(":no-such-user-42"))
    with pytest.raises(ActionRequiredError) as info:
        await run_step(gateway, spec, unknown, results)
    assert info.value.reason == "github.unknown_login"
    assert "no-such-user-42" in info.value.message
    assert "Erin Example" in info.value.message
    assert "roster" in info.value.message
