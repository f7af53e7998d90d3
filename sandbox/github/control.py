"""GitHub control routes under `/_sandbox/github/`: act as a person or change the world."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.github.config import Consistency
from sandbox.github.context import GitHubContext
from sandbox.github.errors import ApiError
from sandbox.github.invitations import (
    accept_org_invitation,
    accept_repo_invitation,
    sweep_expired,
)
from sandbox.github.models import Org, User

PREFIX = "/_sandbox/github"


def add_user(ctx: GitHubContext, login: str, name: str | None = None) -> User:
    existing = ctx.state.users.get(login.lower())
    if existing is not None:
        return existing
    user = User(id=ctx.state.new_id(), login=login, name=name, created_at=ctx.now())
    ctx.state.users[login.lower()] = user
    return user


def add_org(
    ctx: GitHubContext, login: str, plan: str, owners: list[str], members: list[str]
) -> Org:
    org = Org(id=ctx.state.new_id(), login=login, plan=plan, created_at=ctx.now())
    for owner in owners:
        org.members[add_user(ctx, owner).login.lower()] = "admin"
    for member in members:
        org.members.setdefault(add_user(ctx, member).login.lower(), "member")
    ctx.state.orgs[login.lower()] = org
    return org


async def _json(request: web.Request) -> dict[str, Any]:
    data = await request.json() if request.body_exists else {}
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return data


def _error(exc: ApiError) -> web.Response:
    return web.json_response(exc.body(), status=exc.status)


def add_control_routes(app: web.Application, ctx: GitHubContext) -> None:
    async def post_user(request: web.Request) -> web.Response:
        data = await _json(request)
        login = data.get("login")
        if not isinstance(login, str) or not login:
            return web.json_response({"message": "login is required"}, status=400)
        user = add_user(ctx, login, data.get("name"))
        token = data.get("token")
        if isinstance(token, str) and token:
            ctx.state.tokens[token] = user.login
        return web.json_response({"login": user.login, "id": user.id}, status=201)

    async def post_org(request: web.Request) -> web.Response:
        data = await _json(request)
        login = data.get("login")
        plan = data.get("plan", "team")
        if not isinstance(login, str) or plan not in ("free", "team"):
            return web.json_response({"message": "login and plan free|team needed"}, status=400)
        if login.lower() in ctx.state.orgs:
            return web.json_response({"message": "org exists"}, status=409)
        org = add_org(ctx, login, plan, list(data.get("owners", [])), list(data.get("members", [])))
        return web.json_response({"login": org.login, "id": org.id, "plan": org.plan}, status=201)

    async def put_plan(request: web.Request) -> web.Response:
        data = await _json(request)
        try:
            org = ctx.org(request.match_info["org"])
        except ApiError as exc:
            return _error(exc)
        if data.get("plan") not in ("free", "team"):
            return web.json_response({"message": "plan must be free or team"}, status=400)
        org.plan = data["plan"]
        return web.json_response({"login": org.login, "plan": org.plan})

    async def accept_org(request: web.Request) -> web.Response:
        try:
            org = ctx.org(request.match_info["org"])
        except ApiError as exc:
            return _error(exc)
        login = request.match_info["login"]
        sweep_expired(ctx)  # a lapsed invitation can no longer be accepted
        if not accept_org_invitation(ctx, org, login):
            return web.json_response({"message": "no pending invitation"}, status=404)
        return web.json_response({"org": org.login, "login": login, "state": "active"})

    async def accept_repo(request: web.Request) -> web.Response:
        key = f"{request.match_info['owner']}/{request.match_info['repo']}".lower()
        login = request.match_info["login"].lower()
        inv = next(
            (
                i
                for i in ctx.state.repo_invitations.values()
                if i.repo == key and i.login.lower() == login
            ),
            None,
        )
        if inv is None or not accept_repo_invitation(ctx, inv.id):
            return web.json_response({"message": "no pending invitation"}, status=404)
        return web.json_response({"repo": key, "login": login, "state": "active"})

    async def put_consistency(request: web.Request) -> web.Response:
        ctx.consistency = Consistency.model_validate(await _json(request))
        return web.json_response(ctx.consistency.model_dump())

    async def get_consistency(request: web.Request) -> web.Response:
        return web.json_response(ctx.consistency.model_dump())

    app.router.add_post(f"{PREFIX}/users", post_user)
    app.router.add_post(f"{PREFIX}/orgs", post_org)
    app.router.add_put(f"{PREFIX}/orgs/{{org}}/plan", put_plan)
    app.router.add_post(f"{PREFIX}/orgs/{{org}}/invitations/{{login}}/accept", accept_org)
    app.router.add_post(
        f"{PREFIX}/repos/{{owner}}/{{repo}}/invitations/{{login}}/accept", accept_repo
    )
    app.router.add_put(f"{PREFIX}/consistency", put_consistency)
    app.router.add_get(f"{PREFIX}/consistency", get_consistency)
