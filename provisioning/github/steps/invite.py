"""`github.invite`: a person's membership of a course team.

The membership PUT is an idempotent upsert, but still a write; so we read first and write only
when the membership is missing or has another role, and a re-run of a finished course writes
nothing. For someone outside the organization the PUT sends an org invitation and the state
stays `pending` until they accept; a re-run refreshes the state in the facts.
"""

from __future__ import annotations

from provisioning.errors import ActionRequiredError, PlatformError
from provisioning.github.steps.common import team_slug
from provisioning.step import StepContext, StepResult

UNKNOWN_LOGIN = "github.unknown_login"


def _who(ctx: StepContext, login: str) -> str:
    wanted = login.lower()
    people = [(p.github, p.name) for p in ctx.spec.staff]
    people += [(p.github, p.name) for p in ctx.spec.students]
    return next((name for github, name in people if github.lower() == wanted), login)


async def ensure(ctx: StepContext) -> StepResult:
    org, login, role = ctx.params["org"], ctx.params["login"], ctx.params["role"]
    slug = team_slug(ctx, ctx.params["team"])
    membership = await ctx.github.get_team_membership(org, slug, login)
    # Whether this course brought the person into the organization (its membership PUT sent
    # the invitation): only then may dropping them from the course end it (`uninvite`).
    invited_org = bool(ctx.facts.get("invited_org"))
    if membership is None or membership.role != role:
        try:
            membership = await ctx.github.put_team_membership(org, slug, login, role=role)
        except PlatformError as exc:
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
