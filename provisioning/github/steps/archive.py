"""`github.archive`: a repository the course no longer wants (its lab group was removed).

Repositories are never deleted: the students' work stays, read-only, with its history. The
repository is found by the id its `github.repo` step stored (a rename keeps it), else by name;
one that is gone already is left gone. Archived already: nothing is written.
"""

from __future__ import annotations

from provisioning.step import StepContext, StepResult


async def ensure(ctx: StepContext) -> StepResult:
    owner, name = ctx.params["org"], ctx.params["name"]
    repo = None
    if ctx.external_id is not None and ctx.external_id.isdigit():
        repo = await ctx.github.get_repo_by_id(int(ctx.external_id))
    if repo is None:
        repo = await ctx.github.get_repo(owner, name)
    if repo is None:
        return StepResult(external_id=ctx.external_id or "", facts={"archived": None})
    if not repo.archived:
        repo = await ctx.github.set_repo_archived(repo.owner, repo.name, archived=True)
    return StepResult(
        external_id=str(repo.id),
        facts={"owner": repo.owner, "name": repo.name, "archived": repo.archived},
    )
