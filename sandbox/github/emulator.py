"""`GitHubSandbox`: the GitHub REST emulator mounted under `/api/v3`."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from sandbox.core.emulator import Clock
from sandbox.github import (
    control,
    render,
    routes_access,
    routes_apps,
    routes_git,
    routes_protection,
    routes_pulls,
    routes_repos,
    routes_team_repos,
    routes_teams,
    routes_users,
)
from sandbox.github.authorize_page import add_authorize_routes
from sandbox.github.config import Consistency, GitHubWorld
from sandbox.github.context import GitHubContext
from sandbox.github.invitations import sweep_expired
from sandbox.github.middleware import github_middleware
from sandbox.github.models import GitHubState
from sandbox.github.oauth import add_oauth_routes
from sandbox.github.oauth_control import add_oauth_control_routes
from sandbox.github.urls import API_PREFIX

log = logging.getLogger(__name__)


class GitHubSandbox:
    """Implements `PlatformEmulator` for GitHub; `world` defaults to the demo world."""

    name = "github"

    def __init__(
        self, clock: Clock, rate_scale: float = 1.0, world: GitHubWorld | None = None
    ) -> None:
        self.world = world or GitHubWorld()
        self.ctx = GitHubContext(clock, self.world, rate_scale)
        self.reset()

    def add_routes(self, app: web.Application) -> None:
        # A sub-application, so auth/rate-limit/error handling wraps only GitHub's API while
        # the sandbox-wide journal and fault middlewares of `app` still run first.
        api = web.Application(middlewares=[github_middleware(self.ctx)])
        # Order matters: protection routes must win over the `branches/{branch:.+}` catch-all.
        for module in (
            routes_apps,
            routes_users,
            routes_protection,
            routes_repos,
            routes_git,
            routes_pulls,
            routes_teams,
            routes_team_repos,
            routes_access,
        ):
            module.register(api.router, self.ctx)
        app.add_subapp(API_PREFIX, api)
        control.add_control_routes(app, self.ctx)
        # Sign in with GitHub: pages and token exchange at the root, where github.com has them.
        add_authorize_routes(app, self.ctx)
        add_oauth_routes(app, self.ctx)
        add_oauth_control_routes(app, self.ctx)

    def render_html(self) -> str:
        sweep_expired(self.ctx)  # show what the API would: lapsed invitations are gone
        return render.render(self.ctx)

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": self.ctx.state.model_dump(mode="json"),
            "consistency": self.ctx.consistency.model_dump(mode="json"),
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.ctx.state = GitHubState.model_validate(data["state"])
        self.ctx.consistency = Consistency.model_validate(data.get("consistency", {}))
        self.ctx.limiter.reset()

    def reset(self) -> None:
        ctx = self.ctx
        ctx.state = GitHubState()
        ctx.consistency = self.world.consistency.model_copy()
        ctx.limiter.reset()
        for login in self.world.users:
            control.add_user(ctx, login)
        for spec in self.world.orgs:
            control.add_org(ctx, spec.login, spec.plan, spec.owners, spec.members)
        ctx.state.tokens = dict(self.world.tokens)
        ctx.state.oauth_callback_urls = list(self.world.oauth_app.callback_urls)
