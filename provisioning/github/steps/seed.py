"""`github.seed`: README, syllabus, contributing guide, PR template and first assignment.

Git Data API, about five calls for any number of files (PLATFORM.md §2.2): read the branch and
the tree, compare blob shas, and only if something differs write one tree, one commit (fixed
identity and date, so a re-POST gives the same sha) and move the branch fast-forward only.
"""

from __future__ import annotations

import logging

from provisioning.errors import PlatformError
from provisioning.github.errors import PLATFORM
from provisioning.github.gateway import NewFile
from provisioning.github.seeding import (
    SEED_IDENTITY,
    blob_sha,
    render_seed_files,
    seed_message,
)
from provisioning.github.steps.common import dependency_key, repo_ref
from provisioning.step import StepContext, StepResult

log = logging.getLogger(__name__)


async def ensure(ctx: StepContext) -> StepResult:
    repo = repo_ref(ctx, dependency_key(ctx, "github.repo"))
    group = ctx.params.get("group")
    files = render_seed_files(ctx.spec, repo=repo.name, group=group, branch=repo.branch)
    branch = await ctx.github.get_branch(repo.owner, repo.name, repo.branch)
    if branch is None:
        # Just after a create the branch may not be readable yet (§2.7): worth another try,
        # and a 404 would read as permanent, so say 409 ("unavailable") as GitHub itself does.
        raise PlatformError(PLATFORM, 409, f"{repo.full_name} has no branch {repo.branch} yet")
    tree = {
        e.path: e.sha for e in await ctx.github.get_tree(repo.owner, repo.name, branch.tree_sha)
    }
    changed = [path for path, data in files.items() if tree.get(path) != blob_sha(data)]
    head = branch.head_sha
    if changed:
        new_tree = await ctx.github.create_tree(
            repo.owner,
            repo.name,
            base_tree=branch.tree_sha,
            files=[NewFile(path, files[path].decode("utf-8")) for path in changed],
        )
        head = await ctx.github.create_commit(
            repo.owner,
            repo.name,
            message=seed_message(ctx.spec, group),
            tree=new_tree,
            parents=[branch.head_sha],
            author=SEED_IDENTITY,
        )
        try:
            await ctx.github.update_ref(repo.owner, repo.name, f"heads/{repo.branch}", head)
        except PlatformError as exc:
            if exc.status != 422:
                raise
            # Not a fast-forward: someone pushed meanwhile. Re-read and retry, never force.
            raise PlatformError(
                PLATFORM, 409, f"{repo.full_name}@{repo.branch} moved while seeding; retrying"
            ) from exc
        log.info("seeded", extra={"repo": repo.full_name, "files": changed})
    return StepResult(
        external_id=head,
        facts={
            "owner": repo.owner,
            "name": repo.name,
            "branch": repo.branch,
            "commit": head,
            "files": {path: blob_sha(data) for path, data in files.items()},
        },
    )
