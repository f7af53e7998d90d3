"""`github.protection`: classic protection of the default branch (PLATFORM.md §2.3).

Read first and write only on a difference: a finished course re-run makes no writes. On a Free
organization GitHub refuses protection of private repositories with 403 "Upgrade to GitHub
Pro…"; that needs a person, not a retry.
"""

from __future__ import annotations

from provisioning.errors import ActionRequiredError, PlatformError
from provisioning.github.errors import is_plan_upgrade
from provisioning.github.gateway import BranchProtection
from provisioning.github.steps.common import dependency_key, repo_ref
from provisioning.step import StepContext, StepResult

PLAN_REASON = "github.plan"


def desired(review_count: int) -> BranchProtection:
    return BranchProtection(
        required_approving_review_count=review_count,
        dismiss_stale_reviews=True,
        require_code_owner_reviews=False,
        require_last_push_approval=False,
        # False on purpose: with true, org owners could not fix the branch by hand either;
        # students and TAs are not admins, so for them the rule holds either way. The bot
        # itself writes to the branch only while seeding a new repository (before this step);
        # later seed changes are pull requests, so it needs no bypass.
        enforce_admins=False,
        allow_force_pushes=False,
        allow_deletions=False,
    )


def _plan_error(ctx: StepContext, exc: PlatformError) -> ActionRequiredError:
    org = ctx.params["org"]
    return ActionRequiredError(
        PLAN_REASON,
        f"GitHub refuses branch protection on private repositories of {org}, which is on the "
        f"Free plan ({exc.message}). Upgrade {org} to GitHub Team (free for verified "
        "teachers through GitHub Education, https://education.github.com/) or use an "
        "organization that has Team, then retry the course.",
    )


async def ensure(ctx: StepContext) -> StepResult:
    repo = repo_ref(ctx, dependency_key(ctx, "github.seed"))
    want = desired(int(ctx.params.get("required_approving_review_count", 1)))
    try:
        have = await ctx.github.get_branch_protection(repo.owner, repo.name, repo.branch)
        if have != want:
            have = await ctx.github.put_branch_protection(repo.owner, repo.name, repo.branch, want)
    except PlatformError as exc:
        if is_plan_upgrade(exc):
            raise _plan_error(ctx, exc) from exc
        raise
    return StepResult(
        external_id=f"{repo.full_name}@{repo.branch}",
        facts={
            "branch": repo.branch,
            "required_approving_review_count": want.required_approving_review_count,
        },
    )
