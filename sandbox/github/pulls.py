"""Pull requests between branches of one repository: JSON, commits ahead, and merging.

The JSON is `pull-request-simple` (lists) and `pull-request` (one), as the official schemas
describe them. A merge is a real three-way merge of the flattened trees, so a test can act as
a person merging the product's pull request and see exactly what GitHub would keep.
"""

from __future__ import annotations

from typing import Any

from sandbox.github import gitops
from sandbox.github.context import GitHubContext
from sandbox.github.errors import ApiError
from sandbox.github.gitobjects import GitObject, Person
from sandbox.github.models import PullRequest, Repo
from sandbox.github.serialize_people import simple_user
from sandbox.github.serialize_repo import repo_json
from sandbox.github.urls import Urls, iso, node_id

MERGE_CONFLICT = "Merge conflict"


def head_sha(repo: Repo, pull: PullRequest) -> str:
    return repo.refs.get(f"refs/heads/{pull.head}", pull.head_sha)


def ancestors(repo: Repo, sha: str) -> set[str]:
    seen: set[str] = set()
    stack = [sha]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        obj = repo.objects.get(current)
        if obj is not None and obj.type == "commit":
            stack.extend(obj.parents or [])
    return seen


def merge_base(repo: Repo, a: str, b: str) -> str | None:
    """The nearest common ancestor (breadth first from `b`), as `git merge-base` would pick."""
    of_a = ancestors(repo, a)
    queue = [b]
    seen: set[str] = set()
    while queue:
        current = queue.pop(0)
        if current in of_a:
            return current
        if current in seen:
            continue
        seen.add(current)
        obj = repo.objects.get(current)
        if obj is not None and obj.type == "commit":
            queue.extend(obj.parents or [])
    return None


def commits_ahead(repo: Repo, base: str, head: str) -> int:
    return len(ancestors(repo, head) - ancestors(repo, base))


def _flat_at(repo: Repo, commit: str | None) -> gitops.FlatTree:
    if commit is None:
        return {}
    return gitops.flatten(repo, gitops.get_object(repo, commit, "commit").tree or "")


def changed_paths(repo: Repo, base: str, head: str) -> list[str]:
    """Paths the pull request changes: head against the merge base (GitHub's three-dot diff)."""
    start = _flat_at(repo, merge_base(repo, base, head))
    end = _flat_at(repo, head)
    return sorted(p for p in set(start) | set(end) if start.get(p) != end.get(p))


def merge(repo: Repo, pull: PullRequest, who: Person, now: float, merged_by: str) -> str:
    """Merge `pull` into its base with a merge commit; 409 on a conflicting path."""
    ours = gitops.head_commit(repo, pull.base)
    theirs = head_sha(repo, pull)
    base = _flat_at(repo, merge_base(repo, ours, theirs))
    mine, other = _flat_at(repo, ours), _flat_at(repo, theirs)
    result: gitops.FlatTree = {}
    for path in set(base) | set(mine) | set(other):
        b, o, t = base.get(path), mine.get(path), other.get(path)
        if o == t or t == b:
            chosen = o
        elif o == b:
            chosen = t
        else:
            raise ApiError(409, MERGE_CONFLICT)
        if chosen is not None:
            result[path] = chosen
    commit = GitObject(
        type="commit",
        tree=gitops.build(repo, result),
        parents=[ours, theirs],
        author=who,
        committer=who,
        message=f"Merge pull request #{pull.number} from {repo.owner}/{pull.head}\n\n{pull.title}",
    )
    sha = gitops.store(repo, commit)
    repo.refs[f"refs/heads/{pull.base}"] = sha
    repo.pushed_at = now
    pull.head_sha = theirs
    pull.state = "closed"
    pull.merged_at = pull.closed_at = pull.updated_at = now
    pull.merged_by = merged_by
    pull.merge_commit_sha = sha
    return sha


def _user(ctx: GitHubContext, u: Urls, login: str) -> dict[str, Any]:
    found = ctx.state.users.get(login.lower())
    if found is not None:
        return simple_user(u, found.login, found.id)
    return simple_user(u, login, 0, "Bot")


def _association(ctx: GitHubContext, repo: Repo, login: str) -> str:
    org = ctx.state.orgs.get(repo.owner.lower())
    role = org.members.get(login.lower()) if org is not None else None
    return {"admin": "OWNER", "member": "MEMBER"}.get(role or "", "NONE")


def _branch_end(
    ctx: GitHubContext, u: Urls, repo: Repo, branch: str, sha: str, repo_data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "label": f"{repo.owner}:{branch}",
        "ref": branch,
        "sha": sha,
        "user": repo_data["owner"],
        "repo": repo_data,
    }


def pull_json(
    ctx: GitHubContext, u: Urls, repo: Repo, pull: PullRequest, full: bool
) -> dict[str, Any]:
    """`pull-request` when `full`, else `pull-request-simple`."""
    api = u.repo(repo.full_name)
    url = f"{api}/pulls/{pull.number}"
    html = f"{u.web}/{repo.full_name}/pull/{pull.number}"
    head = head_sha(repo, pull)
    base = repo.refs.get(f"refs/heads/{pull.base}", head)
    repo_data = repo_json(u, repo, ctx.owner_id(repo.owner))
    links = {
        "self": url,
        "html": html,
        "issue": f"{api}/issues/{pull.number}",
        "comments": f"{api}/issues/{pull.number}/comments",
        "review_comments": f"{url}/comments",
        "review_comment": f"{api}/pulls/comments{{/number}}",
        "commits": f"{url}/commits",
        "statuses": f"{api}/statuses/{head}",
    }
    out: dict[str, Any] = {
        "url": url,
        "id": pull.id,
        "node_id": node_id("PR", pull.id),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": links["issue"],
        "commits_url": links["commits"],
        "review_comments_url": links["review_comments"],
        "review_comment_url": links["review_comment"],
        "comments_url": links["comments"],
        "statuses_url": links["statuses"],
        "number": pull.number,
        "state": pull.state,
        "locked": False,
        "title": pull.title,
        "user": _user(ctx, u, pull.user),
        "body": pull.body,
        "labels": [],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": iso(pull.created_at),
        "updated_at": iso(pull.updated_at),
        "closed_at": iso(pull.closed_at) if pull.closed_at is not None else None,
        "merged_at": iso(pull.merged_at) if pull.merged_at is not None else None,
        "merge_commit_sha": pull.merge_commit_sha,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": _branch_end(ctx, u, repo, pull.head, head, repo_data),
        "base": _branch_end(ctx, u, repo, pull.base, base, repo_data),
        "_links": {k: {"href": v} for k, v in links.items()},
        "author_association": _association(ctx, repo, pull.user),
        "auto_merge": None,
        "draft": pull.draft,
    }
    if full:
        merged = pull.merged_at is not None
        out |= {
            "merged": merged,
            "mergeable": None if pull.state == "closed" else True,
            "rebaseable": None if pull.state == "closed" else True,
            "mergeable_state": "unknown" if pull.state == "closed" else "clean",
            "merged_by": _user(ctx, u, pull.merged_by) if pull.merged_by else None,
            "comments": 0,
            "review_comments": 0,
            "maintainer_can_modify": pull.maintainer_can_modify,
            "commits": commits_ahead(repo, base, head),
            "additions": 0,
            "deletions": 0,
            "changed_files": len(changed_paths(repo, base, head)),
        }
    return out
