"""Users, organizations, members, rate limit and GitHub App installation tokens."""

from __future__ import annotations

import secrets

from aiohttp import web

from sandbox.github import installations
from sandbox.github.context import GitHubContext, ok, principal, urls
from sandbox.github.errors import ApiError, not_found
from sandbox.github.models import InstallationToken
from sandbox.github.pagination import paginate
from sandbox.github.serialize_people import org_json, simple_user, user_json
from sandbox.github.urls import iso


def register(router: web.UrlDispatcher, ctx: GitHubContext) -> None:
    async def get_authenticated(request: web.Request) -> web.Response:
        who = principal(request)
        if who.kind != "user":
            raise ApiError(403, "Resource not accessible by integration")
        return ok(user_json(urls(request), ctx.user(who.login), private=True))

    async def get_user(request: web.Request) -> web.Response:
        login = request.match_info["username"]
        org = ctx.state.orgs.get(login.lower())
        if org is not None:
            u = urls(request)
            out = simple_user(u, org.login, org.id, "Organization")
            out.update(
                {
                    "name": org.login,
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
                    "created_at": iso(org.created_at),
                    "updated_at": iso(org.created_at),
                }
            )
            return ok(out)
        return ok(user_json(urls(request), ctx.user(login)))

    async def get_org(request: web.Request) -> web.Response:
        org = ctx.org(request.match_info["org"])
        return ok(org_json(urls(request), org, ctx.org_repo_count(org)))

    async def list_members(request: web.Request) -> web.Response:
        org = ctx.org(request.match_info["org"])
        u = urls(request)
        role = request.query.get("role", "all")
        logins = [login for login, r in sorted(org.members.items()) if role == "all" or r == role]
        return paginate(
            request, [simple_user(u, ctx.user(x).login, ctx.user(x).id) for x in logins]
        )

    async def rate_limit(request: web.Request) -> web.Response:
        who = principal(request)
        status = ctx.limiter.peek_primary(who.key, ctx.primary_limit(who))
        core = {
            "limit": status.limit,
            "remaining": status.remaining,
            "used": status.used,
            "reset": status.reset_epoch,
            "resource": "core",
        }
        search = {
            "limit": 30,
            "remaining": 30,
            "used": 0,
            "reset": status.reset_epoch,
            "resource": "search",
        }
        return ok({"resources": {"core": core, "search": search}, "rate": core})

    async def installation_token(request: web.Request) -> web.Response:
        who = principal(request)
        if who.kind != "app":
            raise ApiError(401, "A JSON web token could not be decoded")
        installation_id = int(request.match_info["installation_id"])
        app = next(a for a in ctx.world.apps if a.app_id == who.user_id)
        org = app.installations.get(installation_id)
        if org is None:
            raise not_found()
        if installation_id in app.suspended:
            raise ApiError(403, installations.SUSPENDED_MINT)
        token = "ghs_" + secrets.token_hex(18)
        expires = ctx.now() + ctx.world.limits.installation_token_ttl
        ctx.state.installation_tokens[token] = InstallationToken(
            installation_id=installation_id, org=org, app_slug=app.slug, expires_at=expires
        )
        body = {
            "token": token,
            "expires_at": iso(expires),
            "permissions": {"administration": "write", "contents": "write", "members": "write"},
            "repository_selection": "all",
        }
        return ok(body, status=201)

    router.add_get("/user", get_authenticated)
    router.add_get("/users/{username}", get_user)
    router.add_get("/orgs/{org}", get_org)
    router.add_get("/orgs/{org}/members", list_members)
    router.add_get("/rate_limit", rate_limit)
    router.add_post(r"/app/installations/{installation_id:\d+}/access_tokens", installation_token)
