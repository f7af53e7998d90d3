"""PyGithub 2.10 drives the emulator through the provisioning sequence (PLATFORM.md §2.2)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from github import Github, InputGitAuthor, InputGitTreeElement
from github.Repository import Repository

from sandbox.server import SandboxServer

FILES = {
    "README.md": "# Lab 01\n",
    "syllabus.md": "Week 1\n",
    ".github/pull_request_template.md": "x\n",
}
AUTHOR = InputGitAuthor("Course Bot", "bot@example.edu", "2026-09-01T00:00:00Z")


def git_blob_sha(text: str) -> str:
    data = text.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def seed(repo: Repository) -> bool:
    """Seed FILES in one commit; return False when nothing needed writing."""
    ref = repo.get_git_ref(f"heads/{repo.default_branch}")
    head = repo.get_git_commit(ref.object.sha)
    tree = repo.get_git_tree(head.tree.sha, recursive=True)
    have = {e.path: e.sha for e in tree.tree if e.type == "blob"}
    changed = [p for p, text in FILES.items() if have.get(p) != git_blob_sha(text)]
    if not changed:
        return False
    elements = [InputGitTreeElement(p, "100644", "blob", content=FILES[p]) for p in changed]
    new_tree = repo.create_git_tree(elements, base_tree=tree)
    commit = repo.create_git_commit("Seed", new_tree, [head], author=AUTHOR, committer=AUTHOR)
    ref.edit(commit.sha, force=False)
    return True


def provision(gh: Github) -> Repository:
    org = gh.get_organization("demo-university")
    repo = org.create_repo("lab-01", private=True, auto_init=True, description="Lab 01")
    seed(repo)
    repo.get_branch(repo.default_branch).edit_protection(
        enforce_admins=True,
        required_approving_review_count=1,
        dismiss_stale_reviews=True,
        allow_force_pushes=False,
        allow_deletions=False,
    )
    repo.replace_topics(["course-bot"])
    return repo


async def test_create_seed_protect_with_pygithub(gh: Github, run: Callable[..., Any]) -> None:
    """PyGithub creates a repo, seeds it in one commit and protects its default branch."""
    repo = await run(provision, gh)
    assert repo.full_name == "demo-university/lab-01"
    assert repo.url.endswith("/api/v3/repos/demo-university/lab-01")
    branch = await run(repo.get_branch, "main")
    assert branch.protected
    protection = await run(branch.get_protection)
    assert protection.required_pull_request_reviews.required_approving_review_count == 1
    assert protection.enforce_admins is True
    assert await run(repo.get_topics) == ["course-bot"]
    content = await run(repo.get_contents, ".github/pull_request_template.md")
    assert content.decoded_content == b"x\n"


async def test_seeding_twice_writes_nothing(gh: Github, run: Callable[..., Any]) -> None:
    """Blob shas are real git shas, so a second seed finds everything in place."""
    repo = await run(provision, gh)
    assert await run(seed, repo) is False


async def test_commit_with_fixed_dates_has_stable_sha(gh: Github, run: Callable[..., Any]) -> None:
    """Re-posting the same commit (same tree, parents, dates) gives the same sha."""
    repo = await run(provision, gh)
    head = await run(repo.get_git_commit, (await run(repo.get_git_ref, "heads/main")).object.sha)
    tree = await run(repo.get_git_tree, head.tree.sha)
    first = await run(repo.create_git_commit, "m", tree, [head], AUTHOR, AUTHOR)
    second = await run(repo.create_git_commit, "m", tree, [head], AUTHOR, AUTHOR)
    assert first.sha == second.sha


async def test_urls_point_at_the_sandbox_api(
    gh: Github, run: Callable[..., Any], server: SandboxServer
) -> None:
    """Every followed url includes the server's own base and `/api/v3`."""
    org = await run(gh.get_organization, "demo-university")
    assert org.url == f"{server.github_api_url}/orgs/demo-university"
    assert org.plan.name == "team"
    free = await run(gh.get_organization, "demo-free")
    assert free.plan.name == "free"
    # AuthenticatedUser is lazy: read it on the worker thread, never on the loop.
    assert await run(lambda: gh.get_user().login) == "demo-admin"
