"""`github.access`: a team's permission on a course repository (read first, write on change)."""

from __future__ import annotations

from typing import cast

from provisioning.github.gateway import TeamPermission
from provisioning.github.steps.common import dependency_key, repo_ref, slugify
from provisioning.step import StepContext, StepResult


async def ensure(ctx: StepContext) -> StepResult:
    org = ctx.params["org"]
    permission = cast(TeamPermission, ctx.params["permission"])
    repo = repo_ref(ctx, dependency_key(ctx, "github.repo"))
    team_facts = ctx.dependencies[dependency_key(ctx, "github.team")].facts
    slug = str(team_facts.get("slug") or slugify(ctx.params["team"]))
    have = await ctx.github.get_team_repo_permission(org, slug, repo.owner, repo.name)
    if have != permission:
        await ctx.github.put_team_repo_permission(org, slug, repo.owner, repo.name, permission)
    return StepResult(
        external_id=f"{slug}:{repo.full_name}",
        facts={"team": slug, "repo": repo.full_name, "permission": permission},
    )
