"""A team's repositories: grant (PUT), check (GET), revoke (DELETE) and list.

The check answers for inherited access too (a parent team's grant counts for its children), as
GitHub's "Check team permissions for a repository" does; the list shows the team's own grants.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.github.context import GitHubContext, body, no_content, ok, urls
from sandbox.github.errors import ApiError, not_found, validation_failed
from sandbox.github.models import Repo, Team
from sandbox.github.pagination import paginate
from sandbox.github.serialize_repo import repo_json
from sandbox.github.teams import PERMISSIONS, permission_flags, team_grant
from sandbox.github.urls import Urls

REPOSITORY_MEDIA_TYPE = "application/vnd.github.v3.repository+json"


def team_repo_json(ctx: GitHubContext, u: Urls, repo: Repo, permission: str) -> dict[str, Any]:
    """team-repository: the repository with the team's `permissions` and `role_name`."""
    out = repo_json(u, repo, ctx.owner_id(repo.owner), permissions=permission_flags(permission))
    out["role_name"] = permission
    return out


def register(router: web.UrlDispatcher, ctx: GitHubContext) -> None:
    def _team(request: web.Request) -> Team:
        return ctx.team(request.match_info["org"], request.match_info["team_slug"])

    async def put_team_repo(request: web.Request) -> web.Response:
        team = _team(request)
        repo = ctx.repo(request)
        if repo.owner.lower() != team.org.lower():
            raise ApiError(
                422,
                "Validation Failed",
                errors=[
                    {
                        "resource": "TeamRepository",
                        "code": "custom",
                        "field": "repository",
                        "message": "The repository must be owned by the organization",
                    }
                ],
            )
        data = await body(request)
        permission = data.get("permission", "push")
        if permission not in PERMISSIONS:
            raise validation_failed("TeamRepository", "permission", "invalid")
        team.repos[repo.key] = permission
        return no_content()

    async def get_team_repo(request: web.Request) -> web.Response:
        """204 if the team can reach the repository (200 with it for the repository media
        type); 404 if not."""
        team = _team(request)
        repo = ctx.repo(request)
        grant = team_grant(ctx, team, repo.key)
        if grant is None:
            raise not_found()
        if REPOSITORY_MEDIA_TYPE not in request.headers.get("Accept", ""):
            return no_content()
        return ok(team_repo_json(ctx, urls(request), repo, grant.permission))

    async def delete_team_repo(request: web.Request) -> web.Response:
        """Removes the team's own grant; access inherited from a parent team stays."""
        team = _team(request)
        repo = ctx.repo(request)
        team.repos.pop(repo.key, None)
        return no_content()

    async def list_team_repos(request: web.Request) -> web.Response:
        team = _team(request)
        u = urls(request)
        items = []
        for key, permission in sorted(team.repos.items()):
            repo = ctx.state.repos.get(key)
            if repo is not None:
                items.append(team_repo_json(ctx, u, repo, permission))
        return paginate(request, items)

    team_path = "/orgs/{org}/teams/{team_slug}"
    router.add_get(f"{team_path}/repos", list_team_repos)
    one = f"{team_path}/repos/{{owner}}/{{repo}}"
    router.add_put(one, put_team_repo)
    router.add_get(one, get_team_repo)
    router.add_delete(one, delete_team_repo)
