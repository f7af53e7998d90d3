"""Teams (nested with `parent_team_id`) and team memberships (pending for non-members)."""

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
from sandbox.github.errors import missing_field, not_found, validation_failed
from sandbox.github.invitations import invite_to_org
from sandbox.github.models import Org, Team, TeamMember
from sandbox.github.pagination import paginate
from sandbox.github.serialize_people import membership_json, team_json
from sandbox.github.teams import check_nesting, parent, resolve_parent
from sandbox.github.urls import Urls

_PRIVACY = ("secret", "closed")
_NOTIFICATIONS = ("notifications_enabled", "notifications_disabled")


def register(router: web.UrlDispatcher, ctx: GitHubContext) -> None:
    def _team(request: web.Request) -> Team:
        return ctx.team(request.match_info["org"], request.match_info["team_slug"])

    def _full(u: Urls, team: Team) -> dict[str, object]:
        org = ctx.org(team.org)
        return team_json(u, team, org, ctx.org_repo_count(org), parent(ctx, team))

    def _name_taken(org: Org, name: str, slug: str, other_than: int | None = None) -> None:
        for team in ctx.state.teams.values():
            if (
                team.id != other_than
                and team.org.lower() == org.login.lower()
                and (team.slug == slug or team.name.lower() == name.lower())
            ):
                raise validation_failed(
                    "Team", "name", "custom", "Name must be unique for this org"
                )

    async def post_team(request: web.Request) -> web.Response:
        org = ctx.org(request.match_info["org"])
        data = await body(request)
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise missing_field("Team", "name")
        slug = slugify(name)
        _name_taken(org, name, slug)
        new_parent = resolve_parent(ctx, org, data)
        # "Default: secret … Default for child team: closed" (POST /orgs/{org}/teams).
        privacy = data.get("privacy", "closed" if new_parent is not None else "secret")
        if privacy not in _PRIVACY:
            raise validation_failed("Team", "privacy", "invalid")
        notifications = data.get("notification_setting", "notifications_enabled")
        if notifications not in _NOTIFICATIONS:
            raise validation_failed("Team", "notification_setting", "invalid")
        team = Team(
            id=ctx.state.new_id(),
            org=org.login,
            name=name,
            slug=slug,
            description=data.get("description"),
            privacy=privacy,
            notification_setting=notifications,
            parent_id=None if new_parent is None else new_parent.id,
            created_at=ctx.now(),
        )
        check_nesting(ctx, team, new_parent, privacy)
        for full_name in data.get("repo_names") or []:
            key = str(full_name).lower()
            if "/" not in key:
                key = f"{org.login.lower()}/{key}"
            if key in ctx.state.repos:
                team.repos[key] = "pull"
        ctx.state.teams[team.id] = team
        return ok(_full(urls(request), team), status=201)

    async def list_teams(request: web.Request) -> web.Response:
        org = ctx.org(request.match_info["org"])
        u = urls(request)
        teams = [t for t in ctx.state.teams.values() if t.org.lower() == org.login.lower()]
        return paginate(
            request,
            [team_json(u, t, parent=parent(ctx, t)) for t in sorted(teams, key=lambda t: t.slug)],
        )

    async def get_team(request: web.Request) -> web.Response:
        return ok(_full(urls(request), _team(request)))

    async def patch_team(request: web.Request) -> web.Response:
        """Change name (and so slug), description, privacy, notifications or parent."""
        team = _team(request)
        org = ctx.org(team.org)
        data = await body(request)
        name = data.get("name", team.name)
        if not isinstance(name, str) or not name.strip():
            raise validation_failed("Team", "name", "invalid")
        slug = slugify(name)
        _name_taken(org, name, slug, other_than=team.id)
        new_parent = parent(ctx, team)
        if "parent_team_id" in data or "parent_team_slug" in data:
            new_parent = resolve_parent(ctx, org, data)
        privacy = data.get("privacy", team.privacy)
        if privacy not in _PRIVACY:
            raise validation_failed("Team", "privacy", "invalid")
        notifications = data.get("notification_setting", team.notification_setting)
        if notifications not in _NOTIFICATIONS:
            raise validation_failed("Team", "notification_setting", "invalid")
        check_nesting(ctx, team, new_parent, privacy)
        if "description" in data:
            team.description = data["description"]
        team.name, team.slug, team.privacy = name, slug, privacy
        team.notification_setting = notifications
        team.parent_id = None if new_parent is None else new_parent.id
        team.updated_at = ctx.now()
        return ok(_full(urls(request), team))

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
        login = request.match_info["username"].lower()
        if team.members.pop(login, None) is None:
            raise not_found()
        # A pending member's org invitation no longer brings them into this team on accept.
        for invitation in ctx.state.org_invitations.values():
            if (invitation.login or "").lower() == login and team.id in invitation.team_ids:
                invitation.team_ids.remove(team.id)
        return no_content()

    team_path = "/orgs/{org}/teams/{team_slug}"
    router.add_post("/orgs/{org}/teams", post_team)
    router.add_get("/orgs/{org}/teams", list_teams)
    router.add_get(team_path, get_team)
    router.add_patch(team_path, patch_team)
    router.add_put(f"{team_path}/memberships/{{username}}", put_membership)
    router.add_get(f"{team_path}/memberships/{{username}}", get_membership)
    router.add_delete(f"{team_path}/memberships/{{username}}", delete_membership)
