"""`github.invite`: a person's membership of a course team.

The membership PUT is an idempotent upsert, but still a write; so we read first and write only
when the membership is missing or has another role, and a re-run of a finished course writes
nothing. For someone outside the organization the PUT sends an org invitation and the state
stays `pending` until they accept; a re-run refreshes the state in the facts.

Such a PUT counts against the organization's daily invitations (500, or 50 for a young free
organization): it first takes a place in the organization's window (`InvitationBudget`), which
may make the step wait, and never fail, for it. A person who is a member already, or invited
already (by another course, by hand), costs no place: one read tells.
"""

from __future__ import annotations

from provisioning.errors import ActionRequiredError, PlatformError
from provisioning.github.invitations import InvitationBudget, is_invitation_limit
from provisioning.github.steps.common import team_slug
from provisioning.step import Executor, StepContext, StepResult

UNKNOWN_LOGIN = "github.unknown_login"


def _who(ctx: StepContext, login: str) -> str:
    wanted = login.lower()
    people = [(p.github, p.name) for p in ctx.spec.staff]
    people += [(p.github, p.name) for p in ctx.spec.students]
    return next((name for github, name in people if github.lower() == wanted), login)


def executor(invitations: InvitationBudget) -> Executor:
    """The `github.invite` executor, taking its invitations' places from `invitations`."""

    async def run(ctx: StepContext) -> StepResult:
        return await ensure(ctx, invitations)

    return run


async def ensure(ctx: StepContext, invitations: InvitationBudget) -> StepResult:
    org, login, role = ctx.params["org"], ctx.params["login"], ctx.params["role"]
    slug = team_slug(ctx, ctx.params["team"])
    membership = await ctx.github.get_team_membership(org, slug, login)
    # Whether this course brought the person into the organization (its membership PUT sent
    # the invitation): only then may dropping them from the course end it (`uninvite`).
    invited_org = bool(ctx.facts.get("invited_org"))
    if membership is None or membership.role != role:
        # Only a PUT for someone neither in the organization nor invited sends an invitation.
        invites = membership is None and await ctx.github.get_org_membership(org, login) is None
        if invites:
            await invitations.take(org, login)
        try:
            membership = await ctx.github.put_team_membership(org, slug, login, role=role)
        except PlatformError as exc:
            if invites and is_invitation_limit(exc):
                raise await invitations.refused(org, login) from exc
            if invites and exc.status == 404:
                await invitations.release(org, login)
            # GitHub answers 404 for an unknown user; the user lookup is made only then, so a
            # roster of real logins costs no call per person for it.
            if exc.status == 404 and await ctx.github.get_user(login) is None:
                raise ActionRequiredError(
                    UNKNOWN_LOGIN,
                    f"GitHub has no user {login!r} (listed for {_who(ctx, login)}): fix the "
                    "GitHub login in the course roster, then retry the course",
                ) from exc
            raise
        invited_org = invited_org or membership.state == "pending"
    return StepResult(
        external_id=login.lower(),
        facts={
            "team": slug,
            "state": membership.state,
            "role": membership.role,
            "invited_org": invited_org,
        },
    )
