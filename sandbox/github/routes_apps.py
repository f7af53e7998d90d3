"""GitHub App routes answered to the App's own JWT: the App itself and its installations.

A product holding an App's key finds each organization's installation here
(`GET /orgs/{org}/installation`, or by id) before minting that installation's token; an
organization the App is not installed on answers 404, as GitHub does. The App's owner may
suspend an installation, unsuspend it and delete it (uninstall), each answered 204.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.github import installations
from sandbox.github.config import AppSpec, Suspension
from sandbox.github.context import GitHubContext, no_content, ok, principal, urls
from sandbox.github.errors import ApiError, not_found
from sandbox.github.serialize_people import simple_user
from sandbox.github.urls import Urls, iso

# What the sandbox's installations may do: everything the product's steps need.
PERMISSIONS = {
    "administration": "write",
    "contents": "write",
    "members": "write",
    "metadata": "read",
    "pull_requests": "write",
}


def _app_of(ctx: GitHubContext, request: web.Request) -> AppSpec:
    who = principal(request)
    if who.kind != "app":
        # GitHub's answer to these routes with anything but an App JWT.
        raise ApiError(401, "A JSON web token could not be decoded")
    return next(a for a in ctx.world.apps if a.app_id == who.user_id)


def installation_json(
    u: Urls,
    app: AppSpec,
    installation_id: int,
    org_login: str,
    org_id: int,
    created: float,
    suspended: tuple[Suspension, int] | None = None,
) -> dict[str, Any]:
    """The installation object; `suspended` is its suspension and the suspender's user id."""
    return {
        "id": installation_id,
        "account": simple_user(u, org_login, org_id, "Organization"),
        "repository_selection": "all",
        "access_tokens_url": f"{u.api}/app/installations/{installation_id}/access_tokens",
        "repositories_url": f"{u.api}/installation/repositories",
        "html_url": f"{u.web}/organizations/{org_login}/settings/installations/{installation_id}",
        "app_id": app.app_id,
        "client_id": f"Iv1.sandbox{app.app_id}",
        "target_id": org_id,
        "target_type": "Organization",
        "permissions": PERMISSIONS,
        "events": [],
        "created_at": iso(created),
        "updated_at": iso(created),
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "app_slug": app.slug,
        "suspended_at": iso(suspended[0].at) if suspended else None,
        "suspended_by": simple_user(u, suspended[0].by, suspended[1]) if suspended else None,
    }


def register(router: web.UrlDispatcher, ctx: GitHubContext) -> None:
    async def get_app(request: web.Request) -> web.Response:
        app = _app_of(ctx, request)
        u = urls(request)
        owner = next(iter(ctx.state.orgs.values()), None)
        created = owner.created_at if owner is not None else ctx.now()
        return ok(
            {
                "id": app.app_id,
                "slug": app.slug,
                "node_id": f"A_{app.app_id}",
                "client_id": f"Iv1.sandbox{app.app_id}",
                "owner": (
                    simple_user(u, owner.login, owner.id, "Organization")
                    if owner is not None
                    else None
                ),
                "name": app.slug,
                "description": "The course provisioning bot's GitHub App (sandbox)",
                "external_url": u.web,
                "html_url": f"{u.web}/apps/{app.slug}",
                "created_at": iso(created),
                "updated_at": iso(created),
                "permissions": PERMISSIONS,
                "events": [],
                "installations_count": len(app.installations),
            }
        )

    def shown(request: web.Request, app: AppSpec, installation_id: int) -> web.Response:
        org = ctx.org(app.installations[installation_id])
        held = app.suspended.get(installation_id)
        by = ctx.state.users.get(held.by.lower()) if held is not None else None
        suspended = (held, by.id if by is not None else 0) if held is not None else None
        return ok(
            installation_json(
                urls(request), app, installation_id, org.login, org.id, org.created_at, suspended
            )
        )

    async def get_org_installation(request: web.Request) -> web.Response:
        app = _app_of(ctx, request)
        org = ctx.org(request.match_info["org"])
        found = [i for i, login in app.installations.items() if login.lower() == org.login.lower()]
        if not found:
            raise not_found()
        return shown(request, app, found[0])

    def own_installation(request: web.Request) -> installations.Found:
        # Only the App's own installations: another App's id is 404, as on GitHub.
        app = _app_of(ctx, request)
        found = installations.find(ctx, int(request.match_info["installation_id"]), app.app_id)
        if found is None:
            raise not_found()
        return found

    async def get_installation(request: web.Request) -> web.Response:
        found = own_installation(request)
        return shown(request, found.app, found.installation_id)

    async def delete_installation(request: web.Request) -> web.Response:
        installations.uninstall(ctx, own_installation(request))
        return no_content()

    async def suspend(request: web.Request) -> web.Response:
        found = own_installation(request)
        # The App's owner suspends through the API: GitHub names the account that owns the
        # App; the sandbox's App belongs to the first organization's first owner.
        owner = next(iter(ctx.world.orgs), None)
        by = owner.owners[0] if owner is not None and owner.owners else f"{found.app.slug}[bot]"
        installations.suspend(found, ctx.now(), by, by_app_owner=True)
        return no_content()

    async def unsuspend(request: web.Request) -> web.Response:
        installations.unsuspend(own_installation(request))
        return no_content()

    installation = r"/app/installations/{installation_id:\d+}"
    router.add_get("/app", get_app)
    router.add_get("/orgs/{org}/installation", get_org_installation)
    router.add_get(installation, get_installation)
    router.add_delete(installation, delete_installation)
    router.add_put(f"{installation}/suspended", suspend)
    router.add_delete(f"{installation}/suspended", unsuspend)
