"""Org invitations and members' access, repository collaborators and their invitations."""

from __future__ import annotations

from aiohttp import web

from sandbox.github.context import GitHubContext, body, no_content, ok, principal, urls
from sandbox.github.errors import ApiError, not_found, validation_failed
from sandbox.github.invitations import (
    cancel_org_invitation,
    expires_at,
    invite_to_org,
    invite_to_repo,
    pending_org_invitation,
)
from sandbox.github.models import OrgInvitation, RepoInvitation
from sandbox.github.pagination import paginate
from sandbox.github.serialize_people import org_invitation_json, org_json, simple_user
from sandbox.github.serialize_repo import repo_invitation_json, repo_json
from sandbox.github.urls import Urls

_REPO_PERMISSIONS = ("pull", "triage", "push", "maintain", "admin")
_ORG_SIMPLE = (
    "login",
    "url",
    "id",
    "node_id",
    "repos_url",
    "events_url",
    "hooks_url",
    "issues_url",
    "members_url",
    "public_members_url",
    "avatar_url",
    "description",
)


def register(router: web.UrlDispatcher, ctx: GitHubContext) -> None:
    def _user_json(u: Urls, login: str) -> dict[str, object]:
        user = ctx.user(login)
        return simple_user(u, user.login, user.id)

    def _org_inv(u: Urls, inv: OrgInvitation) -> dict[str, object]:
        inviter = _user_json(u, inv.inviter)
        return org_invitation_json(u, inv, ctx.user(inv.login).id, inviter, expires_at(ctx, inv))

    def _repo_inv(u: Urls, inv: RepoInvitation) -> dict[str, object]:
        repo = ctx.state.repos[inv.repo]
        return repo_invitation_json(
            u,
            inv,
            repo_json(u, repo, ctx.owner_id(repo.owner)),
            _user_json(u, inv.login),
            _user_json(u, inv.inviter),
        )

    async def list_org_invitations(request: web.Request) -> web.Response:
        org = ctx.org(request.match_info["org"])
        u = urls(request)
        invs = [i for i in ctx.state.org_invitations.values() if i.org.lower() == org.login.lower()]
        return paginate(request, [_org_inv(u, i) for i in sorted(invs, key=lambda i: i.id)])

    async def post_org_invitation(request: web.Request) -> web.Response:
        org = ctx.org(request.match_info["org"])
        data = await body(request)
        invitee_id = data.get("invitee_id")
        user = next((x for x in ctx.state.users.values() if x.id == invitee_id), None)
        if user is None:
            # Users cannot be found by email in the sandbox, as on GitHub for most emails.
            raise validation_failed("OrganizationInvitation", "invitee_id", "invalid")
        role = data.get("role", "direct_member")
        team_ids = [int(t) for t in data.get("team_ids") or []]
        inv = invite_to_org(ctx, org, user.login, principal(request).login, role, team_ids)
        return ok(_org_inv(urls(request), inv), status=201)

    async def delete_org_invitation(request: web.Request) -> web.Response:
        # GitHub: 204 when an owner cancels a pending invitation, 404 for one that is not
        # pending (accepted, lapsed, cancelled already, another organization's).
        org = ctx.org(request.match_info["org"])
        if not cancel_org_invitation(ctx, org, int(request.match_info["invitation_id"])):
            raise not_found()
        return no_content()

    def _org_membership(request: web.Request, org_login: str, login: str) -> web.Response:
        u = urls(request)
        org = ctx.org(org_login)
        user = ctx.user(login)
        role = org.members.get(user.login.lower())
        pending = pending_org_invitation(ctx, org, user.login)
        if role is None and pending is None:
            raise not_found()
        state = "active" if role is not None else "pending"
        shown_role = role or ("admin" if pending and pending.role == "admin" else "member")
        org_simple = {k: v for k, v in org_json(u, org, 0).items() if k in _ORG_SIMPLE}
        return ok(
            {
                "url": f"{u.org(org.login)}/memberships/{user.login}",
                "state": state,
                "role": shown_role,
                "organization_url": u.org(org.login),
                "organization": org_simple,
                "user": simple_user(u, user.login, user.id),
            }
        )

    async def get_org_membership(request: web.Request) -> web.Response:
        return _org_membership(request, request.match_info["org"], request.match_info["username"])

    async def put_org_membership(request: web.Request) -> web.Response:
        org = ctx.org(request.match_info["org"])
        user = ctx.user(request.match_info["username"])
        role = (await body(request)).get("role", "member")
        if role not in ("admin", "member"):
            raise validation_failed("OrganizationMembership", "role", "invalid")
        if ctx.is_member(org, user.login):
            org.members[user.login.lower()] = role
        else:
            # Like GitHub: a non-member is invited and stays pending until they accept.
            invite_role = "admin" if role == "admin" else "direct_member"
            invite_to_org(ctx, org, user.login, principal(request).login, invite_role)
        return _org_membership(request, org.login, user.login)

    async def delete_org_membership(request: web.Request) -> web.Response:
        # Like GitHub: a member leaves the organization and its teams; an invitee's pending
        # invitation is cancelled, with the team memberships it held.
        org = ctx.org(request.match_info["org"])
        user = ctx.user(request.match_info["username"])
        login = user.login.lower()
        pending = pending_org_invitation(ctx, org, user.login)
        if org.members.pop(login, None) is None and pending is None:
            raise not_found()
        for inv_id in [
            i
            for i, inv in ctx.state.org_invitations.items()
            if inv.org.lower() == org.login.lower() and (inv.login or "").lower() == login
        ]:
            del ctx.state.org_invitations[inv_id]
        for team in ctx.state.teams.values():
            if team.org.lower() == org.login.lower():
                team.members.pop(login, None)
        return no_content()

    async def put_collaborator(request: web.Request) -> web.Response:
        repo = ctx.repo(request)
        login = ctx.user(request.match_info["username"]).login
        permission = (await body(request)).get("permission", "push")
        if permission not in _REPO_PERMISSIONS:
            raise ApiError(
                422,
                "Validation Failed",
                errors=[{"resource": "Repository", "field": "permission", "code": "invalid"}],
            )
        inv = invite_to_repo(ctx, repo, login, principal(request).login, permission)
        if inv is None:
            return no_content()
        return ok(_repo_inv(urls(request), inv), status=201)

    async def list_repo_invitations(request: web.Request) -> web.Response:
        repo = ctx.repo(request)
        u = urls(request)
        invs = [i for i in ctx.state.repo_invitations.values() if i.repo == repo.key]
        return paginate(request, [_repo_inv(u, i) for i in sorted(invs, key=lambda i: i.id)])

    router.add_get("/orgs/{org}/invitations", list_org_invitations)
    router.add_post("/orgs/{org}/invitations", post_org_invitation)
    router.add_delete(r"/orgs/{org}/invitations/{invitation_id:\d+}", delete_org_invitation)
    router.add_get("/orgs/{org}/memberships/{username}", get_org_membership)
    router.add_put("/orgs/{org}/memberships/{username}", put_org_membership)
    router.add_delete("/orgs/{org}/memberships/{username}", delete_org_membership)
    router.add_put("/repos/{owner}/{repo}/collaborators/{username}", put_collaborator)
    router.add_get("/repos/{owner}/{repo}/invitations", list_repo_invitations)
