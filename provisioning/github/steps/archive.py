"""`github.archive`: a repository the course no longer wants (its lab group was removed).

Repositories are never deleted: the students' work stays, read-only, with its history. The
repository is found by the name its `github.repo` step last saw, else by the id it stored (a
rename keeps the id); one that is gone already is left gone. Archived already: nothing is
written.
"""

from __future__ import annotations

from provisioning.step import StepContext, StepResult


async def ensure(ctx: StepContext) -> StepResult:
    owner, name = ctx.params["org"], ctx.params["name"]
    known = ctx.external_id or None
    repo = await ctx.github.get_repo(owner, name)
    if repo is not None and known is not None and str(repo.id) != known:
        repo = None  # another repository took the name since: ours was renamed
    if repo is None and known is not None and known.isdigit():
        repo = await ctx.github.get_repo_by_id(int(known))
    if repo is None:
        return StepResult(external_id=known or "", facts={"archived": None})
    if not repo.archived:
        repo = await ctx.github.set_repo_archived(repo.owner, repo.name, archived=True)
    return StepResult(
        external_id=str(repo.id),
        facts={"owner": repo.owner, "name": repo.name, "archived": repo.archived},
    )
