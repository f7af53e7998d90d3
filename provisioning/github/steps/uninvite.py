"""`github.uninvite`: a person left a course team (dropped, moved to another group, staff gone).

The removal of a `github.invite` step: the course description no longer puts this person in
this team. Read first and delete only a membership that is there, so a re-run (or a retry of
the course) writes nothing and never invites the person back. Their organization membership is
left alone (people belong to organizations for more than one course) unless `leave_org` says
this course brought them in and no other course of the organization lists them
(`provisioning.courses.retire`): then it ends too, or its pending invitation is cancelled.
Organization owners are never removed.
"""

from __future__ import annotations

from provisioning.step import StepContext, StepResult


async def ensure(ctx: StepContext) -> StepResult:
    org, slug, login = ctx.params["org"], ctx.params["team"], ctx.params["login"]
    membership = await ctx.github.get_team_membership(org, slug, login)
    if membership is not None:
        await ctx.github.remove_team_membership(org, slug, login)
    left_org = False
    if ctx.params.get("leave_org"):
        in_org = await ctx.github.get_org_membership(org, login)
        if in_org is not None and in_org.role != "admin":
            await ctx.github.remove_org_membership(org, login)
        left_org = in_org is None or in_org.role != "admin"
    facts = {"team": slug, "state": "removed", "left_org": left_org}
    return StepResult(external_id=login.lower(), facts=facts)
