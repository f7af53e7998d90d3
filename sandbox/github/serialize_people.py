"""JSON for users, organizations, teams and invitations, as the official schemas describe them."""

from __future__ import annotations

from typing import Any

from sandbox.github.models import Org, OrgInvitation, Team, User
from sandbox.github.urls import Urls, iso, node_id


def simple_user(u: Urls, login: str, ident: int, kind: str = "User") -> dict[str, Any]:
    url = u.org(login) if kind == "Organization" else u.user(login)
    return {
        "login": login,
        "id": ident,
        "node_id": node_id("U" if kind == "User" else "O", ident),
        "avatar_url": f"{u.web}/avatars/{login}",
        "gravatar_id": "",
        "url": url,
        "html_url": f"{u.web}/{login}",
        "followers_url": f"{u.user(login)}/followers",
        "following_url": f"{u.user(login)}/following{{/other_user}}",
        "gists_url": f"{u.user(login)}/gists{{/gist_id}}",
        "starred_url": f"{u.user(login)}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{u.user(login)}/subscriptions",
        "organizations_url": f"{u.user(login)}/orgs",
        "repos_url": f"{url}/repos",
        "events_url": f"{u.user(login)}/events{{/privacy}}",
        "received_events_url": f"{u.user(login)}/received_events",
        "type": kind,
        "site_admin": False,
        "user_view_type": "public",
    }


def user_json(u: Urls, user: User, private: bool = False) -> dict[str, Any]:
    """public-user, or private-user for `GET /user`."""
    out = simple_user(u, user.login, user.id)
    out.update(
        {
            "name": user.name,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "public_repos": 0,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": iso(user.created_at),
            "updated_at": iso(user.created_at),
        }
    )
    if private:
        out.update(
            {
                "user_view_type": "private",
                "private_gists": 0,
                "total_private_repos": 0,
                "owned_private_repos": 0,
                "disk_usage": 0,
                "collaborators": 0,
                "two_factor_authentication": True,
            }
        )
    return out


def org_json(u: Urls, org: Org, repo_count: int) -> dict[str, Any]:
    """organization-full, including `plan` (what tells Free from Team)."""
    url = u.org(org.login)
    return {
        "login": org.login,
        "id": org.id,
        "node_id": node_id("O", org.id),
        "url": url,
        "repos_url": f"{url}/repos",
        "events_url": f"{url}/events",
        "hooks_url": f"{url}/hooks",
        "issues_url": f"{url}/issues",
        "members_url": f"{url}/members{{/member}}",
        "public_members_url": f"{url}/public_members{{/member}}",
        "avatar_url": f"{u.web}/avatars/{org.login}",
        "description": None,
        "name": org.login,
        "html_url": f"{u.web}/{org.login}",
        "has_organization_projects": True,
        "has_repository_projects": True,
        "public_repos": 0,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "type": "Organization",
        "total_private_repos": repo_count,
        "owned_private_repos": repo_count,
        "created_at": iso(org.created_at),
        "updated_at": iso(org.created_at),
        "archived_at": None,
        "plan": {
            "name": org.plan,
            "space": 976562499,
            "private_repos": 999999,
            "filled_seats": len(org.members),
            "seats": len(org.members) if org.plan == "free" else 100,
        },
        "default_repository_permission": "none",
        "members_can_create_repositories": False,
        "two_factor_requirement_enabled": False,
    }


def team_simple_json(u: Urls, team: Team) -> dict[str, Any]:
    """team-simple (also a team's `parent`, nullable-team-simple)."""
    url = u.team(team.org, team.slug)
    return {
        "id": team.id,
        "node_id": node_id("T", team.id),
        "url": url,
        "html_url": f"{u.web}/orgs/{team.org}/teams/{team.slug}",
        "name": team.name,
        "slug": team.slug,
        "description": team.description,
        "privacy": team.privacy,
        "notification_setting": team.notification_setting,
        "permission": "pull",
        "members_url": f"{url}/members{{/member}}",
        "repositories_url": f"{url}/repos",
        "type": "organization",
    }


def team_json(
    u: Urls,
    team: Team,
    org: Org | None = None,
    org_repos: int = 0,
    parent: Team | None = None,
) -> dict[str, Any]:
    """team (in lists) or team-full (with `org`); `parent` is the parent team, as on GitHub."""
    out = team_simple_json(u, team)
    out["parent"] = None if parent is None else team_simple_json(u, parent)
    if org is not None:
        out.update(
            {
                "members_count": sum(m.state == "active" for m in team.members.values()),
                "repos_count": len(team.repos),
                "created_at": iso(team.created_at),
                "updated_at": iso(team.updated_at or team.created_at),
                "organization": org_json(u, org, org_repos),
            }
        )
    return out


def membership_json(u: Urls, team: Team, login: str) -> dict[str, Any]:
    m = team.members[login.lower()]
    return {
        "url": f"{u.team(team.org, team.slug)}/memberships/{login}",
        "role": m.role,
        "state": m.state,
    }


def org_invitation_json(
    u: Urls, inv: OrgInvitation, invitee_id: int, inviter: dict[str, Any], expires_at: float
) -> dict[str, Any]:
    """organization-invitation, plus `expires_at` (not in the schema, which allows extra keys)."""
    return {
        "id": inv.id,
        "node_id": node_id("OI", inv.id),
        "login": inv.login,
        "email": None,
        "role": inv.role,
        "created_at": iso(inv.created_at),
        "expires_at": iso(expires_at),
        "failed_at": None,
        "failed_reason": None,
        "inviter": inviter,
        "team_count": len(inv.team_ids),
        "invitation_teams_url": f"{u.org(inv.org)}/invitations/{inv.id}/teams",
        "invitation_source": "member",
        "invitee_id": invitee_id,
    }
