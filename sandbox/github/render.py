"""The GitHub part of the `/_sandbox/` overview (read-only HTML, everything escaped)."""

from __future__ import annotations

from html import escape

from sandbox.github import gitops
from sandbox.github.context import GitHubContext
from sandbox.github.invitations import expires_at
from sandbox.github.models import Repo, Team
from sandbox.github.teams import lineage, member_grants, parent
from sandbox.github.urls import iso


def _files(repo: Repo) -> str:
    if repo.empty:
        return "<em>empty</em>"
    head = repo.refs.get(f"refs/heads/{repo.default_branch}")
    if head is None:
        return "<em>no default branch</em>"
    tree = gitops.get_object(repo, head, "commit").tree or ""
    paths = sorted(gitops.flatten(repo, tree))
    return "<br>".join(escape(p) for p in paths)


def _protection(repo: Repo) -> str:
    parts = []
    for branch, cfg in repo.protection.items():
        reviews = cfg.get("required_pull_request_reviews") or {}
        count = reviews.get("required_approving_review_count", "-") if reviews else "-"
        parts.append(
            f"{escape(branch)}: reviews={escape(str(count))}, "
            f"force_push={escape(str(cfg.get('allow_force_pushes')))}"
        )
    for rs in repo.rulesets.values():
        parts.append(
            f"ruleset {escape(str(rs.body.get('name')))} "
            f"({escape(str(rs.body.get('enforcement')))})"
        )
    return "<br>".join(parts) or "none"


def _access(ctx: GitHubContext, repo: Repo) -> str:
    """Who reaches the repository through a team (a child team's members through its parents)."""
    grants = member_grants(ctx, repo.key)
    return (
        ", ".join(
            f"{escape(login)} ({g.permission} via {escape(g.via.slug)})"
            for login, g in sorted(grants.items())
        )
        or "none"
    )


def _team_repos(ctx: GitHubContext, team: Team) -> str:
    parts = [f"{escape(k)} ({escape(p)})" for k, p in sorted(team.repos.items())]
    for ancestor in lineage(ctx, team)[1:]:
        parts += [
            f"{escape(k)} ({escape(p)}, inherited from {escape(ancestor.slug)})"
            for k, p in sorted(ancestor.repos.items())
        ]
    return ", ".join(parts)


def render(ctx: GitHubContext) -> str:
    s = ctx.state
    out = ["<h3>Organizations</h3><table><tr><th>org</th><th>plan</th><th>members</th></tr>"]
    for org in s.orgs.values():
        members = ", ".join(f"{escape(m)} ({r})" for m, r in sorted(org.members.items()))
        out.append(
            f"<tr><td>{escape(org.login)}</td><td>{escape(org.plan)}</td><td>{members}</td></tr>"
        )
    out.append(
        "</table><h3>Repositories</h3><table><tr><th>repo</th><th>private</th>"
        "<th>files</th><th>protection</th><th>topics</th><th>team access</th></tr>"
    )
    for repo in s.repos.values():
        out.append(
            f"<tr><td>{escape(repo.full_name)}</td><td>{repo.private}</td>"
            f"<td>{_files(repo)}</td><td>{_protection(repo)}</td>"
            f"<td>{escape(', '.join(repo.topics))}</td><td>{_access(ctx, repo)}</td></tr>"
        )
    out.append(
        "</table><h3>Teams</h3><table><tr><th>team</th><th>parent</th><th>members</th>"
        "<th>repos</th></tr>"
    )
    for team in s.teams.values():
        members = ", ".join(f"{escape(m)} ({v.role}, {v.state})" for m, v in team.members.items())
        up = parent(ctx, team)
        out.append(
            f"<tr><td>{escape(team.org)}/{escape(team.slug)} ({escape(team.name)})</td>"
            f"<td>{escape(up.slug) if up else ''}</td><td>{members}</td>"
            f"<td>{_team_repos(ctx, team)}</td></tr>"
        )
    out.append("</table><h3>Invitations</h3><ul>")
    for oi in s.org_invitations.values():
        until = iso(expires_at(ctx, oi))
        out.append(
            f"<li>org {escape(oi.org)}: {escape(oi.login)} ({escape(oi.role)}, until {until})</li>"
        )
    for ri in s.repo_invitations.values():
        out.append(f"<li>repo {escape(ri.repo)}: {escape(ri.login)} ({escape(ri.permission)})</li>")
    out.append("</ul>")
    return "".join(out)
