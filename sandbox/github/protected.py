"""Classic branch protection enforced on writes, as GitHub does for ref updates and contents.

With required reviews on a branch, moving it directly (`PATCH git/refs/heads/{b}`, a Contents
API write) is refused with 422 "Protected branch update failed" unless the actor may bypass:
org owners while `enforce_admins` is off, and the users and apps listed in
`required_pull_request_reviews.bypass_pull_request_allowances` (PLATFORM.md §2.10). An
installation is never an admin here, so a GitHub App without an allowance is refused, which is
what would have caught a product that re-seeds a protected default branch.
"""

from __future__ import annotations

from typing import Any

from sandbox.github.context import GitHubContext, Principal
from sandbox.github.errors import ApiError
from sandbox.github.models import Repo

PROTECTED_UPDATE_FAILED = "Protected branch update failed for refs/heads/{branch}."
ARCHIVED = "Repository was archived so is read-only."


def _reviews(repo: Repo, branch: str) -> dict[str, Any] | None:
    cfg = repo.protection.get(branch)
    if cfg is None:
        return None
    reviews = cfg.get("required_pull_request_reviews")
    return reviews if isinstance(reviews, dict) else None


def _enforce_admins(cfg: dict[str, Any]) -> bool:
    value = cfg.get("enforce_admins")
    # The PUT takes a boolean; the GET answers `{"enabled": …}`. Accept either shape.
    if isinstance(value, dict):
        return bool(value.get("enabled"))
    return bool(value)


def may_bypass(ctx: GitHubContext, repo: Repo, branch: str, who: Principal) -> bool:
    """Whether `who` may update `branch` directly despite its required reviews."""
    reviews = _reviews(repo, branch)
    if reviews is None:
        return True
    allowances = reviews.get("bypass_pull_request_allowances") or {}
    if who.kind == "installation":
        slug = who.login.removesuffix("[bot]")
        return slug in (allowances.get("apps") or [])
    if who.login.lower() in {str(u).lower() for u in allowances.get("users") or []}:
        return True
    org = ctx.state.orgs.get(repo.owner.lower())
    is_owner = org is not None and org.members.get(who.login.lower()) == "admin"
    return is_owner and not _enforce_admins(repo.protection[branch])


def check_branch_update(ctx: GitHubContext, repo: Repo, branch: str, who: Principal) -> None:
    """Raise the 403 GitHub gives for any push to an archived repository, and the 422 it gives
    when `who` writes to a branch that needs reviewed PRs."""
    if repo.archived:
        raise ApiError(403, ARCHIVED)
    if not may_bypass(ctx, repo, branch, who):
        raise ApiError(422, PROTECTED_UPDATE_FAILED.format(branch=branch))
