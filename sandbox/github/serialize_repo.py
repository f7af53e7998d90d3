"""JSON for repositories, branches, git objects and invitations."""

from __future__ import annotations

from typing import Any

from sandbox.github.gitobjects import GitObject, Person
from sandbox.github.models import Repo, RepoInvitation
from sandbox.github.serialize_people import simple_user
from sandbox.github.urls import Urls, iso, node_id

# The URL templates every repository object carries (suffix appended to the repo URL).
_TEMPLATES = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


def repo_json(
    u: Urls, repo: Repo, owner_id: int, permissions: dict[str, bool] | None = None
) -> dict[str, Any]:
    """full-repository (also valid as repository / minimal-repository / team-repository)."""
    url = u.repo(repo.full_name)
    out: dict[str, Any] = {
        "id": repo.id,
        "node_id": node_id("R", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "owner": simple_user(u, repo.owner, owner_id, "Organization"),
        "private": repo.private,
        "visibility": "private" if repo.private else "public",
        "html_url": f"{u.web}/{repo.full_name}",
        "description": repo.description,
        "fork": False,
        "url": url,
        "clone_url": f"{u.web}/{repo.full_name}.git",
        "git_url": f"git://sandbox/{repo.full_name}.git",
        "ssh_url": f"git@sandbox:{repo.full_name}.git",
        "svn_url": f"{u.web}/{repo.full_name}",
        "mirror_url": None,
        "homepage": repo.homepage,
        "language": None,
        "forks": 0,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers": 0,
        "watchers_count": 0,
        "size": sum(o.type == "blob" for o in repo.objects.values()),
        "default_branch": repo.default_branch,
        "open_issues": 0,
        "open_issues_count": 0,
        "is_template": False,
        "topics": list(repo.topics),
        "has_issues": True,
        "has_projects": True,
        "has_wiki": True,
        "has_pages": False,
        "has_downloads": True,
        "has_discussions": False,
        "archived": repo.archived,
        "disabled": False,
        "license": None,
        "pushed_at": iso(repo.pushed_at) if repo.pushed_at else None,
        "created_at": iso(repo.created_at),
        "updated_at": iso(repo.updated_at),
        "network_count": 0,
        "subscribers_count": 0,
        "allow_forking": False,
    }
    for key, suffix in _TEMPLATES.items():
        out[key] = url + suffix
    if permissions is not None:
        out["permissions"] = permissions
    return out


def person_json(p: Person) -> dict[str, Any]:
    return {"name": p.name, "email": p.email, "date": p.date}


def git_commit_json(u: Urls, repo: Repo, sha: str, obj: GitObject) -> dict[str, Any]:
    """git-commit (Git Data API)."""
    assert obj.author is not None
    assert obj.committer is not None
    base = u.repo(repo.full_name)
    return {
        "sha": sha,
        "node_id": node_id("C", sha),
        "url": f"{base}/git/commits/{sha}",
        "html_url": f"{u.web}/{repo.full_name}/commit/{sha}",
        "author": person_json(obj.author),
        "committer": person_json(obj.committer),
        "message": obj.message,
        "tree": {"sha": obj.tree, "url": f"{base}/git/trees/{obj.tree}"},
        "parents": [
            {"sha": p, "url": f"{base}/git/commits/{p}", "html_url": f"{u.web}/commit/{p}"}
            for p in obj.parents or []
        ],
        "verification": {
            "verified": False,
            "reason": "unsigned",
            "signature": None,
            "payload": None,
            "verified_at": None,
        },
    }


def commit_json(u: Urls, repo: Repo, sha: str, obj: GitObject) -> dict[str, Any]:
    """commit (the REST "commit" object nested in a branch)."""
    base = u.repo(repo.full_name)
    inner = git_commit_json(u, repo, sha, obj)
    return {
        "sha": sha,
        "node_id": inner["node_id"],
        "url": f"{base}/commits/{sha}",
        "html_url": inner["html_url"],
        "comments_url": f"{base}/commits/{sha}/comments",
        "commit": {
            "url": inner["url"],
            "author": inner["author"],
            "committer": inner["committer"],
            "message": inner["message"],
            "tree": inner["tree"],
            "comment_count": 0,
            "verification": inner["verification"],
        },
        "author": None,
        "committer": None,
        "parents": [
            {"sha": p, "url": f"{base}/commits/{p}", "html_url": f"{u.web}/commit/{p}"}
            for p in obj.parents or []
        ],
    }


def ref_json(u: Urls, repo: Repo, ref: str, sha: str) -> dict[str, Any]:
    """git-ref."""
    base = u.repo(repo.full_name)
    return {
        "ref": ref,
        "node_id": node_id("REF", f"{repo.id}_{ref}"),
        "url": f"{base}/git/{ref}",
        "object": {"type": "commit", "sha": sha, "url": f"{base}/git/commits/{sha}"},
    }


def repo_invitation_json(
    u: Urls,
    inv: RepoInvitation,
    repo: dict[str, Any],
    invitee: dict[str, Any],
    inviter: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": inv.id,
        "node_id": node_id("RI", inv.id),
        "repository": repo,
        "invitee": invitee,
        "inviter": inviter,
        "permissions": {"pull": "read", "push": "write"}.get(inv.permission, inv.permission),
        "created_at": iso(inv.created_at),
        "expired": False,
        "url": f"{u.repo(inv.repo)}/invitations/{inv.id}",
        "html_url": f"{u.web}/{inv.repo}/invitations",
    }
