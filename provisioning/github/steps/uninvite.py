"""`github.uninvite`: a person left a course team (dropped, moved to another group, staff gone).

The removal of a `github.invite` step: the course description no longer puts this person in
this team. Read first and delete only a membership that is there, so a re-run (or a retry of
the course) writes nothing and never invites the person back. Their organization membership is
left alone: people belong to organizations for more than one course.
"""

from __future__ import annotations

from provisioning.step import StepContext, StepResult


async def ensure(ctx: StepContext) -> StepResult:
    org, slug, login = ctx.params["org"], ctx.params["team"], ctx.params["login"]
    membership = await ctx.github.get_team_membership(org, slug, login)
    if membership is not None:
        await ctx.github.remove_team_membership(org, slug, login)
    return StepResult(external_id=login.lower(), facts={"team": slug, "state": "removed"})
