"""GitHub control routes under `/_sandbox/github/`: act as a person or change the world."""

from __future__ import annotations

from typing import Any, get_args

from aiohttp import web

from sandbox.github import gitops, installations
from sandbox.github.config import Consistency, Plan
from sandbox.github.context import GitHubContext, Principal
from sandbox.github.errors import ApiError
from sandbox.github.invitations import (
    accept_org_invitation,
    accept_repo_invitation,
    sweep_expired,
)
from sandbox.github.models import Org, User
from sandbox.github.protected import check_branch_update
from sandbox.github.pulls import merge
from sandbox.github.routes_repos import person_for

PREFIX = "/_sandbox/github"
PLANS = get_args(Plan)


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
        if not isinstance(login, str) or plan not in PLANS:
            return web.json_response(
                {"message": "login and plan free|team|enterprise needed"}, status=400
            )
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
        if data.get("plan") not in PLANS:
            return web.json_response(
                {"message": "plan must be free, team or enterprise"}, status=400
            )
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

    async def install_app(request: web.Request) -> web.Response:
        # An org owner installing the App (GitHub's install page): the org gets an
        # installation, found from now on by `GET /orgs/{org}/installation`. It is part of the
        # sandbox's configured world (`GitHubWorld.apps`), not of the saved state.
        data = await _json(request)
        app = next((a for a in ctx.world.apps if str(a.app_id) == request.match_info["app"]), None)
        if app is None:
            return web.json_response({"message": "no such app"}, status=404)
        try:
            org = ctx.org(str(data.get("org", "")))
        except ApiError as exc:
            return _error(exc)
        for installation_id, login in app.installations.items():
            if login.lower() == org.login.lower():
                return web.json_response({"id": installation_id, "org": org.login})
        taken = [i for a in ctx.world.apps for i in a.installations]
        installation_id = max(taken, default=100) + 1
        app.installations[installation_id] = org.login
        return web.json_response({"id": installation_id, "org": org.login}, status=201)

    async def uninstall_app(request: web.Request) -> web.Response:
        # An org owner uninstalling the App (the org's settings): GitHub deletes the
        # installation, so its tokens answer 401 "Bad credentials", minting one answers 404,
        # and `GET /orgs/{org}/installation` 404. Installing it again gives a new id.
        data = await _json(request)
        app = next((a for a in ctx.world.apps if str(a.app_id) == request.match_info["app"]), None)
        if app is None:
            return web.json_response({"message": "no such app"}, status=404)
        org = str(data.get("org", ""))
        found = [i for i, login in app.installations.items() if login.lower() == org.lower()]
        if not found:
            return web.json_response(
                {"message": f"the app is not installed on {org!r} (field org)"}, status=404
            )
        login = app.installations[found[0]]
        installations.uninstall(ctx, installations.Found(app, found[0], login))
        return web.json_response({"id": found[0], "org": login})

    async def suspend_app(request: web.Request) -> web.Response:
        # An org owner suspending (PUT) or unsuspending (DELETE) the App in the organization's
        # settings (Third-party Access → GitHub Apps → Configure): its tokens are refused and
        # none is minted while it lasts. One the App's owner suspended (through the API) stays
        # suspended: only they can unsuspend it, as on GitHub.
        data = await _json(request)
        app = next((a for a in ctx.world.apps if str(a.app_id) == request.match_info["app"]), None)
        if app is None:
            return web.json_response({"message": "no such app"}, status=404)
        org, by = str(data.get("org", "")), str(data.get("by", ""))
        found = [i for i, login in app.installations.items() if login.lower() == org.lower()]
        if not found:
            return web.json_response(
                {"message": f"the app is not installed on {org!r} (field org)"}, status=404
            )
        installation = installations.Found(app, found[0], app.installations[found[0]])
        if request.method == "PUT":
            if not by:
                return web.json_response(
                    {"message": "by is required: the login of the org owner who suspends"},
                    status=400,
                )
            installations.suspend(installation, ctx.now(), by, by_app_owner=False)
        else:
            held = app.suspended.get(found[0])
            if held is not None and held.by_app_owner:
                return web.json_response(
                    {"message": "the App's owner suspended it: only they can unsuspend it"},
                    status=409,
                )
            installations.unsuspend(installation)
        held = app.suspended.get(found[0])
        return web.json_response(
            {"id": found[0], "org": installation.org, "suspended": held is not None}
        )

    async def put_consistency(request: web.Request) -> web.Response:
        ctx.consistency = Consistency.model_validate(await _json(request))
        return web.json_response(ctx.consistency.model_dump())

    async def get_consistency(request: web.Request) -> web.Response:
        return web.json_response(ctx.consistency.model_dump())

    async def commit_as_person(request: web.Request) -> web.Response:
        # A person editing a file in the web editor: one commit on the branch, subject to the
        # branch's protection as that person (an org owner bypasses while admins are not
        # enforced; anyone else is refused, as GitHub refuses them).
        data = await _json(request)
        login, content = data.get("login"), data.get("content")
        if not isinstance(login, str) or not isinstance(content, str):
            return web.json_response({"message": "login and content are required"}, status=400)
        try:
            repo = ctx.repo_by_key(f"{request.match_info['owner']}/{request.match_info['repo']}")
            user = ctx.user(login)
            branch = str(data.get("branch") or repo.default_branch)
            who = Principal("user", user.login, f"user:{user.login}", user.id)
            check_branch_update(ctx, repo, branch, who)
            path = request.match_info["path"].strip("/")
            message = str(data.get("message") or f"Update {path}")
            sha = gitops.commit_files(
                repo, branch, {path: content.encode()}, message, person_for(ctx, user.login)
            )
        except ApiError as exc:
            return _error(exc)
        repo.pushed_at = ctx.now()
        return web.json_response({"commit": sha, "branch": branch, "path": path}, status=201)

    async def merge_pull(request: web.Request) -> web.Response:
        # A reviewer approving and merging: the protection's review rule is satisfied by them.
        data = await _json(request)
        login = data.get("login")
        if not isinstance(login, str):
            return web.json_response({"message": "login is required"}, status=400)
        try:
            repo = ctx.repo_by_key(f"{request.match_info['owner']}/{request.match_info['repo']}")
            user = ctx.user(login)
            pull = repo.pulls.get(int(request.match_info["number"]))
            if pull is None or pull.state != "open":
                return web.json_response({"message": "no open pull request"}, status=404)
            sha = merge(repo, pull, person_for(ctx, user.login), ctx.now(), user.login)
        except ApiError as exc:
            return _error(exc)
        return web.json_response({"sha": sha, "merged": True})

    app.router.add_post(f"{PREFIX}/users", post_user)
    app.router.add_post(f"{PREFIX}/orgs", post_org)
    app.router.add_put(f"{PREFIX}/orgs/{{org}}/plan", put_plan)
    app.router.add_post(f"{PREFIX}/apps/{{app}}/installations", install_app)
    app.router.add_delete(f"{PREFIX}/apps/{{app}}/installations", uninstall_app)
    app.router.add_put(f"{PREFIX}/apps/{{app}}/installations/suspended", suspend_app)
    app.router.add_delete(f"{PREFIX}/apps/{{app}}/installations/suspended", suspend_app)
    app.router.add_post(f"{PREFIX}/orgs/{{org}}/invitations/{{login}}/accept", accept_org)
    app.router.add_post(
        f"{PREFIX}/repos/{{owner}}/{{repo}}/invitations/{{login}}/accept", accept_repo
    )
    repo_prefix = f"{PREFIX}/repos/{{owner}}/{{repo}}"
    app.router.add_post(f"{repo_prefix}/contents/{{path:.+}}", commit_as_person)
    app.router.add_post(rf"{repo_prefix}/pulls/{{number:\d+}}/merge", merge_pull)
    app.router.add_put(f"{PREFIX}/consistency", put_consistency)
    app.router.add_get(f"{PREFIX}/consistency", get_consistency)
