"""Org and repository invitations, with GitHub's per-24 h limits, expiry and accepting them.

Org invitations lapse `Limits.org_invitation_ttl` (7 days) after they were sent, on the injected
clock. `sweep_expired` drops lapsed ones, and with them the pending team memberships they stood
for, so a lapsed invitee reads as "not on the team" and a new membership PUT invites again.
"""

from __future__ import annotations

from sandbox.github.context import GitHubContext
from sandbox.github.errors import ApiError
from sandbox.github.models import Org, OrgInvitation, Repo, RepoInvitation


def org_invitation_limit(ctx: GitHubContext, org: Org) -> int:
    limits = ctx.world.limits
    return (
        limits.org_invitations_per_day_free
        if org.plan == "free"
        else (limits.org_invitations_per_day_paid)
    )


def expires_at(ctx: GitHubContext, inv: OrgInvitation) -> float:
    return inv.created_at + ctx.world.limits.org_invitation_ttl


def pending_org_invitation(ctx: GitHubContext, org: Org, login: str) -> OrgInvitation | None:
    """The live (unexpired) invitation of `login` to `org`, if any."""
    for inv in ctx.state.org_invitations.values():
        if (
            inv.org.lower() == org.login.lower()
            and inv.login.lower() == login.lower()
            and expires_at(ctx, inv) > ctx.now()
        ):
            return inv
    return None


def sweep_expired(ctx: GitHubContext) -> None:
    """Forget lapsed org invitations and the pending team memberships waiting on them."""
    now = ctx.now()
    lapsed = [i for i in ctx.state.org_invitations.values() if expires_at(ctx, i) <= now]
    for inv in lapsed:
        del ctx.state.org_invitations[inv.id]
    for inv in lapsed:
        org = ctx.state.orgs.get(inv.org.lower())
        if org is None or pending_org_invitation(ctx, org, inv.login) is not None:
            continue
        for team in ctx.state.teams.values():
            member = team.members.get(inv.login.lower())
            if team.org.lower() == org.login.lower() and member and member.state == "pending":
                del team.members[inv.login.lower()]


def invite_to_org(
    ctx: GitHubContext,
    org: Org,
    login: str,
    inviter: str,
    role: str = "direct_member",
    team_ids: list[int] | None = None,
) -> OrgInvitation:
    """Create (or extend) the pending invitation for `login`; counts against the daily limit."""
    if ctx.is_member(org, login):
        raise ApiError(
            422,
            "Validation Failed",
            errors=[
                {
                    "resource": "OrganizationInvitation",
                    "code": "unprocessable",
                    "field": "data",
                    "message": "Invitee is already a part of this organization",
                }
            ],
        )
    existing = pending_org_invitation(ctx, org, login)
    if existing is not None:
        for tid in team_ids or []:
            if tid not in existing.team_ids:
                existing.team_ids.append(tid)
        return existing
    scope = f"org:{org.login.lower()}"
    if ctx.invitations_in_window(scope) >= org_invitation_limit(ctx, org):
        raise ApiError(
            422,
            "Validation Failed",
            errors=[
                {
                    "resource": "OrganizationInvitation",
                    "code": "unprocessable",
                    "field": "data",
                    "message": "Over invitation rate limit",
                }
            ],
        )
    inv = OrgInvitation(
        id=ctx.state.new_id(),
        org=org.login,
        login=ctx.user(login).login,
        role=role,
        inviter=inviter,
        created_at=ctx.now(),
        team_ids=list(team_ids or []),
    )
    ctx.state.org_invitations[inv.id] = inv
    ctx.state.invitation_log.append((scope, ctx.now()))
    return inv


def cancel_org_invitation(ctx: GitHubContext, org: Org, inv_id: int) -> bool:
    """An owner cancels a live invitation: it goes, with the pending team memberships it
    stood for (GitHub withdraws the whole invitation); False when there is none to cancel
    (never sent, accepted, lapsed or cancelled already)."""
    inv = ctx.state.org_invitations.get(inv_id)
    if inv is None or inv.org.lower() != org.login.lower() or expires_at(ctx, inv) <= ctx.now():
        return False
    del ctx.state.org_invitations[inv_id]
    login = inv.login.lower()
    for team in ctx.state.teams.values():
        member = team.members.get(login)
        if team.org.lower() == org.login.lower() and member and member.state == "pending":
            del team.members[login]
    return True


def accept_org_invitation(ctx: GitHubContext, org: Org, login: str) -> bool:
    """The invitee accepts: they join the org and their pending team memberships activate."""
    inv = pending_org_invitation(ctx, org, login)
    if inv is None:
        return False
    del ctx.state.org_invitations[inv.id]
    org.members[login.lower()] = "admin" if inv.role == "admin" else "member"
    for team in ctx.state.teams.values():
        member = team.members.get(login.lower())
        if team.org.lower() == org.login.lower() and member is not None:
            member.state = "active"
    return True


def invite_to_repo(
    ctx: GitHubContext, repo: Repo, login: str, inviter: str, permission: str
) -> RepoInvitation | None:
    """None when nothing new was sent (already a collaborator, member, or already invited)."""
    key = login.lower()
    org = ctx.state.orgs.get(repo.owner.lower())
    if key in repo.collaborators or (org is not None and ctx.is_member(org, login)):
        repo.collaborators[key] = permission
        return None
    for inv in ctx.state.repo_invitations.values():
        if inv.repo == repo.key and inv.login.lower() == key:
            inv.permission = permission
            return None
    scope = f"repo:{repo.key}"
    if ctx.invitations_in_window(scope) >= ctx.world.limits.repo_invitations_per_day:
        raise ApiError(
            422,
            "Validation Failed",
            errors=[
                {
                    "resource": "Repository",
                    "code": "custom",
                    "field": "invitee",
                    "message": "You have exceeded the limit of "
                    f"{ctx.world.limits.repo_invitations_per_day} invitations per 24 hour period "
                    "for this repository.",
                }
            ],
        )
    inv = RepoInvitation(
        id=ctx.state.new_id(),
        repo=repo.key,
        login=ctx.user(login).login,
        inviter=inviter,
        permission=permission,
        created_at=ctx.now(),
    )
    ctx.state.repo_invitations[inv.id] = inv
    ctx.state.invitation_log.append((scope, ctx.now()))
    return inv


def accept_repo_invitation(ctx: GitHubContext, inv_id: int) -> bool:
    inv = ctx.state.repo_invitations.pop(inv_id, None)
    if inv is None:
        return False
    repo = ctx.state.repos.get(inv.repo)
    if repo is not None:
        repo.collaborators[inv.login.lower()] = inv.permission
    return True
