"""Teams, team memberships (pending for non-members) and team repository access."""

from __future__ import annotations

from aiohttp import web

from sandbox.github.context import (
    GitHubContext,
    body,
    no_content,
    ok,
    principal,
    slugify,
    urls,
)
from sandbox.github.errors import ApiError, missing_field, not_found, validation_failed
from sandbox.github.invitations import invite_to_org
from sandbox.github.models import Team, TeamMember
from sandbox.github.pagination import paginate
from sandbox.github.serialize_people import membership_json, team_json
from sandbox.github.serialize_repo import repo_json

PERMISSIONS = ("pull", "triage", "push", "maintain", "admin")
_ORDER = {p: i for i, p in enumerate(PERMISSIONS)}


def register(router: web.UrlDispatcher, ctx: GitHubContext) -> None:
    def _team(request: web.Request) -> Team:
        return ctx.team(request.match_info["org"], request.match_info["team_slug"])

    async def post_team(request: web.Request) -> web.Response:
        org = ctx.org(request.match_info["org"])
        data = await body(request)
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise missing_field("Team", "name")
        slug = slugify(name)
        for team in ctx.state.teams.values():
            if team.org.lower() == org.login.lower() and (
                team.slug == slug or team.name.lower() == name.lower()
            ):
                raise validation_failed(
                    "Team", "name", "custom", "Name must be unique for this org"
                )
        privacy = data.get("privacy", "secret")
        if privacy not in ("secret", "closed"):
            raise validation_failed("Team", "privacy", "invalid")
        team = Team(
            id=ctx.state.new_id(),
            org=org.login,
            name=name,
            slug=slug,
            description=data.get("description"),
            privacy=privacy,
            created_at=ctx.now(),
        )
        for full_name in data.get("repo_names") or []:
            key = str(full_name).lower()
            if "/" not in key:
                key = f"{org.login.lower()}/{key}"
            if key in ctx.state.repos:
                team.repos[key] = "pull"
        ctx.state.teams[team.id] = team
        return ok(team_json(urls(request), team, org, ctx.org_repo_count(org)), status=201)

    async def list_teams(request: web.Request) -> web.Response:
        org = ctx.org(request.match_info["org"])
        u = urls(request)
        teams = [t for t in ctx.state.teams.values() if t.org.lower() == org.login.lower()]
        return paginate(request, [team_json(u, t) for t in sorted(teams, key=lambda t: t.slug)])

    async def get_team(request: web.Request) -> web.Response:
        team = _team(request)
        org = ctx.org(team.org)
        return ok(team_json(urls(request), team, org, ctx.org_repo_count(org)))

    async def put_membership(request: web.Request) -> web.Response:
        team = _team(request)
        org = ctx.org(team.org)
        user = ctx.user(request.match_info["username"])
        role = (await body(request)).get("role", "member")
        if role not in ("member", "maintainer"):
            raise validation_failed("TeamMember", "role", "invalid")
        key = user.login.lower()
        current = team.members.get(key)
        if ctx.is_member(org, user.login) or (current is not None and current.state == "active"):
            state = "active"
        else:
            # Only org members can be on a team: a non-member gets an org invitation and
            # the membership stays pending until it is accepted.
            invite_to_org(ctx, org, user.login, principal(request).login, team_ids=[team.id])
            state = "pending"
        team.members[key] = TeamMember(role=role, state=state)
        return ok(membership_json(urls(request), team, user.login))

    async def get_membership(request: web.Request) -> web.Response:
        team = _team(request)
        login = request.match_info["username"]
        if login.lower() not in team.members:
            raise not_found()
        return ok(membership_json(urls(request), team, ctx.user(login).login))

    async def delete_membership(request: web.Request) -> web.Response:
        team = _team(request)
        if team.members.pop(request.match_info["username"].lower(), None) is None:
            raise not_found()
        return no_content()

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

    async def list_team_repos(request: web.Request) -> web.Response:
        team = _team(request)
        u = urls(request)
        items = []
        for key, permission in sorted(team.repos.items()):
            repo = ctx.state.repos.get(key)
            if repo is None:
                continue
            rank = _ORDER[permission]
            perms = {p: rank >= _ORDER[p] for p in PERMISSIONS}
            out = repo_json(u, repo, ctx.owner_id(repo.owner), permissions=perms)
            out["role_name"] = permission
            items.append(out)
        return paginate(request, items)

    team_path = "/orgs/{org}/teams/{team_slug}"
    router.add_post("/orgs/{org}/teams", post_team)
    router.add_get("/orgs/{org}/teams", list_teams)
    router.add_get(team_path, get_team)
    router.add_put(f"{team_path}/memberships/{{username}}", put_membership)
    router.add_get(f"{team_path}/memberships/{{username}}", get_membership)
    router.add_delete(f"{team_path}/memberships/{{username}}", delete_membership)
    router.add_get(f"{team_path}/repos", list_team_repos)
    router.add_put(f"{team_path}/repos/{{owner}}/{{repo}}", put_team_repo)
