"""`github.seed`: README, syllabus, contributing guide, PR template and first assignment.

The files are written to the default branch once, while the repository is new (its first
commit only: what `auto_init` made). From then on the default branch belongs to people: a
later change of the course details never writes to it. The step renders the files again and
proposes those whose rendering changed since the last seeding in a pull request from our branch
`course-bot/seed-update`; a file a person edited meanwhile is proposed too, and the pull request
says so, but the default branch keeps their version until a human merges. A file whose
rendering did not change is never touched, edited or not.

Git Data API (PLATFORM.md §2.2, §2.10): read the branch and the tree, compare blob shas, and only
if something differs write one tree and one commit (fixed identity and date, so a re-POST gives
the same sha), then move a branch. The default branch only ever moves fast-forward; our own
branch is reset onto it when its earlier pull request was merged or closed.

Facts: `files` (path → blob sha of what the default branch got from us: the first seeding, or a
merged proposal), `proposed` (path → blob sha our open pull request carries) and `pull` (its
number). A re-run with nothing new, or with the pull request open and up to date, writes
nothing. The product never deletes a repository, for any reason: no step, service or gateway
method does, so a course change or removal can at most archive.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from provisioning.errors import PlatformError
from provisioning.github.errors import PLATFORM
from provisioning.github.gateway import BranchInfo, NewFile, PullInfo
from provisioning.github.seeding import (
    SEED_IDENTITY,
    SEED_UPDATE_BRANCH,
    blob_sha,
    render_seed_files,
    seed_message,
    update_body,
    update_message,
    update_title,
)
from provisioning.github.steps.common import RepoRef, dependency_key, repo_ref
from provisioning.step import StepContext, StepResult

log = logging.getLogger(__name__)
# GitHub's refusal of a direct update of a branch that needs reviewed pull requests.
PROTECTED_REFUSAL = "Protected branch update failed"


def _shas(raw: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}


async def _commit(
    ctx: StepContext,
    repo: RepoRef,
    *,
    parent: str,
    base_tree: str,
    files: Mapping[str, bytes],
    message: str,
) -> str:
    tree = await ctx.github.create_tree(
        repo.owner,
        repo.name,
        base_tree=base_tree,
        files=[NewFile(path, data.decode("utf-8")) for path, data in files.items()],
    )
    return await ctx.github.create_commit(
        repo.owner, repo.name, message=message, tree=tree, parents=[parent], author=SEED_IDENTITY
    )


async def _seed_new_repository(
    ctx: StepContext,
    repo: RepoRef,
    branch: BranchInfo,
    tree: Mapping[str, str],
    files: Mapping[str, bytes],
) -> str | None:
    """Write the files that differ straight onto the default branch; its new head, or None
    when branch protection refuses us (then the files go to a pull request like any change)."""
    changed = {p: d for p, d in files.items() if tree.get(p) != blob_sha(d)}
    if not changed:
        return branch.head_sha
    group = ctx.params.get("group")
    head = await _commit(
        ctx,
        repo,
        parent=branch.head_sha,
        base_tree=branch.tree_sha,
        files=changed,
        message=seed_message(ctx.spec, group),
    )
    try:
        await ctx.github.update_ref(repo.owner, repo.name, f"heads/{repo.branch}", head)
    except PlatformError as exc:
        if exc.status != 422:
            raise
        if PROTECTED_REFUSAL in exc.message:
            # Protected already (seeding after the protection step, as an actor without
            # bypass): a person merges, as for any later change.
            return None
        # Not a fast-forward: someone pushed meanwhile. Re-read and retry, never force; the
        # retry sees their commit, so the repository is no longer new and gets a PR.
        raise PlatformError(
            PLATFORM, 409, f"{repo.full_name}@{repo.branch} moved while seeding; retrying"
        ) from exc
    log.info("seeded", extra={"repo": repo.full_name, "files": sorted(changed)})
    return head


async def _propose(
    ctx: StepContext,
    repo: RepoRef,
    branch: BranchInfo,
    tree: Mapping[str, str],
    want: Mapping[str, bytes],
    edited: set[str],
) -> PullInfo:
    """Bring our branch and its open pull request to carry `want`; writes only what differs."""
    github = ctx.github
    ours = await github.get_branch(repo.owner, repo.name, SEED_UPDATE_BRANCH)
    pulls = await github.list_pulls(repo.owner, repo.name, head=SEED_UPDATE_BRANCH, state="open")
    pull = next((p for p in pulls if p.base_ref == repo.branch), None)
    if ours is not None and pull is not None:
        # The open pull request gets a new commit on top: reviewers keep their place.
        parent, base_tree = ours.head_sha, ours.tree_sha
        on_branch = {e.path: e.sha for e in await github.get_tree(repo.owner, repo.name, base_tree)}
    else:
        # A new proposal starts from the default branch as people left it.
        parent, base_tree, on_branch = branch.head_sha, branch.tree_sha, dict(tree)
    missing = {p: d for p, d in want.items() if on_branch.get(p) != blob_sha(d)}
    if missing:
        group = ctx.params.get("group")
        head = await _commit(
            ctx,
            repo,
            parent=parent,
            base_tree=base_tree,
            files=missing,
            message=update_message(ctx.spec, group),
        )
        ref = f"heads/{SEED_UPDATE_BRANCH}"
        if ours is None:
            await github.create_ref(repo.owner, repo.name, ref, head)
        elif head != ours.head_sha:
            # Forced only when our branch holds an earlier, finished proposal (merged or
            # closed): it is ours alone, and the new proposal starts from the default branch.
            await github.update_ref(repo.owner, repo.name, ref, head, force=pull is None)
        log.info("seed update proposed", extra={"repo": repo.full_name, "files": sorted(missing)})
    group = ctx.params.get("group")
    title = update_title(ctx.spec, group)
    body = update_body(repo.branch, list(want), edited)
    if pull is None:
        try:
            return await github.create_pull(
                repo.owner,
                repo.name,
                title=title,
                head=SEED_UPDATE_BRANCH,
                base=repo.branch,
                body=body,
            )
        except PlatformError as exc:
            if exc.status != 422:
                raise
            # "A pull request already exists": one appeared since we listed; find it next time.
            raise PlatformError(
                PLATFORM, 409, f"{repo.full_name}: seed update pull request changed; retrying"
            ) from exc
    if (pull.title, pull.body) != (title, body):
        return await github.update_pull(repo.owner, repo.name, pull.number, title=title, body=body)
    return pull


async def ensure(ctx: StepContext) -> StepResult:
    repo = repo_ref(ctx, dependency_key(ctx, "github.repo"))
    group = ctx.params.get("group")
    files = render_seed_files(ctx.spec, repo=repo.name, group=group, branch=repo.branch)
    rendered = {path: blob_sha(data) for path, data in files.items()}
    branch = await ctx.github.get_branch(repo.owner, repo.name, repo.branch)
    if branch is None:
        # Just after a create the branch may not be readable yet (§2.7): worth another try,
        # and a 404 would read as permanent, so say 409 ("unavailable") as GitHub itself does.
        raise PlatformError(PLATFORM, 409, f"{repo.full_name} has no branch {repo.branch} yet")
    tree = {
        e.path: e.sha for e in await ctx.github.get_tree(repo.owner, repo.name, branch.tree_sha)
    }
    seeded = _shas(ctx.facts.get("files"))
    facts: dict[str, Any] = {"owner": repo.owner, "name": repo.name, "branch": repo.branch}
    if not seeded and (branch.head_parents == 0 or tree.items() >= rendered.items()):
        # New: only the initial commit (or our seed commit, whose result was not stored).
        head = await _seed_new_repository(ctx, repo, branch, tree, files)
        if head is not None:
            return StepResult(
                external_id=head,
                facts=facts | {"commit": head, "files": rendered, "proposed": {}, "pull": None},
            )

    # What the default branch already has of ours now counts as seeded: a merged proposal, or
    # a person who made a file what we would render.
    seeded |= {p: sha for p, sha in rendered.items() if tree.get(p) == sha}
    want = {p: files[p] for p, sha in rendered.items() if seeded.get(p) != sha}
    proposed = _shas(ctx.facts.get("proposed"))
    pull_number = ctx.facts.get("pull")
    wanted = {p: rendered[p] for p in want}
    if want and wanted != proposed:
        # People's edits on the default branch: files that differ from what we seeded there.
        edited = {p for p in want if p in seeded and tree.get(p) != seeded[p]}
        pull = await _propose(ctx, repo, branch, tree, want, edited)
        proposed, pull_number = wanted, pull.number
    elif not want:
        proposed, pull_number = {}, None
    # else: exactly this was proposed already (open, or closed by a person): nothing to write.
    return StepResult(
        external_id=ctx.external_id or branch.head_sha,
        facts=facts
        | {
            "commit": str(ctx.facts.get("commit") or branch.head_sha),
            "files": seeded,
            "proposed": proposed,
            "pull": pull_number,
        },
    )
