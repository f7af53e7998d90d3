"""Shared state and lookups for the GitHub route modules."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sandbox.core.emulator import Clock
from sandbox.github.config import Consistency, GitHubWorld
from sandbox.github.errors import ApiError, not_found
from sandbox.github.models import GitHubState, Org, Repo, Team, User
from sandbox.github.ratelimit import RateLimiter, installation_limit
from sandbox.github.urls import Urls


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user token, an installation token, or an app JWT."""

    kind: str
    login: str
    key: str
    user_id: int
    org: str | None = None


PRINCIPAL = web.RequestKey("github_principal", Principal)


class GitHubContext:
    """The emulator's mutable world plus helpers every handler needs."""

    def __init__(self, clock: Clock, world: GitHubWorld, rate_scale: float) -> None:
        self.clock = clock
        self.world = world
        self.state = GitHubState()
        self.limiter = RateLimiter(clock, world.limits, rate_scale)
        self.rate_scale = rate_scale
        self.consistency: Consistency = world.consistency.model_copy()

    def now(self) -> float:
        return self.clock.time()

    # -- lookups (404 like GitHub, which never says whether a private thing exists) --

    def user(self, login: str) -> User:
        found = self.state.users.get(login.lower())
        if found is None:
            raise not_found()
        return found

    def org(self, login: str) -> Org:
        found = self.state.orgs.get(login.lower())
        if found is None:
            raise not_found()
        return found

    def owner_id(self, login: str) -> int:
        org = self.state.orgs.get(login.lower())
        if org is not None:
            return org.id
        return self.user(login).id

    def repo(self, request: web.Request) -> Repo:
        return self.repo_by_key(f"{request.match_info['owner']}/{request.match_info['repo']}")

    def repo_by_key(self, full_name: str) -> Repo:
        repo = self.state.repos.get(full_name.lower())
        if repo is None:
            raise not_found()
        # Eventual consistency: a just-created repo is not yet visible to reads.
        if repo.hidden_requests > 0:
            repo.hidden_requests -= 1
            raise not_found()
        if self.now() < repo.hidden_until:
            raise not_found()
        return repo

    def team(self, org: str, slug: str) -> Team:
        for team in self.state.teams.values():
            if team.org.lower() == org.lower() and team.slug == slug.lower():
                return team
        raise not_found()

    def is_member(self, org: Org, login: str) -> bool:
        return login.lower() in org.members

    def org_repo_count(self, org: Org) -> int:
        return sum(r.owner.lower() == org.login.lower() for r in self.state.repos.values())

    def primary_limit(self, who: Principal) -> int:
        """The hourly primary limit of the caller's credential: an installation's follows its
        organization (PLATFORM.md §2.8), anything else has a personal token's."""
        if who.kind == "installation" and who.org is not None:
            org = self.state.orgs.get(who.org.lower())
            if org is not None:
                return installation_limit(
                    self.world.limits,
                    plan=org.plan,
                    repositories=self.org_repo_count(org),
                    members=len(org.members),
                )
        return self.world.limits.primary_per_hour

    def invitations_in_window(self, scope: str) -> int:
        # GitHub's window is a day; a sped-up world (`rate_scale`) has a shorter one.
        horizon = self.now() - 24 * 3600 / self.rate_scale
        self.state.invitation_log = [e for e in self.state.invitation_log if e[1] > horizon]
        return sum(s == scope for s, _ in self.state.invitation_log)


def urls(request: web.Request) -> Urls:
    return Urls(request)


def principal(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def ok(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers)


def no_content() -> web.Response:
    return web.Response(status=204)


async def body(request: web.Request) -> dict[str, Any]:
    """The JSON object body; 400 "Problems parsing JSON" like GitHub for anything else."""
    if not request.body_exists:
        return {}
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, "Problems parsing JSON") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "Problems parsing JSON")
    return data


_SLUG_STRIP = re.compile(r"[^a-z0-9_.-]+")


def slugify(name: str) -> str:
    """GitHub's team slug: lowercase, runs of other characters become one hyphen."""
    return _SLUG_STRIP.sub("-", name.lower()).strip("-")
