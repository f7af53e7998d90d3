"""No one's work is lost: a course change after an instructor's edit becomes a pull request.

The product `bot.build` makes, with its database (SQLite and PostgreSQL) and runner, against the
sandbox: the lecture's repository is seeded, the instructor edits `syllabus.md` on the
protected default branch, and `CourseService.update` changes the title.
"""

from __future__ import annotations

from typing import Any

from provisioning.courses.spec import parse_course
from provisioning.github.seeding import SEED_UPDATE_BRANCH, render_seed_files
from sandbox.github import gitops
from sandbox.github.models import GitHubState
from sandbox.server import SandboxServer
from tests.e2e.harness import (
    MUTATING,
    ORG,
    Control,
    Product,
    all_steps,
    back_to_pending,
    github_state,
    journal_cursor,
    lecture,
    logins,
)

EDITED = "# Syllabus\n\nOffice hours moved to Friday. -- Ada\n"
SEED = "github.seed:lecture"


def _files(state: GitHubState, repo: str, branch: str) -> dict[str, str]:
    found = state.repos[f"{ORG}/{repo}".lower()]
    head = found.refs[f"refs/heads/{branch}"]
    tree = gitops.get_object(found, head, "commit").tree or ""
    return {
        path: gitops.get_object(found, sha, "blob").blob_bytes().decode()
        for path, (_, _, sha) in gitops.flatten(found, tree).items()
    }


def _github_writes(sandbox: SandboxServer, since: int) -> list[tuple[str, str]]:
    return [
        (e.method, e.path.removeprefix("/api/v3"))
        for e in sandbox.journal.query(since=since, platform="github", limit=100_000)
        if e.method in MUTATING
    ]


async def _facts(product: Product, course_id: str, key: str) -> dict[str, Any]:
    step = next(s for s in await all_steps(product.sessions, course_id) if s.key == key)
    return dict(step.facts or {})


async def test_title_change_keeps_the_edited_syllabus_and_opens_a_pull_request(
    product: Product, sandbox: SandboxServer, control: Control, people: dict[str, str]
) -> None:
    """After the instructor edits syllabus.md, a title change leaves main as they made it and
    opens one pull request with the regenerated files; a full re-run then writes nothing."""
    data = lecture(people["ada"], people["grace"])
    spec = parse_course(data)
    await control.github_users(logins(spec))
    course_id = await product.create(data)
    await product.run()
    repo = str((await _facts(product, course_id, "github.repo:lecture"))["name"])
    edit = {"login": "demo-admin", "content": EDITED, "message": "Office hours"}
    await control.call("POST", f"/github/repos/{ORG}/{repo}/contents/syllabus.md", json=edit)
    main_before = github_state(sandbox).repos[f"{ORG}/{repo}".lower()].refs["refs/heads/main"]
    cursor = journal_cursor(sandbox)

    changed = spec.model_copy(update={"title": "Programming in Practice"})
    change = await product.courses.update(course_id, changed, actor="e2e")
    assert SEED in change.changed
    await product.run()

    states = await product.states(course_id)
    assert {s for k, s in states.items() if k.startswith("github.")} == {"succeeded"}
    state = github_state(sandbox)
    found = state.repos[f"{ORG}/{repo}".lower()]
    assert found.refs["refs/heads/main"] == main_before
    assert _files(state, repo, "main")["syllabus.md"] == EDITED
    proposal = _files(state, repo, SEED_UPDATE_BRANCH)
    for path, content in render_seed_files(changed, repo=repo, group=None).items():
        assert proposal[path] == content.decode(), path
    pulls = [p for p in found.pulls.values() if p.state == "open"]
    assert [(p.head, p.base) for p in pulls] == [(SEED_UPDATE_BRANCH, "main")]
    assert (await _facts(product, course_id, SEED))["pull"] == pulls[0].number
    assert not [w for w in _github_writes(sandbox, cursor) if w[1].endswith("/refs/heads/main")]

    again = journal_cursor(sandbox)
    await back_to_pending(product.sessions)
    await product.run()
    assert _github_writes(sandbox, again) == []
