"""Nested teams and who can reach a repository through them.

A child team inherits its parent's repository access (and the parent's parent's): GitHub's
"Check team permissions for a repository" says "repositories inherited through a parent team will
also be checked", and the members of a child team get that access too. Effective access is the
strongest permission along the chain.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.github.context import GitHubContext
from sandbox.github.errors import validation_failed
from sandbox.github.models import Org, Team

PERMISSIONS = ("pull", "triage", "push", "maintain", "admin")
_ORDER = {p: i for i, p in enumerate(PERMISSIONS)}


@dataclass(frozen=True)
class Grant:
    """A permission on a repository and the team it was granted to (the team or an ancestor)."""

    permission: str
    via: Team


def permission_flags(permission: str) -> dict[str, bool]:
    """The `permissions` object of a repository answer for one permission level."""
    rank = _ORDER[permission]
    return {p: rank >= _ORDER[p] for p in PERMISSIONS}


def parent(ctx: GitHubContext, team: Team) -> Team | None:
    return ctx.state.teams.get(team.parent_id) if team.parent_id is not None else None


def lineage(ctx: GitHubContext, team: Team) -> list[Team]:
    """The team, its parent, its parent's parent, … (stops on a cycle, which PATCH refuses)."""
    chain: list[Team] = []
    current: Team | None = team
    while current is not None and current not in chain:
        chain.append(current)
        current = parent(ctx, current)
    return chain


def children(ctx: GitHubContext, team: Team) -> list[Team]:
    return [t for t in ctx.state.teams.values() if t.parent_id == team.id]


def team_grant(ctx: GitHubContext, team: Team, repo_key: str) -> Grant | None:
    """The strongest permission `team` has on the repository, directly or inherited."""
    best: Grant | None = None
    for source in lineage(ctx, team):
        permission = source.repos.get(repo_key)
        if permission is not None and (
            best is None or _ORDER[permission] > _ORDER[best.permission]
        ):
            best = Grant(permission, source)
    return best


def member_grants(ctx: GitHubContext, repo_key: str) -> dict[str, Grant]:
    """login → the strongest access an active team member has on the repository via teams."""
    out: dict[str, Grant] = {}
    for team in sorted(ctx.state.teams.values(), key=lambda t: t.id):
        grant = team_grant(ctx, team, repo_key)
        if grant is None:
            continue
        for login, member in team.members.items():
            have = out.get(login)
            if member.state == "active" and (
                have is None or _ORDER[grant.permission] > _ORDER[have.permission]
            ):
                out[login] = grant
    return out


def resolve_parent(ctx: GitHubContext, org: Org, data: dict[str, object]) -> Team | None:
    """The parent named by `parent_team_id` (or `parent_team_slug`); 422 if it is not a team of
    `org`. Missing or null means no parent."""
    ident = data.get("parent_team_id")
    slug = data.get("parent_team_slug")
    if ident is None and slug is None:
        return None
    for team in ctx.state.teams.values():
        if team.org.lower() != org.login.lower():
            continue
        if ident is not None and not isinstance(ident, bool) and team.id == ident:
            return team
        if ident is None and isinstance(slug, str) and team.slug == slug.lower():
            return team
    raise validation_failed("Team", "parent_team_id", "invalid")


def check_nesting(ctx: GitHubContext, team: Team, new_parent: Team | None, privacy: str) -> None:
    """GitHub's rules for nested teams: parents and children are `closed`, and no cycles."""
    if new_parent is not None:
        if new_parent.id == team.id or team in lineage(ctx, new_parent):
            raise validation_failed(
                "Team", "parent_team_id", "custom", "A team cannot be its own ancestor"
            )
        if new_parent.privacy == "secret":
            raise validation_failed(
                "Team", "parent_team_id", "custom", "A parent team cannot be secret"
            )
    if privacy == "secret" and (new_parent is not None or children(ctx, team)):
        raise validation_failed(
            "Team", "privacy", "custom", "A parent or child team cannot be secret"
        )
