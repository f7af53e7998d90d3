"""The GitHub world grouped as a person browses it: organization → repositories (files,
protection, teams with access) and organization → teams (members, invitations)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.github import gitops
from sandbox.github.context import GitHubContext
from sandbox.github.invitations import pending_org_invitation, sweep_expired
from sandbox.github.models import Org, Repo
from sandbox.github.teams import lineage, member_grants, parent


@dataclass(frozen=True)
class RepoView:
    name: str
    private: bool
    files: list[str]
    protection: list[str]
    teams: list[str]
    people: list[str]
    invitations: list[str]


@dataclass(frozen=True)
class TeamView:
    slug: str
    name: str
    parent: str
    members: list[str]
    repos: list[str]


@dataclass
class OrgView:
    login: str
    plan: str
    members: list[str]
    invitations: list[str]
    repos: list[RepoView] = field(default_factory=list)
    teams: list[TeamView] = field(default_factory=list)


def _files(repo: Repo) -> list[str]:
    head = None if repo.empty else repo.refs.get(f"refs/heads/{repo.default_branch}")
    if head is None:
        return []
    tree = gitops.get_object(repo, head, "commit").tree or ""
    return sorted(gitops.flatten(repo, tree))


def _protection(repo: Repo) -> list[str]:
    out = []
    for branch, cfg in repo.protection.items():
        reviews = cfg.get("required_pull_request_reviews") or {}
        count = reviews.get("required_approving_review_count", 0) if reviews else 0
        force = "allowed" if cfg.get("allow_force_pushes") else "refused"
        out.append(f"{branch}: {count} approving review(s) required, force pushes {force}")
    for ruleset in repo.rulesets.values():
        name, enforcement = ruleset.body.get("name"), ruleset.body.get("enforcement")
        out.append(f"ruleset {name} ({enforcement})")
    return out


def repo_view(ctx: GitHubContext, repo: Repo) -> RepoView:
    s = ctx.state
    teams = [
        f"{t.slug} ({t.repos[repo.key]})"
        for t in s.teams.values()
        if t.org == repo.owner and repo.key in t.repos
    ]
    grants = member_grants(ctx, repo.key)
    return RepoView(
        name=repo.name,
        private=repo.private,
        files=_files(repo),
        protection=_protection(repo),
        teams=sorted(teams),
        people=[
            f"{login} ({g.permission} via {g.via.slug})" for login, g in sorted(grants.items())
        ],
        invitations=[
            f"{i.login} ({i.permission})" for i in s.repo_invitations.values() if i.repo == repo.key
        ],
    )


def find_repo(ctx: GitHubContext, owner: str, name: str) -> RepoView | None:
    """The repository `owner/name` (case-insensitive, as GitHub's addresses), if it exists."""
    repo = ctx.state.repos.get(f"{owner}/{name}".lower())
    return None if repo is None else repo_view(ctx, repo)


@dataclass(frozen=True)
class InvitationView:
    """GitHub's page for an organization invitation, as `login` sees it: `state` is `pending`
    (with the role offered), `member` (accepted already) or `none` (expired, cancelled or never
    sent)."""

    org: str
    login: str
    state: str
    role: str = ""


def invitation_view(ctx: GitHubContext, org: Org, login: str) -> InvitationView:
    sweep_expired(ctx)  # a lapsed invitation is gone, as the API says
    if login.lower() in org.members:
        return InvitationView(org.login, login, "member")
    pending = pending_org_invitation(ctx, org, login)
    if pending is None:
        return InvitationView(org.login, login, "none")
    return InvitationView(org.login, login, "pending", pending.role)


def organizations(ctx: GitHubContext) -> list[OrgView]:
    sweep_expired(ctx)  # show what the API would: lapsed invitations are gone
    s = ctx.state
    orgs = {
        o.login: OrgView(
            login=o.login,
            plan=str(o.plan),
            members=[f"{m} ({r})" for m, r in sorted(o.members.items())],
            invitations=[
                f"{i.login} ({i.role})" for i in s.org_invitations.values() if i.org == o.login
            ],
        )
        for o in sorted(s.orgs.values(), key=lambda o: o.login)
    }
    for repo in sorted(s.repos.values(), key=lambda r: r.full_name):
        org = orgs.get(repo.owner)
        if org is not None:
            org.repos.append(repo_view(ctx, repo))
    for team in sorted(s.teams.values(), key=lambda t: t.slug):
        org = orgs.get(team.org)
        if org is None:
            continue
        up = parent(ctx, team)
        repos = [f"{k} ({p})" for k, p in sorted(team.repos.items())]
        for ancestor in lineage(ctx, team)[1:]:
            repos += [f"{k} ({p}, from {ancestor.slug})" for k, p in sorted(ancestor.repos.items())]
        org.teams.append(
            TeamView(
                slug=team.slug,
                name=team.name,
                parent=up.slug if up else "",
                members=[
                    f"{m} ({v.role}{', invited' if v.state == 'pending' else ''})"
                    for m, v in sorted(team.members.items())
                ],
                repos=repos,
            )
        )
    return list(orgs.values())
