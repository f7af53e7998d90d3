"""`github.uninvite`: a person left a course team (dropped, moved to another group, staff gone).

The removal of a `github.invite` step: the course description no longer puts this person in
this team. Read first and delete only a membership that is there, so a re-run (or a retry of
the course) writes nothing and never invites the person back. Their organization membership is
left alone (people belong to organizations for more than one course) unless `leave_org` says
this course brought them in and no other course of the organization lists them
(`provisioning.courses.retire`): then it ends too, or its pending invitation is cancelled.
Organization owners are never removed.

A login corrected on the join page (`mistyped` in the params) is different: the invitation
went to somebody else's account. Then nobody is removed: the pending organization invitation
is cancelled by its id (when this course sent it and no other course lists the login), which
withdraws its pending team membership too, and a pending team membership alone is withdrawn.
Should the wrong account have accepted meanwhile, the step waits for staff instead.
"""

from __future__ import annotations

from provisioning.errors import ActionRequiredError
from provisioning.step import StepContext, StepResult

WRONG_ACCOUNT_ACCEPTED = "github.wrong_account_accepted"


async def ensure(ctx: StepContext) -> StepResult:
    if ctx.params.get("mistyped"):
        return await _withdraw(ctx)
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


async def _withdraw(ctx: StepContext) -> StepResult:
    """Withdraw what a mistyped login was sent, never removing a member."""
    org, slug, login = ctx.params["org"], ctx.params["team"], ctx.params["login"]
    cancelled: int | None = None
    if ctx.params.get("cancel_invitation"):
        mine = [
            i
            for i in await ctx.github.list_org_invitations(org)
            if (i.login or "").lower() == login.lower()
        ]
        for invitation in mine:
            # False (404): accepted, lapsed or cancelled since the list; the membership read
            # below tells which.
            if await ctx.github.cancel_org_invitation(org, invitation.id):
                cancelled = invitation.id
    membership = None
    if cancelled is None:
        membership = await ctx.github.get_team_membership(org, slug, login)
    if membership is not None and membership.state == "active":
        raise ActionRequiredError(
            WRONG_ACCOUNT_ACCEPTED,
            f"the GitHub account {login} accepted the invitation meant for "
            f"{ctx.params.get('person', 'a student')} (now {ctx.params.get('corrected_to')}) "
            f"and is in the team {slug}: nothing was removed. Find out who {login} is; if they "
            f"should not be there, remove {login} from the team {slug} and the organization "
            f"{org} on GitHub, then retry the course",
        )
    if membership is not None:
        await ctx.github.remove_team_membership(org, slug, login)
    facts = {
        "team": slug,
        "state": "withdrawn",
        "cancelled_invitation": cancelled,
        "corrected_to": ctx.params.get("corrected_to"),
    }
    return StepResult(external_id=login.lower(), facts=facts)
